"""The trace summary: one row per trace and write, so trace filters need not read every span.

The trace list shows a trace when *any* of its spans matches the filter, which over the
``spans`` table means reading a whole column of every span for each filter. The table
``trace_summary`` (see :data:`workbench.store.schema.TRACE_SUMMARY`) holds, per trace, what
such filters ask (its models, statuses, kinds, projects, users, sessions, and its inputs and
outputs as lower-cased text), so a filter reads about a tenth as many rows.

How it stays true:

* Every append of spans (:func:`summarize_rows`, called by the writer in the transaction that
  appends them) adds one row per trace of the appended rows. A trace whose spans arrive in
  several batches, in any order, gets several rows; nothing is overwritten, so the two writer
  threads never conflict, and a reader merges the rows (``exists`` questions hold for a trace
  when they hold for any of its rows; counts add up).
* What removes or changes spans (retention, de-duplication, log records merged into spans,
  a Parquet import, the lake forgetting published spans) calls :func:`refresh` for the traces
  it touched, in its own transaction: their rows are summarized again from ``spans``.
* Anything else that writes spans with SQL of its own leaves the summary's span count apart
  from the table's. :func:`is_current` compares the two (a few milliseconds on 10 million
  spans); readers then read ``spans`` instead, and the writer rebuilds the summary
  (:func:`rebuild`, 11 s of CPU for 10 million spans here) in a pause, on a writer thread, so
  serving goes on meanwhile. A file made before the table existed is rebuilt the same way
  after it is opened for writing.

Only this module writes the table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from workbench.store.schema import TABLES, TRACE_SUMMARY
from workbench.store.transactions import transaction

__all__ = ["NAME", "SEPARATOR", "Reconciler", "is_current", "rebuild", "refresh", "summarize_rows", "summary_select"]

logger = logging.getLogger(__name__)

#: The summary table's name.
NAME = TRACE_SUMMARY.name

#: What joins the texts of a trace's spans: a filter's text cannot hold it, so a match never
#: straddles two spans.
SEPARATOR = "\x00"

_SPAN_TYPES = {c.name: c.sql for c in TABLES["spans"].columns}

# The distinct texts joined by NUL; null when every span's is (an empty text is a text).
_TEXT = "CASE WHEN count({column}) > 0 THEN array_to_string(list_distinct(list(lower({column}))), chr(0)) END"

# Column -> aggregate over spans (alias-free; each {name} is a span column).
_AGGREGATES = (
    ("start_time", "min({start_time})"),
    ("end_time", "max({end_time})"),
    ("span_count", "count(*)"),
    ("root_count", "count(*) FILTER (WHERE {parent_span_id} IS NULL)"),
    ("error_count", "count(*) FILTER (WHERE {status_code} = 'ERROR')"),
    ("llm_count", "count(*) FILTER (WHERE {span_kind} = 'LLM')"),
    ("total_tokens", "CAST(sum({total_tokens}) FILTER (WHERE {span_kind} = 'LLM') AS BIGINT)"),
    ("models", "list_distinct(list({model_name}))"),
    ("statuses", "list_distinct(list({status_code}))"),
    ("kinds", "list_distinct(list({span_kind}))"),
    ("projects", "list_distinct(list({project}))"),
    ("user_ids", "list_distinct(list({user_id}))"),
    ("session_ids", "list_distinct(list({session_id}))"),
    # Each distinct text once: calls of one conversation often repeat the same input.
    ("input_text", _TEXT.format(column="{input_value}")),
    ("output_text", _TEXT.format(column="{output_value}")),
)
_USED = ("trace_id", "start_time", "end_time", "parent_span_id", "status_code", "span_kind", "total_tokens",
         "model_name", "project", "user_id", "session_id", "input_value", "output_value")


def summary_select(source: str, columns: Iterable[str] | None = None, where: str = "") -> str:
    """SQL that summarizes the spans of ``source`` (a table or view name) per trace.

    Args:
        source: What to read spans from.
        columns: The columns ``source`` has (default: every span column); a missing one reads
            as null, so rows appended with fewer columns are summarized too.
        where: An optional condition on ``source``'s rows.
    """
    present = set(_SPAN_TYPES) if columns is None else set(columns)
    names = {c: (f'"{c}"' if c in present else f"NULL::{_SPAN_TYPES[c]}") for c in _USED}
    select = ", ".join(f"{sql.format(**names)} AS {name}" for name, sql in _AGGREGATES)
    return (f"SELECT {names['trace_id']} AS trace_id, {select} FROM {source}"
            f"{' WHERE ' + where if where else ''} GROUP BY 1")


def has_table(cursor: duckdb.DuckDBPyConnection) -> bool:
    """Whether the file holds the summary table (a read-only file made before it does not)."""
    return bool(cursor.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?", [NAME]
    ).fetchall()[0][0])


def summarize_rows(cursor: duckdb.DuckDBPyConnection, source: str, columns: Sequence[str]) -> None:
    """Add the summary of rows just appended to ``spans`` (readable as ``source``), inside the
    caller's transaction."""
    cursor.execute(f"INSERT INTO {NAME} BY NAME {summary_select(source, columns)}").fetchall()


