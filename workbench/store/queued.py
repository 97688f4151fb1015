"""What waits for the writer (:mod:`workbench.store.writer`): units of work, appends of
ready rows, and the queue's items that carry them with their futures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from workbench.model import Span
from workbench.store import summary
from workbench.store.rows import SpanBatch
from workbench.store.salvage import Written

__all__ = ["Append", "Work"]

T = TypeVar("T")

#: A unit of work: called with a writer thread's cursor inside an open transaction; what it
#: returns is the future's result. It must not begin, commit or roll back itself.
Work = Callable[[duckdb.DuckDBPyConnection], T]


@dataclass(frozen=True)
class Append:
    """A unit of work that appends ready Arrow rows to a table.

    The writer folds appends into the group commit with spans (appends never conflict); called
    alone, it inserts the rows on the cursor it is given.
    """

    table: str
    rows: pa.Table

    def __call__(self, cursor: duckdb.DuckDBPyConnection) -> int:
        _append(cursor, self.table, self.rows)
        return self.rows.num_rows


def _append(cursor: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    cursor.register("_incoming", rows)
    try:
        cursor.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming").fetchall()
        if table == "spans":  # in the same transaction: see workbench.store.summary
            summary.summarize_rows(cursor, "_incoming", rows.column_names)
    finally:
        try:
            cursor.unregister("_incoming")
        except duckdb.Error:  # refused in an aborted transaction: the insert's error is the one to raise
            pass


class _Item:
    """Something waiting to be written: spans, a ready span batch, rows to append, or a unit of work."""

    __slots__ = ("batch", "error", "future", "rejected", "rows", "size", "spans", "table", "work")

    def __init__(
        self,
        future: Future[Any],
        *,
        spans: Sequence[Span] = (),
        batch: SpanBatch | None = None,
        table: str | None = None,
        rows: pa.Table | None = None,
        work: Work[Any] | None = None,
    ) -> None:
        self.spans = spans
        self.batch = batch
        self.table = table
        self.rows = rows
        self.work = work
        self.future = future
        if batch is not None:
            self.size = batch.num_spans
        elif rows is not None:
            self.size = rows.num_rows
        elif work is not None:
            self.size = 1  # counts as one row against the queue's limit
        else:
            self.size = len(spans)
        self.rejected = 0  # spans that could not be stored (see workbench.store.salvage)
        self.error = ""

    def reject(self, reasons: Sequence[str]) -> None:
        self.rejected += len(reasons)
        self.error = self.error or (reasons[0] if reasons else "")

    def result(self) -> Written:
        return Written(self.size - self.rejected, self.rejected, self.error)
