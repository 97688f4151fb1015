"""Tokens and cost by model, provider, project, feature, user, session and prompt version.

Every view takes a :class:`~workbench.query.Reader` and the usual filters (a filter
expression, ``start``/``end``, ``project``), which choose *calls* (``LLM`` and ``EMBEDDING``
spans) by their own start time, and returns a DataFrame. A *request* is a trace. User,
session and feature are the call's own, else its trace root's.

Cost is computed when the view runs, from the effective prices
(:mod:`workbench.pricing.prices`: shipped rows plus the user's price file), so a price set a
moment ago re-costs all of history; :mod:`workbench.read.costs` says how. Each view
shows ``cost`` (the sum of the calls' costs that are known: computed where the model has a
price and the call reports tokens, else the client-sent cost), ``computed_cost``,
``client_cost``, ``unpriced_calls`` and ``no_usage_calls``; the rule is written once, in
:mod:`workbench.pricing.maths`. Calls of a model without a price are unknown, never $0:
:func:`unpriced_models` lists them so that a price can be added. Calls of a priced model
that report no tokens (failed calls, mostly) are unknown too, and no priced call of $0.

=========================  =========================================================
:func:`cost_by`            calls, tokens and cost per group, in total or per hour/day
:func:`burn_rate`          spend per day, a trailing mean, and an optional budget
:func:`cost_change`        each group's spend, and how its daily spend moved
:func:`top_traces`         the costliest requests
:func:`top_users`          the costliest users
:func:`request_costs`      one row per request, for a distribution
:func:`cost_per_request`   mean and quantiles of cost per request, per group
:func:`span_costs`         one trace's spans, each with its subtree's cost
:func:`unpriced_models`    the models no price row prices, with their tokens
=========================  =========================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from workbench.errors import FilterError
from workbench.pricing import PriceLookup
from workbench.pricing.effective import effective
from workbench.read import Selection
from workbench.read import spend as queries
from workbench.read.costs import TOKEN_SUMS
from workbench.read.spend import DIMENSIONS, dimension_sql, feature_sql

if TYPE_CHECKING:
    from workbench.read import Reader

__all__ = [
    "DIMENSIONS",
    "burn_rate",
    "cost_by",
    "cost_change",
    "cost_per_request",
    "dimension_sql",
    "feature_sql",
    "request_costs",
    "span_costs",
    "top_traces",
    "top_users",
    "unpriced_models",
]

Project = str | Sequence[str] | None


def _empty(columns: Sequence[str], types: Mapping[str, str]) -> pd.DataFrame:
    """An empty frame whose columns have the types a full one would (counts: int64)."""
    return pd.DataFrame({c: pd.Series([], dtype=types.get(c, "int64")) for c in columns})


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


def cost_by(
    reader: Reader,
    filter: str | Selection | None = None,
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
        filter: A filter expression choosing the calls (see :mod:`workbench.read.filters`).
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
        ``client_cost``, ``client_calls``, ``cost``, ``unpriced_calls`` and ``no_usage_calls``;
        ordered by bucket, then cost. ``cost`` is null for a group none of whose calls has a
        known cost.
    """
    names = _by_list(by)
    table = queries.costs_by(reader, Selection.of(filter, start, end, project), by=names, feature_key=feature_key,
                             prices=prices, every=every)
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
    for name in ("calls", "priced_calls", "client_calls", "unpriced_calls", "no_usage_calls", *TOKEN_SUMS):
        if name in out:
            out[name] = out[name].fillna(0).astype("int64")
    return out.sort_values([*other_keys, "cost"], ascending=[True] * len(other_keys) + [False]).reset_index(drop=True)


