"""Keeping each trace's spans side by side in the file, so that a repeated history compresses.

Spans reach the store in the order they end, so on a busy server the calls of many agent runs
lie among each other. Every LLM call of a run repeats the conversation so far, and DuckDB
compresses a column one segment at a time: when the copies of one history lie far apart, most
of them are stored again. Measured with ``benchmarks/bench_messages.py`` (40 agent runs of 50
turns, all at once), the file takes 9,603 bytes a span as the spans arrived, and 1,947 once
rewritten trace by trace.

So, at a pause in ingest, the writer looks at each stretch of :data:`STRETCH` (ten minutes
of start times) that ended at least :data:`SETTLE_AFTER` ago, and when its spans are worth it
(several spans a trace, :data:`MIN_TEXT` characters of text a span in ``attributes``,
``input_value`` and ``input_messages`` on average, and their traces interleaved), it rewrites
the traces that begin in the stretch, whole, trace by trace: a stretch's end never cuts a
trace in two. Their rows of the trace summary, one a batch they came in, become one a trace
(:func:`workbench.store.summary.refresh`). A stretch is looked at once, a share of its traces
(about :data:`BATCH` spans) a transaction; the last also moves the watermark (``cluster:until``
in ``workbench_meta``), so a crash leaves either the old rows or the new.
The rows are the same before and after; only their place in the file changes. The blocks they
leave are reused by later writes (``PRAGMA database_size`` shows them as free).

A span that arrives after its trace was rewritten stays where it landed, and so do the
spans a store held before its first pass, save the last day's (:data:`FIRST_LOOK`). A pause
rewrites at most :data:`BUDGET` spans and looks at a day of stretches at most; the next pause
goes on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import duckdb

from workbench.store import summary
from workbench.store.transactions import transaction

__all__ = [
    "BATCH", "BUDGET", "FIRST_LOOK", "MIN_TEXT", "SETTLE_AFTER", "STRETCH", "WATERMARK", "cluster_settled",
    "settled_until",
]

#: The length of a stretch of start times rewritten at once.
STRETCH = dt.timedelta(minutes=10)
#: How long after a stretch ends its spans are rewritten (late spans have come by then).
SETTLE_AFTER = dt.timedelta(minutes=10)
#: The text a span must carry on average for its stretch to be rewritten.
MIN_TEXT = 2048
#: The most spans rewritten in one pause, and in one transaction.
BUDGET = 20_000
BATCH = 2_000
#: How far back the first pass looks in a store that has none yet.
FIRST_LOOK = dt.timedelta(days=1)
_PER_PASS = 144  # stretches looked at in one pause (a day's)
_SPAN_BYTES = 1024  # a span's columns other than its text, about, in the log

#: The ``workbench_meta`` key of the watermark: the first stretch not looked at yet.
WATERMARK = "cluster:until"
_STRETCH_US = int(STRETCH.total_seconds() * 1_000_000)

# Per stretch: spans, traces, text, and how many runs of one trace the rows make in the
# order they were written (as many as the traces when each trace's rows lie together).
_STRETCHES = f"""
SELECT stretch, count(*) AS spans, count(DISTINCT trace_id) AS traces, sum(text) AS text,
       count(*) FILTER (WHERE moved) AS runs
