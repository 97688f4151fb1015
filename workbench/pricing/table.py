"""The price table: which row prices a model name on a given day, and why.

Choosing a row, for a model name, a provider (optional) and a day:

1. Keep the rows whose pattern matches the name (see :mod:`workbench.pricing.patterns`)
   and whose ``valid_from`` is on or before the day. A row valid only from a later day
   never prices an earlier call. No row left: the model is *unpriced* and ``match``
   returns ``None``; an unpriced call has no cost, never a cost of $0.
2. Of those, the best row wins, comparing in this order:

   a. a user row beats a shipped row (the user knows their own contract);
   b. a row for the provider the caller named beats the others (the provider decides
      whose bill it is: Llama costs differently on Groq and on Bedrock);
   c. the more specific pattern: more literal characters
      (:func:`~workbench.pricing.patterns.literal_length`), then the longer pattern text;
   d. the later ``valid_from``, so history is priced at its own day's price;
   e. the row listed first.

Days are UTC calendar days. Matching is cached per (name, provider, day), and the regular
expressions per name, so pricing every distinct model of a query costs a dictionary look-up
once warm.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from os import PathLike
from typing import TYPE_CHECKING, Any, Protocol

from workbench.errors import ConfigError
from workbench.pricing.keys import day_series, key_triples, normalize_provider, to_day
from workbench.pricing.money import rate
from workbench.pricing.patterns import compile_pattern, literal_length
from workbench.pricing.price_row import Origin, Price, PriceRow, parse_document

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = [
    "RESOLVED_COLUMNS",
    "PriceLookup",
    "PriceMatch",
    "PriceTable",
    "shipped_rows",
    "shipped_version",
]

#: The columns of :meth:`PriceTable.resolve`'s table, in order. The first three are the key.
RESOLVED_COLUMNS: tuple[str, ...] = (
    "model_name",
    "provider",
    "day",
    "priced",
    "input_per_mtok",
    "output_per_mtok",
    "cache_read_per_mtok",
    "cache_write_per_mtok",
    "reasoning_per_mtok",
    "price_model",
    "price_provider",
    "price_pattern",
    "price_origin",
    "price_valid_from",
)

_SHIPPED_WHERE = "the shipped price table workbench/pricing/prices.json"


@functools.cache
def _shipped() -> tuple[str, tuple[PriceRow, ...]]:
    text = importlib.resources.files("workbench.pricing").joinpath("prices.json").read_text("utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{_SHIPPED_WHERE} is not valid JSON ({exc}); reinstall workbench.") from None
    version, rows = parse_document(data, where=_SHIPPED_WHERE, origin="shipped")
    if version is None:
        raise ConfigError(f'{_SHIPPED_WHERE} has no version; give it a "version" date string.')
    return version, tuple(rows)


def shipped_rows() -> tuple[PriceRow, ...]:
    """Return the rows of the price table that ships with workbench (read once)."""
    return _shipped()[1]


def shipped_version() -> str:
    """Return the shipped table's version, the date its figures were compiled."""
    return _shipped()[0]


@dataclass(frozen=True, slots=True)
class PriceMatch:
    """The row that prices a model name on a day.

    Attributes:
        row: The winning row.
        day: The UTC day the price was chosen for.
        reason: Why this row won, in a few words.
    """

    row: PriceRow
    day: date
    reason: str

    @property
    def price(self) -> Price:
        """The winning row's prices, for :func:`workbench.pricing.cost`."""
        return self.row.price

    @property
    def model(self) -> str:
        """The canonical model name of the winning row."""
        return self.row.model

    @property
    def origin(self) -> Origin:
        """``"shipped"`` or ``"user"``."""
        return self.row.origin


class PriceLookup(Protocol):
    """What the store and the collector need from a price table.

    :class:`PriceTable` is the implementation; built from a handful of rows it is also the
    in-memory twin for tests. Both methods are safe to call from several threads.
    """

    def match(self, model_name: str | None, provider: str | None = None, at: object = None) -> PriceMatch | None:
        """Return the row that prices ``model_name`` on the day of ``at``, or ``None``."""
        ...

    def resolve(self, keys: Any) -> pa.Table:
        """Return the price of each distinct (model_name, provider, day) as a table."""
        ...


# The parts of a row's rank, best last, and how explain() words losing on each.
_RANK_WORDS = (
    "a user row beats a shipped row",
    "the winner is for the provider asked for",
    "the winner's pattern is more specific (more literal characters)",
    "the winner's pattern is longer, at equal literal characters",
    "the winner's price is more recent",  # among prices valid on the day
    "the winner is listed first",
)


