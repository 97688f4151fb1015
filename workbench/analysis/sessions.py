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
from workbench.read import sessions as queries

__all__ = ["SESSION_COLUMNS", "count_sessions", "session_turns", "sessions"]

SESSION_COLUMNS = (
    "session_id", "user_id", "project", "turns", "first_start", "last_end", "duration_ms",
    "span_count", "error_count", "total_tokens", "first_input", "last_output",
)

Project = str | Sequence[str] | None


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
    frame = queries.session_rows(reader, Selection.of(filter, start, end, project), search=search,
                                 order_by=order_by, descending=descending, limit=limit, offset=offset).to_pandas()
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
    return queries.session_count(reader, Selection.of(filter, start, end, project), search=search)


def session_turns(reader: Reader, session_id: str) -> pd.DataFrame:
    """The turns (traces) of one session in order, numbered from 1, as :meth:`Reader.traces` rows."""
    frame = reader.traces(f"session_id == {session_id!r}", order_by="start_time", descending=False, limit=None)
    frame.insert(0, "turn", range(1, len(frame) + 1))
    return frame
