"""Pricing calls in SQL: sum, look up the prices of the keys, register them, join.

Nothing is priced at ingest. A query that needs cost runs in two steps:

1. Over ``spans``: sum each group's calls per (model name, provider, UTC day): their token
   counts, and the tokens billed at each price (uncached input, output, cache read, cache
   write, reasoning). The billing rules are :mod:`workbench.pricing.maths`', taken from
   :func:`~workbench.pricing.cost_sql` (see :func:`billed_tokens_sql`), so cached tokens
   follow each span's ``prompt_includes_cache``. Cost is linear in the billed counts, so
   summing first and pricing after gives the figure pricing every span would.
2. Price the distinct keys of that small result with
   :meth:`~workbench.pricing.PriceTable.resolve`, register the answer as an Arrow table on
   the reader's thread (:meth:`~workbench.read.source.SqlSource.registered`), join, multiply, and sum per group.

Each group gets, besides its token sums, the figures of the rule in
:mod:`workbench.pricing.maths` (a call costs what its prices say when it has a price and
reports tokens to bill, else what its sender reported, else it is unknown, never $0):

* ``computed_cost``: what the prices say its calls cost;
* ``client_cost``: what the instrumented app reported (``llm.cost.*``, ``gen_ai.usage.cost``);
* ``cost``: the sum of the costs that are known; null when none is (a group of no calls
  at all costs 0: nothing was spent);
* ``priced_calls``: calls costed by a price (those reporting tokens, or every call of a
  model whose prices are all zero);
* ``unpriced_calls``: calls of a model without a price and without a cost of their own,
  whether or not they report tokens: their cost is unknown until a price is added;
* ``no_usage_calls``: calls of a priced model that report no tokens to bill and no cost
  (typically failed calls): their cost is unknown too, and they are no priced call of $0.

A *call* is a span of a kind in :data:`CALL_KINDS`. :func:`with_span_cost` and
:func:`with_trace_costs` put the figures on the rows :class:`workbench.read.local.Reader` returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from workbench.pricing import CALL_KINDS, PriceLookup, bills_tokens_sql, cost_sql, is_call_sql
from workbench.pricing.effective import effective
from workbench.pricing.maths import free_sql

if TYPE_CHECKING:
    from workbench.read.source import SqlSource

__all__ = [
    "CALL_KINDS",
    "COST_INPUTS",
    "TOKEN_SUMS",
    "billed_tokens_sql",
    "day_sql",
    "is_call_sql",
    "price_groups",
    "with_span_cost",
    "with_trace_costs",
]


#: The token sums every group gets, named as the ``spans`` columns. ``total_tokens`` counts
#: prompt plus completion where the sender gave no total.
TOKEN_SUMS: tuple[str, ...] = (
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "total_tokens",
)

#: The span columns a span's cost is computed from.
COST_INPUTS: tuple[str, ...] = ("span_kind", "model_name", "provider", "start_time", *TOKEN_SUMS,
                                "prompt_includes_cache", "client_cost")

_KINDS = ("input", "output", "cache_read", "cache_write", "reasoning")
_UNIT = "wb_unit_price"
_DAY_US = 86_400_000_000
_EPOCH = dt.date(1970, 1, 1)


def day_sql(alias: str = "s") -> str:
    """SQL for a span's UTC day as whole days since 1970 (arithmetic: no time zone look-ups)."""
    return f"(epoch_us({alias}.start_time) // {_DAY_US})::INTEGER"


def billed_tokens_sql(alias: str = "s") -> dict[str, str]:
    """SQL for the whole tokens one span bills at each price: ``input`` (uncached), ``output``,
    ``cache_read``, ``cache_write`` and ``reasoning``.

    They are :func:`~workbench.pricing.cost_sql`'s parts without their price factor, so the
    cached-token and reasoning rules are written once, in :mod:`workbench.pricing.maths`.
    """
    out = {}
    for kind, expr in cost_sql(alias, _UNIT).items():
        if kind == "total_cost":
            continue
        tokens, _, price = expr.rpartition(" * ")  # each part is "<tokens> * <price> / 1e6"
        if _UNIT in tokens or _UNIT not in price or not price.endswith(" / 1e6"):
            raise RuntimeError(f"cost_sql()'s {kind} is no longer tokens times a price: {expr}")
        out[kind.removesuffix("_cost")] = tokens
    return out


