"""Cost grouped by the dimensions of a call: the SQL under :mod:`workbench.analysis.cost`.

The groups are priced by :func:`workbench.read.costs.price_groups` (sum per model, provider
and day, price the keys, join). A dimension is read from the call, and for ``user``,
``session`` and ``feature`` from its trace's root span when the call does not carry it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from workbench.errors import FilterError
from workbench.pricing import PriceLookup
from workbench.read.costs import day_sql, is_call_sql, price_groups, quote
from workbench.read.selection import Selection
from workbench.read.source import SqlSource, require

__all__ = [
    "DIMENSIONS",
    "KEYS",
    "costliest_requests",
    "costs_by",
    "costs_of_groups",
    "dimension_sql",
    "feature_sql",
    "span_call_costs",
    "trace_heads",
    "trace_spans",
]

#: What cost can be grouped by. ``feature`` reads an attribute (see :func:`feature_sql`).
DIMENSIONS: tuple[str, ...] = ("model", "provider", "project", "feature", "user", "session", "prompt_version")

_BUCKET_US = {"hour": 3_600_000_000, "day": 86_400_000_000}
_SPAN_DIMENSIONS = {
    "model": "{a}.model_name",
    "provider": "{a}.provider",
    "project": "{a}.project",
    "prompt_version": "{a}.prompt_template_version",
}
# Read from the call, else from its trace's root span.
_ROOT_DIMENSIONS = {"user": "{a}.user_id", "session": "{a}.session_id"}


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
        candidates = [_inner(attributes, "metadata", "feature"),
                      f"json_extract_string({attributes}, {_json_path('feature')})"]
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


def _calls_where(selection: Selection) -> Any:
    where = selection.where("s")
    where.add(is_call_sql("s"))
    return where


def _dimensions(by: Sequence[str], feature_key: str | None, where: Any) -> tuple[list[str], str, list[Any]]:
    """SELECT expressions for ``by``, and the join to each call's root span they need (with its parameters).

    A root's values are read once per trace, in the join; the call's own value wins.
    """
    exprs: list[str] = []
    fallbacks: list[str] = []
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


#: Group keys besides the dimensions, by name.
KEYS: dict[str, str] = {
    "trace_id": "s.trace_id",
    "model_name": "s.model_name",
    "provider": "s.provider",
    "day": day_sql("s"),
}


def costs_of_groups(
    reader: SqlSource,
    selection: Selection,
    *,
    by: Sequence[str],
    feature_key: str | None,
    prices: PriceLookup | None,
    every: str | None = None,
    extra: Mapping[str, str] | None = None,
    seen: bool = False,
    priced: bool = False,
    tail: str = "",
) -> pa.Table:
    """Calls, tokens and cost of the calls ``selection`` chooses, per group.

    Args:
        reader: A reader with the ``sql`` capability.
        selection: Chooses the calls, by their own start.
        by: Dimensions (:data:`DIMENSIONS`) to group by.
        feature_key: The attribute naming a call's feature (see :func:`feature_sql`).
        prices: The price table (default: the effective one).
        every: ``hour`` or ``day`` to group per time bucket too; None for totals.
        extra: More group keys, by name, from :data:`KEYS` (or SQL over the call ``s``).
        seen: Add ``first_seen``/``last_seen``.
        priced: Add whether each group's model has a price.
        tail: SQL after ``GROUP BY`` over the output columns (an ``ORDER BY``, a ``LIMIT``).
    """
    if every is not None and every not in _BUCKET_US:
        raise FilterError(f"every={every!r} is not known; use 'hour' or 'day' (or None for totals).")
    where = _calls_where(selection)
    exprs, join, join_params = _dimensions(by, feature_key, where)
    keys: dict[str, str] = {}
    select: dict[str, str] = {}
    day = None
    if every is not None:
        unit = _BUCKET_US[every]
        keys["bucket"] = f"epoch_us(s.start_time) // {unit}"
        select["bucket"] = f"to_timestamp({{}} * {unit // 1_000_000})"
        day = f"(({keys['bucket']}) * {unit} // {_BUCKET_US['day']})::INTEGER"  # the bucket fixes the day
    for name, expr in zip(by, exprs, strict=True):
        keys[name] = expr
        select[name] = "COALESCE({}, '(none)')"
    keys.update({name: KEYS.get(expr, expr) for name, expr in (extra or {}).items()})
    source = f"FROM spans s {join} WHERE {where.sql}"
    return price_groups(
        require(reader, "sql"), keys, source, [*join_params, *where.params], prices=prices, select=select, day=day,
        seen=seen, priced=priced, tail=tail,
    )


def costs_by(
    reader: SqlSource,
    selection: Selection,
    *,
    by: Sequence[str],
    feature_key: str | None,
    prices: PriceLookup | None,
    every: str | None = None,
) -> pa.Table:
    """:func:`costs_of_groups` per group of ``by`` (and bucket), by bucket, then cost, then group."""
    order = ", ".join([*(["bucket"] if every else []), "cost DESC NULLS LAST", *map(quote, by)])
    return costs_of_groups(reader, selection, by=by, feature_key=feature_key, prices=prices, every=every,
                           tail=f"ORDER BY {order}")


def costliest_requests(reader: SqlSource, selection: Selection, *, prices: PriceLookup | None, limit: int) -> pa.Table:
    """Per trace, :func:`costs_of_groups` of its calls: the ``limit`` costliest (unknown costs last)."""
    return costs_of_groups(
        reader, selection, by=[], feature_key=None, prices=prices, extra={"trace_id": "trace_id"}, seen=True,
        tail=f"ORDER BY cost DESC NULLS LAST, unpriced_calls DESC, trace_id LIMIT {int(limit)}",
    )


def trace_heads(reader: SqlSource, trace_ids: Sequence[str]) -> pa.Table:
    """Each trace's head (its root, else its earliest span): ``trace_id``, ``start_time``,
    ``name``, ``project``, ``user_id``, ``session_id``."""
    return reader.query(
        "SELECT trace_id, start_time, name, project, user_id, session_id FROM spans "
        "WHERE trace_id IN (SELECT unnest(?::VARCHAR[])) QUALIFY row_number() OVER "
        "(PARTITION BY trace_id ORDER BY parent_span_id IS NOT NULL, start_time, span_id) = 1",
        [list(trace_ids)],
    )


def _window(window: tuple[Any, Any] | None) -> tuple[str, list[Any]]:
    """A trace's known start-time window as SQL: it lets a big store skip other days' blocks."""
    if window is None:
        return "", []
    return " AND s.start_time >= ? AND s.start_time <= ?", list(window)


def trace_spans(reader: SqlSource, trace_id: str, *, window: tuple[Any, Any] | None = None) -> pa.Table:
    """A trace's spans in start order: ``span_id``, ``parent_span_id``, ``name``, ``span_kind``,
    ``model_name``, ``start_time``."""
    bound, bounds = _window(window)
    return require(reader, "sql").query(
        "SELECT span_id, parent_span_id, name, span_kind, model_name, start_time FROM spans s "
        f"WHERE trace_id = ?{bound} ORDER BY start_time, span_id", [trace_id, *bounds],
    )


def span_call_costs(reader: SqlSource, trace_id: str, *, prices: PriceLookup | None,
                    window: tuple[Any, Any] | None = None) -> pa.Table:
    """The cost figures of each call of a trace, one row per ``span_id``."""
    bound, bounds = _window(window)
    return price_groups(
        reader, {"span_id": "s.span_id"}, f"FROM spans s WHERE s.trace_id = ?{bound} AND {is_call_sql('s')}",
        [trace_id, *bounds], prices=prices,
    )
