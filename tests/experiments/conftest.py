"""Fixtures for datasets and experiments: a writable reader over a store file with production
traces (some with thumbs-down feedback and a correction), and the stand-in model server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.evals.standin import StandIn
from tests.helpers import make_span
from workbench.model import SpanKind, TokenUsage
from workbench.read import Reader

#: (question, production answer) per trace; trace 1 got a thumbs-down and a correction.
PRODUCTION = [
    ("How do refunds work?", "Refunds are prorated to the day."),
    ("How do I reset my password?", "Contact sales."),
    ("What is the capital of France?", "Paris"),
]


def production_spans() -> list[Any]:
    spans = []
    for trace, (question, answer) in enumerate(PRODUCTION):
        spans.append(make_span(0, trace=trace, kind=SpanKind.CHAIN, name="answer", start_ms=trace * 60_000,
                               duration_ms=800 + 100 * trace, input_value=question, output_value=answer,
                               session_id="s-1" if trace < 2 else "s-2"))
        spans.append(make_span(1, trace=trace, parent=0, kind=SpanKind.LLM, name="llm", start_ms=trace * 60_000 + 5,
                               duration_ms=500, model_name="gpt-4o-mini", input_value=question, output_value=answer,
                               tokens=TokenUsage(prompt=100, completion=20, total=120)))
    return spans


def root(trace: int) -> str:
    return f"{(trace << 16) + 1:016x}"


def trace_id(trace: int) -> str:
    return f"{trace + 1:032x}"


@pytest.fixture
def wb(store: Any) -> Iterator[Reader]:
    store.write(production_spans())
    store.add_annotations([
        {"trace_id": trace_id(1), "span_id": root(1), "name": "user_feedback", "label": "thumbs_down",
         "score": 0, "explanation": "Open Settings, then Security, then Reset password."},
        {"trace_id": trace_id(0), "span_id": root(0), "name": "correction", "label": "corrected",
         "explanation": "Refunds for annual plans are prorated to the day."},
    ])
    yield Reader(store, owns_store=False)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server
