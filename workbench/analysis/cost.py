"""Tokens and cost, computed when asked: by model, feature, user, session and prompt version.

Nothing is priced at ingest. Each view finds the distinct (model name, provider, UTC day)
keys of the spans it reads, prices them through the effective
:class:`~workbench.pricing.PriceTable` (the shipped rows plus the user's price file, see
:class:`Prices`), registers the answer as an Arrow table on this thread's cursor and joins
it in SQL. A price set a moment ago therefore re-costs all of history at once.

How a view runs, in two queries:

1. Over ``spans``: sum each group's calls per (model name, provider, day): token counts and
   the tokens billed at each price (uncached input, output, cache read, cache write,
   reasoning; the rules are :mod:`workbench.pricing.maths`', taken from
   :func:`~workbench.pricing.cost_sql`). Cost is linear in the billed counts, so summing
   before pricing gives the same figure as pricing every span.
2. Over that small result: price its keys, join, multiply, and sum per group.

The figures, in every view:

* ``computed_cost``: what the prices say the calls cost.
* ``client_cost``: what the instrumented app reported (``llm.cost.*``, ``gen_ai.usage.cost``).
* ``cost``: the computed cost where a price matches, else the client's; the figure to use.
* ``unpriced_calls``: calls with neither. They count as unknown, **never as $0**: a group
  whose calls are all unpriced has a ``cost`` of null, and :func:`unpriced_models` lists
  them with their tokens so that a price can be added.

A *call* is an ``LLM`` or ``EMBEDDING`` span. A *request* is a trace. The filter expression,
``start``, ``end`` and ``project`` choose the calls (by their own start time), not traces.
User, session and feature are read from the call's span, else from its trace's root span.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from workbench import config
from workbench.errors import FilterError
from workbench.pricing import (
    COLUMNS,
    PriceLookup,
    PriceMatch,
    PriceRow,
    PriceTable,
    cost_sql,
    import_prices,
    load_user_prices,
    remove_price,
    set_price,
    write_rows,
)

if TYPE_CHECKING:
    from workbench.query import Reader
    from workbench.store import Store

__all__ = [
    "CALL_KINDS",
    "DIMENSIONS",
    "Prices",
    "burn_rate",
    "cost_by",
    "cost_per_request",
    "prices",
    "request_costs",
    "span_costs",
    "top_traces",
    "top_users",
    "unpriced_models",
]

#: The span kinds that are model calls, and so carry a cost.
CALL_KINDS: tuple[str, ...] = ("LLM", "EMBEDDING")

#: What cost can be grouped by. ``feature`` reads an attribute (see :func:`feature_sql`).
DIMENSIONS: tuple[str, ...] = ("model", "provider", "project", "feature", "user", "session", "prompt_version")

#: The token columns every view sums, as named in the ``spans`` table.
TOKEN_SUMS: tuple[str, ...] = (
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "total_tokens",
)

Project = str | Sequence[str] | None

_KINDS = ("input", "output", "cache_read", "cache_write", "reasoning")
_UNIT = "wb_unit_price"
_US = {"hour": 3_600_000_000, "day": 86_400_000_000}
_DAY_US = _US["day"]
_EPOCH = dt.date(1970, 1, 1)
# Per span: the columns read from the call itself, and those that may come from its root.
_SPAN_DIMENSIONS = {
    "model": "{a}.model_name",
    "provider": "{a}.provider",
    "project": "{a}.project",
    "prompt_version": "{a}.prompt_template_version",
}
_ROOT_DIMENSIONS = {"user": "{a}.user_id", "session": "{a}.session_id"}


# -- the effective price table -------------------------------------------------------------


class Prices:
    """The prices cost is computed with: the shipped table plus the user's price file.

    The user's file is ``WORKBENCH_PRICES`` (default ``~/.workbench/prices.json``) unless a
    path is given. Its rows beat the shipped ones. Every change is read by the next query,
    so history is re-costed at once. ``workbench.prices`` is an instance for the configured
    file; ``workbench prices ...`` on the command line does the same things.

    Args:
        path: The user's price file; ``None`` uses the setting.

    Example:
        >>> workbench.prices.set("gpt-4o", input=2.5, output=10, valid_from="2024-10-01")
        >>> print(workbench.prices.test("openai/gpt-4o-2024-08-06"))
    """

    _lock = threading.Lock()
    _cache: dict[tuple[str, int, int], PriceTable] = {}

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = path

    def __repr__(self) -> str:
        return f"Prices({str(self.path)!r})"

    @property
    def path(self) -> Path:
        """The user's price file (it need not exist yet)."""
        return Path(config.get("prices", self._path)).expanduser()

    def table(self) -> PriceTable:
        """The effective :class:`~workbench.pricing.PriceTable`, re-read when the file changes.

        Raises:
            ConfigError: The user's file is malformed (the message says where and how to fix it).
        """
        file = self.path
        try:
            stat = file.stat()
            key = (str(file), stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            key = (str(file), 0, -1)
        with self._lock:
            found = self._cache.get(key)
        if found is None:
            found = PriceTable.load(file)
            with self._lock:
                self._cache = {k: v for k, v in self._cache.items() if k[0] != key[0]}
                self._cache[key] = found
        return found

    def list(self, model: str | None = None, *, user_only: bool = False) -> pd.DataFrame:
        """The price rows, user rows last, with an ``origin`` column (``shipped`` or ``user``).

        Args:
            model: Only rows whose pattern matches this model name (as pricing would match it),
                or whose model or pattern contains it.
            user_only: Only the user's rows.
        """
        table = self.table()
        rows = [r for r in table.rows if r.origin == "user" or not user_only]
        if model:
            needle = model.strip().lower()
            matching = {id(m.row) for m in _all_matches(table, model)}
            rows = [r for r in rows if id(r) in matching or needle in r.model.lower() or needle in r.pattern.lower()]
        return pd.DataFrame(
            [{**{c: getattr(r, c) for c in COLUMNS}, "origin": r.origin} for r in rows],
            columns=[*COLUMNS, "origin"],
        )

    def set(
        self,
        pattern: str,
        *,
        input: float,  # noqa: A002 - the price's name everywhere else
        output: float,
        cache_read: float | None = None,
        cache_write: float | None = None,
        reasoning: float | None = None,
        provider: str | None = None,
        model: str | None = None,
        valid_from: dt.date | str | None = None,
        source: str | None = None,
    ) -> PriceRow:
        """Add a price (USD per million tokens), or replace the one with the same key.

        A row's key is its pattern, provider and ``valid_from``. Give a new ``valid_from`` to
        keep the old price for the days before it. See :func:`workbench.pricing.set_price`.

        Raises:
            ConfigError: A value breaks a rule (a bad pattern, a negative price ...).
        """
        return set_price(
            self.path, pattern=pattern, input=input, output=output, cache_read=cache_read,
            cache_write=cache_write, reasoning=reasoning, provider=provider, model=model,
            valid_from=valid_from, source=source,
        )

    def remove(self, pattern: str, *, provider: str | None = None, valid_from: dt.date | str | None = None) -> int:
        """Remove the user's rows with this pattern and provider (and ``valid_from``); return how many."""
        return remove_price(self.path, pattern=pattern, provider=provider, valid_from=valid_from)

    def import_from(self, source: str | os.PathLike[str]) -> int:
        """Add the rows of a ``.json`` or ``.csv`` file to the user's prices; return how many."""
        return import_prices(self.path, source)

    def export_to(self, target: str | os.PathLike[str], *, user_only: bool = True) -> int:
        """Write the user's rows (or every row, with ``user_only=False``) to ``.json`` or ``.csv``.

        Returns:
            How many rows were written.
        """
        rows = load_user_prices(self.path) if user_only else list(self.table().rows)
        write_rows(target, rows)
        return len(rows)

    def match(self, model_name: str, provider: str | None = None, at: object = None) -> PriceMatch | None:
        """The row that prices a model name on a day (today by default), or ``None``."""
        return self.table().match(model_name, provider, at)

    def test(self, model_name: str, provider: str | None = None, at: object = None) -> str:
        """Which row prices a model name and why, in words (:meth:`PriceTable.explain`)."""
        return self.table().explain(model_name, provider, at)


#: The prices of the configured user file; ``workbench.prices``.
prices = Prices()


def _all_matches(table: PriceTable, model: str) -> list[PriceMatch]:
    found = table.match(model, None, dt.date.max)
    return [found] if found else []


def _lookup(given: PriceLookup | None) -> PriceLookup:
    return prices.table() if given is None else given


# -- SQL pieces ----------------------------------------------------------------------------


def _is_call(alias: str = "s") -> str:
    kinds = ", ".join(f"'{k}'" for k in CALL_KINDS)
    return f"{alias}.span_kind IN ({kinds})"


def billed_tokens_sql(alias: str = "s") -> dict[str, str]:
    """SQL for the tokens one span bills at each price (``input``, ``output``, ``cache_read`` ...).

    They are :func:`~workbench.pricing.cost_sql`'s parts at a price of one dollar per token,
    so the cached-token and reasoning rules live in one place. Cost is linear in them.
    """
    parts = cost_sql(alias, _UNIT)
    out = {}
    for kind in _KINDS:
        expr = parts[f"{kind}_cost"]
        for name in _KINDS:
            expr = expr.replace(f"{_UNIT}.{name}_per_mtok", "1e6")
        out[kind] = expr
    return out


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _json_path(key: str) -> str:
    return _sql_text('$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')


def feature_sql(alias: str = "s", key: str | None = None) -> str:
    """SQL reading a span's feature from its attributes.

    Args:
        alias: The span table's alias.
        key: The attribute holding the feature. ``None`` reads the ``feature`` key of the
            ``metadata`` attribute (OpenInference's JSON metadata), else a ``feature``
            attribute. A dotted key such as ``metadata.feature`` or ``app.feature`` is read as
            that attribute, else as a key inside a JSON attribute (``metadata`` -> ``feature``),
            else as a resource attribute.
    """
    if key is not None and not key.strip():
        key = None
    attributes, resource = f"{alias}.attributes", f"{alias}.resource"
    if key is None:
        candidates = [_inner(attributes, "metadata", "feature"), f"json_extract_string({attributes}, {_json_path('feature')})"]
    else:
        key = key.strip()
        candidates = [f"json_extract_string({attributes}, {_json_path(key)})"]
        parts = key.split(".")
        for i in range(1, len(parts)):
            candidates.append(_inner(attributes, ".".join(parts[:i]), ".".join(parts[i:])))
        candidates.append(f"json_extract_string({resource}, {_json_path(key)})")
    return "COALESCE(" + ", ".join(candidates) + ")"


def _inner(column: str, outer: str, inner: str) -> str:
    # The outer attribute holds JSON: as text (OpenInference metadata) or as an object.
    value = f"json_extract_string({column}, {_json_path(outer)})"
    return f"CASE WHEN json_valid({value}) THEN json_extract_string({value}, {_json_path(inner)}) END"


def dimension_sql(by: str, alias: str = "s", feature_key: str | None = None) -> str:
    """SQL for one dimension (see :data:`DIMENSIONS`) of the span ``alias``, as the span carries it.

    The views fall back to the trace's root span for ``user``, ``session`` and ``feature``.

    Raises:
        FilterError: ``by`` is not a dimension.
    """
    if by in _SPAN_DIMENSIONS:
        return _SPAN_DIMENSIONS[by].format(a=alias)
    if by in _ROOT_DIMENSIONS:
        return _ROOT_DIMENSIONS[by].format(a=alias)
    if by == "feature":
        return feature_sql(alias, feature_key)
    raise FilterError(f"Cannot group cost by {by!r}; choose one of {', '.join(DIMENSIONS)}.")


def _measures(alias: str = "s", *, seen: bool = False) -> str:
    billed = billed_tokens_sql(alias)
    parts = ["count(*) AS calls"]
    parts += [f"sum({alias}.{c})::BIGINT AS {c}" for c in TOKEN_SUMS]
    parts += [f"sum({billed[k]}) AS billed_{k}" for k in _KINDS]
    parts += [f"sum({alias}.client_cost) AS client_cost", f"count({alias}.client_cost) AS client_calls"]
    if seen:
        parts += [f"min({alias}.start_time) AS first_seen", f"max({alias}.start_time) AS last_seen"]
    return ", ".join(parts)


def _priced_measures(*, seen: bool = False) -> str:
    cost = " + ".join(f"c.billed_{k} * p.{k}_per_mtok" for k in _KINDS)
    parts = ["sum(c.calls)::BIGINT AS calls", "sum(CASE WHEN p.priced THEN c.calls ELSE 0 END)::BIGINT AS priced_calls"]
    parts += [f"sum(c.{t})::BIGINT AS {t}" for t in TOKEN_SUMS]
    parts += [
        f"sum(CASE WHEN p.priced THEN ({cost}) / 1e6 END) AS computed_cost",
        "sum(c.client_cost) AS client_cost",
        f"sum(CASE WHEN p.priced THEN ({cost}) / 1e6 ELSE c.client_cost END) AS cost",
        "sum(CASE WHEN p.priced THEN 0 ELSE c.calls - c.client_calls END)::BIGINT AS unpriced_calls",
    ]
    if seen:
        parts += ["min(c.first_seen) AS first_seen", "max(c.last_seen) AS last_seen"]
    return ", ".join(parts)


@contextmanager
def _registered(store: Store, **tables: pa.Table) -> Iterator[dict[str, str]]:
    """Expose Arrow tables to SQL on this thread's cursor, under fresh names, for a moment."""
    cursor = store.db.cursor()
    names = {key: f"wb_{key}_{uuid.uuid4().hex[:12]}" for key in tables}
    for key, table in tables.items():
        cursor.register(names[key], table)
    try:
        yield names
    finally:
        for name in names.values():
            cursor.unregister(name)


def _resolved(cube: pa.Table, table: PriceLookup) -> pa.Table:
    """Price the distinct (model_name, provider, day) keys of ``cube``; ``day`` in days since 1970."""
    keys = cube.select(["model_name", "provider", "day"]).group_by(["model_name", "provider", "day"]).aggregate([])
    triples = [
        (m, p, _EPOCH + dt.timedelta(days=int(d)))
        for m, p, d in zip(*(keys.column(i).to_pylist() for i in range(3)), strict=True)
    ]
    resolved = table.resolve(triples)
    return resolved.set_column(
        resolved.schema.get_field_index("day"), "day", pc.cast(resolved.column("day"), pa.int32())
    )


def price_groups(
    store: Store,
    keys: Mapping[str, str],
    source: str,
    params: Sequence[Any] = (),
    *,
    prices: PriceLookup | None = None,
    select: Mapping[str, str] | None = None,
    seen: bool = False,
    tail: str = "",
) -> pa.Table:
    """Sum calls per group and (model, provider, day), price those keys, and sum per group.

    Args:
        store: The store.
        keys: The group columns: output name -> SQL over the calls (alias ``s``).
        source: The ``FROM ... WHERE ...`` choosing the calls, over ``spans s``.
        params: The parameters of ``source``.
        prices: The price table; the effective one (:class:`Prices`) by default.
        select: For some keys, SQL with ``{}`` for the key's value, replacing it in the output
            (a bucket number to a time, a null to a label).
        seen: Also return ``first_seen`` and ``last_seen``: the calls' first and last start.
        tail: SQL after ``GROUP BY``: ``HAVING``, ``ORDER BY``, ``LIMIT`` over the output names.

    Returns:
        The keys, then ``calls``, ``priced_calls``, the :data:`TOKEN_SUMS`, ``computed_cost``,
        ``client_cost``, ``cost`` and ``unpriced_calls`` (and the two times).
    """
    inner = {name: f"k_{i}" for i, name in enumerate(keys)}  # never clash with model_name, day ...
    columns = "".join(f"{expr} AS {inner[name]}, " for name, expr in keys.items())
    cube = store.query(
        f"SELECT {columns}s.model_name, s.provider, {_day('s')} AS day, {_measures('s', seen=seen)} "
        f"{source} GROUP BY ALL",
        params,
    )
    resolved = _resolved(cube, _lookup(prices))
    select = select or {}
    outputs = "".join(
        f"{select.get(name, '{}').format(f'c.{inner[name]}')} AS {_quote(name)}, " for name in keys
    )
    group = ", ".join(f"c.{inner[name]}" for name in keys) or "()"
    with _registered(store, cube=cube, prices=resolved) as names:
        return store.query(
            f"""
            SELECT {outputs}{_priced_measures(seen=seen)}
            FROM {names['cube']} c
            LEFT JOIN {names['prices']} p
              ON p.model_name IS NOT DISTINCT FROM c.model_name
             AND p.provider IS NOT DISTINCT FROM c.provider
             AND p.day = c.day
            GROUP BY {group} {tail}
            """
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _day(alias: str = "s") -> str:
    return f"(epoch_us({alias}.start_time) // {_DAY_US})::INTEGER"


def _calls_where(reader: Reader, filter: str | None, start: Any, end: Any, project: Project) -> Any:
    where = reader._where(filter, start, end, project, alias="s")
    where.add(_is_call("s"))
    return where


def _dimensions(by: Sequence[str], feature_key: str | None, where: Any) -> tuple[list[str], str, list[Any]]:
    """SELECT expressions for ``by``, and the join to each call's root span they need (with its parameters).

    A root's values are read once per trace, in the join; the call's own value wins.
    """
    exprs, fallbacks = [], []
    for name in by:
        expr = dimension_sql(name, "s", feature_key)
        if name in _ROOT_DIMENSIONS or name == "feature":
            expr = f"COALESCE({expr}, r.v{len(fallbacks)})"
            fallbacks.append(dimension_sql(name, "x", feature_key))
        exprs.append(expr)
    if not fallbacks:
        return exprs, "", []
    values = ", ".join(f"arg_min({f}, x.start_time) AS v{i}" for i, f in enumerate(fallbacks))
    join = f"""LEFT JOIN (
        SELECT x.trace_id, {values} FROM spans x
        WHERE x.parent_span_id IS NULL AND x.trace_id IN (SELECT s.trace_id FROM spans s WHERE {where.sql})
        GROUP BY x.trace_id
    ) r ON r.trace_id = s.trace_id"""
    return exprs, join, list(where.params)


def _frame(table: pa.Table, arrow: bool) -> pd.DataFrame | pa.Table:
    return table if arrow else table.to_pandas()


def _by_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None or by == "none":
        return []
    names = [by] if isinstance(by, str) else list(by)
    for name in names:
        if name not in DIMENSIONS:
            raise FilterError(f"Cannot group cost by {name!r}; choose one of {', '.join(DIMENSIONS)}.")
    return names


def _grouped(
    reader: Reader,
    filter: str | None,
    start: Any,
    end: Any,
    project: Project,
    *,
    by: Sequence[str],
    feature_key: str | None,
    prices: PriceLookup | None,
    every: str | None = None,
    extra: Mapping[str, str] | None = None,
    seen: bool = False,
    tail: str = "",
) -> pa.Table:
    if every is not None and every not in _US:
        raise FilterError(f"every={every!r} is not known; use 'hour' or 'day' (or None for totals).")
    where = _calls_where(reader, filter, start, end, project)
    exprs, join, join_params = _dimensions(by, feature_key, where)
    keys: dict[str, str] = {}
    select: dict[str, str] = {}
    if every is not None:
        keys["bucket"] = f"epoch_us(s.start_time) // {_US[every]}"
        select["bucket"] = f"to_timestamp({{}} * {_US[every] // 1_000_000})"
    for name, expr in zip(by, exprs, strict=True):
        keys[name] = expr
        select[name] = "COALESCE({}, '(none)')"
    keys.update(extra or {})
    source = f"FROM spans s {join} WHERE {where.sql}"
    return price_groups(
        reader.store, keys, source, [*join_params, *where.params], prices=prices, select=select, seen=seen, tail=tail
    )


def cost_by(
    reader: Reader,
    filter: str | None = None,
    *,
    by: str | Sequence[str] | None = "model",
    every: str | None = None,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    feature_key: str | None = None,
    max_groups: int | None = None,
    prices: PriceLookup | None = None,
    arrow: bool = False,
) -> pd.DataFrame | pa.Table:
    """Calls, tokens and cost per group, in total or per hour or day.

    ``cost_by(wb, by="model", every="hour")`` is cost by model per hour.

    Args:
        reader: The store's reader.
        filter: A filter expression choosing the calls (see :mod:`workbench.filters`).
        by: One of :data:`DIMENSIONS`, several, or ``None`` for totals only.
        every: ``"hour"`` or ``"day"`` (UTC) for a ``bucket`` column; ``None`` for totals.
        start: Calls starting at or after this (a datetime, ISO text, or ``"7d"`` back).
        end: Calls starting before this.
        project: One project or several.
        feature_key: The attribute naming a call's feature (see :func:`feature_sql`).
        max_groups: Keep the costliest groups of a single ``by``, summing the rest as ``other``.
        prices: A price table to use instead of the effective one (a what-if).
        arrow: Return an Arrow table (ignored with ``max_groups``).

    Returns:
        ``bucket`` (with ``every``; the start of the hour or day, UTC), one column per ``by``
        (nulls as ``"(none)"``), ``calls``, ``priced_calls``, the token sums, ``computed_cost``,
        ``client_cost``, ``cost`` and ``unpriced_calls``; ordered by bucket, then cost.
    """
    names = _by_list(by)
    order = ", ".join([*(["bucket"] if every else []), "cost DESC NULLS LAST", *map(_quote, names)])
    table = _grouped(reader, filter, start, end, project, by=names, feature_key=feature_key, prices=prices,
                     every=every, tail=f"ORDER BY {order}")
    if max_groups is None or len(names) != 1:
        return _frame(table, arrow)
    return _top_groups(table.to_pandas(), names[0], max_groups, ["bucket"] if every else [])


def _top_groups(frame: pd.DataFrame, column: str, keep: int, other_keys: list[str]) -> pd.DataFrame:
    totals = frame.groupby(column, dropna=False)[["cost", "calls"]].sum(min_count=1)
    top = totals.sort_values(["cost", "calls"], ascending=False, na_position="last").index[:keep]
    if len(totals) <= keep:
        return frame
    frame = frame.copy()
    frame[column] = frame[column].where(frame[column].isin(top), "other")
    sums = [c for c in frame.columns if c not in (*other_keys, column, "first_seen", "last_seen")]
    out = frame.groupby([*other_keys, column], dropna=False, sort=False)[sums].sum(min_count=1).reset_index()
    for name in ("calls", "priced_calls", "unpriced_calls", *TOKEN_SUMS):
        out[name] = out[name].fillna(0).astype("int64")
    return out.sort_values([*other_keys, "cost"], ascending=[True] * len(other_keys) + [False]).reset_index(drop=True)


def burn_rate(
    reader: Reader,
    filter: str | None = None,
    *,
    budget: float | None = None,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    prices: PriceLookup | None = None,
) -> pd.DataFrame:
    """Spend per UTC day, with a trailing 7-day mean and an optional daily budget.

    Days without calls between the first and the last are listed with a cost of 0.

    Args:
        budget: The daily budget in USD; adds ``budget`` and ``over_budget`` columns.

    Returns:
        ``day``, ``calls``, ``total_tokens``, ``cost``, ``client_cost``, ``unpriced_calls``,
        ``mean_7d`` (the mean cost of the day and the six before), and with a budget
        ``budget`` and ``over_budget``.
    """
    frame = cost_by(reader, filter, by=None, every="day", start=start, end=end, project=project, prices=prices)
    frame = frame.rename(columns={"bucket": "day"})[
        ["day", "calls", "total_tokens", "cost", "client_cost", "unpriced_calls"]
    ]
    if len(frame):
        days = pd.date_range(frame["day"].min(), frame["day"].max(), freq="D")
        frame = frame.set_index("day").reindex(days).rename_axis("day").reset_index()
        empty = frame["calls"].isna()
        frame.loc[empty, ["calls", "total_tokens", "unpriced_calls"]] = 0
        frame.loc[empty, "cost"] = 0.0
        frame = frame.astype({"calls": "int64", "total_tokens": "int64", "unpriced_calls": "int64"})
    frame["mean_7d"] = frame["cost"].rolling(7, min_periods=1).mean()
    if budget is not None:
        frame["budget"] = float(budget)
        frame["over_budget"] = frame["cost"] > float(budget)
    return frame


def request_costs(
    reader: Reader,
    filter: str | None = None,
    *,
    by: str | None = None,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    feature_key: str | None = None,
    prices: PriceLookup | None = None,
    order: str = "",
    arrow: bool = False,
) -> pd.DataFrame | pa.Table:
    """One row per request (trace) with calls in the window: its calls, tokens and cost.

    Args:
        by: A dimension to split each trace by (a trace whose calls differ in it gets a row per value).
        order: SQL after ``GROUP BY`` over the output columns (``ORDER BY cost DESC LIMIT 20``).

    Returns:
        ``trace_id``, the ``by`` column, ``calls``, ``priced_calls``, the token sums, ``computed_cost``,
        ``client_cost``, ``cost``, ``unpriced_calls``, and ``first_seen``/``last_seen`` (its calls' starts).
    """
    names = _by_list(by)
    table = _grouped(reader, filter, start, end, project, by=names, feature_key=feature_key, prices=prices,
                     extra={"trace_id": "s.trace_id"}, seen=True, tail=order)
    table = table.select(["trace_id", *[c for c in table.column_names if c != "trace_id"]])
    return _frame(table, arrow)


def top_traces(
    reader: Reader,
    filter: str | None = None,
    *,
    limit: int = 20,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    prices: PriceLookup | None = None,
) -> pd.DataFrame:
    """The costliest traces, with their root span's name, project, user and session.

    Traces whose calls are all unpriced have no cost and come last.

    Returns:
        ``trace_id``, ``start_time``, ``name``, ``project``, ``user_id``, ``session_id``,
        ``calls``, ``total_tokens``, ``cost``, ``computed_cost``, ``client_cost``, ``unpriced_calls``.
    """
    frame = request_costs(reader, filter, start=start, end=end, project=project, prices=prices,
                          order=f"ORDER BY cost DESC NULLS LAST, unpriced_calls DESC, trace_id LIMIT {int(limit)}")
    roots = reader.store.query(
        "SELECT trace_id, start_time, name, project, user_id, session_id FROM spans "
        "WHERE parent_span_id IS NULL AND trace_id IN (SELECT unnest(?::VARCHAR[]))",
        [list(frame["trace_id"])],
    ).to_pandas().drop_duplicates("trace_id")
    frame = frame.merge(roots, on="trace_id", how="left")
    frame["start_time"] = frame["start_time"].fillna(frame["first_seen"])
    return frame[["trace_id", "start_time", "name", "project", "user_id", "session_id", "calls", "total_tokens",
                  "cost", "computed_cost", "client_cost", "unpriced_calls"]]


def top_users(
    reader: Reader,
    filter: str | None = None,
    *,
    limit: int = 20,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    prices: PriceLookup | None = None,
) -> pd.DataFrame:
    """The costliest users (``user_id`` of the call, else of its trace's root).

    Returns:
        ``user``, ``requests`` (traces), ``calls``, ``total_tokens``, ``cost``, ``cost_per_request``,
        ``unpriced_calls``, ``last_seen``; calls without a user are summed as ``"(none)"``.
    """
    per_trace = request_costs(reader, filter, by="user", start=start, end=end, project=project, prices=prices)
    if not len(per_trace):
        return pd.DataFrame(columns=["user", "requests", "calls", "total_tokens", "cost", "cost_per_request",
                                     "unpriced_calls", "last_seen"])
    grouped = per_trace.groupby("user", dropna=False)
    frame = pd.DataFrame({
        "requests": grouped["trace_id"].nunique(),
        "calls": grouped["calls"].sum(),
        "total_tokens": grouped["total_tokens"].sum(),
        "cost": grouped["cost"].sum(min_count=1),
        "unpriced_calls": grouped["unpriced_calls"].sum(),
        "last_seen": grouped["last_seen"].max(),
    }).reset_index()
    frame["cost_per_request"] = frame["cost"] / frame["requests"]
    frame = frame.sort_values(["cost", "calls"], ascending=False, na_position="last").head(int(limit))
    return frame[["user", "requests", "calls", "total_tokens", "cost", "cost_per_request", "unpriced_calls",
                  "last_seen"]].reset_index(drop=True)


def cost_per_request(
    reader: Reader,
    filter: str | None = None,
    *,
    by: str | None = None,
    quantiles: Sequence[float] = (0.5, 0.9, 0.99),
    start: Any = None,
    end: Any = None,
    project: Project = None,
    feature_key: str | None = None,
    prices: PriceLookup | None = None,
) -> pd.DataFrame:
    """The distribution of cost per request (trace), overall or per group.

    Requests whose cost is unknown (every call unpriced) are counted apart, not as $0.

    Returns:
        The ``by`` column (if any), ``requests``, ``unknown`` (requests without a cost),
        ``mean``, one ``p50``-style column per quantile, ``max`` and ``total``.
    """
    per_trace = request_costs(reader, filter, by=by, start=start, end=end, project=project,
                              feature_key=feature_key, prices=prices)
    keys = _by_list(by)
    per_trace["_all"] = "all"
    grouped = per_trace.groupby(keys or ["_all"], dropna=False)["cost"]
    frame = pd.DataFrame({"requests": grouped.size(), "unknown": grouped.apply(lambda c: int(c.isna().sum()))})
    frame["mean"] = grouped.mean()
    for q in quantiles:
        frame[f"p{q * 100:g}"] = grouped.quantile(q)
    frame["max"] = grouped.max()
    frame["total"] = grouped.sum(min_count=1)
    frame = frame.reset_index()
    if not keys:
        frame = frame.drop(columns=["_all"])
    return frame.sort_values("total", ascending=False, na_position="last").reset_index(drop=True)


def span_costs(reader: Reader, trace_id: str, *, prices: PriceLookup | None = None) -> pd.DataFrame:
    """Every span of a trace with its own cost and its subtree's (itself plus its descendants).

    Returns:
        ``span_id``, ``parent_span_id``, ``name``, ``span_kind``, ``model_name``, ``calls``
        (1 for a call), ``total_tokens``, ``cost`` (null for a span that is not a call, or an
        unpriced one), ``computed_cost``, ``client_cost``, ``unpriced_calls``, and
        ``subtree_cost``, ``subtree_tokens`` and ``subtree_unpriced_calls``. ``subtree_cost`` is
        0 for a subtree without calls and null when all of its calls are unpriced.
    """
    trace_id = trace_id.lower()
    spans = reader.store.query(
        "SELECT span_id, parent_span_id, name, span_kind, model_name, start_time FROM spans "
        "WHERE trace_id = ? ORDER BY start_time, span_id", [trace_id],
    ).to_pandas()
    own = price_groups(
        reader.store, {"span_id": "s.span_id"}, f"FROM spans s WHERE s.trace_id = ? AND {_is_call('s')}",
        [trace_id], prices=prices,
    ).to_pandas()
    frame = spans.merge(own[["span_id", "calls", "total_tokens", "cost", "computed_cost", "client_cost",
                             "unpriced_calls"]], on="span_id", how="left")
    for name in ("calls", "total_tokens", "unpriced_calls"):
        frame[name] = frame[name].fillna(0).astype("int64")
    children: dict[str, list[str]] = {}
    ids = set(frame["span_id"])
    for span_id, parent in zip(frame["span_id"], frame["parent_span_id"], strict=True):
        if parent in ids and parent != span_id:
            children.setdefault(parent, []).append(span_id)
    rows = frame.set_index("span_id")
    totals: dict[str, tuple[float | None, int, int, int]] = {}

    def visit(span_id: str) -> tuple[float | None, int, int, int]:
        # (known cost, tokens, calls, unpriced calls) of the subtree, iteratively deep trees aside.
        if span_id in totals:
            return totals[span_id]
        row = rows.loc[span_id]
        cost = None if pd.isna(row["cost"]) else float(row["cost"])
        tokens, calls, unpriced = int(row["total_tokens"]), int(row["calls"]), int(row["unpriced_calls"])
        for child in children.get(span_id, ()):
            c_cost, c_tokens, c_calls, c_unpriced = visit(child)
            cost = c_cost if cost is None else cost + (c_cost or 0.0)
            tokens, calls, unpriced = tokens + c_tokens, calls + c_calls, unpriced + c_unpriced
        totals[span_id] = (cost, tokens, calls, unpriced)
        return totals[span_id]

    for span_id in _post_order(frame["span_id"], children):
        visit(span_id)
    frame["subtree_cost"] = [_subtree_cost(totals[s]) for s in frame["span_id"]]
    frame["subtree_tokens"] = [totals[s][1] for s in frame["span_id"]]
    frame["subtree_unpriced_calls"] = [totals[s][3] for s in frame["span_id"]]
    return frame.drop(columns=["start_time"])


def _subtree_cost(total: tuple[float | None, int, int, int]) -> float | None:
    cost, _, calls, _ = total
    if cost is None:
        return 0.0 if calls == 0 else None
    return cost


def _post_order(span_ids: Iterator[str] | pd.Series, children: Mapping[str, list[str]]) -> list[str]:
    """Children before parents, without recursion (traces can be deep)."""
    order: list[str] = []
    seen: set[str] = set()
    for first in span_ids:
        stack = [(first, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in children.get(node, ()) if child not in seen)
    return order


def unpriced_models(
    reader: Reader,
    filter: str | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    prices: PriceLookup | None = None,
) -> pd.DataFrame:
    """Models called in the window that no price row prices, with their tokens: add a price for each.

    A call of such a model has no computed cost (unknown, not $0); its client-sent cost is used
    where there is one.

    Returns:
        ``model_name``, ``provider``, ``calls``, ``calls_with_client_cost``, the token sums,
        ``client_cost``, ``first_seen``, ``last_seen``, ``reason`` (why nothing matched) and
        ``fix`` (the command that adds a price); most calls first.
    """
    table = _lookup(prices)
    frame = _grouped(reader, filter, start, end, project, by=[], feature_key=None, prices=table, seen=True,
                     extra={"model_name": "s.model_name", "provider": "s.provider", "day": _day("s")}).to_pandas()
    frame = frame[frame["priced_calls"] < frame["calls"]]
    columns = ["model_name", "provider", "calls", "calls_with_client_cost", *TOKEN_SUMS, "client_cost",
               "first_seen", "last_seen", "reason", "fix"]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    frame = frame.assign(calls_with_client_cost=frame["calls"] - frame["unpriced_calls"])
    grouped = frame.groupby(["model_name", "provider"], dropna=False, sort=False)
    out = grouped[["calls", "calls_with_client_cost", *TOKEN_SUMS]].sum()
    out["client_cost"] = grouped["client_cost"].sum(min_count=1)
    out["first_seen"], out["last_seen"] = grouped["first_seen"].min(), grouped["last_seen"].max()
    out = out.reset_index()
    out["model_name"] = out["model_name"].astype(object).where(out["model_name"].notna(), None)
    out["provider"] = out["provider"].astype(object).where(out["provider"].notna(), None)
    out["reason"] = [_unpriced_reason(table, m, p, last) for m, p, last in
                     zip(out["model_name"], out["provider"], out["last_seen"], strict=True)]
    out["fix"] = [_fix(m, p) for m, p in zip(out["model_name"], out["provider"], strict=True)]
    return out.sort_values(["calls", "model_name"], ascending=[False, True]).reset_index(drop=True)[columns]


def _unpriced_reason(table: PriceLookup, model: str | None, provider: str | None, last: Any) -> str:
    if not model:
        return "the calls carry no model name, so no price can match"
    explain = getattr(table, "explain", None)
    if explain is None:
        return "no price row matches this name"
    lines = explain(model, provider, last).splitlines()
    if len(lines) > 1 and lines[1].startswith("These rows match"):
        later = lines[2].strip() if len(lines) > 2 else ""
        return f"a row matches the name but applies only from a later day: {later}"
    return "no price row matches this name"


def _fix(model: str | None, provider: str | None) -> str:
    if not model:
        return "give the calls a model name (llm.model_name or gen_ai.request.model)"
    pattern = model.replace("'", "")
    where = f" --provider {provider}" if provider else ""
    return f"workbench prices set '{_escape_pattern(pattern)}' --input USD --output USD{where}"


def _escape_pattern(name: str) -> str:
    # Patterns are regular expressions: escape what a model name may hold that means something there.
    return "".join("\\" + ch if ch in ".+*?()[]{}|^$\\" else ch for ch in name)