def burn_rate(
    reader: Reader,
    filter: str | Selection | None = None,
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


def cost_change(
    reader: Reader,
    filter: str | Selection | None = None,
    *,
    by: str = "feature",
    start: Any = None,
    end: Any = None,
    project: Project = None,
    feature_key: str | None = None,
    prices: PriceLookup | None = None,
) -> pd.DataFrame:
    """Each group's spend, and how its daily spend moved: the first half of the days against the second.

    The days run from the first to the last day with calls (UTC); with an odd count the
    middle day is left out. A feature whose burn jumped shows a large ``change``.

    Returns:
        The ``by`` column, ``calls``, ``total_tokens``, ``cost``, ``share`` (of all cost),
        ``per_day_before``, ``per_day_after`` (mean cost per day in each half) and ``change``
        (``after / before - 1``; null without two days or without spend before), costliest first.
    """
    names = _by_list(by)
    if len(names) != 1:
        raise FilterError("cost_change() compares one dimension at a time; give by a single name.")
    daily = cost_by(reader, filter, by=by, every="day", start=start, end=end, project=project,
                    feature_key=feature_key, prices=prices)
    columns = [by, "calls", "total_tokens", "cost", "share", "per_day_before", "per_day_after", "change"]
    if daily.empty:
        return _empty(columns, {by: "object", **dict.fromkeys(columns[3:], "float64")})
    grouped = daily.groupby(by, dropna=False)
    out = pd.DataFrame({"calls": grouped["calls"].sum(), "total_tokens": grouped["total_tokens"].sum(),
                        "cost": grouped["cost"].sum(min_count=1)})
    total = out["cost"].sum()
    out["share"] = out["cost"] / total if total else float("nan")
    days = pd.date_range(daily["bucket"].min(), daily["bucket"].max(), freq="D")
    per_day = daily.pivot_table(index="bucket", columns=by, values="cost", aggfunc="sum").reindex(days).fillna(0.0)
    half = len(days) // 2
    if half:
        out["per_day_before"] = per_day.iloc[:half].mean()
        out["per_day_after"] = per_day.iloc[len(days) - half:].mean()
        before = out["per_day_before"].where(out["per_day_before"] > 0)
        out["change"] = out["per_day_after"] / before - 1
    else:
        out["per_day_before"] = out["per_day_after"] = out["change"] = float("nan")
    out = out.reset_index().sort_values(["cost", "calls"], ascending=False, na_position="last")
    return out[columns].reset_index(drop=True)


def request_costs(
    reader: Reader,
    filter: str | Selection | None = None,
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
        ``client_cost``, ``client_calls``, ``cost``, ``unpriced_calls``, ``no_usage_calls``, and
        ``first_seen``/``last_seen`` (its calls' starts).
    """
    names = _by_list(by)
    table = queries.costs_of_groups(reader, Selection.of(filter, start, end, project), by=names,
                                    feature_key=feature_key, prices=prices, extra={"trace_id": "trace_id"}, seen=True,
                                    tail=order)
    table = table.select(["trace_id", *[c for c in table.column_names if c != "trace_id"]])
    return _frame(table, arrow)


def top_traces(
    reader: Reader,
    filter: str | Selection | None = None,
    *,
    limit: int = 20,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    prices: PriceLookup | None = None,
) -> pd.DataFrame:
    """The costliest traces, with their root span's name, project, user and session.

    Traces whose calls' costs are all unknown have no cost and come last. A trace whose root
    span never arrived is named after its earliest span.

    Returns:
        ``trace_id``, ``start_time``, ``name``, ``project``, ``user_id``, ``session_id``,
        ``calls``, ``total_tokens``, ``cost``, ``computed_cost``, ``client_cost``, ``unpriced_calls``.
    """
    table = queries.costliest_requests(reader, Selection.of(filter, start, end, project), prices=prices, limit=limit)
    frame = table.select(["trace_id", *[c for c in table.column_names if c != "trace_id"]]).to_pandas()
    roots = queries.trace_heads(reader, list(frame["trace_id"])).to_pandas()
    frame = frame.merge(roots, on="trace_id", how="left")
    frame["start_time"] = frame["start_time"].fillna(frame["first_seen"])
    return frame[["trace_id", "start_time", "name", "project", "user_id", "session_id", "calls", "total_tokens",
                  "cost", "computed_cost", "client_cost", "unpriced_calls"]]


def top_users(
    reader: Reader,
    filter: str | Selection | None = None,
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
        return _empty(["user", "requests", "calls", "total_tokens", "cost", "cost_per_request", "unpriced_calls",
                       "last_seen"], {"user": "object", "cost": "float64", "cost_per_request": "float64",
                                      "last_seen": "datetime64[us, UTC]"})
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

    Requests whose cost is unknown (no call's cost is known) are counted apart, not as $0.

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


def span_costs(reader: Reader, trace_id: str, *, prices: PriceLookup | None = None,
               window: tuple[Any, Any] | None = None) -> pd.DataFrame:
    """Every span of a trace with its own cost and its subtree's (itself plus its descendants).

    ``window`` (first, last), when the caller knows when the trace's spans start, bounds the
    reads by time: in a big store that skips the blocks of other days instead of reading
    every trace id.

    Returns:
        ``span_id``, ``parent_span_id``, ``name``, ``span_kind``, ``model_name``, ``calls``
        (1 for a call), ``total_tokens``, ``cost`` (null for a span that is not a call, and for
        a call whose cost is unknown), ``computed_cost``, ``client_cost``, ``unpriced_calls``,
        ``no_usage_calls``, and ``subtree_cost``, ``subtree_tokens``,
        ``subtree_unpriced_calls`` and ``subtree_no_usage_calls``. ``subtree_cost`` sums the
        known costs: 0 for a subtree without calls, null when none of its calls' costs is known.
    """
    trace_id = trace_id.lower()
    spans = queries.trace_spans(reader, trace_id, window=window).to_pandas()
    own = queries.span_call_costs(reader, trace_id, prices=prices, window=window).to_pandas()
    frame = spans.merge(own[["span_id", "calls", "total_tokens", "cost", "computed_cost", "client_cost",
                             "unpriced_calls", "no_usage_calls"]], on="span_id", how="left")
    for name in ("calls", "total_tokens", "unpriced_calls", "no_usage_calls"):
        frame[name] = frame[name].fillna(0).astype("int64")
    children: dict[str, list[str]] = {}
    ids = set(frame["span_id"])
    for span_id, parent in zip(frame["span_id"], frame["parent_span_id"], strict=True):
        if parent in ids and parent != span_id:
            children.setdefault(parent, []).append(span_id)
    # Plain lists by position: a pandas lookup per span took seconds on a 30,000-span trace.
    index = {span_id: i for i, span_id in enumerate(frame["span_id"])}
    own_cost = [None if pd.isna(c) else float(c) for c in frame["cost"]]
    own_counts = list(zip(frame["total_tokens"].tolist(), frame["calls"].tolist(),
                          frame["unpriced_calls"].tolist(), frame["no_usage_calls"].tolist(), strict=True))
    totals: dict[str, tuple[float | None, int, int, int, int]] = {}

    def visit(span_id: str) -> tuple[float | None, int, int, int, int]:
        # (known cost, tokens, calls, unpriced calls, no-usage calls) of the subtree; children first.
        i = index[span_id]
        cost = own_cost[i]
        tokens, calls, unpriced, idle = own_counts[i]
        for child in children.get(span_id, ()):
            if child not in totals:  # a loop of parents: each span counted once
                continue
            c_cost, c_tokens, c_calls, c_unpriced, c_idle = totals[child]
            cost = c_cost if cost is None else cost + (c_cost or 0.0)
            tokens, calls, unpriced, idle = tokens + c_tokens, calls + c_calls, unpriced + c_unpriced, idle + c_idle
        totals[span_id] = (cost, tokens, calls, unpriced, idle)
        return totals[span_id]

    for span_id in _post_order(frame["span_id"], children):
        visit(span_id)
    frame["subtree_cost"] = [_subtree_cost(totals[s]) for s in frame["span_id"]]
    frame["subtree_tokens"] = [totals[s][1] for s in frame["span_id"]]
    frame["subtree_unpriced_calls"] = [totals[s][3] for s in frame["span_id"]]
    frame["subtree_no_usage_calls"] = [totals[s][4] for s in frame["span_id"]]
    return frame.drop(columns=["start_time"])


def _subtree_cost(total: tuple[float | None, int, int, int, int]) -> float | None:
    cost, _, calls, _, _ = total
    if cost is None:
        return 0.0 if calls == 0 else None
    return cost


def _post_order(span_ids: Iterable[str], children: Mapping[str, list[str]]) -> list[str]:
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
    filter: str | Selection | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    prices: PriceLookup | None = None,
) -> pd.DataFrame:
    """Models called in the window that no price row prices, with their tokens: add a price for each.

    A call of such a model has no computed cost (unknown, not $0), whether or not it reports
    tokens; its client-sent cost is used where there is one.

    Returns:
        ``model_name``, ``provider``, ``calls``, ``unpriced_calls`` (those whose cost stays
        unknown: no price and no cost of their own), ``calls_with_client_cost``, the token sums,
        ``client_cost``, ``first_seen``, ``last_seen``, ``reason`` (why nothing matched) and
        ``fix`` (the command that adds a price); first the models whose calls report tokens
        (a price would cost them), then by unknown calls.
    """
    table = effective(prices)
    frame = queries.costs_of_groups(reader, Selection.of(filter, start, end, project), by=[], feature_key=None,
                                    prices=table, seen=True, priced=True,
                                    extra={"model_name": "model_name", "provider": "provider", "day": "day"},
                                    ).to_pandas()
    frame = frame[~frame["priced"].astype(bool)]
    columns = ["model_name", "provider", "calls", "unpriced_calls", "calls_with_client_cost", *TOKEN_SUMS,
               "client_cost", "first_seen", "last_seen", "reason", "fix"]
    if not len(frame):
        return _empty(columns, {"model_name": "object", "provider": "object", "client_cost": "float64",
                                "first_seen": "datetime64[us, UTC]", "last_seen": "datetime64[us, UTC]",
                                "reason": "object", "fix": "object"})
    frame = frame.rename(columns={"client_calls": "calls_with_client_cost"})
    grouped = frame.groupby(["model_name", "provider"], dropna=False, sort=False)
    out = grouped[["calls", "unpriced_calls", "calls_with_client_cost", *TOKEN_SUMS]].sum()
    out["client_cost"] = grouped["client_cost"].sum(min_count=1)
    out["first_seen"], out["last_seen"] = grouped["first_seen"].min(), grouped["last_seen"].max()
    out = out.reset_index()
    out["model_name"] = out["model_name"].astype(object).where(out["model_name"].notna(), None)
    out["provider"] = out["provider"].astype(object).where(out["provider"].notna(), None)
    out["reason"] = [_unpriced_reason(table, m, p, last, tokens) for m, p, last, tokens in
                     zip(out["model_name"], out["provider"], out["last_seen"], out["total_tokens"], strict=True)]
    out["fix"] = [_fix(m, p) for m, p in zip(out["model_name"], out["provider"], strict=True)]
    # First the models a price would cost (their calls report tokens), then the most unknown calls.
    out["_bills"] = out[[c for c in TOKEN_SUMS if c != "total_tokens"]].sum(axis=1) > 0
    order = out.sort_values(["_bills", "unpriced_calls", "calls", "model_name"],
                            ascending=[False, False, False, True])
    return order.reset_index(drop=True)[columns]


def _unpriced_reason(table: PriceLookup, model: str | None, provider: str | None, last: Any, tokens: int) -> str:
    if not model:
        return "the calls carry no model name, so no price can match"
    explain = getattr(table, "explain", None)
    if explain is None:
        return "no price row matches this name"
    lines = explain(model, provider, last).splitlines()
    if len(lines) > 1 and lines[1].startswith("These rows match"):
        later = lines[2].strip() if len(lines) > 2 else ""
        return f"a row matches the name but applies only from a later day: {later}"
    if not tokens:
        return ("no price row matches this name, and its calls report no tokens: a price of 0 (a free or "
                "local model) costs them $0, any other price leaves them unknown")
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