class PriceTable:
    """An immutable set of price rows, shipped and user, that prices model names.

    Args:
        shipped: Rows from the packaged table (their ``origin`` is set to ``"shipped"``).
        user: The user's own rows (``origin`` ``"user"``); they beat shipped rows.
        version: The shipped table's version, for display.
        cache_size: How many (name, provider, day) answers to keep.

    Example:
        >>> table = PriceTable.load()
        >>> table.match("openai/gpt-4o-mini", at=date(2025, 1, 1)).price.input
        0.15
    """

    __slots__ = ("_cache_size", "_candidates", "_literal", "_match", "_regex", "_rows", "_version")

    def __init__(
        self,
        shipped: Iterable[PriceRow] = (),
        user: Iterable[PriceRow] = (),
        *,
        version: str | None = None,
        cache_size: int = 65536,
    ) -> None:
        rows = [_as_origin(r, "shipped") for r in shipped] + [_as_origin(r, "user") for r in user]
        self._rows: tuple[PriceRow, ...] = tuple(rows)
        self._regex = tuple(compile_pattern(r.pattern) for r in rows)
        self._literal = tuple(literal_length(r.pattern) for r in rows)
        self._version = version
        self._cache_size = cache_size
        # Per-instance caches: the table is immutable, so answers never go stale.
        self._candidates = functools.lru_cache(maxsize=cache_size)(self._candidates_uncached)
        self._match = functools.lru_cache(maxsize=cache_size)(self._match_uncached)

    @classmethod
    def load(cls, user_path: str | PathLike[str] | None = None) -> PriceTable:
        """Build the table from the shipped rows and, if given, the user's price file.

        Args:
            user_path: The user's price file (``~/.workbench/prices.json`` by convention);
                a missing file means no user rows. ``None`` uses shipped rows only.

        Raises:
            ConfigError: When the user's file is malformed.
        """
        from workbench.pricing.userfile import load_user_prices

        user = load_user_prices(user_path) if user_path is not None else []
        return cls(shipped_rows(), user, version=shipped_version())

    def with_user_rows(self, user: Iterable[PriceRow]) -> PriceTable:
        """Return a new table with the same shipped rows and ``user`` as its user rows."""
        shipped = [r for r in self._rows if r.origin == "shipped"]
        return PriceTable(shipped, user, version=self._version, cache_size=self._cache_size)

    @property
    def rows(self) -> tuple[PriceRow, ...]:
        """Every row: shipped rows in file order, then user rows."""
        return self._rows

    @property
    def version(self) -> str | None:
        """The shipped table's version."""
        return self._version

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        user = sum(r.origin == "user" for r in self._rows)
        return f"PriceTable(version={self._version!r}, rows={len(self._rows)}, user_rows={user})"

    def cache_info(self) -> functools._CacheInfo:
        """Hits and misses of the (name, provider, day) cache."""
        return self._match.cache_info()

    def match(self, model_name: str | None, provider: str | None = None, at: object = None) -> PriceMatch | None:
        """Return the row that prices a model name on a day, or ``None`` when unpriced.

        Args:
            model_name: The model name as the span carries it, in any spelling the patterns
                tolerate (``us.anthropic.claude-3-5-sonnet-20241022-v2:0``).
            provider: The provider as the span names it, if known (aliases such as
                ``aws.bedrock`` are understood).
            at: When the call happened (see :func:`~workbench.pricing.keys.to_day`); ``None`` for today.

        Returns:
            The winning row with the reason it won, or ``None`` when no row applies.
        """
        if not isinstance(model_name, str) or not model_name.strip():
            return None  # None, "" and pandas' NaN alike: no name, no price
        return self._match(model_name.strip(), normalize_provider(provider), to_day(at))

    def explain(self, model_name: str, provider: str | None = None, at: object = None) -> str:
        """Describe, in plain text, which rows match a model name, which wins and why.

        This is the "test a model name" helper for the prices page and the notebook.

        Args:
            model_name: The name to test.
            provider: The provider, if any.
            at: The moment to price (see :func:`~workbench.pricing.keys.to_day`); ``None`` for today.

        Returns:
            A few lines of text.
        """
        name = (model_name or "").strip()
        wanted = normalize_provider(provider)
        day = to_day(at)
        asked = f"{name!r} (provider {wanted or 'not given'}) on {day}"
        matching = list(self._candidates(name)) if name else []
        live = [i for i in matching if _applies(self._rows[i], day)]
        later = [i for i in matching if i not in live]
        lines: list[str] = []
        if not live:
            lines.append(f"{asked}: unpriced, so its cost is unknown (not $0).")
            if later:
                lines.append("These rows match the name but only apply from a later day:")
                lines.extend("  " + self._describe(i) for i in later)
            else:
                lines.append("No row's pattern matches this name.")
            lines.append("To price it, add a row with set_price(path, pattern=..., input=..., output=...).")
            return "\n".join(lines)
        ranked = sorted(live, key=lambda i: self._rank(i, wanted), reverse=True)
        best = ranked[0]
        lines.append(f"{asked}: priced by {self._describe(best)}")
        lines.append(f"Why: {self._reason(best, ranked, wanted)}.")
        if len(ranked) > 1:
            lines.append("Other matching rows, best first:")
            for i in ranked[1:]:
                lines.append(f"  {self._describe(i)}  [loses: {self._loss(best, i, wanted)}]")
        if later:
            lines.append("Matching rows that only apply from a later day:")
            lines.extend("  " + self._describe(i) for i in later)
        lines.append(
            "Rules: user rows beat shipped rows; then rows for the provider asked for; then the "
            "more specific pattern; then the latest price valid on the day."
        )
        return "\n".join(lines)

    def resolve(self, keys: Any) -> pa.Table:
        """Price each distinct (model name, provider, day) key, for a SQL join.

        Args:
            keys: The distinct keys of a query window: an iterable of
                ``(model_name, provider, day)`` tuples, or a pandas DataFrame or Arrow
                table with those three columns. ``day`` may be anything :func:`~workbench.pricing.keys.to_day`
                takes. Repeated keys are priced once.

        Returns:
            A ``pyarrow.Table`` with :data:`RESOLVED_COLUMNS`, one row per distinct key,
            ``model_name`` and ``provider`` exactly as given (join on them with
            ``IS NOT DISTINCT FROM`` because either may be null), ``day`` as ``date32``.
            Unpriced keys have ``priced`` false and null prices. The cache prices already
            fall back to ``input_per_mtok`` and the reasoning price to ``output_per_mtok``
            where the row has none, so the SQL needs no fallbacks.
        """
        import pyarrow as pa

        out: dict[str, list[Any]] = {name: [] for name in RESOLVED_COLUMNS}
        for model_name, provider, day in dict.fromkeys(key_triples(keys)):
            found = self.match(model_name, provider, day)
            out["model_name"].append(model_name)
            out["provider"].append(provider)
            out["day"].append(day)
            out["priced"].append(found is not None)
            row = found.row if found else None
            out["input_per_mtok"].append(row.input if row else None)
            out["output_per_mtok"].append(row.output if row else None)
            out["cache_read_per_mtok"].append(_or(row, "cache_read", "input"))
            out["cache_write_per_mtok"].append(_or(row, "cache_write", "input"))
            out["reasoning_per_mtok"].append(_or(row, "reasoning", "output"))
            out["price_model"].append(row.model if row else None)
            out["price_provider"].append(row.provider if row else None)
            out["price_pattern"].append(row.pattern if row else None)
            out["price_origin"].append(row.origin if row else None)
            out["price_valid_from"].append(row.valid_from if row else None)
        return pa.table(out, schema=_resolved_schema())

    def price_columns(
        self,
        model_names: Sequence[str | None] | Any,
        providers: Sequence[str | None] | Any = None,
        times: Sequence[object] | Any = None,
    ) -> dict[str, np.ndarray]:
        """Price many spans at once, for pandas users (the SQL path is :meth:`resolve`).

        Args:
            model_names: One model name per span.
            providers: One provider per span, or ``None`` for none known.
            times: One moment per span (datetimes, dates, or int nanoseconds since the
                epoch), or ``None`` for today.

        Returns:
            ``priced`` (bool) and the five ``*_per_mtok`` columns of :meth:`resolve`
            (float, NaN where unpriced), each a numpy array aligned with ``model_names``.
            Feed them with the token columns to :func:`workbench.pricing.cost_columns`.
        """
        import numpy as np
        import pandas as pd

        names = pd.Series(list(model_names), dtype=object)
        count = len(names)
        provider_values = [None] * count if providers is None else list(providers)
        frame = pd.DataFrame(
            {
                "model_name": names,
                "provider": pd.Series(provider_values, dtype=object),
                "day": day_series(times, count),
            }
        )
        frame = frame.astype({"model_name": object, "provider": object}).where(frame.notna(), None)
        distinct = frame.drop_duplicates()
        keys = zip(distinct["model_name"], distinct["provider"], distinct["day"].dt.date, strict=True)
        resolved = self.resolve(keys).to_pandas()
        resolved["day"] = pd.to_datetime(resolved["day"])
        merged = frame.merge(resolved, on=["model_name", "provider", "day"], how="left", sort=False)
        columns = {"priced": merged["priced"].fillna(False).to_numpy(dtype=bool)}
        for name in RESOLVED_COLUMNS[4:9]:
            columns[name] = merged[name].to_numpy(dtype=np.float64, na_value=np.nan)
        return columns

    # -- internals ---------------------------------------------------------------------

    def _candidates_uncached(self, name: str) -> tuple[int, ...]:
        return tuple(i for i, regex in enumerate(self._regex) if regex.fullmatch(name))

    def _match_uncached(self, name: str, provider: str | None, day: date) -> PriceMatch | None:
        live = [i for i in self._candidates(name) if _applies(self._rows[i], day)]
        if not live:
            return None
        ranked = sorted(live, key=lambda i: self._rank(i, provider), reverse=True)
        return PriceMatch(self._rows[ranked[0]], day, self._reason(ranked[0], ranked, provider))

    def _rank(self, i: int, provider: str | None) -> tuple[bool, bool, int, int, date, int]:
        row = self._rows[i]
        return (
            row.origin == "user",
            provider is not None and row.provider == provider,
            self._literal[i],
            len(row.pattern),
            row.valid_from or date.min,
            -i,
        )

    def _loss(self, best: int, other: int, provider: str | None) -> str:
        for words, won, lost in zip(_RANK_WORDS, self._rank(best, provider), self._rank(other, provider), strict=True):
            if won != lost:
                if words.startswith("the winner's pattern is more specific"):
                    return f"{words}: {won} against {lost}"
                if words.startswith("the winner's price is more recent"):
                    return f"{words}: from {_since(won)}, the other from {_since(lost)}"
                return words
        return "tied"  # unreachable: the last part, the row's position, always differs

    def _reason(self, best: int, ranked: list[int], provider: str | None) -> str:
        if len(ranked) == 1:
            return "the only row that matches and applies on that day"
        return self._loss(best, ranked[1], provider)

    def _describe(self, i: int) -> str:
        row = self._rows[i]
        valid = f"from {row.valid_from}" if row.valid_from else "always"
        extras = [
            f"cache read {rate(row.cache_read)}" if row.cache_read is not None else "",
            f"cache write {rate(row.cache_write)}" if row.cache_write is not None else "",
            f"reasoning {rate(row.reasoning)}" if row.reasoning is not None else "",
        ]
        prices = ", ".join([f"{rate(row.input)} in", f"{rate(row.output)} out", *filter(None, extras)])
        return (
            f"{row.origin} row {row.model!r} ({row.provider or 'any provider'}), "
            f"pattern {row.pattern!r}, {valid}: {prices} per million tokens"
        )


def _since(day: object) -> str:
    return "always" if day == date.min else str(day)  # date.min stands for "no valid_from"


def _as_origin(row: PriceRow, origin: Origin) -> PriceRow:
    return row if row.origin == origin else replace(row, origin=origin)


def _applies(row: PriceRow, day: date) -> bool:
    return row.valid_from is None or row.valid_from <= day


def _or(row: PriceRow | None, name: str, fallback: str) -> float | None:
    if row is None:
        return None
    value: float | None = getattr(row, name)
    return float(getattr(row, fallback)) if value is None else value


@functools.cache
def _resolved_schema() -> pa.Schema:
    import pyarrow as pa

    price = pa.float64()
    return pa.schema(
        [
            ("model_name", pa.string()),
            ("provider", pa.string()),
            ("day", pa.date32()),
            ("priced", pa.bool_()),
            ("input_per_mtok", price),
            ("output_per_mtok", price),
            ("cache_read_per_mtok", price),
            ("cache_write_per_mtok", price),
            ("reasoning_per_mtok", price),
            ("price_model", pa.string()),
            ("price_provider", pa.string()),
            ("price_pattern", pa.string()),
            ("price_origin", pa.string()),
            ("price_valid_from", pa.date32()),
        ]
    )
