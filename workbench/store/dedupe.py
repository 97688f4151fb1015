"""Removing spans stored twice: an OTLP exporter re-sends a batch whose answer it lost.

A 200 is sent only after the commit, so a client that timed out waiting for it sends the
same spans again, and both copies are committed. A unique key would catch that on insert,
but it slows every insert; instead the writer removes the later copies once ingest pauses,
looking only at the time ranges written since the last pass. Span ids are unique within a
trace by OpenTelemetry's rules, so two rows with one (trace_id, span_id) are one span.
Documents and embeddings go with their span; evaluations read from span attributes carry
stable ids, so their copies go too.

The ranges still to look at are rows of ``workbench_meta`` (keys ``dedupe:<uuid>``), each
written in the transaction that wrote its spans and removed in the transaction that
de-duplicated them, so copies written just before a crash or a stop are removed after the
next start. Each transaction adds a row of its own (appends never conflict, so the two
writer threads never get in each other's way).
"""

from __future__ import annotations

import datetime as dt
import uuid

import duckdb

from workbench.store import summary
from workbench.store.transactions import transaction

__all__ = ["record_pending", "remove_duplicates", "remove_pending_duplicates"]

_PREFIX = "dedupe:"

_LATER_COPIES = """
DELETE FROM {table} WHERE rowid IN (
    SELECT r FROM (
        SELECT rowid AS r, row_number() OVER (PARTITION BY {key} ORDER BY rowid) AS n
        FROM {table} WHERE start_time BETWEEN $lo AND $hi
    ) WHERE n > 1
)
"""

_SPAN_COPIES = """
CREATE OR REPLACE TEMP TABLE _span_copies AS
SELECT r, trace_id FROM (
    SELECT rowid AS r, trace_id, row_number() OVER (PARTITION BY trace_id, span_id ORDER BY rowid) AS n
    FROM spans WHERE start_time BETWEEN $lo AND $hi
) WHERE n > 1
"""

_LATER_ANNOTATIONS = """
DELETE FROM annotations WHERE rowid IN (
    SELECT r FROM (
        SELECT rowid AS r, row_number() OVER (PARTITION BY annotation_id ORDER BY rowid) AS n
        FROM annotations
        WHERE annotation_id IN (
            SELECT annotation_id FROM annotations
            WHERE trace_id IN (SELECT DISTINCT trace_id FROM spans WHERE start_time BETWEEN $lo AND $hi)
            GROUP BY annotation_id HAVING count(*) > 1
        )
    ) WHERE n > 1
)
"""


def record_pending(cursor: duckdb.DuckDBPyConnection, lo: dt.datetime, hi: dt.datetime) -> None:
    """Record, inside the caller's write transaction, that spans starting between ``lo`` and
    ``hi`` were written and are still to be de-duplicated."""
    cursor.execute(
        "INSERT INTO workbench_meta VALUES (?, ?)",
        [_PREFIX + uuid.uuid4().hex, f"{lo.isoformat()}|{hi.isoformat()}"],
    )


def _delete_later_copies(cursor: duckdb.DuckDBPyConnection, lo: dt.datetime, hi: dt.datetime) -> int:
    params = {"lo": lo, "hi": hi}
    cursor.execute(_SPAN_COPIES, params).fetchall()
    try:
        removed = cursor.execute("DELETE FROM spans WHERE rowid IN (SELECT r FROM _span_copies)").fetchall()
        spans = int(removed[0][0]) if removed else 0
        if spans:  # their traces' summary counted the copies
            summary.refresh(cursor, "SELECT trace_id FROM _span_copies")
    finally:
        cursor.execute("DROP TABLE IF EXISTS _span_copies").fetchall()
    if spans:
        for table in ("documents", "embeddings"):
            cursor.execute(_LATER_COPIES.format(table=table, key="trace_id, span_id, position"), params)
        cursor.execute(_LATER_ANNOTATIONS, params)
    return spans


def remove_duplicates(cursor: duckdb.DuckDBPyConnection, lo: dt.datetime, hi: dt.datetime) -> int:
    """Delete the later copies of spans starting between ``lo`` and ``hi`` (and of their
    documents, embeddings and evaluations), in one transaction; returns the spans removed."""
    with transaction(cursor):
        return _delete_later_copies(cursor, lo, hi)


def remove_pending_duplicates(cursor: duckdb.DuckDBPyConnection) -> int | None:
    """De-duplicate every recorded range and forget them, in one transaction.

    Returns the spans removed, or None when no range was pending.
    """
    with transaction(cursor):
        rows = cursor.execute(
            "SELECT key, value FROM workbench_meta WHERE starts_with(key, ?)", [_PREFIX]
        ).fetchall()
        if not rows:
            return None
        bounds = [value.split("|") for _, value in rows]
        lo = min(dt.datetime.fromisoformat(b[0]) for b in bounds)
        hi = max(dt.datetime.fromisoformat(b[1]) for b in bounds)
        spans = _delete_later_copies(cursor, lo, hi)
        cursor.execute("DELETE FROM workbench_meta WHERE key IN (SELECT unnest(?::VARCHAR[]))", [[k for k, _ in rows]])
    return spans
