"""The writer's last line of defence: a batch that fails in DuckDB on one span's data keeps the rest."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.helpers import make_span
from workbench.errors import StoreError
from workbench.model import Document
from workbench.store.database import Database
from workbench.store.rows import SpanBatch, to_tables
from workbench.store.writer import Writer


def _batch(first: int, n: int, *, bad: int | None = None) -> SpanBatch:
    """Spans ``first..first+n`` with a document each; span ``bad`` gets a name that is not UTF-8.

    Arrow takes such text without a check when a batch arrives from another process; DuckDB refuses it.
    """
    batch = to_tables([make_span(i, trace=first + i, documents=(Document(0, f"doc-{i}", "text"),))
                       for i in range(first, first + n)])
    if bad is not None:
        names = [name.encode() for name in batch.spans.column("name").to_pylist()]
        names[bad] = b"bad \xff\xfe"
        column = pa.array(names, pa.binary()).view(pa.string())
        batch.spans = batch.spans.set_column(batch.spans.schema.get_field_index("name"), "name", column)
    return batch


@pytest.fixture
def db(db_path):
    database = Database(db_path)
    yield database
    database.close()


def test_a_batch_that_fails_on_one_span_stores_the_others_and_rejects_that_one(db):
    writer = Writer(db)
    try:
        written = writer.submit_batch(_batch(0, 40, bad=17)).result(30)
        assert written == 39 and written.rejected == 1
        assert "could not be stored" in written.error
        assert db.fetchall("SELECT count(*) FROM spans")[0][0] == 39
        # the rejected span's document went with it; the others' stayed with their spans
        assert db.fetchall("SELECT count(*) FROM documents")[0][0] == 39
        assert db.fetchall("SELECT count(*) FROM documents WHERE span_id NOT IN (SELECT span_id FROM spans)") == [(0,)]
        assert writer.rejected_spans == 1 and writer.committed_spans == 39
    finally:
        writer.close()


def test_other_requests_in_the_same_transaction_are_not_touched(db):
    writer = Writer(db, linger=2.0)  # waits for company: both requests go in one transaction
    try:
        bad = writer.submit_batch(_batch(0, 10, bad=0))
        good = writer.submit_batch(_batch(100, 10))
        assert good.result(30) == 10 and good.result().rejected == 0
        assert bad.result(30) == 9 and bad.result().rejected == 1
        assert db.fetchall("SELECT count(*) FROM spans")[0][0] == 19
    finally:
        writer.close()


def test_a_fault_of_the_store_is_not_taken_for_bad_data(db):
    writer = Writer(db)
    try:
        batch = _batch(0, 10)
        batch.spans = batch.spans.append_column("no_such_column", pa.array([1] * 10))  # the table refuses it
        with pytest.raises(StoreError):
            writer.submit_batch(batch).result(30)  # an error for every span: the client retries
        assert db.fetchall("SELECT count(*) FROM spans")[0][0] == 0
        assert writer.rejected_spans == 0
    finally:
        writer.close()
