"""A price row: its columns, its checks, and its shape in JSON and CSV.

The shipped table and the user's price file hold the same rows. Every price is in US
dollars per million tokens. ``cache_read``, ``cache_write`` and ``reasoning`` are ``None``
where the provider does not bill those tokens at a price of their own (see
:mod:`workbench.pricing.maths` for what they fall back to).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from workbench.errors import ConfigError
from workbench.pricing.patterns import pattern_problem

__all__ = [
    "COLUMNS",
    "PRICE_COLUMNS",
    "Origin",
    "Price",
    "PriceRow",
    "parse_document",
    "parse_row",
    "row_to_dict",
]

#: Where a row came from. User rows beat shipped rows.
Origin = Literal["shipped", "user"]

#: The columns of a price row, in file order.
COLUMNS: tuple[str, ...] = (
    "provider",
    "model",
    "pattern",
    "input",
    "output",
    "cache_read",
    "cache_write",
    "reasoning",
    "valid_from",
    "source",
    "retrieved",
)

#: The price columns, all USD per million tokens.
PRICE_COLUMNS: tuple[str, ...] = ("input", "output", "cache_read", "cache_write", "reasoning")

_REQUIRED: dict[Origin, tuple[str, ...]] = {
    # The shipped table must say where and when each figure was read.
    "shipped": ("provider", "model", "pattern", "input", "output", "valid_from", "source", "retrieved"),
    "user": ("pattern", "input", "output"),
}


@dataclass(frozen=True, slots=True)
class Price:
    """What one model costs, in USD per million tokens.

    Attributes:
        input: Uncached input (prompt) tokens.
        output: Output (completion) tokens.
        cache_read: Input tokens read from the prompt cache; ``None`` bills them as input.
        cache_write: Input tokens written to the prompt cache; ``None`` bills them as input.
        reasoning: Reasoning tokens; ``None`` bills them as output.
    """

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None


@dataclass(frozen=True, slots=True)
class PriceRow:
    """One row of a price table: a price, the names it applies to, and from when.

    Attributes:
        provider: Who bills at this price (``openai``, ``bedrock`` ...); ``None`` for any.
        model: The canonical model name, for display.
        pattern: A regular expression for the model's core name; see
            :mod:`workbench.pricing.patterns` for the prefixes and suffixes it tolerates.
        input: USD per million uncached input tokens.
        output: USD per million output tokens.
        cache_read: USD per million cache-read tokens, or ``None``.
        cache_write: USD per million cache-write tokens, or ``None``.
        reasoning: USD per million reasoning tokens, or ``None``.
        valid_from: The first day (UTC) the price applies; ``None`` for always.
        source: The URL of the provider's pricing page.
        retrieved: The day the figure was read from ``source``.
        origin: ``"shipped"`` or ``"user"``.
    """

    provider: str | None
    model: str
    pattern: str
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None
    valid_from: date | None = None
    source: str | None = None
    retrieved: date | None = None
    origin: Origin = "user"

    @property
    def price(self) -> Price:
        """The row's prices alone."""
        return Price(self.input, self.output, self.cache_read, self.cache_write, self.reasoning)