def _span_measures(alias: str, seen: bool) -> str:
    # Token sums are written as the billed counts are (sum of COALESCE), so DuckDB computes
    # the equal ones (cache reads, cache writes, reasoning) once.
    billed = billed_tokens_sql(alias)
    total = (f"COALESCE({alias}.total_tokens, "
             f"COALESCE({alias}.prompt_tokens, 0) + COALESCE({alias}.completion_tokens, 0))")
    idle = f"NOT {bills_tokens_sql(alias)}"  # nothing to bill: costed only by the sender's own figure
    parts = ["count(*) AS calls"]
    parts += [f"sum(COALESCE({alias}.{c}, 0))::BIGINT AS {c}" for c in TOKEN_SUMS if c != "total_tokens"]
    parts.append(f"sum({total})::BIGINT AS total_tokens")
    parts += [f"sum({billed[k]})::BIGINT AS billed_{k}" for k in _KINDS]
    parts += [
        f"sum({alias}.client_cost) AS client_cost",
        f"count({alias}.client_cost) AS client_calls",
        f"count(*) FILTER (WHERE NOT ({idle})) AS billing_calls",
        f"sum({alias}.client_cost) FILTER (WHERE {idle}) AS idle_client_cost",
        f"count({alias}.client_cost) FILTER (WHERE {idle}) AS idle_client_calls",
    ]
    if seen:
        parts += [f"min({alias}.start_time) AS first_seen", f"max({alias}.start_time) AS last_seen"]
    return ", ".join(parts)


def _priced_measures(seen: bool, priced: bool) -> str:
    cost = "(" + " + ".join(f"c.billed_{k} * p.{k}_per_mtok" for k in _KINDS) + ") / 1e6"  # USD per million
    free = free_sql("p")
    # The calls a price costs: those with tokens to bill, or every call of a free model.
    costed = f"CASE WHEN p.priced THEN (CASE WHEN {free} THEN c.calls ELSE c.billing_calls END) ELSE 0 END"
    computed = f"CASE WHEN p.priced AND (c.billing_calls > 0 OR {free}) THEN {cost} END"
    # What is known of a (model, provider, day): with a price, the costed calls' computed
    # cost plus the sender's cost of calls with nothing to bill; without, the sender's costs.
    known = (
        f"CASE WHEN p.priced THEN (CASE WHEN {free} THEN 0.0 WHEN c.billing_calls > 0 OR c.idle_client_calls > 0 "
        f"THEN COALESCE({computed}, 0) + COALESCE(c.idle_client_cost, 0) END) ELSE c.client_cost END"
    )
    idle = f"CASE WHEN p.priced AND NOT {free} THEN c.calls - c.billing_calls - c.idle_client_calls ELSE 0 END"
    # Without any call (a total over nothing) the counts and the cost are 0: nothing was spent.
    parts = [
        "COALESCE(sum(c.calls), 0)::BIGINT AS calls",
        f"COALESCE(sum({costed}), 0)::BIGINT AS priced_calls",
    ]
    parts += [f"COALESCE(sum(c.{t}), 0)::BIGINT AS {t}" for t in TOKEN_SUMS]
    parts += [
        f"CASE WHEN count(*) = 0 THEN 0 ELSE sum({computed}) END AS computed_cost",
        "sum(c.client_cost) AS client_cost",
        "COALESCE(sum(c.client_calls), 0)::BIGINT AS client_calls",
        f"CASE WHEN count(*) = 0 THEN 0 ELSE sum({known}) END AS cost",
        "COALESCE(sum(CASE WHEN p.priced THEN 0 ELSE c.calls - c.client_calls END), 0)::BIGINT AS unpriced_calls",
        f"COALESCE(sum({idle}), 0)::BIGINT AS no_usage_calls",
    ]
    if seen:
        parts += ["min(c.first_seen) AS first_seen", "max(c.last_seen) AS last_seen"]
    if priced:
        parts.append("COALESCE(bool_and(p.priced), FALSE) AS priced")
    return ", ".join(parts)


def _resolved(cube: pa.Table, table: PriceLookup) -> pa.Table:
    """Price the distinct (model_name, provider, day) keys of ``cube``; ``day`` in days since 1970."""
    keys = cube.select(["model_name", "provider", "day"]).group_by(["model_name", "provider", "day"]).aggregate([])
    names, providers, days = (keys.column(i).to_pylist() for i in range(3))
    resolved = table.resolve(
        (m, p, _EPOCH + dt.timedelta(days=d)) for m, p, d in zip(names, providers, days, strict=True)
    )
    at = resolved.schema.get_field_index("day")
    return resolved.set_column(at, "day", pc.cast(resolved.column("day"), pa.int32()))


