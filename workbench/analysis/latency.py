"""Where the time goes: latency percentiles over time, LLM timings, self time by kind.

Every function takes a :class:`~workbench.query.Reader` and the usual filters (a filter
expression, ``start``/``end``, ``project``) and returns a DataFrame.

``level`` chooses what is measured: ``"traces"`` measures whole traces (their root spans),
listing a trace when any of its spans matches the filter, as :meth:`Reader.traces` does;
``"spans"`` measures the matching spans themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from workbench.errors import FilterError
from workbench.read import Reader, Selection

__all__ = [
    "GROUPS",
    "RANKS",
    "bucket_width",
    "group_latency",
    "latency_over_time",
    "latency_summary",
    "llm_timing_summary",
    "llm_timings",
    "self_time_by_kind",
    "slowest_traces",
]

#: What latency can be grouped by, and the SQL for each.
GROUPS: dict[str, str] = {
    "none": "'all'",
    "name": "s.name",
    "model": "s.model_name",
    "tool": "coalesce(s.tool_name, s.name)",
    "kind": "s.span_kind",
    "project": "s.project",
}

# Groups that belong to some spans only (model calls, tool calls): the spans without one are
# left out, and a trace belongs to each group its spans have (its models, the tools it called).
_SPAN_GROUPS: dict[str, str] = {
    "model": "s.model_name IS NOT NULL",
    "tool": "s.span_kind = 'TOOL'",
}

#: What the groups can be ranked by: a percentile of their latency, or their size.
RANKS: dict[str, str] = {
    "p50": "quantile_cont(latency_ms, 0.5) DESC NULLS LAST",
    "p95": "quantile_cont(latency_ms, 0.95) DESC NULLS LAST",
    "p99": "quantile_cont(latency_ms, 0.99) DESC NULLS LAST",
    "max": "max(latency_ms) DESC NULLS LAST",
    "count": "count(*) DESC",
}

_WIDTHS = (
    dt.timedelta(seconds=10), dt.timedelta(minutes=1), dt.timedelta(minutes=5),
    dt.timedelta(minutes=15), dt.timedelta(hours=1), dt.timedelta(hours=3),
    dt.timedelta(hours=6), dt.timedelta(days=1), dt.timedelta(days=7),
)

Project = str | Sequence[str] | None


def _scope(level: str, selection: Selection) -> Any:
    """The WHERE clause (alias ``s``) choosing the spans to measure."""
    if level == "spans":
        return selection.where("s")
    if level != "traces":
        raise FilterError(f"level={level!r} is not known; use 'traces' or 'spans'.")
    where = selection.trace_where("s", "m")
    where.add("s.parent_span_id IS NULL")
    return where


def _failed(level: str) -> str:
    """SQL: the measured span failed (for a trace: any of its spans did)."""
    if level == "traces":
        return "(s.status_code = 'ERROR' OR s.trace_id IN (SELECT e.trace_id FROM spans e WHERE e.status_code = 'ERROR'))"
    return "(s.status_code = 'ERROR')"


def bucket_width(first: dt.datetime | None, last: dt.datetime | None, buckets: int = 60) -> dt.timedelta:
    """The narrowest of 10 s, 1 m, 5 m, 15 m, 1 h, 3 h, 6 h, 1 d, 7 d giving at most ``buckets``."""
    if first is None or last is None or last <= first:
        return _WIDTHS[1]
    span = last - first
    for width in _WIDTHS:
        if span / width <= buckets:
            return width
    return _WIDTHS[-1]


def latency_summary(
    reader: Reader,
    filter: str | None = None,
    *,
    level: str = "traces",
    start: Any = None,
    end: Any = None,
    project: Project = None,
) -> dict[str, Any]:
    """Count, error count, p50/p95/p99 and max latency (ms), and the time range measured.

    At the ``traces`` level a trace counts as an error when any of its spans failed.
    """
    where = _scope(level, Selection.of(filter, start, end, project))
    failed = _failed(level)
    row = reader.rows(
        f"""SELECT count(*), count(*) FILTER (WHERE {failed}),
                   quantile_cont(s.latency_ms, [0.5, 0.95, 0.99]), max(s.latency_ms),
                   min(s.start_time), max(s.start_time)
            FROM spans s WHERE {where.sql}""",
        where.params,
    )[0]
    quantiles = row[2] or [None, None, None]
    return {
        "count": int(row[0]), "errors": int(row[1]), "p50": quantiles[0], "p95": quantiles[1],
        "p99": quantiles[2], "max": row[3], "first_start": row[4], "last_start": row[5],
    }


def latency_over_time(
    reader: Reader,
    filter: str | None = None,
    *,
    by: str = "none",
    level: str = "traces",
    start: Any = None,
    end: Any = None,
    project: Project = None,
    width: dt.timedelta | None = None,
    max_groups: int = 8,
    rank: str = "p95",
) -> pd.DataFrame:
    """p50/p95/p99 latency per time bucket and group.

    Args:
        by: Group by ``none``, ``name``, ``model``, ``tool``, ``kind`` or ``project`` (see
            :data:`GROUPS`). By ``model`` or ``tool``, only the spans that have one are measured
            (model calls, tool calls); at the ``traces`` level a trace counts once in each
            model it called (or tool it used), and traces that called none are left out.
        width: The bucket width; by default chosen from the time range (:func:`bucket_width`).
        max_groups: The slowest groups by ``rank`` are kept; the rest are summed up as ``other``.
        rank: What makes a group one of the kept ones (see :data:`RANKS`): a percentile of its
            latency over the whole range (by default the tail, ``p95``, so the slowest group
            is never folded into ``other``), or ``count`` for the busiest.

    Returns:
        Columns ``bucket`` (start of the bucket, UTC), ``bucket_end``, ``group``, ``count``,
        ``errors``, ``p50``, ``p95``, ``p99`` and ``max``, ordered by bucket and group.
    """
    if by not in GROUPS:
        raise FilterError(f"Cannot group latency by {by!r}; choose one of {', '.join(GROUPS)}.")
    if rank not in RANKS:
        raise FilterError(f"Cannot rank latency groups by {rank!r}; choose one of {', '.join(RANKS)}.")
    where = _scope(level, Selection.of(filter, start, end, project))
    if width is None:
        first, last = reader.rows(
            f"SELECT min(s.start_time), max(s.start_time) FROM spans s WHERE {where.sql}", where.params
        )[0]
        width = bucket_width(first, last)
    micros = int(width / dt.timedelta(microseconds=1))
    group = GROUPS[by]
    only = _SPAN_GROUPS.get(by)
    if only is None:
        measured = f"""SELECT {group} AS grp, s.start_time, s.latency_ms, {_failed(level)} AS failed
                       FROM spans s WHERE {where.sql}"""
    elif level == "spans":
        measured = f"""SELECT {group} AS grp, s.start_time, s.latency_ms, {_failed(level)} AS failed
                       FROM spans s WHERE {where.sql} AND {only}"""
    else:
        measured = f"""SELECT u.grp, s.start_time, s.latency_ms, {_failed(level)} AS failed
                       FROM spans s JOIN (SELECT DISTINCT s.trace_id, {group} AS grp FROM spans s WHERE {only}) u
                         ON u.trace_id = s.trace_id
                       WHERE {where.sql}"""
    sql = f"""
        WITH m AS ({measured}),
        top AS (SELECT grp FROM m GROUP BY grp ORDER BY {RANKS[rank]}, count(*) DESC, grp LIMIT ?),
        g AS (
            SELECT time_bucket(to_microseconds(?::BIGINT), m.start_time) AS bucket,
                   CASE WHEN m.grp IN (SELECT grp FROM top) THEN coalesce(m.grp, '(none)') ELSE 'other' END AS "group",
                   m.latency_ms, m.failed
            FROM m
        )
        SELECT bucket, bucket + to_microseconds(?::BIGINT) AS bucket_end, "group", count(*) AS count,
               count(*) FILTER (WHERE failed) AS errors,
               quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95,
               quantile_cont(latency_ms, 0.99) AS p99, max(latency_ms) AS max
        FROM g GROUP BY bucket, "group" ORDER BY bucket, "group"
    """
    params = [*where.params, int(max_groups), micros, micros]
    return reader.sql(sql, params).to_pandas()


def group_latency(
    reader: Reader,
    filter: str | None = None,
    *,
    by: str = "tool",
    level: str = "spans",
    start: Any = None,
    end: Any = None,
    project: Project = None,
    rank: str = "p95",
    limit: int = 10,
) -> pd.DataFrame:
    """Each group's count, errors and p50/p95/p99/max latency over the whole range, slowest first.

    Groups as :func:`latency_over_time` makes them (``by`` and ``level`` alike).

    Returns:
        Columns ``group``, ``count``, ``errors``, ``p50``, ``p95``, ``p99`` and ``max``, ranked
        by ``rank`` (see :data:`RANKS`), at most ``limit`` rows.
    """
    frame = latency_over_time(reader, filter, by=by, level=level, start=start, end=end, project=project,
                              width=dt.timedelta(days=365_000), max_groups=max(int(limit), 1), rank=rank)
    frame = frame[frame["group"] != "other"].drop(columns=["bucket", "bucket_end"])
    key = "count" if rank == "count" else rank
    return frame.sort_values([key, "count"], ascending=False, na_position="last").head(limit).reset_index(drop=True)


def _llm_where(selection: Selection) -> Any:
    where = selection.where("s")
    where.add("s.span_kind = 'LLM'")
    return where


# Output tokens per second of generation: after the first token when that time is known.
_TOKENS_PER_S = """CASE WHEN s.completion_tokens > 0 AND s.latency_ms - coalesce(s.time_to_first_token_ms, 0) > 0
        THEN s.completion_tokens * 1000.0 / (s.latency_ms - coalesce(s.time_to_first_token_ms, 0)) END"""


def llm_timings(
    reader: Reader,
    filter: str | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    limit: int = 10_000,
    seed: int = 7,
) -> pd.DataFrame:
    """Timings of LLM spans, one row each (a random sample of ``limit`` when there are more).

    Returns:
        Columns ``trace_id``, ``span_id``, ``name``, ``model_name``, ``start_time``,
        ``ttft_ms`` (time to first token), ``latency_ms`` (time to last token),
        ``completion_tokens`` and ``output_tokens_per_s``.
    """
    where = _llm_where(Selection.of(filter, start, end, project))
    sql = f"""
        SELECT s.trace_id, s.span_id, s.name, s.model_name, s.start_time,
               s.time_to_first_token_ms AS ttft_ms, s.latency_ms, s.completion_tokens,
               {_TOKENS_PER_S} AS output_tokens_per_s
        FROM spans s WHERE {where.sql}
    """
    total = reader.rows(f"SELECT count(*) FROM spans s WHERE {where.sql}", where.params)[0][0]
    if total > limit:
        sql = f"SELECT * FROM ({sql}) USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE ({int(seed)})"
    return reader.sql(sql + " ORDER BY start_time", where.params).to_pandas()


def llm_timing_summary(
    reader: Reader,
    filter: str | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: Project = None,
) -> pd.DataFrame:
    """Per model: calls, p50/p95 time to first token and to last token, median tokens per second."""
    where = _llm_where(Selection.of(filter, start, end, project))
    sql = f"""
        SELECT coalesce(s.model_name, '(no model)') AS model_name, count(*) AS calls,
               count(s.time_to_first_token_ms) AS streamed,
               quantile_cont(s.time_to_first_token_ms, 0.5) AS ttft_p50,
               quantile_cont(s.time_to_first_token_ms, 0.95) AS ttft_p95,
               quantile_cont(s.latency_ms, 0.5) AS latency_p50,
               quantile_cont(s.latency_ms, 0.95) AS latency_p95,
               quantile_cont(s.latency_ms, 0.99) AS latency_p99,
               quantile_cont({_TOKENS_PER_S}, 0.5) AS tokens_per_s_p50,
               CAST(sum(s.completion_tokens) AS BIGINT) AS completion_tokens
        FROM spans s WHERE {where.sql}
        GROUP BY 1 ORDER BY calls DESC, model_name
    """
    frame = reader.sql(sql, where.params).to_pandas()
    frame["completion_tokens"] = frame["completion_tokens"].astype("Int64")  # null when no call reported any
    return frame


def self_time_by_kind(
    reader: Reader,
    filter: str | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    max_traces: int | None = 5_000,
) -> pd.DataFrame:
    """Self time (a span's duration not covered by its children) summed by span kind.

    Measured over every span of the traces that match (a trace matches when its root starts
    in the range and any of its spans matches ``filter``), so it answers "in these traces, how
    much time went to retrieval, generation, tools ...".

    Args:
        max_traces: Measure only the latest this many matching traces (None: all); the shares
            hardly move past a few thousand, and every span of a million takes a second or two.

    Returns:
        Columns ``span_kind``, ``spans``, ``self_ms`` and ``share`` (of all self time), largest first.
    """
    roots = _scope("traces", Selection.of(filter, start, end, project))
    params = list(roots.params)
    latest = ""
    if max_traces is not None:
        latest = "ORDER BY s.start_time DESC LIMIT ?"
        params.append(int(max_traces))
    # Children clipped to their parent, merged into islands (a gaps-and-islands pass), so
    # parallel children are not counted twice; then self = duration - covered.
    sql = f"""
        WITH t AS (SELECT s.trace_id FROM spans s WHERE {roots.sql} {latest}),
        x AS (SELECT s.trace_id, s.span_id, s.parent_span_id, s.span_kind, s.start_time, s.end_time, s.latency_ms
              FROM spans s WHERE s.trace_id IN (SELECT trace_id FROM t)),
        c AS (
            SELECT ch.trace_id, ch.parent_span_id AS pid,
                   greatest(ch.start_time, p.start_time) AS cs, least(ch.end_time, p.end_time) AS ce
            FROM x ch JOIN x p ON p.trace_id = ch.trace_id AND p.span_id = ch.parent_span_id
        ),
        c2 AS (
            SELECT *, max(ce) OVER (PARTITION BY trace_id, pid ORDER BY cs, ce
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
            FROM c WHERE ce > cs
        ),
        c3 AS (
            SELECT *, sum(CASE WHEN prev_end IS NULL OR cs > prev_end THEN 1 ELSE 0 END)
                      OVER (PARTITION BY trace_id, pid ORDER BY cs, ce ROWS UNBOUNDED PRECEDING) AS island
            FROM c2
        ),
        islands AS (SELECT trace_id, pid, island, min(cs) AS i_start, max(ce) AS i_end FROM c3 GROUP BY ALL),
        covered AS (
            SELECT trace_id, pid, sum(epoch_us(i_end) - epoch_us(i_start)) / 1000.0 AS covered_ms
            FROM islands GROUP BY ALL
        )
        SELECT x.span_kind, count(*) AS spans,
               sum(greatest((epoch_us(x.end_time) - epoch_us(x.start_time)) / 1000.0 - coalesce(v.covered_ms, 0), 0))
                   AS self_ms
        FROM x LEFT JOIN covered v ON v.trace_id = x.trace_id AND v.pid = x.span_id
        GROUP BY x.span_kind ORDER BY self_ms DESC, x.span_kind
    """
    frame = reader.sql(sql, params).to_pandas()
    total = frame["self_ms"].sum()
    frame["share"] = frame["self_ms"] / total if total else 0.0
    return frame


def slowest_traces(
    reader: Reader,
    filter: str | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    limit: int = 20,
) -> pd.DataFrame:
    """The slowest traces (one row each, as :meth:`Reader.traces` gives), slowest first."""
    return reader.traces(filter, start=start, end=end, project=project, order_by="latency_ms",
                         descending=True, limit=limit)
