"""Evaluations are extracted once, by the conventions layer; redaction makes them be read again."""

from __future__ import annotations

import pytest

import workbench.semconv.evaluations as evaluations
from workbench.collector.redaction import RedactionConfig, Redactor
from workbench.collector.sampling import SamplingPolicy
from workbench.ingest import BatchSampler
from workbench.semconv import make_span
from workbench.store.rows import to_tables

ATTRS = {
    "openinference.span.kind": "LLM",
    "annotations.0.annotation.name": "faithfulness",
    "annotations.0.annotation.score": 0.2,
    "annotations.0.annotation.explanation": "the answer cites jane.doe@example.com wrongly",
}


def _span(**attrs):
    return make_span(trace_id="ab" * 16, span_id="cd" * 8, parent_span_id=None, name="llm",
                     start_time_ns=1_763_884_800_000_000_000, end_time_ns=1_763_884_801_000_000_000,
                     attributes={**ATTRS, **attrs})


def test_the_conventions_layer_extracts_evaluations_and_the_rest_reads_them_from_the_span(monkeypatch):
    span = _span()
    assert [e.name for e in span.evaluations] == ["faithfulness"]

    def again(_span):
        raise AssertionError("evaluations read from raw attributes a second time")

    monkeypatch.setattr(evaluations, "read_evaluations", again)
    batch = to_tables([span])
    assert batch.annotations.column("name").to_pylist() == ["faithfulness"]
    assert BatchSampler(SamplingPolicy(rate=0.5), lambda batch: None)._failed_traces(batch) == {span.trace_id}


def test_a_redacted_span_stores_its_evaluations_redacted():
    span = _span()
    redacted = Redactor(RedactionConfig(enabled=True)).apply(span)
    assert redacted is not span
    explanation = to_tables([redacted]).annotations.column("explanation").to_pylist()[0]
    assert "jane.doe@example.com" not in explanation


@pytest.mark.parametrize("attrs", [{}, {"annotations.0.annotation.name": None}])
def test_a_span_made_elsewhere_still_gets_its_evaluations_read(attrs):
    from tests.helpers import make_span as made_elsewhere

    span = made_elsewhere(0, attributes={**ATTRS, **attrs})
    assert span.evaluations is None
    expected = [] if attrs else ["faithfulness"]
    assert [e.name for e in evaluations.evaluations_of(span)] == expected
