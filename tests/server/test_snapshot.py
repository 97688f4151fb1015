"""SQL analysis from a notebook while `workbench serve` holds the file: a snapshot of a range."""

from __future__ import annotations

import pytest

import workbench
from workbench import analysis
from workbench.errors import RemoteReaderError, WorkbenchError
from workbench.query import Reader


def test_analysis_over_a_snapshot_of_a_server_matches_the_local_answer(server, store, rag_spans):
    from workbench.drift import Window, save_baseline

    store.write(rag_spans)
    store.add_annotations([{"span_id": rag_spans[3].span_id, "trace_id": rag_spans[3].trace_id,
                            "name": "faithfulness", "score": 0.5, "annotator_kind": "LLM"}])
    store.load_corpus([{"id": "kb-1", "text": "Refunds within 30 days.", "vector": [0.1, 0.2]}])
    save_baseline(Reader(store), "launch", Window())
    wb = workbench.open(server.url)
    with workbench.snapshot(wb) as local:
        assert isinstance(local, Reader)
        assert local.store.counts() == store.counts()  # every table, row for row
        assert analysis.latency_summary(local) == analysis.latency_summary(Reader(store))
        assert list(local.embeddings()["vector"].iloc[0]) == pytest.approx([0.6, 0.8, 0.0])


def test_a_snapshot_holds_only_its_range_and_tables(server, store, rag_spans):
    store.write(rag_spans)
    wb = workbench.open(server.url)
    with workbench.snapshot(wb, start="2000-01-01", end="2000-01-02") as empty:
        assert empty.store.counts()["spans"] == 0
    with workbench.snapshot(wb, tables=("spans",)) as spans_only:
        counts = spans_only.store.counts()
        assert counts["spans"] == 4 and counts["documents"] == counts["embeddings"] == 0
    with pytest.raises(WorkbenchError, match="cannot hold 'vectors'; the tables are spans"):
        workbench.snapshot(wb, tables=("vectors",))


def test_sql_analysis_given_a_servers_reader_says_to_snapshot(server, store, rag_spans):
    store.write(rag_spans)
    wb = workbench.open(server.url)
    with pytest.raises(RemoteReaderError, match=r"copy a time range into memory and pass that: "
                                                r"local = workbench.snapshot\(wb, start=\"7d\"\)"):
        analysis.latency_summary(wb)
    assert not hasattr(wb, "store")  # still an AttributeError for code that asks


def test_a_local_reader_is_used_as_it_is_and_stays_open(store, rag_spans):
    store.write(rag_spans)
    mine = Reader(store)
    with workbench.snapshot(mine) as same:
        assert same.store is store
    assert mine.spans().shape[0] == 4  # closing the snapshot left the store open