def refresh(cursor: duckdb.DuckDBPyConnection, trace_ids_sql: str, params: Sequence[Any] = ()) -> None:
    """Summarize again, from ``spans``, the traces ``trace_ids_sql`` (a query of one column)
    names: after spans of theirs were removed or changed. Inside the caller's transaction."""
    cursor.execute(f"CREATE OR REPLACE TEMP TABLE _summary_ids AS SELECT DISTINCT * FROM ({trace_ids_sql})",
                   list(params)).fetchall()
    try:
        cursor.execute(f"DELETE FROM {NAME} WHERE trace_id IN (SELECT * FROM _summary_ids)").fetchall()
        select = summary_select("spans", where="trace_id IN (SELECT * FROM _summary_ids)")
        cursor.execute(f"INSERT INTO {NAME} BY NAME {select}").fetchall()
    finally:
        cursor.execute("DROP TABLE IF EXISTS _summary_ids").fetchall()


def rebuild(cursor: duckdb.DuckDBPyConnection) -> int:
    """Summarize every trace again from ``spans`` (a unit of work for the writer); return the
    traces summarized. One transaction: appends committed meanwhile summarize themselves."""
    cursor.execute(f"DELETE FROM {NAME}").fetchall()
    cursor.execute(f"INSERT INTO {NAME} BY NAME {summary_select('spans')}").fetchall()
    return int(cursor.execute(f"SELECT count(*) FROM {NAME}").fetchall()[0][0])


def is_current(cursor: duckdb.DuckDBPyConnection) -> bool:
    """Whether the summary covers every span: its span count matches the table's (one snapshot)."""
    if not has_table(cursor):
        return False
    spans, summarized = cursor.execute(
        f"SELECT (SELECT count(*) FROM spans), (SELECT coalesce(sum(span_count), 0) FROM {NAME})"
    ).fetchall()[0]
    return bool(spans == summarized)


def reconcile(cursor: duckdb.DuckDBPyConnection) -> int | None:
    """Rebuild the summary, in a transaction of its own, if it disagrees with ``spans``.

    The writer calls this in a pause (outside any transaction). Returns the traces
    summarized, or None when the summary was current (or the file has no summary table).
    """
    if not has_table(cursor) or is_current(cursor):
        return None
    with transaction(cursor):
        return rebuild(cursor)


class Reconciler:
    """The writer's check, in a pause, that the summary agrees with the spans (else a rebuild).

    Appends keep the summary current, so the check runs only when due: at start (a file made
    before the summary, a crash) and after a unit of work (which may write spans with SQL of
    its own). A failed rebuild (a conflicting transaction) is tried again 30 s later.
    """

    def __init__(self) -> None:
        self.due = True
        self._after = 0.0

    def run(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Check, and rebuild when the summary disagrees; on a writer thread, outside a transaction."""
        if not self.due or time.monotonic() < self._after:
            return
        self.due = False
        try:
            rebuilt = reconcile(cursor)
        except duckdb.Error as exc:
            logger.debug("rebuilding the trace summary failed: %s", exc)
            self.due, self._after = True, time.monotonic() + 30.0
            return
        if rebuilt is not None:
            logger.info("summarized %d traces again", rebuilt)
