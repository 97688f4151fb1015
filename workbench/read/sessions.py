"""Session questions in SQL: sessions (traces sharing a ``session_id``) with their totals.

:mod:`workbench.analysis.sessions` says what the columns mean.
"""

from __future__ import annotations

import pyarrow as pa

from workbench.read.selection import Selection, Where
from workbench.read.source import SqlSource

__all__ = ["session_count", "session_rows"]


def _session_where(selection: Selection, search: str | None) -> Where:
    where = selection.where("s")
    where.add("s.session_id IS NOT NULL")
    if search:
        where.add("(s.session_id ILIKE ? OR coalesce(s.user_id, '') ILIKE ?)", f"%{search}%", f"%{search}%")
    return where


def session_rows(
    reader: SqlSource,
    selection: Selection,
    *,
    search: str | None,
    order_by: str,
    descending: bool,
    limit: int | None,
    offset: int,
) -> pa.Table:
    """One row per session with a span ``selection`` keeps (and ``search`` finds in its id or
    user), ordered by the column ``order_by`` (one the caller checked), a page of ``limit``."""
    where = _session_where(selection, search)
    direction = "DESC" if descending else "ASC"
    sql = f"""
        WITH st AS (SELECT DISTINCT s.session_id, s.trace_id FROM spans s WHERE {where.sql}),
        agg AS (
            SELECT st.session_id,
                   any_value(x.user_id) FILTER (WHERE x.user_id IS NOT NULL) AS user_id,
                   any_value(x.project) AS project,
                   count(DISTINCT st.trace_id) AS turns,
                   min(x.start_time) AS first_start, max(x.end_time) AS last_end,
                   count(*) AS span_count,
                   count(*) FILTER (WHERE x.status_code = 'ERROR') AS error_count,
                   CAST(sum(x.total_tokens) FILTER (WHERE x.span_kind = 'LLM') AS BIGINT) AS total_tokens,
                   arg_min(x.input_value, x.start_time) FILTER (WHERE x.parent_span_id IS NULL) AS first_input,
                   arg_max(x.output_value, x.start_time) FILTER (WHERE x.parent_span_id IS NULL) AS last_output
            FROM st JOIN spans x ON x.trace_id = st.trace_id
            GROUP BY st.session_id
        )
        SELECT session_id, user_id, project, turns, first_start, last_end,
               (epoch_us(last_end) - epoch_us(first_start)) / 1000.0 AS duration_ms,
               span_count, error_count, total_tokens,
               left(first_input, 300) AS first_input, left(last_output, 300) AS last_output
        FROM agg ORDER BY "{order_by}" {direction} NULLS LAST, session_id
    """
    params = list(where.params)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [int(limit), int(offset)]
    return reader.query(sql, params)


def session_count(reader: SqlSource, selection: Selection, *, search: str | None) -> int:
    """How many sessions :func:`session_rows` would list without a limit."""
    where = _session_where(selection, search)
    return int(reader.rows(f"SELECT count(DISTINCT s.session_id) FROM spans s WHERE {where.sql}", where.params)[0][0])
