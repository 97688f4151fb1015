"""Log records in the store, and their merge into the spans they belong to.

Every record is kept in ``log_records``. A record with a span id also belongs on that span:
:class:`LogMerger` adds it to the span's ``events`` and fills the span's messages, input and
output from it (:func:`workbench.semconv.logs.with_events`), whichever arrives first:

* the span is stored already: the merge runs as soon as the records are committed;
* the span comes later: the records wait in the table (``attached`` false), and the merge runs
  again after each later commit while any wait, at most every ``interval_s`` seconds.

A merge only fills what the span lacks (messages, input, output, time to first token, a kind
still UNKNOWN): what the span itself sent, redacted or not, is never replaced. Records stay
in the table after the merge, marked ``attached``.

Threading: merges run one at a time, on a thread of their own (or on the caller's, through
:meth:`LogMerger.attach`), with a cursor of their own; the writer's threads only wake them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from workbench.model import Event, Link, LogRecord, Span, StatusCode
from workbench.semconv.logs import as_event, with_events
from workbench.store.database import Database
from workbench.store.rows import messages_json, to_json
from workbench.store.schema import LOG_RECORDS
from workbench.store.writer import Writer

__all__ = ["LogMerger", "log_rows"]

logger = logging.getLogger(__name__)


def log_rows(records: Sequence[LogRecord]) -> pa.Table:
    """The ``log_records`` rows of ``records`` (none attached yet)."""
    cols: dict[str, list[Any]] = {name: [] for name in LOG_RECORDS.column_names}
    for r in records:
        cols["trace_id"].append(r.trace_id)
        cols["span_id"].append(r.span_id)
        cols["time"].append(r.time_ns // 1000)
        cols["time_ns"].append(r.time_ns)
        cols["event_name"].append(r.event_name)
        cols["severity_number"].append(r.severity_number)
        cols["severity_text"].append(r.severity_text)
        cols["body"].append(None if r.body is None else to_json(r.body))
        cols["attributes"].append(to_json(r.attributes or {}))
        cols["resource"].append(to_json(r.resource or {}))
        cols["scope_name"].append(r.scope_name)
        cols["scope_version"].append(r.scope_version)
        cols["attached"].append(False)
    return pa.Table.from_pydict(cols, schema=LOG_RECORDS.arrow_schema)


_WAITING = (
    "SELECT l.trace_id, l.span_id, l.time_ns, l.event_name, l.severity_text, l.body, l.attributes "
    "FROM log_records l WHERE NOT l.attached AND l.span_id IS NOT NULL AND l.trace_id IS NOT NULL "
    "AND EXISTS (SELECT 1 FROM spans s WHERE s.span_id = l.span_id AND s.trace_id = l.trace_id)"
)
_ANY_WAITING = (
    "SELECT count(*) FROM log_records WHERE NOT attached AND span_id IS NOT NULL AND trace_id IS NOT NULL"
)
_SPANS = (
    "SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, epoch_us(s.start_time) AS start_us, "
    "epoch_us(s.end_time) AS end_us, s.status_code, s.status_message, s.otel_kind, s.attributes, "
    "s.resource, s.events, s.links, s.scope_name, s.scope_version, s.project "
    "FROM spans s JOIN _keys k ON s.trace_id = k.trace_id AND s.span_id = k.span_id"
)
# Only gaps are filled: what the span sent itself (redacted or not) is never replaced. One
# statement for every span merged: each UPDATE ... WHERE scans the spans table.
_UPDATE = (
    "UPDATE spans SET events = u.events, "
    "span_kind = CASE WHEN spans.span_kind = 'UNKNOWN' THEN u.span_kind ELSE spans.span_kind END, "
    "input_mime_type = CASE WHEN spans.input_value IS NULL THEN u.input_mime_type ELSE spans.input_mime_type END, "
    "input_value = coalesce(spans.input_value, u.input_value), "
    "output_mime_type = CASE WHEN spans.output_value IS NULL THEN u.output_mime_type "
    "ELSE spans.output_mime_type END, "
    "output_value = coalesce(spans.output_value, u.output_value), "
    "input_messages = coalesce(spans.input_messages, u.input_messages), "
    "output_messages = coalesce(spans.output_messages, u.output_messages), "
    "time_to_first_token_ms = coalesce(spans.time_to_first_token_ms, u.time_to_first_token_ms) "
    "FROM _updates u WHERE spans.trace_id = u.trace_id AND spans.span_id = u.span_id"
)
_UPDATE_SCHEMA = pa.schema([
    ("events", pa.string()), ("span_kind", pa.string()), ("input_mime_type", pa.string()),
    ("input_value", pa.string()), ("output_mime_type", pa.string()), ("output_value", pa.string()),
    ("input_messages", pa.string()), ("output_messages", pa.string()),
    ("time_to_first_token_ms", pa.float64()), ("trace_id", pa.string()), ("span_id", pa.string()),
])
_MARK = (
    "UPDATE log_records SET attached = true FROM _keys k WHERE NOT log_records.attached "
    "AND log_records.trace_id = k.trace_id AND log_records.span_id = k.span_id"
)


class LogMerger:
    """Writes log records and merges them into their spans (see the module docstring).

    Args:
        database: The store's database.
        writer: The store's writer: records are written through it, and its commits wake
            the merge while records wait for their spans.
        interval_s: The shortest pause between two merges run by commits.
    """

    def __init__(self, database: Database, writer: Writer, *, interval_s: float = 0.25) -> None:
        self._db = database
        self._writer = writer
        self._interval = interval_s
        self._lock = threading.Lock()  # one merge at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._thread: threading.Thread | None = None
        self.merged_spans = 0
        try:
            self._waiting = bool(database.fetchall(_ANY_WAITING)[0][0])
        except duckdb.Error:  # a file opened before the table existed: nothing waits
            self._waiting = False
        writer.on_commit(self._on_commit)
        if self._waiting:  # records left waiting by an earlier run: try them once now
            self._start()
            self._wake.set()

    def submit(self, records: Sequence[LogRecord]) -> Future[int]:
        """Queue records for writing; the future gives their number once committed.

        Raises:
            QueueFullError: The writer's queue is full.
            StoreError: The store is closed.
        """
        future = self._writer.submit_rows("log_records", log_rows(records))
        if any(r.span_id and r.trace_id for r in records):
            future.add_done_callback(self._on_written)
        return future

    def attach(self) -> int:
        """Merge every waiting record whose span is stored now; return the spans updated."""
        with self._lock:
            if self._stop.is_set():
                return 0
            try:
                return self._attach()
            except duckdb.Error as exc:  # e.g. a write conflict with a dedupe pass: again soon
                logger.debug("log records not merged yet: %s", exc)
                self._waiting = True
                self._wake.set()
                return 0

    @property
    def waiting(self) -> bool:
        """Whether records with a span id may still wait for their span."""
        return self._waiting

    def close(self) -> None:
        """Stop the merge thread (records still waiting stay in the table for next time)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        with self._lock:
            if self._cursor is not None:
                try:
                    self._cursor.close()
                except duckdb.Error:
                    pass
                self._cursor = None

    # Waking ----------------------------------------------------------------------------

    def _on_written(self, future: Future[int]) -> None:
        if future.exception() is None:
            self._waiting = True
            self._start()
            self._wake.set()

    def _on_commit(self, spans: int) -> None:
        if spans and self._waiting:
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="workbench-log-merge", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.wait(self._interval):  # let commits that come together share a merge
                return
            self._wake.clear()
            try:
                self.attach()
            except Exception:  # the merge must never stop: records stay waiting in the table
                logger.exception("workbench could not merge log records into their spans")

    # The merge ---------------------------------------------------------------------------

    def _attach(self) -> int:
        if self._cursor is None:
            self._cursor = self._db.new_cursor()
        cur = self._cursor
        waiting = cur.sql(_WAITING).to_arrow_table().to_pylist()
        if not waiting:
            self._waiting = bool(cur.execute(_ANY_WAITING).fetchall()[0][0])
            return 0
        events: dict[tuple[str, str], list[Event]] = {}
        for row in waiting:
            record = LogRecord(
                time_ns=row["time_ns"] or 0,
                trace_id=row["trace_id"],
                span_id=row["span_id"],
                event_name=row["event_name"],
                severity_text=row["severity_text"],
                body=_loads(row["body"]),
                attributes=_loads(row["attributes"]) or {},
            )
            events.setdefault((row["trace_id"], row["span_id"]), []).append(as_event(record))
        keys = pa.table(
            {"trace_id": [k[0] for k in events], "span_id": [k[1] for k in events]}
        )
        cur.register("_keys", keys)
        try:
            rows = cur.sql(_SPANS).to_arrow_table().to_pylist()
            updates: dict[tuple[str, str], list[Any]] = {}
            for row in rows:  # a span stored twice (a retried batch) is merged once
                key = (row["trace_id"], row["span_id"])
                if key not in updates:
                    update = _merged(row, events[key])
                    if update is not None:
                        updates[key] = update
            table = pa.Table.from_pylist(
                [dict(zip(_UPDATE_SCHEMA.names, values)) for values in updates.values()], schema=_UPDATE_SCHEMA
            )
            cur.register("_updates", table)
            cur.execute("BEGIN TRANSACTION")
            try:
                if updates:
                    cur.execute(_UPDATE)
                cur.execute(_MARK)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.unregister("_updates")
        finally:
            cur.unregister("_keys")
        self.merged_spans += len(updates)
        self._waiting = bool(cur.execute(_ANY_WAITING).fetchall()[0][0])
        return len(updates)


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _span(row: dict[str, Any]) -> Span:
    """The stored span, as far as the merge needs it (raw parts, ids, times)."""
    return Span(
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        parent_span_id=row["parent_span_id"],
        name=row["name"] or "",
        start_time_ns=(row["start_us"] or 0) * 1000,
        end_time_ns=(row["end_us"] or 0) * 1000,
        status_code=StatusCode(row["status_code"] or "UNSET"),
        status_message=row["status_message"] or "",
        otel_kind=row["otel_kind"] or "INTERNAL",
        attributes=_loads(row["attributes"]) or {},
        resource=_loads(row["resource"]) or {},
        events=tuple(
            Event(e.get("name", ""), int(e.get("time_ns") or 0), e.get("attributes") or {})
            for e in (_loads(row["events"]) or ())
            if isinstance(e, dict)
        ),
        links=tuple(
            Link(k.get("trace_id", ""), k.get("span_id", ""), k.get("attributes") or {})
            for k in (_loads(row["links"]) or ())
            if isinstance(k, dict)
        ),
        scope_name=row["scope_name"],
        scope_version=row["scope_version"],
        project=row["project"] or "default",
    )


def _merged(row: dict[str, Any], events: list[Event]) -> list[Any] | None:
    """The UPDATE parameters that add ``events`` to the stored span ``row``, or None."""
    span = _span(row)
    new = with_events(span, events)
    if new is span:
        return None
    return [
        to_json([{"name": e.name, "time_ns": e.time_ns, "attributes": e.attributes} for e in new.events]),
        new.span_kind.value,
        new.input_mime_type,
        new.input_value,
        new.output_mime_type,
        new.output_value,
        messages_json(new.input_messages),
        messages_json(new.output_messages),
        new.time_to_first_token_ms,
        row["trace_id"],
        row["span_id"],
    ]
