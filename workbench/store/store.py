""":class:`Store`, a workbench database file: spans go in through the batching writer, reads
run on per-thread cursors, and Parquet goes out and comes back in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pyarrow as pa

from workbench import config
from workbench.errors import NotFoundError, StoreError
from workbench.model import Span
from workbench.store import parquet
from workbench.store.database import MEMORY, Database
from workbench.store.frames import annotation_rows, corpus_rows
from workbench.store.schema import SCHEMA_VERSION, TABLES
from workbench.store.writer import Writer

__all__ = ["MEMORY", "SCHEMA_VERSION", "TABLES", "Store"]


class Store:
    """A workbench store: a DuckDB file (or ``":memory:"``) with spans and what hangs on them.

    Args:
        path: The database file; default ``WORKBENCH_DB`` or ``~/.workbench/workbench.duckdb``.
        read_only: Open for reading only (no writer thread).
        max_queued_spans: Spans that may wait to be written before writes are refused.
        batch_spans: The most spans one transaction takes.

    It is also the span sink the collector writes into: :meth:`submit` takes spans and
    returns a future that completes when they are committed.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        read_only: bool = False,
        max_queued_spans: int | None = None,
        batch_spans: int | None = None,
    ) -> None:
        self.db = Database(config.get("db", path), read_only=read_only)
        self.path = self.db.path
        self.writer: Writer | None = None
        if not read_only:
            self.writer = Writer(
                self.db,
                max_queued_spans=config.get("queue_spans", max_queued_spans),
                batch_spans=config.get("batch_spans", batch_spans),
            )

    def __repr__(self) -> str:
        return f"Store({self.path!r}{', read_only=True' if self.db.read_only else ''})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _writer(self) -> Writer:
        if self.writer is None:
            raise StoreError(f"The store {self.path} was opened read-only; open it without read_only to write.")
        return self.writer

    # Writing ---------------------------------------------------------------------------

    def submit(self, spans: Sequence[Span]) -> Future[int]:
        """Queue spans; the future completes once they are committed. Never blocks."""
        return self._writer().submit(spans)

    def write(self, spans: Sequence[Span], timeout: float | None = 60.0) -> int:
        """Write spans and wait until they are committed; return how many."""
        return self.submit(spans).result(timeout)

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until every queued write is committed."""
        return self.writer.flush(timeout) if self.writer else True

    def add_annotations(self, data: Any, *, annotator_kind: str = "HUMAN") -> int:
        """Add evaluations or feedback (a DataFrame, Arrow table, list of dicts or Parquet path).

        See :func:`workbench.store.frames.annotation_rows` for the columns.
        """
        rows = annotation_rows(data, default_annotator_kind=annotator_kind)
        return self._writer().submit_rows("annotations", rows).result(60)

    def load_corpus(self, data: Any, *, id_column: str = "id", text_column: str = "text", vector_column: str = "vector") -> int:
        """Load the indexed documents (id, text, vector) that retrievals and drift refer to.

        Rows whose id is already stored are replaced.
        """
        rows = corpus_rows(data, id_column=id_column, text_column=text_column, vector_column=vector_column)
        ids = rows.column("document_id").to_pylist()
        cur = self.db.new_cursor()
        try:
            cur.execute("DELETE FROM corpus WHERE document_id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()
        finally:
            cur.close()
        return self._writer().submit_rows("corpus", rows).result(120)

    def set_meta(self, key: str, value: str) -> None:
        """Record a value in the store's own key-value table (``workbench_meta``)."""
        cur = self.db.new_cursor()
        try:
            cur.execute(
                "INSERT INTO workbench_meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            ).fetchall()
        finally:
            cur.close()

    def get_meta(self, key: str) -> str | None:
        """A value recorded with :meth:`set_meta`, or None."""
        rows = self.fetchall("SELECT value FROM workbench_meta WHERE key = ?", [key])
        return rows[0][0] if rows else None

    # Reading ---------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run read-only SQL on this thread's cursor; return an Arrow table."""
        return self.db.query(sql, params)

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run SQL on this thread's cursor; return rows as tuples."""
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
        """Import a `workbench export` folder or a Parquet file of spans; return rows added."""
        self._writer()
        self.flush()
        return parquet.import_parquet(self.db, path, shift=shift)

    def close(self) -> None:
        """Write what is queued and close the file."""
        if self.writer is not None:
            self.writer.close()
        self.db.close()
