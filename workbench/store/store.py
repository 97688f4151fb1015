""":class:`Store`, a workbench database file: spans and every other change go in through the
batching writer (spans on their fast path, the rest as units of work), reads run on
per-thread cursors and refuse writes, and Parquet goes out and comes back in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from workbench import config
from workbench.errors import NotFoundError, QueueFullError, StoreError
from workbench.model import LogRecord, Span
from workbench.store import parquet
from workbench.store.database import CHECKPOINT_BACKSTOP, MEMORY, Database
from workbench.store.frames import annotation_rows, corpus_rows
from workbench.store.logs import LogMerger, merger_for
from workbench.store.rows import SpanBatch
from workbench.store.schema import SCHEMA_VERSION, TABLES
from workbench.store.shared import OpenFile, acquire, add_handle, release
from workbench.store.writer import Append, Work, Writer

T = TypeVar("T")

__all__ = ["MEMORY", "SCHEMA_VERSION", "TABLES", "Store"]

_IMPORT_CHECKPOINT = "1MB"  # an import's commit larger than this checkpoints instead of logging


def _restore_checkpoint_threshold(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(f"SET checkpoint_threshold = '{CHECKPOINT_BACKSTOP}'")


class Store:
    """A workbench store: a DuckDB file (or ``":memory:"``) with spans and what hangs on them.

    Args:
        path: The database file; default ``WORKBENCH_DB`` or ``~/.workbench/workbench.duckdb``.
        read_only: Open for reading only (no writer thread).
        max_queued_spans: Spans that may wait to be written before writes are refused.
        batch_spans: The most spans one transaction takes.

    It is also the span sink both ways in write into: :meth:`submit` takes the ingest
    pipeline's rows (or spans) and returns a future that completes when they are committed.
    """

    #: The ingest pipeline hands this sink its Arrow rows, not span objects.
    takes_rows = True

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        read_only: bool = False,
        max_queued_spans: int | None = None,
        batch_spans: int | None = None,
    ) -> None:
        self._read_only = read_only
        self._file: OpenFile | None = acquire(
            config.get("db", path),
            read_only=read_only,
            writer_options={
                "max_queued_spans": config.get("queue_spans", max_queued_spans),
                "batch_spans": config.get("batch_spans", batch_spans),
            },
        )
        self.path = self._file.db.path

    def handle(self, *, read_only: bool = False) -> Store:
        """Another store on the same open file (the same one, for ``":memory:"``); close each."""
        shared = self._open
        add_handle(shared, read_only=read_only)
        other = Store.__new__(Store)
        other._read_only = read_only
        other._file = shared
        other.path = self.path
        return other

    @property
    def _open(self) -> OpenFile:
        if self._file is None:
            raise StoreError(f"The store {self.path} is closed; open it again.")
        return self._file

    @property
    def db(self) -> Database:
        """The database connection (shared by every store on this file in this process)."""
        return self._open.db

    @property
    def writer(self) -> Writer | None:
        """The writer, or None when the file is open read-only in this process.

        A store asked for read-only on a file this process already writes (a notebook that
        also records) shares that writer: the lock is taken already, and annotations can be
        written through any reader.
        """
        return None if self._file is None else self._file.writer

    def add_source(self, sync: Any, flush: Any) -> None:
        """Register an in-process collector writing here: reads first take what it holds.

        Args:
            sync: ``sync(timeout)`` hands over the spans it holds, before a read.
            flush: ``flush(timeout)`` stores everything it holds, at exit.
        """
        self._open.add_source(sync, flush)

    def _sync(self) -> None:
        if self._file is not None:
            self._file.sync()

    def __repr__(self) -> str:
        return f"Store({self.path!r}{', read_only=True' if self._read_only else ''})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _writer(self) -> Writer:
        if self.writer is None:
            raise StoreError(f"The store {self.path} was opened read-only; open it without read_only to write.")
        return self.writer

    # Writing ---------------------------------------------------------------------------

    def submit(self, spans: Sequence[Span] | SpanBatch) -> Future[int]:
        """Queue spans; the future completes once they are committed. Never blocks.

        The span sink both ways in write into: the ingest pipeline hands over the
        :class:`SpanBatch` it made (in the server's decoding workers, or on the in-process
        collector's thread); :class:`Span` objects are taken too, and made into rows here.
        """
        return self._writer().submit(spans)

    def execute_write(self, work: Work[T], timeout: float | None = 120.0) -> T:
        """Run a unit of work on the writer and return its result once committed.

        ``work(cursor)`` gets a writer thread's cursor inside a transaction of its own (see
        :meth:`workbench.store.writer.Writer.execute`); its exception rolls the transaction
        back and is raised here. The one way, beside spans, to change the store.

        Raises:
            StoreError: The store was opened read-only, or is closed.
        """
        return self._writer().execute(work).result(timeout)

    def write(self, spans: Sequence[Span], timeout: float | None = 60.0) -> int:
        """Write spans and wait until they are committed; return how many."""
        return self.submit(spans).result(timeout)

    @property
    def logs(self) -> LogMerger | None:
        """What merges OpenTelemetry log records into their spans; None when read-only."""
        writer = self.writer
        return None if writer is None else merger_for(self.db, writer)

    def submit_logs(self, records: Sequence[LogRecord]) -> Future[int]:
        """Queue OpenTelemetry log records; each with a span id is merged into its span,
        whichever is stored first (see :mod:`workbench.store.logs`). Never blocks."""
        return merger_for(self.db, self._writer()).submit(records)

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until every queued write is committed (and log records merged into their spans)."""
        writer = self._file.writer if self._file is not None else None
        if writer is None:
            return True
        done = writer.flush(timeout)
        logs = self.logs
        if done and logs is not None and logs.waiting:
            logs.attach()
        return done

    def add_annotations(self, data: Any, *, annotator_kind: str = "HUMAN") -> int:
        """Add evaluations or feedback (a DataFrame, Arrow table, list of dicts or Parquet path).

        See :func:`workbench.store.frames.annotation_rows` for the columns.
        """
        rows = annotation_rows(data, default_annotator_kind=annotator_kind)
        return self._writer().submit_rows("annotations", rows).result(60)

    def load_corpus(
        self, data: Any, *, id_column: str = "id", text_column: str = "text", vector_column: str = "vector"
    ) -> int:
        """Load the indexed documents (id, text, vector) that retrievals and drift refer to.

        Rows whose id is already stored are replaced.
        """
        rows = corpus_rows(data, id_column=id_column, text_column=text_column, vector_column=vector_column)
        ids = rows.column("document_id").to_pylist()

        def replace(cur: duckdb.DuckDBPyConnection) -> int:
            cur.execute("DELETE FROM corpus WHERE document_id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()
            return Append("corpus", rows)(cur)

        return self.execute_write(replace)

    def set_meta(self, key: str, value: str) -> None:
        """Record a value in the store's own key-value table (``workbench_meta``)."""
        self.execute_write(
            lambda cur: cur.execute(
                "INSERT INTO workbench_meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            ).fetchall(),
            60,
        )

    def get_meta(self, key: str) -> str | None:
        """A value recorded with :meth:`set_meta`, or None."""
        rows = self.fetchall("SELECT value FROM workbench_meta WHERE key = ?", [key])
        return rows[0][0] if rows else None

    # Reading ---------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run read-only SQL on this thread's cursor; return an Arrow table.

        What this process's collectors have recorded so far is stored first, so it is read.

        Raises:
            StoreError: The SQL would write (INSERT, DELETE, CREATE ...): writes go through
                :meth:`execute_write` and the store's other methods.
        """
        self._sync()
        return self.db.query(sql, params)

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run SQL on this thread's cursor; return rows as tuples."""
        self._sync()
        return self.db.fetchall(sql, params)

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        present = self.db.tables()
        return {name: self.fetchall(f"SELECT count(*) FROM {name}")[0][0] if name in present else 0 for name in TABLES}

    def read_table(self, name: str) -> pa.Table:
        """Every row of one stored table (``docs/schema.md`` lists them), as Arrow.

        Raises:
            NotFoundError: There is no such table.
        """
        if name not in TABLES:
            raise NotFoundError(f"There is no table {name!r}; the tables are {', '.join(TABLES)}.")
        if name not in self.db.tables():  # a file made before the table was
            return TABLES[name].arrow_schema.empty_table()
        return self.query(f"SELECT * FROM {name}")

    # Parquet ---------------------------------------------------------------------------

    def export_parquet(self, out_dir: str | Path) -> dict[str, int]:
        """Write every table as Parquet partitioned by day; return rows per table."""
        self.flush()
        return parquet.export_parquet(self.db, out_dir)

    def import_parquet(self, path: str | Path, *, shift: dt.timedelta | None = None) -> dict[str, int]:
        """Import a `workbench export` folder or a Parquet file of spans; return rows added.

        The import's commit writes its rows straight into the file, compressed, instead of
        into the log: logged, the sample's 5 MB of Parquet became 165 MB of log, written in
        0.7 s and compressed again by the next idle checkpoint (0.4-0.6 s) just as the
        first browser page was being built.
        """
        writer = self._writer()
        self.flush()

        def work(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
            # Database-wide: a commit whose log would pass the threshold checkpoints instead.
            # Set back right after (spans committed meanwhile may checkpoint with it, which
            # only costs their commit the time).
            cur.execute(f"SET checkpoint_threshold = '{_IMPORT_CHECKPOINT}'")
            return parquet.import_parquet(cur, path, shift=shift)

        try:
            return writer.execute(work).result()
        finally:
            try:
                writer.execute(_restore_checkpoint_threshold).result()
            except (StoreError, QueueFullError):  # closed or full: the import's own outcome is what counts
                pass

    def close(self) -> None:
        """Let go of the file: the last store on it in this process writes what is queued and closes it."""
        shared, self._file = self._file, None
        if shared is None:
            return
        if not self._read_only and shared.writer is not None:
            shared.writer.flush(60)
        release(shared)
