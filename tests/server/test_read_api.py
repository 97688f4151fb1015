"""The HTTP read API, through workbench.open(url): the same answers a local file gives."""

from __future__ import annotations

import pytest
import requests

import workbench
from workbench.errors import FilterError, NotFoundError, ServerError
from workbench.query import Reader


def test_remote_reader_answers_like_the_local_one(server, store, rag_spans):
    store.write(rag_spans)
    remote = workbench.open(server.url)
    local = Reader(store)
    assert remote.spans().shape == local.spans().shape
    assert list(remote.spans("span_kind == 'LLM'")["name"]) == ["llm"]
    assert remote.traces().iloc[0]["span_count"] == 4
    tree = remote.trace(rag_spans[0].trace_id)
    assert [n.span["name"] for n in tree] == ["rag", "embed", "retrieve", "llm"]
    assert list(remote.documents()["document_id"]) == ["kb-1", "kb-2"]
    assert list(remote.embeddings()["vector"].iloc[0]) == pytest.approx([0.6, 0.8, 0.0])
    assert remote.projects() == ["test"]
    detail = remote.span(rag_spans[2].span_id)
    assert [d["document_id"] for d in detail["documents"]] == ["kb-1", "kb-2"]


def test_remote_errors_are_the_local_errors(server):
    remote = workbench.open(server.url)
    with pytest.raises(FilterError, match="did you mean 'latency_ms'"):
        remote.spans("latncy_ms > 5")
    with pytest.raises(NotFoundError, match="no trace"):
        remote.trace("ab" * 16)
    with pytest.raises(ServerError, match="Cannot reach a workbench server"):
        workbench.open("http://127.0.0.1:9").spans()
    https = server.url.replace("http://", "https://")
    with pytest.raises(ServerError, match=r"The workbench server at https://\S+ does not speak TLS \(https\)"):
        workbench.open(https).spans()


def test_annotations_can_be_posted_for_user_feedback(server, store, rag_spans):
    store.write(rag_spans)
    response = requests.post(server.url + "/api/annotations", json={
        "trace_id": rag_spans[0].trace_id, "name": "user_feedback", "label": "thumbs_down", "score": 0,
        "annotator": "user-1",
    }, timeout=10)
    assert response.status_code == 201 and response.json() == {"added": 1}
    rows = workbench.open(server.url).annotations("user_feedback")
    assert list(rows["label"]) == ["thumbs_down"] and list(rows["target"]) == ["trace"]
    bad = requests.post(server.url + "/api/annotations", json={"score": 1}, timeout=10)
    assert bad.status_code == 400 and "has no name" in bad.json()["error"]


def test_tables_come_in_every_format(server, store, rag_spans):
    store.write(rag_spans)
    as_json = requests.get(server.url + "/api/spans", params={"format": "json", "columns": "name"}, timeout=10)
    assert as_json.json() == [{"name": n} for n in ("rag", "embed", "retrieve", "llm")]
    csv = requests.get(server.url + "/api/traces", params={"format": "csv"}, timeout=10)
    assert csv.text.splitlines()[0].startswith('"trace_id"')
    wrong = requests.get(server.url + "/api/spans", params={"format": "xml"}, timeout=10)
    assert wrong.status_code == 400


def test_remote_export_holds_every_table_and_can_be_imported(tmp_path, server, store, rag_spans):
    from workbench.drift import Window, save_baseline

    store.write(rag_spans)
    store.load_corpus([{"id": "kb-1", "text": "Refunds within 30 days.", "vector": [0.1, 0.2]}])
    save_baseline(Reader(store), "launch", Window())
    counts = workbench.open(server.url).export_parquet(tmp_path / "out")
    assert counts == {"spans": 4, "documents": 2, "embeddings": 1, "annotations": 0, "corpus": 1,
                      "drift_baselines": 1, "log_records": 0,
                      "datasets": 0, "dataset_examples": 0, "experiments": 0, "experiment_runs": 0, "prompts": 0}
    assert not (tmp_path / "out" / "annotations").exists()  # an empty table is not written
    with workbench.Store(tmp_path / "copy.duckdb") as copy:
        added = copy.import_parquet(tmp_path / "out")
        assert added == counts
        assert copy.counts() == store.counts()


def test_a_whole_table_comes_from_the_tables_api(server, store, rag_spans):
    store.write(rag_spans)
    listing = requests.get(server.url + "/api/tables", timeout=10).json()
    assert listing["tables"][:3] == ["spans", "documents", "embeddings"] and "drift_baselines" in listing["tables"]
    rows = requests.get(server.url + "/api/tables/documents", params={"format": "json"}, timeout=10).json()
    assert [r["document_id"] for r in rows] == ["kb-1", "kb-2"]
    missing = requests.get(server.url + "/api/tables/secrets", timeout=10)
    assert missing.status_code == 404 and "the tables are spans, documents" in missing.json()["error"]
