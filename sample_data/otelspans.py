"""Helpers to lay out spans at chosen times through the OpenTelemetry SDK.

The generator decides every time itself, so each span is started with ``start_time`` and
ended with ``end_time``; parents are passed explicitly as contexts. Attribute builders
flatten OpenInference's indexed keys the way its instrumentors do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind as OtelKind
from opentelemetry.trace import Status, StatusCode

__all__ = [
    "Clock",
    "documents",
    "error_event",
    "finish",
    "messages",
    "start",
]

MS = 1_000_000  # nanoseconds in a millisecond


class Clock:
    """A cursor in nanoseconds that spans are laid out along."""

    def __init__(self, t: int) -> None:
        self.t = int(t)

    def advance(self, ms: float) -> int:
        """Move forward by ``ms`` milliseconds; return the new time."""
        self.t += max(1, int(ms * MS))
        return self.t


def start(
    tracer: trace.Tracer,
    name: str,
    at: int,
    parent: trace.Span | None,
    attributes: Mapping[str, Any],
    kind: OtelKind = OtelKind.INTERNAL,
) -> trace.Span:
    """Start a span at ``at`` (ns) under ``parent`` (or as a root)."""
    context = trace.set_span_in_context(parent) if parent is not None else None
    return tracer.start_span(name, context=context, kind=kind, attributes=dict(attributes), start_time=int(at))


def finish(span: trace.Span, at: int, error: str | None = None, ok: bool = True) -> None:
    """End a span at ``at`` (ns), with an ERROR status carrying ``error`` if given."""
    if error is not None:
        span.set_status(Status(StatusCode.ERROR, error))
    elif ok:
        span.set_status(Status(StatusCode.OK))
    span.end(end_time=int(at))


def error_event(span: trace.Span, at: int, exc_type: str, message: str, stack: Sequence[str]) -> None:
    """Record an exception event as the SDK's ``record_exception`` would."""
    trace_text = "Traceback (most recent call last):\n" + "".join(stack) + f"{exc_type}: {message}\n"
    span.add_event(
        "exception",
        {
            "exception.type": exc_type,
            "exception.message": message,
            "exception.stacktrace": trace_text,
            "exception.escaped": "False",
        },
        timestamp=int(at),
    )


def messages(prefix: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """OpenInference message attributes (``llm.input_messages.0.message.role`` ...)."""
    out: dict[str, Any] = {}
    for i, m in enumerate(items):
        base = f"{prefix}.{i}.message."
        out[base + "role"] = m["role"]
        if m.get("content") is not None:
            out[base + "content"] = m["content"]
        if m.get("tool_call_id"):
            out[base + "tool_call_id"] = m["tool_call_id"]
        if m.get("name"):
            out[base + "name"] = m["name"]
        for j, call in enumerate(m.get("tool_calls", ())):
            tc = f"{base}tool_calls.{j}.tool_call."
            out[tc + "id"] = call["id"]
            out[tc + "function.name"] = call["name"]
            out[tc + "function.arguments"] = json.dumps(call["arguments"])
    return out


def documents(prefix: str, docs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """OpenInference document attributes (``retrieval.documents.0.document.id`` ...)."""
    out: dict[str, Any] = {}
    for i, d in enumerate(docs):
        base = f"{prefix}.{i}.document."
        out[base + "id"] = d["id"]
        out[base + "content"] = d["content"]
        out[base + "score"] = round(float(d["score"]), 6)
        if d.get("metadata"):
            out[base + "metadata"] = json.dumps(d["metadata"])
    return out