def parse_row(data: Mapping[str, object], *, where: str, origin: Origin) -> PriceRow:
    """Check one row read from JSON or CSV and build a :class:`PriceRow` from it.

    Numbers may be given as numbers or as text (CSV has no other kind); an empty text or
    ``null`` means "not given". Dates are ``YYYY-MM-DD``.

    Args:
        data: The row's columns by name.
        where: Where the row was read, for error messages (``"prices.json, row 3"``).
        origin: ``"shipped"`` for the packaged table (every column but the optional prices
            is required), ``"user"`` for a user's rows (only pattern, input and output are).

    Returns:
        The row.

    Raises:
        ConfigError: When a column is unknown, missing, or holds a value it cannot take.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{where}: {data!r} is not a row; write each row as an object of column names "
            'to values, such as {"pattern": "gpt-4o", "input": 2.5, "output": 10}.'
        )
    for name in data:
        if name not in COLUMNS:
            guess = difflib.get_close_matches(str(name), COLUMNS, n=1, cutoff=0.75)
            fix = f"rename it to {guess[0]!r} or remove it" if guess else "rename or remove it"
            raise ConfigError(f"{where}: {name!r} is not a price column (the columns are {', '.join(COLUMNS)}); {fix}.")
    values = {name: _blank_to_none(data.get(name)) for name in COLUMNS}
    for name in _REQUIRED[origin]:
        if values[name] is None:
            raise ConfigError(
                f"{where}: the {name!r} column is missing or empty; every {origin} price row "
                f"needs {', '.join(_REQUIRED[origin])}."
            )
    pattern = _text(values["pattern"], "pattern", where)
    assert pattern is not None  # required above
    problem = pattern_problem(pattern)
    if problem is not None:
        raise ConfigError(f"{where}: the pattern {pattern!r} cannot be used: {problem}.")
    provider = _text(values["provider"], "provider", where)
    return PriceRow(
        provider=provider.lower() if provider else None,
        model=_text(values["model"], "model", where) or pattern,
        pattern=pattern,
        input=_price(values["input"], "input", where),  # type: ignore[arg-type]
        output=_price(values["output"], "output", where),  # type: ignore[arg-type]
        cache_read=_price(values["cache_read"], "cache_read", where),
        cache_write=_price(values["cache_write"], "cache_write", where),
        reasoning=_price(values["reasoning"], "reasoning", where),
        valid_from=_day(values["valid_from"], "valid_from", where),
        source=_text(values["source"], "source", where),
        retrieved=_day(values["retrieved"], "retrieved", where),
        origin=origin,
    )


def parse_document(data: object, *, where: str, origin: Origin) -> tuple[str | None, list[PriceRow]]:
    """Check a whole price document: ``{"version": ..., "rows": [...]}`` or a bare list of rows.

    Args:
        data: The decoded JSON (or a list of CSV records).
        where: The file's name, for error messages.
        origin: ``"shipped"`` or ``"user"``; see :func:`parse_row`.

    Returns:
        The document's version (``None`` if it has none) and its rows, in file order.

    Raises:
        ConfigError: When the document or one of its rows is malformed, or when two rows
            share a pattern, provider and ``valid_from`` (which would make the winner
            depend on file order).
    """
    version: str | None = None
    if isinstance(data, list):
        items: object = data
    elif isinstance(data, Mapping):
        for key in data:
            if key not in ("version", "notes", "rows"):
                raise ConfigError(
                    f"{where}: {key!r} is not a key of a price file; the keys are version, "
                    "notes and rows, so rename or remove it."
                )
        items = data.get("rows")
        given = data.get("version")
        if given is not None and not isinstance(given, str):
            raise ConfigError(
                f'{where}: version {given!r} is not text; write it as a date string such as "2025-06-01".'
            )
        version = given
    else:
        raise ConfigError(
            f"{where}: the file holds {type(data).__name__}, not price rows; write an object "
            'with a "rows" list, as save_user_prices() does.'
        )
    if not isinstance(items, list):
        raise ConfigError(f'{where}: "rows" is missing or is not a list; put the rows in a list under "rows".')
    rows = [parse_row(item, where=f"{where}, row {n}", origin=origin) for n, item in enumerate(items, 1)]
    first_seen: dict[tuple[str, str | None, date | None], int] = {}
    for n, row in enumerate(rows, 1):
        key = (row.pattern, row.provider, row.valid_from)
        if key in first_seen:
            raise ConfigError(
                f"{where}: rows {first_seen[key]} and {n} both price pattern {row.pattern!r} "
                f"for provider {row.provider!r} from {row.valid_from}; remove one of them or "
                "give it another valid_from."
            )
        first_seen[key] = n
    return version, rows


def row_to_dict(row: PriceRow) -> dict[str, object]:
    """Return a row as JSON-ready column values (dates as ``YYYY-MM-DD``), in file order."""
    out: dict[str, object] = {}
    for name in COLUMNS:
        value = getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


def _blank_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _text(value: object, name: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {name} {value!r} is not text; write it as a quoted string.")
    return value.strip()


def _price(value: object, name: str, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):  # bool is an int to Python, never a price
        number = math.nan
    elif isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().lstrip("$"))
        except ValueError:
            number = math.nan
    else:
        number = math.nan
    if not math.isfinite(number):
        raise ConfigError(
            f"{where}: {name} {value!r} is not a number; write USD per million tokens as a plain number such as 2.5."
        )
    if number < 0:
        raise ConfigError(
            f"{where}: {name} {value!r} is negative; prices are USD per million tokens, so write zero or more."
        )
    return number


def _day(value: object, name: str, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{where}: {name} {value!r} is not a date; write it as YYYY-MM-DD.")
