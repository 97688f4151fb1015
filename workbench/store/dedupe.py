"""Removing spans stored twice: an OTLP exporter re-sends a batch whose answer it lost.

A 200 is sent only after the commit, so a client that timed out waiting for it sends the
same spans again, and both copies are committed. A unique key would catch that on insert,
but it slows every insert; instead the writer removes the later copies once ingest pauses,
looking only at the time range it has written since the last pass. Span ids are unique
within a trace by OpenTelemetry's rules, so two rows with one (trace_id, span_id) are one
span. Documents and embeddings go with their span; evaluations read from span attributes
carry stable ids, so their copies go too.
"""

from __future__ import annotations

import datetime as dt

import duckdb

__all__ = ["remove_duplicates"]

_LATER_COPIES = """
DELETE FROM {table} WHERE rowid IN (
    SELECT r FROM (
        SELECT rowid AS r, row_number() OVER (PARTITION BY {key} ORDER BY rowid) AS n
        FROM {table} WHERE start_time BETWEEN $lo AND $hi
    ) WHERE n > 1
)
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


def remove_duplicates(cursor: duckdb.DuckDBPyConnection, lo: dt.datetime, hi: dt.datetime) -> int:
    """Delete the later copies of spans starting between ``lo`` and ``hi`` (and of their
    documents, embeddings and evaluations), in one transaction; returns the spans removed."""
    params = {"lo": lo, "hi": hi}
    cursor.execute("BEGIN TRANSACTION")
    try:
        removed = cursor.execute(_LATER_COPIES.format(table="spans", key="trace_id, span_id"), params).fetchall()
        spans = int(removed[0][0]) if removed else 0
        if spans:
            for table in ("documents", "embeddings"):
                cursor.execute(_LATER_COPIES.format(table=table, key="trace_id, span_id, position"), params)
            cursor.execute(_LATER_ANNOTATIONS, params)
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    return spans
