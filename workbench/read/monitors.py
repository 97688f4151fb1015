"""The questions monitor rules ask, in SQL: counts per group and time bucket, model usage.

Each function takes a reader with the ``sql`` capability and the :class:`Selection` a rule
hands out (``rule.selection(start, end)``), and returns plain rows (a list of dicts) that the
rules in :mod:`workbench.monitors` judge. Time buckets are numbered since 1970 in UTC
(:func:`bucket_sql`; :func:`workbench.monitors.base.bucket_start` turns a number back into a
time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from workbench.read.latency import measured
from workbench.read.selection import Selection
from workbench.read.source import SqlSource

__all__ = [
    "ERROR_TEXT",
    "bucket_sql",
    "error_counts",
    "evaluation_counts",
    "first_span_start",
    "group_sql",
    "latency_percentiles",
    "model_errors",
    "model_usage",
]

# The error text of a span: its status message, error.type, and its exception events.
ERROR_TEXT = """concat_ws(' ', s.status_message,
    json_extract_string(s.attributes, '$."error.type"'),
    json_extract_string(s.attributes, '$."exception.message"'),
    array_to_string(json_extract_string(s.events, '$[*].attributes."exception.type"'), ' '),
    array_to_string(json_extract_string(s.events, '$[*].attributes."exception.message"'), ' '))"""

# What to quote in a message: the status message, else the first exception message.
_SAMPLE = """COALESCE(NULLIF(s.status_message, ''),
    json_extract_string(s.events, '$[0].attributes."exception.message"'),
    json_extract_string(s.attributes, '$."error.type"'))"""


def group_sql(field: str | None) -> str:
    """SQL for a span's value of ``field`` (a ``spans`` column; alias ``s``); a constant for none."""
    return f's."{field}"' if field else "NULL::VARCHAR"


def bucket_sql(width: dt.timedelta, alias: str = "s", column: str = "start_time") -> str:
    """SQL numbering the UTC bucket of ``width`` a row's time falls in (buckets since 1970)."""
    micros = int(width / dt.timedelta(microseconds=1))
    return f"(epoch_us({alias}.{column}) // {micros})"


def error_counts(
    reader: SqlSource,
    selection: Selection,
    *,
    group: str | None,
    width: dt.timedelta,
    level: str,
    leave_matching: str | None = None,
) -> list[dict[str, Any]]:
    """Spans (or requests, ``level="traces"``) and failed ones per group and bucket: rows of
    ``grp``, ``bucket``, ``n``, ``errors``. ``leave_matching``: a regular expression; failed spans
    whose error text matches it are left out."""
    where = measured(level, selection)
    if leave_matching is not None:
        where.add(f"NOT (s.status_code = 'ERROR' AND regexp_matches({ERROR_TEXT}, ?, 'i'))", leave_matching)
    return reader.query(
        f"""SELECT {group_sql(group)} AS grp, {bucket_sql(width)} AS bucket, count(*) AS n,
                   count(*) FILTER (WHERE s.status_code = 'ERROR') AS errors
            FROM spans s WHERE {where.sql} GROUP BY ALL""",
        where.params,
    ).to_pylist()


def latency_percentiles(
    reader: SqlSource,
    selection: Selection,
    *,
    group: str | None,
    width: dt.timedelta,
    level: str,
    quantile: float,
    slo_ms: float,
) -> list[dict[str, Any]]:
    """A latency percentile per group and bucket: rows of ``grp``, ``bucket``, ``n``, ``pct``,
    ``worst`` (the maximum) and ``slow`` (how many took longer than ``slo_ms``)."""
    where = measured(level, selection)
    return reader.query(
        f"""SELECT {group_sql(group)} AS grp, {bucket_sql(width)} AS bucket, count(*) AS n,
                   quantile_cont(s.latency_ms, {float(quantile)!r}) AS pct, max(s.latency_ms) AS worst,
                   count(*) FILTER (WHERE s.latency_ms > ?) AS slow
            FROM spans s WHERE {where.sql} GROUP BY ALL""",
        [float(slo_ms), *where.params],
    ).to_pylist()


def first_span_start(reader: SqlSource) -> dt.datetime | None:
    """When the earliest stored span started, or None for an empty store."""
    return reader.rows("SELECT min(start_time) FROM spans")[0][0]


