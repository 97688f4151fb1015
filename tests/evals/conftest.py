"""Fixtures for quality tests: a small RAG store with known right and wrong answers, and a stand-in judge."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.evals.standin import StandIn
from tests.helpers import make_span
from workbench.model import Document, Span, SpanKind

#: (question, [documents], answer) per trace. Trace 0 is answered well from its first document;
#: trace 1 retrieves the answer second and then answers something else; trace 2 retrieves nothing.
CASES = [
    ("How do refunds work for annual plans?",
     ["Refunds for annual plans are prorated to the day.", "Invoices are emailed monthly."],
     "Annual plans get prorated refunds."),
    ("How do I reset my password?",
     ["Invoices are emailed monthly.", "To reset your password, open Settings and choose Security."],
     "Contact our sales team for a discount."),
    ("Tell me a joke", [], "Why did the invoice cross the road?"),
]


def rag_traces() -> list[Span]:
    """Three traces: CHAIN root, RETRIEVER (when documents), LLM."""
    spans = []
    for trace, (question, docs, answer) in enumerate(CASES):
        spans.append(make_span(0, trace=trace, kind=SpanKind.CHAIN, name="rag", duration_ms=1000,
                               start_ms=trace * 60_000, input_value=question, output_value=answer,
                               session_id=f"s-{trace}"))
        if docs:
            spans.append(make_span(1, trace=trace, parent=0, kind=SpanKind.RETRIEVER, name="retrieve",
                                   start_ms=trace * 60_000 + 10, duration_ms=100, input_value=question,
                                   documents=tuple(Document(i, f"kb-{trace}-{i}", text, 0.9 - i / 10)
                                                   for i, text in enumerate(docs))))
        spans.append(make_span(2, trace=trace, parent=0, kind=SpanKind.LLM, name="llm",
                               start_ms=trace * 60_000 + 200, duration_ms=500, model_name="gpt-4o",
                               prompt_template_version="v1" if trace == 0 else "v2",
                               input_value=question, output_value=answer))
    return spans


def ids(trace: int, span: int) -> tuple[str, str]:
    """(trace_id, span_id) of make_span's numbering."""
    return f"{trace + 1:032x}", f"{(trace << 16) + span + 1:016x}"


@pytest.fixture
def rag_store(store: Any) -> Any:
    store.write(rag_traces())
    return store


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server
