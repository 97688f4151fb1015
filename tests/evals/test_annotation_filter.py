"""Annotation terms in the filter language, for spans and traces, locally and over HTTP."""

from __future__ import annotations

import pytest

import workbench
from tests.evals.conftest import ids
from workbench.errors import FilterError
from workbench.evals import annotate
from workbench.query import Reader


@pytest.fixture
def annotated(rag_store):
    """Trace 0: faithful (0.9) and a thumbs-up; trace 1: unfaithful (0.2) by one judge, 0.7 by another,
    a thumbs-down; trace 1's retriever's second document is relevant; session s-2 is unresolved."""
    root0, root1 = ids(0, 0), ids(1, 0)
    annotate(rag_store, span_id=root0[1], name="faithfulness", score=0.9, annotator_kind="LLM", annotator="a")
    annotate(rag_store, span_id=root1[1], name="faithfulness", score=0.2, annotator_kind="LLM", annotator="a")
    annotate(rag_store, span_id=root1[1], name="faithfulness", score=0.7, annotator_kind="CODE", annotator="b",
             explanation="Similarity estimate")
    annotate(rag_store, trace_id=root0[0], name="user_feedback", label="thumbs_up", score=1)
    annotate(rag_store, trace_id=root1[0], name="user_feedback", label="thumbs_down", score=0,
             explanation="Too short")
    annotate(rag_store, span_id=ids(1, 1)[1], document_position=1, name="relevance", label="relevant")
    annotate(rag_store, session_id="s-2", name="resolved", label="no")
    return Reader(rag_store)


def _spans(reader, expression):
    return sorted(zip(reader.spans(expression)["trace_id"].str[-1].astype(int) - 1, reader.spans(expression)["name"]))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # The span itself: any of several annotations of one name may match.
        ("annotations['faithfulness'].score < 0.5", [(1, "rag")]),
        ("annotations['faithfulness'].score > 0.5", [(0, "rag"), (1, "rag")]),
        ("annotations['faithfulness'].annotator_kind == 'code'", [(1, "rag")]),
        ("not annotations['faithfulness'].score < 0.5 and span_kind == 'CHAIN'", [(0, "rag"), (2, "rag")]),
        # A trace-level annotation holds for every span of the trace.
        ("annotations['user_feedback'].label == 'thumbs_down'", [(1, "llm"), (1, "rag"), (1, "retrieve")]),
        ("annotations['user_feedback'].label == 'thumbs_down' and span_kind == 'LLM'", [(1, "llm")]),
        ("contains(annotations['user_feedback'].explanation, 'short')", [(1, "llm"), (1, "rag"), (1, "retrieve")]),
        ("'SHORT' in annotations['user_feedback'].explanation and span_kind == 'LLM'", [(1, "llm")]),
        ("annotations['user_feedback'].label in ['thumbs_up'] and span_kind == 'LLM'", [(0, "llm")]),
        # A document's annotation holds for its retriever span.
        ("annotations['relevance'].label == 'relevant'", [(1, "retrieve")]),
        # A session's annotation holds for the spans of that session.
        ("annotations['resolved'].label == 'no'", [(2, "rag")]),
        # Existence.
        ("annotations['user_feedback'] is None and span_kind == 'LLM'", [(2, "llm")]),
        ("annotations['faithfulness'] is not None", [(0, "rag"), (1, "rag")]),
        ("annotations['faithfulness'] != None and annotations['user_feedback'].score == 1", [(0, "rag")]),
        ("annotations['faithfulness'].explanation is None and span_kind == 'CHAIN'", [(0, "rag"), (1, "rag")]),
        ("0.5 < annotations['faithfulness'].score < 0.8", [(1, "rag")]),
        ("annotations['nothing'].score > 0", []),
    ],
)
def test_annotation_terms_select_spans(annotated, expression, expected):
    assert _spans(annotated, expression) == expected


def test_traces_and_counts_take_annotation_terms(annotated):
    traces = annotated.traces("annotations['faithfulness'].score < 0.5")
    assert list(traces["trace_id"]) == [ids(1, 0)[0]]
    assert annotated.count_traces("annotations['user_feedback'] is not None") == 2
    assert list(annotated.documents("annotations['relevance'] is not None")["document_id"]) == ["kb-1-0", "kb-1-1"]


def test_annotation_terms_work_over_http(server, store, rag_store, annotated):
    remote = workbench.open(server.url)
    assert list(remote.traces("annotations['user_feedback'].label == 'thumbs_down'")["trace_id"]) == [ids(1, 0)[0]]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("annotations['x'] > 3", r"compare a field of the annotation, like annotations\['x'\].score"),
        ("annotations['x'].grade > 3", "an annotation has no field 'grade'"),
        ("annotations[3].score > 3", "takes a name in quotes"),
        ("annotations['x'].score < annotations['y'].score", "one comparison can read one annotation"),
    ],
)
def test_bad_annotation_terms_say_what_is_allowed(annotated, expression, message):
    with pytest.raises(FilterError, match=message):
        annotated.spans(expression)