def model_usage(reader: SqlSource, selection: Selection, *, history: dt.timedelta) -> list[dict[str, Any]]:
    """Per project and model called: ``calls``, ``first_seen``, ``last_seen``, ``calls_since``
    (the project's calls after the model's last), and over ``history`` before its last call:
    ``history_calls``, ``history_total`` (the project's) and ``active_days``."""
    where = selection.where("s")
    micros = int(history / dt.timedelta(microseconds=1))
    sql = f"""
        WITH calls AS (
            SELECT s.project, s.model_name AS model, s.start_time FROM spans s
            WHERE {where.sql} AND s.model_name IS NOT NULL
        ),
        per AS (
            SELECT project, model, count(*) AS calls, min(start_time) AS first_seen,
                   max(start_time) AS last_seen
            FROM calls GROUP BY ALL
        )
        SELECT p.*,
            (SELECT count(*) FROM calls c WHERE c.project = p.project AND c.start_time > p.last_seen)
                AS calls_since,
            (SELECT count(*) FROM calls c WHERE c.project = p.project AND c.model = p.model
                AND c.start_time >= p.last_seen - to_microseconds({micros})) AS history_calls,
            (SELECT count(*) FROM calls c WHERE c.project = p.project
                AND c.start_time >= p.last_seen - to_microseconds({micros}) AND c.start_time <= p.last_seen)
                AS history_total,
            (SELECT count(DISTINCT epoch_us(c.start_time) // 86400000000) FROM calls c
                WHERE c.project = p.project AND c.model = p.model
                AND c.start_time >= p.last_seen - to_microseconds({micros})) AS active_days
        FROM per p
    """
    return reader.query(sql, where.params).to_pylist()


def model_errors(reader: SqlSource, selection: Selection, *, matching: str, end: dt.datetime) -> list[dict[str, Any]]:
    """Per project and model: failed calls whose error text matches the regular expression
    ``matching`` (``errors``, ``first_error``, ``last_error``, the most common message as
    ``sample``), and ``calls_since_first_error`` until ``end``."""
    where = selection.where("s")
    sql = f"""
        WITH e AS (
            SELECT s.project, s.model_name AS model, s.start_time, {_SAMPLE} AS sample
            FROM spans s
            WHERE {where.sql} AND s.model_name IS NOT NULL
              AND (s.status_code = 'ERROR' OR s.events LIKE '%exception%')
              AND regexp_matches({ERROR_TEXT}, ?, 'i')
        ),
        g AS (
            SELECT project, model, count(*) AS errors, min(start_time) AS first_error,
                   max(start_time) AS last_error, mode(sample) AS sample
            FROM e GROUP BY ALL
        )
        SELECT g.*,
            (SELECT count(*) FROM spans c WHERE c.project = g.project AND c.model_name = g.model
                AND c.start_time >= g.first_error AND c.start_time < ?) AS calls_since_first_error
        FROM g
    """
    return reader.query(sql, [*where.params, matching, end]).to_pylist()


def evaluation_counts(
    reader: SqlSource,
    *,
    width: dt.timedelta,
    since: Any,
    end: Any,
    threshold: float,
    pass_labels: Sequence[str],
    names: Sequence[str] = (),
    annotator_kind: str | None = None,
    traces: Selection | None = None,
) -> list[dict[str, Any]]:
    """Judged annotations per name and bucket (of the annotated thing's time): rows of
    ``name``, ``bucket``, ``n``, ``passed`` and ``scored``.

    An annotation passes when its score is at least ``threshold``, else when its label
    (lower case) is one of ``pass_labels``; one with neither is not judged.

    Args:
        traces: Only annotations of the traces with a span this selection keeps.
    """
    conditions, params = ["a.t >= ?", "a.t < ?"], [since, end]
    if names:
        conditions.append("a.name IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(names))
    if annotator_kind:
        conditions.append("a.annotator_kind = ?")
        params.append(annotator_kind)
    if traces is not None:
        scope = traces.where("m")
        conditions.append(f"a.trace_id IN (SELECT m.trace_id FROM spans m WHERE {scope.sql})")
        params += scope.params
    passed = ("CASE WHEN a.score IS NOT NULL THEN a.score >= ? "
              "WHEN a.label IS NOT NULL THEN lower(a.label) IN (SELECT unnest(?::VARCHAR[])) END")
    sql = f"""
        WITH roots AS (
            SELECT trace_id, min(start_time) AS start_time FROM spans
            WHERE parent_span_id IS NULL GROUP BY trace_id
        ),
        a AS (
            SELECT a.name, a.trace_id, a.score, a.label, a.annotator_kind,
                   COALESCE(sp.start_time, r.start_time, a.created_at) AS t, {passed} AS passed
            FROM annotations a
            LEFT JOIN spans sp ON a.span_id IS NOT NULL AND sp.span_id = a.span_id AND sp.trace_id = a.trace_id
            LEFT JOIN roots r ON r.trace_id = a.trace_id
        )
        SELECT a.name, {bucket_sql(width, 'a', 't')} AS bucket, count(*) AS n,
               count(*) FILTER (WHERE a.passed) AS passed, count(a.score) AS scored
        FROM a WHERE a.passed IS NOT NULL AND {' AND '.join(conditions)}
        GROUP BY ALL
    """
    return reader.query(sql, [float(threshold), list(pass_labels), *params]).to_pylist()
