"""The writer's last line of defence: a batch that fails on one span's data still stores the rest.

Spans are checked and repaired before they reach the writer (:mod:`workbench.semconv.repair`,
:func:`workbench.store.rows.to_tables`), so this is for what those checks do not know: a value
DuckDB refuses although Arrow took it (text that is not UTF-8 in a batch handed over by a decode
worker, say). When a transaction fails with such a data error, the writer writes each request
on its own, and a request that still fails is split in halves until the spans DuckDB refuses
are alone; those are rejected (the receiver reports them through OTLP partial success) and the
others stored. A failure that is not about data (the disk, the database) stops the salvage and
fails the remaining requests as before, so nothing is dropped for a fault of the store.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from workbench.store.rows import SpanBatch

__all__ = ["DATA_ERRORS", "Written", "insert_what_can_be", "is_data_error"]

#: Errors that say a row's values are wrong, not that the store is.
DATA_ERRORS: tuple[type[BaseException], ...] = (
    duckdb.DataError,  # conversion, out of range
    duckdb.InvalidInputException,  # e.g. text that is not UTF-8
    duckdb.TypeMismatchException,
    duckdb.IntegrityError,
    pa.ArrowException,
    ValueError,
    TypeError,
    OverflowError,
    UnicodeError,
)


def is_data_error(exc: BaseException) -> bool:
    """Whether ``exc`` is about the values written, not about the store."""
    return isinstance(exc, DATA_ERRORS) and not isinstance(exc, (duckdb.IOException, duckdb.FatalException))


class Written(int):
    """The spans of one submission that were stored, with those rejected and the first reason.

    An ``int`` (what the writer's futures have always given), so callers that only count keep
    working.
    """

    rejected: int
    error: str

    def __new__(cls, written: int, rejected: int = 0, error: str = "") -> Written:
        self = super().__new__(cls, written)
        self.rejected = rejected
        self.error = error
        return self


def _part(batch: SpanBatch, lo: int, hi: int) -> SpanBatch:
    """The spans ``lo:hi`` of ``batch``, with the documents, embeddings and annotations of those spans."""
    spans = batch.spans.slice(lo, hi - lo)
    ids = spans.column("span_id")

    def rows(table: pa.Table) -> pa.Table:
        if not table.num_rows:
            return table
        keep = pc.is_in(table.column("span_id"), value_set=ids.combine_chunks())
        if lo == 0:  # rows of no span (a session's annotation) go with the first part
            keep = pc.or_(keep, pc.is_null(table.column("span_id")))
        return table.filter(keep)

    return SpanBatch(spans, rows(batch.documents), rows(batch.embeddings), rows(batch.annotations))


def insert_what_can_be(insert: Callable[[SpanBatch], None], batch: SpanBatch) -> tuple[int, list[tuple[int, str]]]:
    """Insert ``batch`` in parts, halving a part that fails on its data until the bad spans are alone.

    Args:
        insert: Writes one batch in one transaction, or raises.
        batch: The spans to write.

    Returns:
        The number of spans written, and the rejected spans as (index in ``batch``, reason).

    Raises:
        Exception: The first error that is not about data (see :func:`is_data_error`).
    """
    written = 0
    rejected: list[tuple[int, str]] = []
    names = batch.spans.column("name")
    parts = [(0, batch.num_spans)]
    while parts:
        lo, hi = parts.pop()
        try:
            insert(_part(batch, lo, hi))
            written += hi - lo
        except Exception as exc:
            if not is_data_error(exc):
                raise
            if hi - lo == 1:
                try:
                    name = names[lo].as_py()
                except Exception:  # noqa: BLE001 - the name itself may be what is wrong
                    name = "?"
                rejected.append((lo, f"span {name!r} could not be stored ({type(exc).__name__}: {exc})"))
            else:
                middle = (lo + hi) // 2
                parts += [(middle, hi), (lo, middle)]
    return written, sorted(rejected)