FROM (
    SELECT epoch_us(start_time) // {_STRETCH_US} AS stretch, trace_id,
           coalesce(strlen(attributes), 0) + coalesce(strlen(input_value), 0)
               + coalesce(strlen(input_messages), 0) AS text,
           trace_id IS DISTINCT FROM lag(trace_id) OVER (
               PARTITION BY epoch_us(start_time) // {_STRETCH_US} ORDER BY rowid) AS moved
    FROM spans WHERE start_time >= $lo AND start_time < $hi
)
GROUP BY stretch ORDER BY stretch
"""

Guard = Callable[[], AbstractContextManager[Any]]

# The traces that begin in a stretch (a share of them): each trace is rewritten whole, once,
# with the stretch it begins in, so a stretch's end never cuts one in two.
_TRACES_OF_SHARE = """
SELECT trace_id FROM spans
WHERE trace_id IN (SELECT trace_id FROM spans
                   WHERE start_time >= $lo AND start_time < $hi AND hash(trace_id) % $shares = $share)
GROUP BY trace_id HAVING min(start_time) >= $lo
"""


def _time(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=us)


def settled_until(value: str | None) -> dt.datetime | None:
    """The time up to which stretches were looked at, from the watermark's stored value."""
    return None if value is None else _time(int(value) * _STRETCH_US)


def _worth_it(spans: int, traces: int, text: int, runs: int) -> bool:
    return spans >= 2 * traces and text >= MIN_TEXT * spans and runs > traces + traces // 2


def _start(cursor: duckdb.DuckDBPyConnection, now: dt.datetime) -> int | None:
    rows = cursor.execute("SELECT value FROM workbench_meta WHERE key = ?", [WATERMARK]).fetchall()
    if rows:
        return int(rows[0][0])
    # The first time: from the first span of the last day (older ones stay where they are).
    first = cursor.execute(
        "SELECT epoch_us(min(start_time)) FROM spans WHERE start_time >= ?", [now - FIRST_LOOK]
    ).fetchall()[0][0]
    return None if first is None else int(first) // _STRETCH_US


def _rewrite(cursor: duckdb.DuckDBPyConnection, stretch: int, spans: int, guard: Guard) -> int:
    """Rewrite one stretch's spans in trace order and move the watermark past it, in
    transactions of at most :data:`BATCH` spans (the watermark moves with the last)."""
    shares = max(1, math.ceil(spans / BATCH))
    lo, hi = _time(stretch * _STRETCH_US), _time((stretch + 1) * _STRETCH_US)
    done = 0
    for share in range(shares):
        params = {"lo": lo, "hi": hi, "shares": shares, "share": share}
        with guard():
            done += _rewrite_share(cursor, params, stretch + 1 if share == shares - 1 else None)
    return done


def _rewrite_share(cursor: duckdb.DuckDBPyConnection, params: dict[str, Any], moved_to: int | None) -> int:
    with transaction(cursor):
        cursor.execute(f"CREATE OR REPLACE TEMP TABLE _cluster_traces AS {_TRACES_OF_SHARE}", params)
        cursor.execute("CREATE OR REPLACE TEMP TABLE _cluster AS "
                       "SELECT * FROM spans WHERE trace_id IN (SELECT trace_id FROM _cluster_traces)")
        cursor.execute("DELETE FROM spans WHERE trace_id IN (SELECT trace_id FROM _cluster_traces)")
        done = int(cursor.execute(
            "INSERT INTO spans SELECT * FROM _cluster ORDER BY trace_id, start_time, span_id"
        ).fetchall()[0][0])
        # The traces' summary rows (one a batch they came in, each with its batch's inputs)
        # become one a trace, side by side too.
        summary.refresh(cursor, "SELECT trace_id FROM _cluster_traces")
        cursor.execute("DROP TABLE _cluster")
        cursor.execute("DROP TABLE _cluster_traces")
        if moved_to is not None:
            _move(cursor, moved_to)
    return done


def _move(cursor: duckdb.DuckDBPyConnection, stretch: int) -> None:
    cursor.execute("INSERT OR REPLACE INTO workbench_meta VALUES (?, ?)", [WATERMARK, str(stretch)])


def cluster_settled(cursor: duckdb.DuckDBPyConnection, now: dt.datetime | None = None, *, budget: int = BUDGET,
                    guard: Guard = contextlib.nullcontext,
                    keep_going: Callable[[int], bool] = lambda need: True) -> int:
    """Rewrite in trace order the stretches that have settled and are worth it (see the
    module's docstring); returns the spans rewritten.

    Args:
        guard: Held around each transaction (the writer's lock on units of work).
        keep_going: Asked before each stretch with the bytes its rewrite may take on disk
            (the log holds the rows uncompressed until a checkpoint); false ends the pass
            there (spans are waiting to be written, the store closes, or the disk is short).

    Raises:
        duckdb.Error: A transaction failed (what it began is rolled back; the next pause
            takes it up again).
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    start = _start(cursor, now)
    if start is None:
        return 0
    end = int((now - SETTLE_AFTER).timestamp() * 1_000_000) // _STRETCH_US  # stretches before it have settled
    if start >= end:
        return 0
    end = min(end, start + _PER_PASS)
    params = {"lo": _time(start * _STRETCH_US), "hi": _time(end * _STRETCH_US)}
    done = 0
    stored, passed = start, end  # where the watermark is, and where it goes
    for stretch, spans, traces, text, runs in cursor.execute(_STRETCHES, params).fetchall():
        if not _worth_it(spans, traces, int(text or 0), runs):
            continue
        need = int(text or 0) // max(1, math.ceil(spans / BATCH)) + 2 * _SPAN_BYTES * min(spans, BATCH)
        if (done and done + spans > budget) or not keep_going(need):
            passed = stretch  # the next pause starts here
            break
        done += _rewrite(cursor, stretch, spans, guard)
        stored = stretch + 1
    if passed != stored:
        with transaction(cursor):
            _move(cursor, passed)
    return done
