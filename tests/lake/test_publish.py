"""Publishing a store to a local lake: layout, plain readers, and exactly once across crashes."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.helpers import agent_runs, make_span
from workbench.errors import LakeError
from workbench.lake import committed_files
from workbench.lake.location import locate
from workbench.lake.publish import Publisher
from workbench.model import Document, SpanKind
from workbench.store import Store, outbox
from workbench.store.schema import TABLES

from .conftest import recording

DAY_MS = 24 * 3600 * 1000


def _spans(first: int, n: int, project: str = "support") -> list:
    return [make_span(i, trace=i // 4, start_ms=(i % 3) * DAY_MS, project=project) for i in range(first, first + n)]


def _count(lake: str, table: str = "spans") -> tuple[int, int]:
    files = committed_files(lake, table)
    if not files:
        return 0, 0
    query = f"SELECT count(*), count(DISTINCT trace_id || span_id) FROM read_parquet({files!r})"
    return duckdb.sql(query).fetchall()[0]


def test_published_files_are_hive_partitioned_with_the_schemas_columns(tmp_path):
    lake = str(tmp_path / "lake")
    with Store(tmp_path / "a.duckdb") as store:
        store.write([*_spans(0, 12, "support/bot"),
                     make_span(50, trace=50, kind=SpanKind.RETRIEVER, documents=(Document(0, "d1", "text", 0.5),))])
        assert Publisher(store, lake).publish() == 13
    files = committed_files(lake)
    assert {f.split("/table=spans/")[1].rsplit("/", 1)[0] for f in files} == {
        "project=support%2Fbot/day=2025-11-23", "project=support%2Fbot/day=2025-11-24",
        "project=support%2Fbot/day=2025-11-25", "project=test/day=2025-11-23"}
    # Any engine reads them with hive partitioning, without workbench.
    rows = duckdb.sql(
        f"SELECT DISTINCT day FROM read_parquet('{lake}/table=spans/**/*.parquet', hive_partitioning=true)")
    assert len(rows.fetchall()) == 3
    names = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({files!r}, hive_partitioning=false)").fetchall()
    assert [n[0] for n in names] == TABLES["spans"].column_names
    docs = committed_files(lake, "documents")
    assert len(docs) == 1 and "/table=documents/project=test/day=2025-11-23/" in docs[0]
    assert _count(lake, "documents") == (1, 1)


def test_each_publication_takes_only_what_is_new(tmp_path):
    lake = str(tmp_path / "lake")
    with Store(tmp_path / "a.duckdb") as store:
        publisher = Publisher(store, lake)
        store.write(_spans(0, 10))
        assert publisher.publish() == 10
        assert publisher.publish() == 0
        store.write(_spans(10, 5))
        store.write(_spans(0, 3))  # a sender's retry of spans already published
        assert publisher.publish() == 5
    assert _count(lake) == (15, 15)


def test_a_crash_after_the_commit_before_marking_it_does_not_publish_twice(tmp_path, monkeypatch):
    lake = str(tmp_path / "lake")
    with Store(tmp_path / "a.duckdb") as store:
        store.write(_spans(0, 20))
        real = outbox.mark_done
        monkeypatch.setattr(outbox, "mark_done", lambda *a: (_ for _ in ()).throw(RuntimeError("killed")))
        with pytest.raises(RuntimeError):
            Publisher(store, lake).publish()
        assert _count(lake) == (20, 20)  # committed, but the store does not know
        monkeypatch.setattr(outbox, "mark_done", real)
        store.write(_spans(20, 4))
        assert Publisher(store, lake).publish() == 4  # the restarted publisher only marks the first
    assert _count(lake) == (24, 24)


@pytest.mark.parametrize("crash_at", [1, 2, 3, 5])
def test_a_lake_that_fails_mid_publication_loses_nothing_and_duplicates_nothing(tmp_path, crash_at):
    folder = tmp_path / "lake"
    fs, recorder = recording()
    recorder.fail_after = crash_at  # the lake stops taking writes after this many
    with Store(tmp_path / "a.duckdb") as store:
        store.write(_spans(0, 30))
        failing = Publisher(store, locate(str(folder), filesystem=fs))
        with pytest.raises(LakeError):
            failing.publish()
        store.write(_spans(30, 6))
        recorder.fail_after = None  # the lake is back
        failing.publish()
        assert Publisher(store, str(folder)).publish() == 0
    assert _count(str(folder)) == (36, 36)


def test_keep_hours_removes_only_published_spans_from_the_store(tmp_path):
    lake = str(tmp_path / "lake")
    with Store(tmp_path / "a.duckdb") as store:
        store.write(_spans(0, 10))  # in 2025: far older than an hour
        publisher = Publisher(store, lake, keep_hours=1)
        publisher.publish()
        assert store.fetchall("SELECT count(*) FROM spans")[0][0] == 0
        assert outbox.waiting(store) == 0
        store.write(_spans(0, 2))  # a late retry of forgotten spans is not published again
        publisher.publish()
    assert _count(lake) == (10, 10)


def test_lake_files_hold_each_trace_together_so_a_repeated_history_is_stored_about_once(tmp_path):
    lake = str(tmp_path / "lake")
    spans = agent_runs(traces=40, turns=20)
    with Store(tmp_path / "a.duckdb") as store:
        store.write(spans)
        assert Publisher(store, lake).publish() == len(spans)
        as_sent = store.query("SELECT * FROM spans ORDER BY start_time")
    (path,) = committed_files(lake)
    rows = duckdb.sql(f"SELECT trace_id, start_time FROM read_parquet('{path}')").fetchall()
    assert rows == sorted(rows), "rows are grouped by trace, in time within each"
    assert len({r[0] for r in rows}) == 40
    # The same rows in time order (the calls of the forty runs interleaved), written alike
    # but without the order, take several times the bytes.
    interleaved = io.BytesIO()
    pq.write_table(as_sent.select(TABLES["spans"].column_names), interleaved, compression="zstd")
    published = Path(path).stat().st_size
    assert published * 3 < interleaved.tell(), (published, interleaved.tell())
