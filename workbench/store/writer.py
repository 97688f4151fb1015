"""The one write path: threads that batch spans into DuckDB transactions (group commit).

Callers hand over spans with :meth:`Writer.submit` and get a future that completes once the
spans are committed. While a transaction runs, further submissions queue up; the next
transaction takes all of them at once, so many small requests cost one commit.

Two threads write, each with its own cursor and transaction: while one waits for its commit
to reach the disk, the other inserts (measured on the shared ingest workload: 40,000 spans
written in 1.35-1.43 s against 1.94 s with one thread). Write transactions only append, so
they never conflict; each future completes when its own transaction has committed.

Checkpoints: DuckDB stops all commits while it checkpoints. The writer runs one itself once
nothing has been written for ``idle_checkpoint_s`` and the log holds more than
``idle_checkpoint_bytes``, so bursts of spans meet no checkpoint; DuckDB's own checkpoint
(at a larger log) remains for load that never pauses.

At the same pause, before checkpointing, the writer removes spans stored twice (a batch a
client sent again after losing its answer) in the time ranges written since the last pause;
the ranges are recorded in the store with the spans, so a pass interrupted by a crash or a
stop is made after the next start. See :mod:`workbench.store.dedupe`. Then it rewrites settled
stretches of interleaved, text-heavy traces trace by trace (:mod:`workbench.store.cluster`).

A full disk: before each transaction and checkpoint the writer checks the free space on the
database's disk (:meth:`Database.check_disk`), and refuses the transaction's spans with
:class:`DiskFullError` while it is low, so the disk never fills under DuckDB's feet. Should
DuckDB still fail and invalidate the database, the writer opens it again
(:meth:`Database.recover`), and the failed spans' futures get a :class:`StoreError` that
says why (the receiver answers 503, and exporters retry).

Under sustained load (two transactions at once), DuckDB inserts with one thread: every core
is busy decoding and writing already, and its extra threads only added handing over between
them. Its threads come back when ingest pauses, before the checkpoint.

Everything else that changes the store is a unit of work handed to :meth:`Writer.execute`
(as datasette's ``execute_write_fn``): a function of a cursor that a writer thread runs in a
transaction of its own, one unit at a time, and whose result or exception the returned future
carries. Rows appended to a table (:class:`Append`: annotations, log records, the corpus) are
units the writer folds into the next group commit, since appends never conflict; spans have
their own fast path, :meth:`Writer.submit`, which takes :class:`Span` objects or a ready
:class:`SpanBatch`. Nothing else writes: :meth:`Database.query` refuses statements that would.

Threading contract: :meth:`submit` and :meth:`execute` never block and never wait on DuckDB.
When more than ``max_queued_spans`` are waiting they raise :class:`QueueFullError` (the OTLP
receiver answers 503 with Retry-After; the in-process collector drops and counts). A unit of
work must not wait on the writer itself (it runs on a writer thread).
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from workbench.errors import DiskFullError, QueueFullError, StoreError
from workbench.model import Span
from workbench.store import summary
from workbench.store.cluster import cluster_settled
from workbench.store.database import Database, is_invalidated
from workbench.store.dedupe import record_pending, remove_pending_duplicates
from workbench.store.queued import Append, Work, _append, _Item
from workbench.store.rows import SpanBatch, to_tables
from workbench.store.salvage import insert_what_can_be, is_data_error
from workbench.store.transactions import transaction

__all__ = ["Append", "Work", "Writer"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_RECORD_AHEAD = dt.timedelta(seconds=60)  # how far past a batch's spans a recorded range reaches


class Writer:
    """Batches spans into transactions on a background thread.

    Args:
        database: The database to write into.
        max_queued_spans: How many spans may wait before :meth:`submit` refuses more.
        batch_spans: The most spans one transaction takes.
        linger: Seconds a small batch waits for more before committing (group commit),
            when no other transaction is being written.
        threads: Transactions written at once.
        idle_checkpoint_s: Seconds without writes after which the writer checkpoints.
        idle_checkpoint_bytes: Log size below which an idle writer does not checkpoint.
    """

    def __init__(
        self,
        database: Database,
        *,
        max_queued_spans: int = 200_000,
        batch_spans: int = 20_000,
        linger: float = 0.02,
        threads: int = 2,
        idle_checkpoint_s: float = 0.5,
        idle_checkpoint_bytes: int = 16 << 20,
    ) -> None:
        self._db = database
        self._max_queued = max_queued_spans
        self._batch_spans = batch_spans
        self._linger = linger
        # Each commit costs tens of milliseconds whatever its size, so a small batch waits up
        # to `linger` seconds for company while fewer than this many spans are queued.
        self._min_batch = min(4096, batch_spans)
        self._queue: deque[_Item] = deque()
        self._queued_spans = 0
        self._busy = 0  # threads writing a transaction now
        self._cond = threading.Condition()
        self._stopping = False
        self._idle_checkpoint_s = idle_checkpoint_s
        self._idle_checkpoint_bytes = idle_checkpoint_bytes
        self._tidying = False  # one thread tidies up in a pause
        self._narrowed = False
        # Whether ranges may wait for de-duplication (recorded in the store): from the start,
        # since a stopped or crashed server may have left some.
        self._dedupe_due = True
        # A range recorded in the store (committed) that later batches need not record again,
        # until the next de-duplication pass starts (which removes it): under steady ingest
        # one small row a minute, not one a transaction (each costs a few milliseconds).
        self._recorded: tuple[dt.datetime, dt.datetime] | None = None
        self._passes = 0  # de-duplication passes started
        self._failure: str | None = None  # the last write failure logged, so each is logged once
        self._checkpoint_after = 0.0  # no idle checkpoint before this time (after one failed)
        self._summary = summary.Reconciler()  # rebuilds the trace summary in a pause, when due
        self.duplicates_removed = 0
        self.spans_clustered = 0  # rewritten in trace order (workbench.store.cluster)
        self._db_threads = int(database.fetchall("SELECT current_setting('threads')")[0][0])
        self.checkpoints = 0
        self.committed_spans = 0
        self.failed_batches = 0
        self.rejected_spans = 0  # left out for their data (see workbench.store.salvage)
        self._listeners: list[Callable[[int], None]] = []
        self._work_lock = threading.Lock()  # units of work run one at a time: they may conflict
        self._threads = [
            threading.Thread(target=self._run, name=f"workbench-writer-{i}", daemon=True)
            for i in range(max(1, threads))
        ]
        for thread in self._threads:
            thread.start()

    @property
    def threads(self) -> int:
        """How many transactions may be written at once."""
        return len(self._threads)

    @property
    def queued_spans(self) -> int:
        """Spans waiting to be written."""
        return self._queued_spans

    def on_commit(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(n_spans)`` on a writer thread after each commit."""
        self._listeners.append(listener)

    def submit(self, spans: Sequence[Span] | SpanBatch) -> Future[int]:
        """The span fast path: queue spans, or a :class:`SpanBatch` a decoding worker made.

        The future gives the number written once committed (a :class:`Written`).

        Raises:
            QueueFullError: Too many spans are waiting already.
            StoreError: The writer is closed.
        """
        if isinstance(spans, SpanBatch):
            return self._enqueue(_Item(Future(), batch=spans))
        return self._enqueue(_Item(Future(), spans=spans))

    def submit_batch(self, batch: SpanBatch) -> Future[int]:
        """:meth:`submit` for spans already converted to Arrow."""
        return self.submit(batch)

    def submit_rows(self, table: str, rows: pa.Table) -> Future[int]:
        """:meth:`execute` of an :class:`Append` of ready rows to ``table`` (annotations, log records ...)."""
        return self.execute(Append(table, rows))

    def execute(self, work: Work[T]) -> Future[T]:
        """Queue a unit of work; the future gives what it returns once it has committed.

        ``work(cursor)`` runs on a writer thread, in a transaction of its own, one unit at a
        time; when it raises, the transaction is rolled back and the future carries the
        exception. An :class:`Append` joins the next group commit instead. Never blocks.

        Raises:
            QueueFullError: Too many rows are waiting already.
            StoreError: The writer is closed.
        """
        if isinstance(work, Append):
            return self._enqueue(_Item(Future(), table=work.table, rows=work.rows))
        return self._enqueue(_Item(Future(), work=work))

    def _enqueue(self, item: _Item) -> Future[Any]:
        if not item.size:
            item.future.set_result(0)
            return item.future
        with self._cond:
            if self._stopping:
                raise StoreError("The store is closed; nothing more can be written.")
            # A single request larger than the whole queue is still taken when the queue is
            # empty, or it could never be accepted.
            if self._queued_spans and self._queued_spans + item.size > self._max_queued:
                raise QueueFullError(
                    f"{self._queued_spans} spans are waiting to be written (the limit is "
                    f"{self._max_queued}); retry in a moment."
                )
            self._queue.append(item)
            self._queued_spans += item.size
            self._cond.notify()
        return item.future

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is committed. Returns False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self, timeout: float | None = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def _take(self) -> list[_Item]:
        taken: list[_Item] = []
        count = 0
        while self._queue and (not taken or count + self._queue[0].size <= self._batch_spans):
            item = self._queue.popleft()
            taken.append(item)
            count += item.size
        self._queued_spans -= count
        return taken

    def _fresh(
        self, cursor: duckdb.DuckDBPyConnection | None, generation: int
    ) -> tuple[duckdb.DuckDBPyConnection, int]:
        """This thread's cursor, a new one if the database was opened again since."""
        if cursor is not None and generation == self._db.generation:
            return cursor, generation
        if cursor is not None:
            try:
                cursor.close()
            except duckdb.Error:
                pass
        generation = self._db.generation
        return self._db.new_cursor(), generation

    def _run(self) -> None:
        cursor: duckdb.DuckDBPyConnection | None = None
        generation = -1
        try:
            cursor, generation = self._fresh(None, generation)
        except StoreError as exc:
            logger.error("workbench's writer has no cursor yet: %s", exc)
        try:
            while True:
                with self._cond:
                    woken = bool(self._cond.wait_for(lambda: self._queue or self._stopping, self._idle_checkpoint_s))
                    if not woken:
                        if self._busy or self._tidying:
                            continue
                        self._tidying = True
                        # No write runs now: every later one sees that nothing is recorded.
                        self._recorded = None
                        self._passes += 1
                    else:
                        if not self._queue and self._stopping:
                            return
                        # Alone and with little queued, wait a moment for company: one commit
                        # then serves many small requests. With another transaction in
                        # flight, the queue fills while it commits anyway.
                        if (self._linger and not self._busy and not self._stopping
                                and self._queued_spans < self._min_batch):
                            self._cond.wait_for(
                                lambda: self._stopping or self._queued_spans >= self._min_batch, self._linger
                            )
                        taken = self._take()
                        if not taken:  # another writer took it while this one waited
                            continue
                        # Two transactions at once means sustained load: see _narrow.
                        narrow = self._busy > 0 and not self._narrowed
                        if narrow:
                            self._narrowed = True
                        self._busy += 1
                if not woken:
                    try:
                        cursor, generation = self._fresh(cursor, generation)
                        self._widen(cursor)
                        self._remove_duplicates(cursor)
                        self._cluster(cursor)
                        self._summary.run(cursor)
                        self._checkpoint_if_due(cursor)
                    except (StoreError, duckdb.Error) as exc:  # the database is being opened again
                        logger.debug("no tidying up while the store cannot be used: %s", exc)
                    except Exception:  # housekeeping must never stop the writer
                        logger.exception("workbench's writer could not tidy up in a pause")
                    finally:
                        with self._cond:
                            self._tidying = False
                    continue
                try:
                    try:
                        cursor, generation = self._fresh(cursor, generation)
                    except (StoreError, duckdb.Error) as exc:  # the database is being opened again
                        self._fail(taken, exc)
                        continue
                    if narrow:
                        self._narrow(cursor)
                    appends = [item for item in taken if item.work is None]
                    if appends:
                        self._write(cursor, appends)
                    for item in taken:
                        if item.work is not None:
                            cursor, generation = self._run_work(cursor, generation, item)
                finally:
                    # Not kept until the next batch: a worker's rows are mapped from the spool.
                    taken = []
                    with self._cond:
                        self._busy -= 1
                        self._cond.notify_all()
        finally:
            if cursor is not None:
                try:
                    cursor.close()
                except duckdb.Error:
                    pass

    def _narrow(self, cursor: duckdb.DuckDBPyConnection) -> None:
        # Under sustained load every core is busy decoding and writing, and DuckDB's extra
        # threads only add handing over between them: inserting with one thread cost less
        # CPU a span and gave more spans/s (measured on the shared ingest workload). The
        # threads come back once ingest pauses (_widen), for queries and the checkpoint.
        try:
            cursor.execute("SET threads = 1")
        except duckdb.Error as exc:
            logger.debug("could not narrow DuckDB's threads: %s", exc)

    def _widen(self, cursor: duckdb.DuckDBPyConnection) -> None:
        with self._cond:
            if not self._narrowed:
                return
            self._narrowed = False
        try:
            cursor.execute(f"SET threads = {self._db_threads}")
        except duckdb.Error as exc:
            logger.debug("could not restore DuckDB's threads: %s", exc)

    def _remove_duplicates(self, cursor: duckdb.DuckDBPyConnection) -> None:
        with self._cond:
            due, self._dedupe_due = self._dedupe_due, False
        if not due or self._db.low_disk() is not None:
            with self._cond:
                self._dedupe_due = self._dedupe_due or due
            return
        try:
            removed = remove_pending_duplicates(cursor)
        except duckdb.Error as exc:  # e.g. a conflicting transaction: try again next pause
            logger.debug("removing re-sent spans failed: %s", exc)
            with self._cond:
                self._dedupe_due = True
            if is_invalidated(exc):
                self._db.recover(exc)
            return
        if removed:
            with self._cond:
                self.duplicates_removed += removed
            logger.info("removed %d spans that were sent twice", removed)

    def _cluster(self, cursor: duckdb.DuckDBPyConnection) -> None:
        # After de-duplication (it keeps a span's first copy, so sees rows as they came); each
        # transaction holds the units of work's lock; the pass gives way to waiting spans.
        if self._dedupe_due or self._db.low_disk() is not None:
            return

        def keep_going(need: int) -> bool:
            free = self._db.free_bytes()
            return not (self._queue or self._stopping) and (free is None or free >= self._db.min_free_bytes + need)

        try:
            moved = cluster_settled(cursor, guard=lambda: self._work_lock, keep_going=keep_going)
        except duckdb.Error as exc:  # e.g. a conflicting transaction: the next pause tries again
            logger.debug("keeping traces together failed: %s", exc)
            self._db.ran_out_of_space(exc)
            if is_invalidated(exc):
                self._db.recover(exc)
            return
        if moved:
            with self._cond:
                self.spans_clustered += moved
            logger.debug("rewrote %d spans in trace order", moved)

    def _checkpoint_if_due(self, cursor: duckdb.DuckDBPyConnection) -> None:
        log = self._db.log_bytes()
        if log <= self._idle_checkpoint_bytes:
            return
        # A checkpoint writes up to what the log holds into the file; one that fails for want
        # of space invalidates the database, so it waits for room (even with the free-space
        # check turned off), and after a failure for a while.
        free = self._db.free_bytes()
        if (free is not None and free < log + self._db.min_free_bytes) or time.monotonic() < self._checkpoint_after:
            return
        try:
            cursor.execute("CHECKPOINT")
            self.checkpoints += 1
        except duckdb.Error as exc:  # a transaction began meanwhile: the next idle moment will do
            if is_invalidated(exc):
                self._checkpoint_after = time.monotonic() + 30.0
                self._db.recover(exc)
            else:
                logger.debug("idle checkpoint skipped: %s", exc)

    def _fail(self, taken: list[_Item], exc: BaseException) -> None:
        """Fail the futures of a batch that could not be written, logging each cause once."""
        with self._cond:
            self.failed_batches += 1
        error = exc if isinstance(exc, StoreError) else StoreError(f"Writing to the store failed: {exc}")
        if str(error) != self._failure and not isinstance(exc, DiskFullError):  # DiskFullError logs itself
            self._failure = str(error)
            logger.error("workbench could not write a batch of %d items: %s", len(taken), exc)
        for item in taken:
            if not item.future.done():
                item.future.set_exception(error)

    def _write(self, cursor: duckdb.DuckDBPyConnection, taken: list[_Item]) -> None:
        try:
            self._db.check_disk()
            batches = [item.batch for item in taken if item.batch is not None]
            if any(item.spans for item in taken):
                batches.append(_span_rows([item for item in taken if item.spans]))
            batch = SpanBatch.concat(batches)
            extra = [(item.table, item.rows) for item in taken if item.rows is not None]
            written = record = None
            if batch.num_spans:
                try:
                    bounds = pc.min_max(batch.spans.column("start_time"))
                    written = (bounds["min"].as_py(), bounds["max"].as_py())
                except Exception:  # no duplicates looked for in this batch; nothing else changes
                    logger.exception("could not read the time range of a batch")
            with self._cond:
                recorded, passes = self._recorded, self._passes
            if written is not None and not (recorded and recorded[0] <= written[0] and written[1] <= recorded[1]):
                record = (written[0], written[1] + _RECORD_AHEAD)
            try:
                self._insert(cursor, batch, extra, record)
            except Exception as exc:
                if not is_data_error(exc):
                    raise
                # One span's data, probably: write each request alone, and keep what can be kept.
                logger.warning("a batch failed on its data (%s); writing it request by request", exc)
                self._salvage(cursor, taken)
                if record is not None:  # the range to de-duplicate, recorded on its own
                    self._insert(cursor, SpanBatch.concat([]), [], record)
        except Exception as exc:  # noqa: BLE001 - a failed batch must not stop the writer
            exc = self._explained(exc)
            self._fail(taken, exc)
            return
        stored = sum(item.size - item.rejected for item in taken if item.rows is None)
        rejected = sum(item.rejected for item in taken)
        # Spans a ready batch left out when its rows were made (in the same process; a
        # decoding worker's batch reports its own to the client instead).
        left_out = [reason for item in taken if item.batch is not None for _, reason in item.batch.rejected]
        with self._cond:
            self.committed_spans += stored
            self.rejected_spans += rejected + len(left_out)
            if written is not None:
                self._dedupe_due = True
            # Trusted only if no pass ran since the check: a pass running now may remove it.
            if record is not None and not self._tidying and self._passes == passes:
                self._recorded = record
            self._failure = None
        if rejected or left_out:
            logger.warning("%d spans could not be stored and were left out: %s", rejected + len(left_out),
                           next((item.error for item in taken if item.error), left_out[0] if left_out else ""))
        for item in taken:
            if not item.future.done():
                item.future.set_result(item.result())
        for listener in self._listeners:
            try:
                listener(stored)
            except Exception:
                logger.exception("a commit listener failed")

    def _explained(self, exc: Exception) -> Exception:
        """A failed write's error as the caller should see it: an invalidated database is
        opened again (and says so), a full disk says it is full; anything else as it is."""
        if isinstance(exc, duckdb.Error) and is_invalidated(exc):
            self._db.recover(exc)
            return StoreError(
                f"The database stopped working ({str(exc).strip().splitlines()[-1]}) and is being "
                "opened again; retry in a moment."
            )
        if isinstance(exc, duckdb.Error) and self._db.ran_out_of_space(exc):
            return DiskFullError(
                f"The disk holding {self._db.path} is full ({exc}); writes are refused until space "
                "is freed, then resume by themselves."
            )
        return exc

    def _run_work(
        self, cursor: duckdb.DuckDBPyConnection, generation: int, item: _Item
    ) -> tuple[duckdb.DuckDBPyConnection, int]:
        """Run one unit of work in a transaction of its own; its future gets the result or the error."""
        assert item.work is not None
        self._summary.due = True  # the work may write spans with SQL of its own
        try:
            cursor, generation = self._fresh(cursor, generation)
            with self._work_lock:
                self._db.check_disk()
                with transaction(cursor):
                    result = item.work(cursor)
        except Exception as exc:  # noqa: BLE001 - the caller's error, on its future; the writer goes on
            exc = self._explained(exc)
            if not item.future.done():
                item.future.set_exception(exc)
            return cursor, generation
        if not item.future.done():
            item.future.set_result(result)
        return cursor, generation

    def _salvage(self, cursor: duckdb.DuckDBPyConnection, taken: list[_Item]) -> None:
        """Write each item alone; an item of spans that fails on its data is split (see salvage.py).

        Raises:
            Exception: An error that is not about data; then every item fails with it.
        """
        for item in taken:
            if item.rows is not None:
                try:
                    self._insert(cursor, SpanBatch.concat([]), [(item.table, item.rows)])
                except Exception as exc:
                    if not is_data_error(exc):
                        raise
                    item.future.set_exception(StoreError(f"The rows could not be stored: {exc}"))
                continue
            if item.batch is not None:
                rows = item.batch
            else:
                item.rejected, item.error = 0, ""  # the rebuild rejects them again
                rows = _span_rows([item])
            _, rejected = insert_what_can_be(lambda part: self._insert(cursor, part, []), rows)
            item.reject([reason for _, reason in rejected])

    def _insert(
        self,
        cur: duckdb.DuckDBPyConnection,
        batch: SpanBatch,
        extra: list[tuple[str | None, pa.Table | None]],
        written: tuple[object, object] | None = None,
    ) -> None:
        """Insert a batch in one transaction, on a writer thread's own cursor."""
        inserts: list[tuple[str | None, pa.Table | None]] = [
            ("spans", batch.spans), ("documents", batch.documents), ("embeddings", batch.embeddings),
            ("annotations", batch.annotations),
        ]
        inserts += extra
        with transaction(cur):
            for table, rows in inserts:
                if table is not None and rows is not None and rows.num_rows:
                    _append(cur, table, rows)
            if written is not None:
                record_pending(cur, *written)  # type: ignore[arg-type]


def _span_rows(items: Sequence[_Item]) -> SpanBatch:
    """Arrow rows of the items' spans; spans that cannot be stored are rejected on their item."""
    batch = to_tables([span for item in items for span in item.spans])
    if batch.rejected:
        ends, end = [], 0
        for item in items:
            end += item.size
            ends.append(end)
        for index, reason in batch.rejected:
            items[bisect.bisect_right(ends, index)].reject([reason])
    return batch

