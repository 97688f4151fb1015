"""Every write goes through the store's writer; the query path only reads."""

from __future__ import annotations

import pytest

from tests.helpers import make_span
from workbench.errors import StoreError
from workbench.store import Store
from workbench.store.schema import OWN_TABLES, ddl


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO workbench_meta VALUES ('x', 'y')",
        "DELETE FROM spans",
        "UPDATE spans SET name = 'x'",
        "CREATE TABLE other (a INTEGER)",
        "DROP TABLE corpus",
        "SELECT 1; DELETE FROM spans",
        "CHECKPOINT",
        "COPY spans TO '/tmp/workbench-never-written.csv'",
    ],
)
def test_the_query_path_refuses_writes_and_changes_nothing(db_path, sql):
    with Store(db_path) as store:
        store.write([make_span(0)])
        with pytest.raises(StoreError, match="only reads"):
            store.query(sql)
        with pytest.raises(StoreError, match="only reads"):
            store.fetchall(sql)
        assert store.counts()["spans"] == 1
        assert store.fetchall("SELECT count(*) FROM workbench_meta WHERE key = 'x'")[0][0] == 0
        assert store.query("SELECT count(*) AS n FROM spans").column(0)[0].as_py() == 1  # reads still work


def test_a_unit_of_work_commits_whole_or_not_at_all(db_path):
    with Store(db_path) as store:
        def both(cur):
            cur.execute("INSERT INTO workbench_meta VALUES ('a', '1')")
            cur.execute("INSERT INTO workbench_meta VALUES ('b', '2')")
            return "done"

        assert store.execute_write(both) == "done"
        assert store.get_meta("a") == "1" and store.get_meta("b") == "2"

        def fails(cur):
            cur.execute("INSERT INTO workbench_meta VALUES ('c', '3')")
            raise ValueError("the caller's own error")

        with pytest.raises(ValueError, match="own error"):
            store.execute_write(fails)
        assert store.get_meta("c") is None  # rolled back
        store.write([make_span(1)])  # the writer goes on
        assert store.counts()["spans"] == 1


def test_units_of_work_and_spans_share_the_writer(db_path):
    with Store(db_path) as store:
        futures = [store.writer.submit([make_span(i, trace=i)]) for i in range(5)]
        works = [store.writer.execute(lambda cur, i=i: cur.execute(
            "INSERT INTO workbench_meta VALUES (?, 'v')", [f"k{i}"]).fetchall()) for i in range(5)]
        assert sum(f.result(30) for f in futures) == 5
        for work in works:
            work.result(30)
        assert store.fetchall("SELECT count(*) FROM workbench_meta WHERE key LIKE 'k%'")[0][0] == 5


def test_meta_and_corpus_are_refused_on_a_read_only_store(db_path):
    with Store(db_path) as store:
        store.set_meta("sample", "one")
    with Store(db_path, read_only=True) as store:
        with pytest.raises(StoreError, match="read-only"):
            store.set_meta("sample", "two")
        with pytest.raises(StoreError, match="read-only"):
            store.load_corpus([{"id": "d1", "text": "x", "vector": [0.1, 0.2]}])
        assert store.get_meta("sample") == "one"


def test_load_corpus_replaces_rows_in_one_unit(db_path):
    with Store(db_path) as store:
        assert store.load_corpus([{"id": "d1", "text": "old", "vector": [0.1, 0.2]}]) == 1
        assert store.load_corpus([{"id": "d1", "text": "new", "vector": [0.1, 0.2]},
                                  {"id": "d2", "text": "two", "vector": [0.3, 0.4]}]) == 2
        rows = store.fetchall("SELECT document_id, text FROM corpus ORDER BY document_id")
        assert rows == [("d1", "new"), ("d2", "two")]


def test_every_table_the_store_holds_is_declared_in_the_schema(db_path):
    with Store(db_path) as store:
        held = {name for (name,) in store.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")}
    assert "drift_cache" in OWN_TABLES and "workbench_meta" in OWN_TABLES
    declared = {statement.split()[5] for statement in ddl()}
    assert held == declared
