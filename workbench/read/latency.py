"""Latency questions in SQL: percentiles, their course over time, LLM timings, self time.

Each function takes a reader with the ``sql`` capability and a :class:`Selection`, and answers
one question as Arrow (or plain values); :mod:`workbench.analysis.latency` shapes the answers
into DataFrames.

``level`` chooses what is measured: ``"traces"`` measures whole traces (their root spans),
listing a trace when any of its spans matches the filter; ``"spans"`` measures the matching
spans themselves.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from workbench.errors import FilterError
from workbench.read.selection import Selection, Where
from workbench.read.source import SqlSource

__all__ = [
    "GROUPS",
    "RANKS",
    "latency_by_bucket",
    "latency_figures",
    "llm_timing_rows",
    "llm_timings_by_model",
    "self_time_per_kind",
    "start_range",
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

# Output tokens per second of generation: after the first token when that time is known.
_TOKENS_PER_S = """CASE WHEN s.completion_tokens > 0 AND s.latency_ms - coalesce(s.time_to_first_token_ms, 0) > 0
        THEN s.completion_tokens * 1000.0 / (s.latency_ms - coalesce(s.time_to_first_token_ms, 0)) END"""


def measured(level: str, selection: Selection) -> Where:
    """The WHERE clause (alias ``s``) choosing the spans to measure.

    Raises:
        FilterError: ``level`` is neither ``traces`` nor ``spans``.
    """
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
        return ("(s.status_code = 'ERROR' OR "
                "s.trace_id IN (SELECT e.trace_id FROM spans e WHERE e.status_code = 'ERROR'))")
    return "(s.status_code = 'ERROR')"


def latency_figures(reader: SqlSource, selection: Selection, level: str) -> tuple[Any, ...]:
    """Count, failed count, [p50, p95, p99], max latency (ms), first and last start."""
    where = measured(level, selection)
    return reader.rows(
        f"""SELECT count(*), count(*) FILTER (WHERE {_failed(level)}),
                   quantile_cont(s.latency_ms, [0.5, 0.95, 0.99]), max(s.latency_ms),
                   min(s.start_time), max(s.start_time)
            FROM spans s WHERE {where.sql}""",
        where.params,
    )[0]


def start_range(reader: SqlSource, selection: Selection, level: str) -> tuple[Any, Any]:
    """The first and last start time of what is measured (None, None when nothing is)."""
    where = measured(level, selection)
    first, last = reader.rows(f"SELECT min(s.start_time), max(s.start_time) FROM spans s WHERE {where.sql}",
                              where.params)[0]
    return first, last


def latency_by_bucket(
    reader: SqlSource, selection: Selection, *, by: str, level: str, micros: int, max_groups: int,
    rank: str = "p95",
) -> pa.Table:
    """p50/p95/p99, max, count and failed count per time bucket of ``micros`` and group ``by``
    (a key of :data:`GROUPS`); groups past the first ``max_groups`` by ``rank`` (a key of
    :data:`RANKS`) are ``other``, so the slowest group is never folded away."""
    where = measured(level, selection)
    group = GROUPS[by]
    only = _SPAN_GROUPS.get(by)
    if only is None:
        rows = f"""SELECT {group} AS grp, s.start_time, s.latency_ms, {_failed(level)} AS failed
                   FROM spans s WHERE {where.sql}"""
    elif level == "spans":
        rows = f"""SELECT {group} AS grp, s.start_time, s.latency_ms, {_failed(level)} AS failed
                   FROM spans s WHERE {where.sql} AND {only}"""
    else:
        rows = f"""SELECT u.grp, s.start_time, s.latency_ms, {_failed(level)} AS failed
                   FROM spans s JOIN (SELECT DISTINCT s.trace_id, {group} AS grp FROM spans s WHERE {only}) u
                     ON u.trace_id = s.trace_id
                   WHERE {where.sql}"""
    sql = f"""
        WITH m AS ({rows}),
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
    return reader.query(sql, [*where.params, int(max_groups), micros, micros])


def _llm_where(selection: Selection) -> Where:
    where = selection.where("s")
    where.add("s.span_kind = 'LLM'")
    return where


def llm_timing_rows(reader: SqlSource, selection: Selection, *, limit: int, seed: int) -> pa.Table:
    """One row of timings per LLM span (a repeatable random sample of ``limit`` when there are more)."""
    where = _llm_where(selection)
    sql = f"""
        SELECT s.trace_id, s.span_id, s.name, s.model_name, s.start_time,
               s.time_to_first_token_ms AS ttft_ms, s.latency_ms, s.completion_tokens,
               {_TOKENS_PER_S} AS output_tokens_per_s
        FROM spans s WHERE {where.sql}
    """
    total = reader.rows(f"SELECT count(*) FROM spans s WHERE {where.sql}", where.params)[0][0]
    if total > limit:
        sql = f"SELECT * FROM ({sql}) USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE ({int(seed)})"
    return reader.query(sql + " ORDER BY start_time", where.params)


def llm_timings_by_model(reader: SqlSource, selection: Selection) -> pa.Table:
    """Per model: calls, p50/p95 time to first and to last token, median tokens per second."""
    where = _llm_where(selection)
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
    return reader.query(sql, where.params)


def self_time_per_kind(reader: SqlSource, selection: Selection, *, max_traces: int | None) -> pa.Table:
    """Spans and self time (ms) per span kind, over every span of the matching traces (the
    latest ``max_traces`` of them, or all)."""
    roots = measured("traces", selection)
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
    return reader.query(sql, params)
