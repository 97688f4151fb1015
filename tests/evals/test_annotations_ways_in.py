"""Annotations through every way in: Python (one call, DataFrames), HTTP, OTel spans (in
process and over OTLP/HTTP), and the Parquet round trip."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link

import workbench
from tests.evals.conftest import ids
from workbench.errors import ConfigError
from workbench.evals import annotate, log_annotations
from workbench.query import Reader


def _by_name(reader, name):
    return reader.annotations(name, arrow=True).to_pylist()


def test_one_call_annotates_a_span_trace_document_or_session(rag_store):
    reader = Reader(rag_store)
    trace_id, span_id = ids(0, 2)
    first = annotate(rag_store, span_id=span_id, name="correctness", score=1, label="correct",
                     explanation="matches the docs", annotator="nadia", metadata={"ticket": 42})
    annotate(reader, span_id=span_id, name="correctness", score=0, annotator_kind="LLM", annotator="llm:x")
    annotate(rag_store, trace_id=trace_id, name="user_feedback", label="thumbs_up", score=1)
    annotate(rag_store, span_id=ids(0, 1)[1], document_position=1, name="relevance", label="irrelevant")
    annotate(rag_store, session_id="s-0", name="resolved", label="yes")

    rows = _by_name(reader, "correctness")
    assert [(r["score"], r["annotator_kind"], r["annotator"]) for r in rows] == [(1.0, "HUMAN", "nadia"),
                                                                                   (0.0, "LLM", "llm:x")]
    assert rows[0]["annotation_id"] == first and rows[0]["trace_id"] == trace_id  # the trace id is looked up
    assert json.loads(rows[0]["metadata"]) == {"ticket": 42} and rows[0]["target"] == "span"
    assert [r["target"] for r in _by_name(reader, "user_feedback")] == ["trace"]
    doc = _by_name(reader, "relevance")[0]
    assert (doc["target"], doc["document_position"], doc["trace_id"]) == ("document", 1, trace_id)
    session = _by_name(reader, "resolved")[0]
    assert (session["target"], session["session_id"], session["span_id"]) == ("session", "s-0", None)


def test_one_call_explains_what_is_missing(rag_store):
    with pytest.raises(ConfigError, match="neither a score nor a label"):
        annotate(rag_store, span_id=ids(0, 2)[1], name="x")
    with pytest.raises(ConfigError, match="does not say what it annotates"):
        annotate(rag_store, name="x", score=1)
    with pytest.raises(ConfigError, match="needs the span_id"):
        annotate(rag_store, document_position=0, name="x", score=1)
    with pytest.raises(ConfigError, match="Cannot write annotations to a int"):
        annotate(3, span_id="ab" * 8, name="x", score=1)


def test_a_dataframe_keyed_by_span_id_or_span_and_position(rag_store):
    reader = Reader(rag_store)
    by_span = pd.DataFrame({"score": [0.9, 0.2], "explanation": ["good", "bad"]},
                           index=pd.Index([ids(0, 2)[1], ids(1, 2)[1]], name="span_id"))
    assert log_annotations(rag_store, by_span, name="helpfulness", annotator_kind="CODE", annotator="rules") == 2
    rows = reader.annotations("helpfulness").sort_values("span_id")
    assert list(rows["trace_id"]) == [ids(0, 2)[0], ids(1, 2)[0]] and set(rows["annotator"]) == {"rules"}

    labels = pd.DataFrame({
        "span_id": [ids(0, 1)[1]] * 2 + [ids(1, 1)[1]] * 2,
        "document_position": [0, 1, 0, 1],
        "label": ["relevant", "irrelevant", "irrelevant", "relevant"],
    }).set_index(["span_id", "document_position"])
    assert log_annotations(reader, labels, name="relevance") == 4
    docs = reader.annotations("relevance")
    assert set(docs["target"]) == {"document"} and sorted(docs["document_position"]) == [0, 0, 1, 1]
    with pytest.raises(ConfigError, match="Annotation 0 has no name"):
        log_annotations(rag_store, pd.DataFrame({"span_id": [ids(0, 2)[1]], "score": [1]}))


def test_over_http_for_spans_documents_and_sessions(server, rag_store):
    url = server.url + "/api/annotations"
    body = [
        {"span_id": ids(0, 1)[1], "trace_id": ids(0, 1)[0], "document_position": 0, "name": "relevance",
         "label": "relevant", "score": 1, "annotator_kind": "HUMAN"},
        {"session_id": "s-1", "name": "resolved", "label": "no", "explanation": "user gave up"},
    ]
    response = requests.post(url, json=body, timeout=10)
    assert response.status_code == 201 and response.json() == {"added": 2}
    remote = workbench.open(server.url)
    assert list(remote.annotations("relevance")["target"]) == ["document"]
    assert list(remote.annotations("resolved")["session_id"]) == ["s-1"]
    annotate(remote, span_id=ids(1, 2)[1], name="correctness", label="incorrect")  # through the server
    assert list(remote.annotations("correctness")["trace_id"]) == [ids(1, 2)[0]]
    assert list(remote.spans("annotations['resolved'].label == 'no'")["session_id"].unique()) == ["s-1"]
    csv = requests.get(url, params={"format": "csv", "name": "resolved"}, timeout=10)
    assert "user gave up" in csv.text


def _emit_evaluated_trace(provider: TracerProvider) -> tuple[str, str, str]:
    """An LLM span annotated inline, an EVALUATOR span linked to it, a GenAI event, trace and session scopes."""
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("rag") as root:
        root.set_attributes({
            "openinference.span.kind": "CHAIN", "session.id": "chat-7",
            "trace.annotations.0.annotation.name": "user_feedback",
            "trace.annotations.0.annotation.label": "thumbs_down",
            "trace.annotations.0.annotation.score": 0,
            "trace.annotations.0.annotation.annotator_kind": "HUMAN",
            "session.evaluations.0.evaluation.name": "resolved",
            "session.evaluations.0.evaluation.label": "no",
        })
        with tracer.start_as_current_span("llm") as llm:
            llm.set_attributes({
                "openinference.span.kind": "LLM",
                "annotations.0.annotation.name": "hallucination",
                "annotations.0.annotation.score": 1,
                "annotations.0.annotation.label": "hallucinated",
                "annotations.0.annotation.explanation": "claims a 60-day window",
                "annotations.0.annotation.annotator_kind": "LLM",
                "annotations.0.annotation.identifier": "judge-v2",
                "annotations.0.annotation.metadata": '{"rubric_version": "2"}',
                "annotations.1.annotation.name": "incomplete-item",  # no result: skipped
            })
            llm.add_event("gen_ai.evaluation.result", {
                "gen_ai.evaluation.name": "Relevance", "gen_ai.evaluation.score.value": 4.0,
                "gen_ai.evaluation.score.label": "relevant", "gen_ai.evaluation.explanation": "on topic",
            })
            target = llm.get_span_context()
    with tracer.start_as_current_span("hallucination_judge", links=[Link(target)]) as evaluator:
        evaluator.set_attributes({
            "openinference.span.kind": "EVALUATOR",
            "evaluations.0.evaluation.name": "faithfulness",
            "evaluations.0.evaluation.score": 0.25,
            "evaluations.0.evaluation.annotator_kind": "llm",
        })
    context = root.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}", f"{target.span_id:016x}"


def _check_evaluated_trace(reader, trace_id: str, llm_span: str) -> None:
    rows = {r["name"]: r for r in reader.annotations(arrow=True).to_pylist()}
    assert set(rows) == {"user_feedback", "resolved", "hallucination", "Relevance", "faithfulness"}
    assert (rows["user_feedback"]["target"], rows["user_feedback"]["trace_id"]) == ("trace", trace_id)
    assert (rows["resolved"]["target"], rows["resolved"]["session_id"]) == ("session", "chat-7")
    hallucination = rows["hallucination"]
    assert (hallucination["span_id"], hallucination["score"], hallucination["label"]) == (llm_span, 1.0, "hallucinated")
    assert (hallucination["annotator_kind"], hallucination["annotator"]) == ("LLM", "judge-v2")
    metadata = json.loads(hallucination["metadata"])
    assert metadata["rubric_version"] == "2" and metadata["ingested_from"]["convention"] == "openinference"
    assert (rows["Relevance"]["span_id"], rows["Relevance"]["score"], rows["Relevance"]["explanation"]) == (
        llm_span, 4.0, "on topic")
    assert rows["faithfulness"]["span_id"] == llm_span  # the evaluator span's link names the target
    assert (rows["faithfulness"]["annotator"], rows["faithfulness"]["annotator_kind"]) == ("hallucination_judge", "LLM")
    assert list(reader.spans("annotations['hallucination'].label == 'hallucinated'")["name"]) == ["llm"]
    assert reader.count("annotations['user_feedback'].label == 'thumbs_down'") == 2  # the trace's two spans


def test_evaluations_sent_on_spans_from_the_in_process_collector(store):
    provider = workbench.register(sink=store, set_global=False)
    trace_id, _, llm_span = _emit_evaluated_trace(provider)
    provider.force_flush()
    store.flush()
    _check_evaluated_trace(Reader(store), trace_id, llm_span)


def test_evaluations_sent_on_spans_over_otlp_http(server, store):
    provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=server.url + "/v1/traces")))
    trace_id, _, llm_span = _emit_evaluated_trace(provider)
    _check_evaluated_trace(Reader(store), trace_id, llm_span)


def test_redaction_applies_to_explanations_sent_on_spans(store):
    provider = workbench.register(sink=store, set_global=False, redact=True)
    with provider.get_tracer("t").start_as_current_span("llm") as span:
        span.set_attributes({"annotations.0.annotation.name": "note", "annotations.0.annotation.label": "bad",
                             "annotations.0.annotation.explanation": "wrote to jane.doe@example.com"})
    provider.force_flush()
    store.flush()
    explanation = Reader(store).annotations("note")["explanation"].iloc[0]
    assert "jane.doe@example.com" not in explanation


def test_annotations_survive_the_parquet_round_trip(tmp_path, rag_store):
    annotate(rag_store, span_id=ids(0, 1)[1], document_position=0, name="relevance", score=1, label="relevant",
             metadata={"k": [1, 2]})
    annotate(rag_store, session_id="s-2", name="resolved", label="no")
    annotate(rag_store, trace_id=ids(1, 0)[0], name="user_feedback", label="thumbs_down", score=0,
             explanation="too short")
    rag_store.export_parquet(tmp_path / "out")
    with workbench.Store(tmp_path / "copy.duckdb") as copy:
        assert copy.import_parquet(tmp_path / "out")["annotations"] == 3
        before = Reader(rag_store).annotations().sort_values("annotation_id", ignore_index=True)
        after = Reader(copy).annotations().sort_values("annotation_id", ignore_index=True)
        pd.testing.assert_frame_equal(before, after)
