"""One trace's spans as the Trace page draws them: a narrow Arrow table, in one query.

:func:`outline_spans` reads what the tree, the waterfall, the summary line and the search of
the Trace page need of every span of a trace (ids, times as microseconds, names, kinds,
statuses, models, tokens, and the start of the input and output), and nothing heavier: a
30,000-span trace in a 10-million-span store reads in tens of milliseconds. The tree itself
is built over these columns by :class:`workbench.app.outline.Outline`.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from workbench.read.selection import an_id
from workbench.read.source import require

__all__ = ["OUTLINE_COLUMNS", "SEARCH_CHARS", "outline_spans"]

#: How much of each span's input and output the search in a trace matches.
SEARCH_CHARS = 200

#: The columns of :func:`outline_spans`, in order.
OUTLINE_COLUMNS = (
    "span_id", "parent_span_id", "start_us", "end_us", "name", "span_kind", "status_code", "status_message",
    "model_name", "tool_name", "total_tokens", "prompt_tokens", "completion_tokens", "session_id", "user_id",
    "project", "input_start", "output_start",
)

_SQL = f"""
    SELECT span_id, parent_span_id, epoch_us(start_time) AS start_us,
           greatest(epoch_us(coalesce(end_time, start_time)), epoch_us(start_time)) AS end_us,
           name, span_kind, status_code, status_message, model_name, tool_name,
           total_tokens, prompt_tokens, completion_tokens, session_id, user_id, project,
           left(input_value, {SEARCH_CHARS}) AS input_start, left(output_value, {SEARCH_CHARS}) AS output_start
    FROM spans WHERE trace_id = ? ORDER BY start_time, span_id
"""


def outline_spans(reader: Any, trace_id: str) -> pa.Table:
    """The spans of one trace in start order, with :data:`OUTLINE_COLUMNS`.

    Args:
        reader: A reader with the ``sql`` capability.
        trace_id: The trace.

    Raises:
        CapabilityError: The reader runs no SQL (ask it for ``trace(trace_id)`` instead).
        FilterError: ``trace_id`` is no id.
    """
    return require(reader, "sql").query(_SQL, [an_id(trace_id, "trace_id")])