def quote(name: str) -> str:
    """A SQL identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def price_groups(
    reader: SqlSource,
    keys: Mapping[str, str],
    source: str,
    params: Sequence[Any] = (),
    *,
    prices: PriceLookup | None = None,
    select: Mapping[str, str] | None = None,
    day: str | None = None,
    seen: bool = False,
    priced: bool = False,
    tail: str = "",
) -> pa.Table:
    """Sum calls per group and (model, provider, day), price those keys, and sum per group.

    Args:
        reader: A reader that runs SQL (:class:`workbench.read.source.SqlSource`).
        keys: The group columns: output name -> SQL over the calls (alias ``s``).
        source: ``FROM ... WHERE ...`` choosing the calls, over ``spans s`` (or any relation
            with the ``spans`` columns the cost needs, :data:`COST_INPUTS`).
        params: The parameters of ``keys`` and ``source``, in order.
        prices: The price table; the effective one (:mod:`workbench.pricing.effective`) by default.
        select: For some keys, SQL with ``{}`` for the key's value, replacing it in the output
            (a bucket number to a time, a null to a label).
        day: SQL for the calls' UTC day (days since 1970) computed from the keys' SQL, when a
            key already fixes the day (an hourly bucket); saves grouping by the day too.
        seen: Also return ``first_seen`` and ``last_seen``: the calls' first and last start.
        priced: Also return ``priced``: whether a price row matches every (model, provider,
            day) of the group (meant for groups keyed by those).
        tail: SQL after ``GROUP BY`` (``HAVING``, ``ORDER BY``, ``LIMIT``) over the output names.

    Returns:
        The keys, then ``calls``, ``priced_calls``, the :data:`TOKEN_SUMS`, ``computed_cost``,
        ``client_cost``, ``client_calls`` (calls with a client cost), ``cost``,
        ``unpriced_calls`` and ``no_usage_calls`` (and the two times, and ``priced``).
    """
    inner = {name: f"k_{i}" for i, name in enumerate(keys)}  # never clash with model_name, day ...
    columns = "".join(f"{expr} AS {inner[name]}, " for name, expr in keys.items())
    groups = [*keys.values(), "s.model_name", "s.provider", *([] if day else [day_sql("s")])]
    cube = reader.query(
        f"SELECT {columns}s.model_name, s.provider, {day or day_sql('s')} AS day, {_span_measures('s', seen)} "
        f"{source} GROUP BY {', '.join(groups)}",
        params,
    )
    resolved = _resolved(cube, effective(prices))
    select = select or {}
    outputs = "".join(f"{select.get(name, '{}').format('c.' + inner[name])} AS {quote(name)}, " for name in keys)
    group = ", ".join(f"c.{inner[name]}" for name in keys) or "()"
    with reader.registered(cube=cube, prices=resolved) as names:
        return reader.query(
            f"""
            SELECT {outputs}{_priced_measures(seen, priced)}
            FROM {names['cube']} c
            LEFT JOIN {names['prices']} p
              ON p.model_name IS NOT DISTINCT FROM c.model_name
             AND p.provider IS NOT DISTINCT FROM c.provider
             AND p.day = c.day
            GROUP BY {group} {tail}
            """
        )


def with_span_cost(reader: SqlSource, rows: pa.Table, *, prices: PriceLookup | None = None) -> pa.Table:
    """Append a ``cost`` column to span rows that hold :data:`COST_INPUTS`.

    A call's cost follows :mod:`workbench.pricing.maths`' rule: computed where its model has
    a price and it reports tokens to bill, else its client-sent cost, else null (unknown:
    unpriced, or no usage reported). A span that is not a call has a null cost.
    """
    numbered = rows.select(list(COST_INPUTS)).append_column("row_index", pa.array(range(rows.num_rows), pa.int64()))
    with reader.registered(page=numbered) as names:
        costs = price_groups(
            reader, {"row_index": "s.row_index"}, f"FROM {names['page']} s WHERE {is_call_sql('s')}", prices=prices
        )
    values: list[float | None] = [None] * rows.num_rows
    for row, cost in zip(costs.column("row_index").to_pylist(), costs.column("cost").to_pylist(), strict=True):
        values[row] = cost
    return rows.append_column("cost", pa.array(values, pa.float64()))


def with_trace_costs(reader: SqlSource, rows: pa.Table, *, prices: PriceLookup | None = None) -> pa.Table:
    """Append ``cost``, ``client_cost``, ``unpriced`` and ``unpriced_calls`` to trace rows (one per ``trace_id``).

    ``cost`` sums the calls' costs that are known: 0 for a trace without calls, null when no
    call's cost is known. ``unpriced`` is true when any call's model has no price (and the
    call no cost of its own); ``unpriced_calls`` counts those calls, so a trace that is
    partly unpriced shows its priced sum and how much of it is missing.
    """
    ids = rows.column("trace_id").to_pylist()
    costs = price_groups(
        reader, {"trace_id": "s.trace_id"},
        f"FROM spans s WHERE s.trace_id IN (SELECT unnest(?::VARCHAR[])) AND {is_call_sql('s')}",
        [ids], prices=prices,
    ).to_pydict()
    found = {
        t: (cost, client, unpriced > 0, unpriced)
        for t, cost, client, unpriced in zip(
            costs["trace_id"], costs["cost"], costs["client_cost"], costs["unpriced_calls"], strict=True
        )
    }
    empty = (0.0, None, False, 0)
    columns = zip(*(found.get(t, empty) for t in ids), strict=True) if ids else ((), (), (), ())
    cost, client, unpriced, unpriced_calls = columns
    return (
        rows.append_column("cost", pa.array(cost, pa.float64()))
        .append_column("client_cost", pa.array(client, pa.float64()))
        .append_column("unpriced", pa.array(unpriced, pa.bool_()))
        .append_column("unpriced_calls", pa.array(unpriced_calls, pa.int64()))
    )
