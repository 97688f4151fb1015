"""Reading evaluations carried on spans (workbench.semconv.evaluations), convention by convention."""

from __future__ import annotations

from tests.helpers import make_span
from workbench.model import Event, Link, SpanKind
from workbench.semconv.evaluations import read_evaluations

OTHER_TRACE, OTHER_SPAN = "ab" * 16, "cd" * 8


def test_a_plain_span_carries_none():
    assert read_evaluations(make_span(0, attributes={"openinference.span.kind": "LLM", "input.value": "hi"})) == ()


def test_inline_annotations_describe_the_span_that_carries_them():
    span = make_span(0, attributes={
        "annotations.0.annotation.name": "helpfulness", "annotations.0.annotation.score": "0.5",
        "annotations.0.annotation.annotator_kind": "reviewer-bot",
        "annotations.1.annotation.name": "tone", "annotations.1.annotation.explanation": "curt",
        "annotations.2.annotation.name": "empty", "annotations.2.annotation.label": "",
    })
    first, second = read_evaluations(span)
    assert (first.target, first.span_id, first.trace_id, first.score) == ("span", span.span_id, span.trace_id, 0.5)
    assert first.annotator_kind is None and first.metadata["annotator_kind"] == "reviewer-bot"
    assert (second.name, second.explanation, second.score, second.label) == ("tone", "curt", None, None)
    assert first.time_ns == span.end_time_ns and first.annotator is None
    assert read_evaluations(span)[0].annotation_id == first.annotation_id  # the same span, the same ids


def test_an_evaluator_span_evaluates_its_one_link_whatever_its_numbering():
    evaluator = make_span(5, kind=SpanKind.EVALUATOR, name="judge", parent=0,
                          links=(Link(OTHER_TRACE, OTHER_SPAN),),
                          attributes={"openinference.span.kind": "EVALUATOR",
                                      "evaluations.3.evaluation.name": "correctness",
                                      "evaluations.3.evaluation.label": "correct",
                                      "evaluations.3.evaluation.metadata": "not json"})
    (result,) = read_evaluations(evaluator)
    assert (result.trace_id, result.span_id, result.annotator) == (OTHER_TRACE, OTHER_SPAN, "judge")
    assert result.metadata["metadata"] == "not json"
    unlinked = make_span(5, kind=SpanKind.EVALUATOR, parent=0, attributes={
        "evaluations.0.evaluation.name": "x", "evaluations.0.evaluation.score": 1})
    assert read_evaluations(unlinked)[0].span_id == unlinked.span_id  # parentage is not a target


def test_trace_and_session_scopes():
    span = make_span(0, session_id="chat-1", links=(Link(OTHER_TRACE, OTHER_SPAN),), attributes={
        "trace.evaluations.0.evaluation.name": "goal_met", "trace.evaluations.0.evaluation.label": "yes",
        "session.annotations.0.annotation.name": "csat", "session.annotations.0.annotation.score": 4,
    })
    by_name = {e.name: e for e in read_evaluations(span)}
    assert (by_name["goal_met"].target, by_name["goal_met"].trace_id, by_name["goal_met"].span_id) == (
        "trace", OTHER_TRACE, None)
    assert (by_name["csat"].target, by_name["csat"].session_id, by_name["csat"].trace_id) == ("session", "chat-1", None)
    no_session = make_span(0, attributes={"session.annotations.0.annotation.name": "csat",
                                          "session.annotations.0.annotation.score": 4})
    assert read_evaluations(no_session) == ()


def test_genai_evaluation_events_and_attribute_spans():
    span = make_span(1, parent=0, events=(
        Event("gen_ai.evaluation.result", 123, {"gen_ai.evaluation.name": "Relevance",
                                                "gen_ai.evaluation.score.value": 0.8,
                                                "gen_ai.evaluation.explanation": "fine"}),
        Event("gen_ai.evaluation.result", 124, {"gen_ai.evaluation.score.value": 0.1}),  # no name: skipped
        Event("exception", 125, {}),
    ))
    (result,) = read_evaluations(span)
    assert (result.span_id, result.time_ns, result.score, result.explanation) == (span.span_id, 123, 0.8, "fine")
    assert result.metadata["ingested_from"]["convention"] == "gen_ai"
    standing_in = make_span(2, parent=1, name="evaluate", attributes={
        "gen_ai.evaluation.name": "IntentResolution", "gen_ai.evaluation.score.label": "resolved"})
    (stand,) = read_evaluations(standing_in)
    assert (stand.span_id, stand.label, stand.annotator) == (span.span_id, "resolved", "evaluate")


def test_junk_values_are_skipped_not_raised():
    span = make_span(0, attributes={
        "annotations.0.annotation.name": "x", "annotations.0.annotation.score": float("nan"),
        "annotations.0.annotation.label": ["a", "list"], "annotations.x.annotation.name": "bad index",
        "gen_ai.evaluation.name": 42, "gen_ai.evaluation.score.value": "high",
    }, events=(Event("gen_ai.evaluation.result", 1, None),))  # type: ignore[arg-type]
    results = read_evaluations(span)
    assert [(r.name, r.score, r.label) for r in results] == []
