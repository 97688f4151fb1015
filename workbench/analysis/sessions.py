"""Sessions: conversations of several turns (traces) sharing a ``session_id``.

A trace belongs to a session when any of its spans carries that ``session_id`` (instrumentors
often set it on the root only, sometimes on the LLM spans only). Totals are over every span of
the session's traces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from workbench.errors import FilterError
from workbench.read import Reader, Selection

__all__ = ["SESSION_COLUMNS", "count_sessions", "session_turns", "sessions"]

SESSION_COLUMNS = (
    "session_id", "user_id", "project", "turns", "first_start", "last_end", "duration_ms",
    "span_count", "error_count", "total_tokens", "first_input", "last_output",
)

Project = str | Sequence[str] | None


def _session_where(selection: Selection, search: str | None) -> Any:
    where = selection.where("s")
    where.add("s.session_id IS NOT NULL")
    if search:
        where.add("(s.session_id ILIKE ? OR coalesce(s.user_id, '') ILIKE ?)", f"%{search}%", f"%{search}%")
    return where


def sessions(
    reader: Reader,
    filter: str | Selection | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    search: str | None = None,
    order_by: str = "last_end",
    descending: bool = True,
    limit: int | None = 50,
    offset: int = 0,
) -> pd.DataFrame:
    """One row per session: its user, turns, time span, spans, errors and tokens.

    Args:
        filter: Sessions with a span matching this filter expression.
        search: Text found in the session id or the user id (case-insensitive).
        order_by: One of :data:`SESSION_COLUMNS` (not the text columns).

    Returns:
        The columns of :data:`SESSION_COLUMNS`; ``first_input`` is the first turn's input
        and ``last_output`` the last turn's output.
    """
    if order_by not in SESSION_COLUMNS or order_by in ("first_input", "last_output"):
        raise FilterError(f"Cannot sort sessions by {order_by!r}; choose one of {', '.join(SESSION_COLUMNS[:10])}.")
    where = _session_where(Selection.of(filter, start, end, project), search)
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
    frame = reader.query(sql, params).to_pandas()
    frame["total_tokens"] = frame["total_tokens"].astype("Int64")  # null for a session without LLM calls
    return frame


def count_sessions(
    reader: Reader,
    filter: str | Selection | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    search: str | None = None,
) -> int:
    """How many sessions :func:`sessions` would list without a limit."""
    where = _session_where(Selection.of(filter, start, end, project), search)
    sql = f"SELECT count(DISTINCT s.session_id) FROM spans s WHERE {where.sql}"
    return int(reader.rows(sql, where.params)[0][0])


def session_turns(reader: Reader, session_id: str) -> pd.DataFrame:
    """The turns (traces) of one session in order, numbered from 1, as :meth:`Reader.traces` rows."""
    frame = reader.traces(f"session_id == {session_id!r}", order_by="start_time", descending=False, limit=None)
    frame.insert(0, "turn", range(1, len(frame) + 1))
    return frame
