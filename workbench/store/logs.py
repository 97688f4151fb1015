"""Log records in the store, and their merge into the spans they belong to.

Every record is kept in ``log_records``. A record with a span id also belongs on that span:
:class:`LogMerger` adds it to the span's ``events`` and fills the span's messages, input and
output from it (:func:`workbench.semconv.logs.with_events`), whichever arrives first:

* the span is stored already: the merge runs as soon as the records are committed;
* the span comes later: the records wait in the table (``attached`` false), and the merge runs
  again after each later commit while any wait, at most every ``interval_s`` seconds, for
  ``wait_s`` (30 minutes) after they arrived, and once more each time the store is opened.

A merge only fills what the span lacks (messages, input, output, time to first token, a kind
still UNKNOWN): what the span itself sent, redacted or not, is never replaced. Records stay
in the table after the merge, marked ``attached``.

Threading: merges run one at a time, on a thread of their own (or on the caller's, through
:meth:`LogMerger.attach`), with a cursor of their own; the writer's threads only wake them.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from workbench.errors import DiskFullError, QueueFullError, StoreError
from workbench.model import Event, Link, LogRecord, Span, StatusCode
from workbench.semconv.logs import as_event, with_events
from workbench.store import summary
from workbench.store.database import Database
from workbench.store.rows import messages_json, to_json
from workbench.store.schema import LOG_RECORDS
from workbench.store.writer import Writer

__all__ = ["LogMerger", "log_rows", "merger_for"]

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


# The records of the waiting keys (_waiting: trace_id, span_id, since) whose span is stored.
# Spans start before their records, by at most a day here: the bound lets DuckDB skip the
# row groups of older spans instead of reading every span id.
_WAITING = (
    "SELECT l.trace_id, l.span_id, l.time_ns, l.event_name, l.severity_text, l.body, l.attributes "
    "FROM log_records l JOIN _waiting w ON l.trace_id = w.trace_id AND l.span_id = w.span_id "
    "WHERE NOT l.attached AND l.time >= w.since AND EXISTS (SELECT 1 FROM spans s WHERE "
    "s.span_id = l.span_id AND s.trace_id = l.trace_id AND s.start_time >= $since - INTERVAL 1 DAY)"
)
# Keys of records still waiting, with their earliest time, when a store is opened.
_WAITING_KEYS = (
    "SELECT trace_id, span_id, min(time) AS since FROM log_records WHERE NOT attached "
    "AND span_id IS NOT NULL AND trace_id IS NOT NULL GROUP BY trace_id, span_id LIMIT $limit"
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
    "AND log_records.trace_id = k.trace_id AND log_records.span_id = k.span_id "
    "AND log_records.time >= $since"
)
_WAIT_SCHEMA = pa.schema([("trace_id", pa.string()), ("span_id", pa.string()), ("since", pa.timestamp("us", tz="UTC"))])


_mergers: weakref.WeakKeyDictionary[Writer, LogMerger] = weakref.WeakKeyDictionary()
_mergers_lock = threading.Lock()


def merger_for(database: Database, writer: Writer) -> LogMerger:
    """The one :class:`LogMerger` of a writer (every store handle on a file shares it)."""
    with _mergers_lock:
        merger = _mergers.get(writer)
        if merger is None:
            merger = _mergers[writer] = LogMerger(database, writer)
        return merger


class LogMerger:
    """Writes log records and merges them into their spans (see the module docstring).

    Records with a span id wait for it in memory (their keys) for ``wait_s`` seconds after
    they are written: long enough for the span of the call that logged them to end, short
    enough that logs whose spans never come (sampled out, sent by another service) do not
    make every later commit look for them. They stay in the table either way, and a store
    opened again gives the records still waiting another ``wait_s`` (up to ``max_waiting``
    keys).

    Args:
        database: The store's database.
        writer: The store's writer: records are written through it, and its commits wake
            the merge while records wait for their spans.
        interval_s: The shortest pause between two merges run by commits.
        wait_s: How long records wait for their span.
        max_waiting: The most span keys that wait at once; the oldest give up first.
    """

    def __init__(
        self,
        database: Database,
        writer: Writer,
        *,
        interval_s: float = 0.25,
        wait_s: float = 1800.0,
        max_waiting: int = 100_000,
    ) -> None:
        self._db = database
        self._writer = weakref.ref(writer)  # the writer owns this merger (see merger_for)
        self._interval = interval_s
        self._wait_s = wait_s
        self._max_waiting = max_waiting
        self._lock = threading.Lock()  # one merge at a time
        self._keys_lock = threading.Lock()
        # (trace_id, span_id) -> (monotonic deadline, earliest record time in microseconds)
        self._keys: dict[tuple[str, str], tuple[float, int]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._thread: threading.Thread | None = None
        self.merged_spans = 0
        try:
            left = database.query(_WAITING_KEYS, {"limit": max_waiting}).to_pylist()
        except duckdb.Error:  # a file opened before the table existed: nothing waits
            left = []
        if left:  # records left waiting by an earlier run: they wait again, and are tried now
            deadline = time.monotonic() + wait_s
            self._keys = {
                (row["trace_id"], row["span_id"]): (deadline, _micros(row["since"])) for row in left
            }
        writer.on_commit(self._on_commit)
        if self._keys:
            self._start()
            self._wake.set()

    def submit(self, records: Sequence[LogRecord]) -> Future[int]:
        """Queue records for writing; the future gives their number once committed.

        Raises:
            QueueFullError: The writer's queue is full.
            StoreError: The store is closed.
        """
        writer = self._writer()
        if writer is None:
            raise StoreError("The store is closed; nothing more can be written.")
        future = writer.submit_rows("log_records", log_rows(records))
        keys: dict[tuple[str, str], int] = {}
        for r in records:
            if r.span_id and r.trace_id:
                key = (r.trace_id, r.span_id)
                moment = r.time_ns // 1000
                keys[key] = min(moment, keys.get(key, moment))
        if keys:
            future.add_done_callback(lambda done: self._on_written(done, keys))
        return future

    @property
    def waiting(self) -> bool:
        """Whether records with a span id wait for their span."""
        return bool(self._keys)

    def attach(self) -> int:
        """Merge every waiting record whose span is stored now; return the spans updated."""
        with self._lock:
            if self._stop.is_set():
                return 0
            try:
                return self._attach()
            except (DiskFullError, QueueFullError, FutureTimeout) as exc:  # the writer is busy or refuses: again soon
                logger.debug("log records not merged yet: %s", exc)
                self._wake.set()
                return 0
            except (duckdb.ConnectionException, StoreError):  # the store was closed
                self._stop.set()  # records still waiting are tried when it is opened again
                return 0
            except duckdb.Error as exc:  # e.g. a write conflict with a dedupe pass: again soon
                logger.debug("log records not merged yet: %s", exc)
                self._wake.set()
                return 0

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

    def _on_written(self, future: Future[int], keys: dict[tuple[str, str], int]) -> None:
        if future.exception() is not None:
            return
        deadline = time.monotonic() + self._wait_s
        with self._keys_lock:
            for key, since in keys.items():
                old = self._keys.pop(key, None)  # re-inserted: the newest keys are last
                self._keys[key] = (deadline, min(since, old[1]) if old else since)
            while len(self._keys) > self._max_waiting:
                del self._keys[next(iter(self._keys))]
        self._start()
        self._wake.set()

    def _on_commit(self, spans: int) -> None:
        if spans and self._keys:
            self._wake.set()

    def _start(self) -> None:
        with self._keys_lock:
            if self._stop.is_set() or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(target=self._run, name="workbench-log-merge", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        # Runs while records wait (it is started again when more come), so that a store
        # whose records have all found their spans holds no thread.
        while not self._stop.is_set():
            self._wake.wait(self._interval * 4)
            if self._stop.wait(self._interval):  # let commits that come together share a merge
                return
            woken = self._wake.is_set()
            self._wake.clear()
            if woken:
                try:
                    self.attach()
                except Exception:  # the merge must never stop: records stay waiting in the table
                    logger.exception("workbench could not merge log records into their spans")
            with self._keys_lock:
                if not self._keys:
                    self._thread = None
                    return

    # The merge ---------------------------------------------------------------------------

    def _waiting_table(self) -> pa.Table | None:
        """The keys still waiting (those past their deadline give up), as a table."""
        now = time.monotonic()
        with self._keys_lock:
            for key in [key for key, (deadline, _) in self._keys.items() if deadline < now]:
                del self._keys[key]
            if not self._keys:
                return None
            items = list(self._keys.items())
        return pa.table(
            {
                "trace_id": [key[0] for key, _ in items],
                "span_id": [key[1] for key, _ in items],
                "since": pa.array([since for _, (_, since) in items], pa.timestamp("us", tz="UTC")),
            },
            schema=_WAIT_SCHEMA,
        )

    def _attach(self) -> int:
        waiting_keys = self._waiting_table()
        if waiting_keys is None:
            return 0
        if self._cursor is None:
            self._cursor = self._db.new_cursor()
        cur = self._cursor
        since = _earliest(waiting_keys)
        cur.register("_waiting", waiting_keys)
        try:
            waiting = cur.sql(_WAITING, params={"since": since}).to_arrow_table().to_pylist()
        finally:
            cur.unregister("_waiting")
        if not waiting:
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
        keys = pa.table({"trace_id": [k[0] for k in events], "span_id": [k[1] for k in events]})
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
        finally:
            cur.unregister("_keys")
        writer = self._writer()
        if writer is None:
            raise StoreError("The store is closed; nothing more can be written.")
        # The write is a unit of work on the writer, in one transaction.
        writer.execute(lambda wcur: _merge(wcur, keys, table, bool(updates), since)).result(60)
        with self._keys_lock:
            for key in events:
                self._keys.pop(key, None)
        self.merged_spans += len(updates)
        return len(updates)


def _merge(cur: duckdb.DuckDBPyConnection, keys: pa.Table, updates: pa.Table, any_updates: bool, since: Any) -> None:
    """Add merged events to their spans and mark their records attached (a unit of work)."""
    cur.register("_keys", keys)
    cur.register("_updates", updates)
    try:
        if any_updates:
            cur.execute(_UPDATE)
            summary.refresh(cur, "SELECT trace_id FROM _updates")
        cur.execute(_MARK, {"since": since})
    finally:
        for name in ("_updates", "_keys"):
            try:
                cur.unregister(name)
            except duckdb.Error:  # refused in an aborted transaction: the statement's error is the one to raise
                pass


def _micros(moment: Any) -> int:
    """A stored time (a datetime) as microseconds since the epoch."""
    return int(moment.timestamp() * 1_000_000) if moment is not None else 0


def _earliest(keys: pa.Table) -> Any:
    """The earliest ``since`` of the waiting keys, as a datetime for a query parameter."""
    return pc.min(keys.column("since")).as_py()


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
