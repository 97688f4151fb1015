"""Spans recorded with the real OpenTelemetry SDK, then read by ``make_span``.

Each test sets attributes and events exactly as an instrumentor would, through the SDK's
own ``Span`` API, so the values reach ``make_span`` with the types the SDK gives them
(lists become tuples, invalid values are dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind as OtelKind
from opentelemetry.trace import Status
from opentelemetry.trace import StatusCode as OtelStatus

from workbench.model import Event, Span, StatusCode
from workbench.semconv import make_span

START_NS = 1_700_000_000_000_000_000

#: (event name, attributes, nanoseconds after the span start)
EventSpec = tuple[str, Mapping[str, Any], int]


def convert(readable: ReadableSpan, default_project: str = "default") -> Span:
    """Turn an SDK ``ReadableSpan`` into ``make_span`` inputs, as the collector does."""
    context = readable.context
    parent = readable.parent
    scope = readable.instrumentation_scope
    return make_span(
        trace_id=f"{context.trace_id:032x}",
        span_id=f"{context.span_id:016x}",
        parent_span_id=f"{parent.span_id:016x}" if parent else None,
        name=readable.name,
        start_time_ns=readable.start_time,
        end_time_ns=readable.end_time,
        status_code=StatusCode[readable.status.status_code.name],
        status_message=readable.status.description or "",
        otel_kind=readable.kind.name,
        attributes=dict(readable.attributes or {}),
        resource=dict(readable.resource.attributes),
        events=tuple(
            Event(name=e.name, time_ns=e.timestamp, attributes=dict(e.attributes or {}))
            for e in readable.events
        ),
        scope_name=scope.name if scope else None,
        scope_version=scope.version if scope else None,
        default_project=default_project,
    )


Recorder = Callable[..., Span]


@pytest.fixture
def record() -> Recorder:
    """Record one span with the SDK and return it converted.

    Call as ``record(name, attributes, events=[...], resource={...}, scope="...",
    kind=OtelKind.CLIENT, error=False, duration_ns=...)``.
    """

    def _record(
        name: str,
        attributes: Mapping[str, Any],
        *,
        events: Sequence[EventSpec] = (),
        resource: Mapping[str, Any] | None = None,
        scope: str = "test.instrumentor",
        kind: OtelKind = OtelKind.INTERNAL,
        error: bool = False,
        duration_ns: int = 2_000_000_000,
        default_project: str = "default",
    ) -> Span:
        exporter = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create(dict(resource or {})))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer(scope, "1.2.3")
        span = tracer.start_span(name, kind=kind, start_time=START_NS)
        span.set_attributes(dict(attributes))
        for event_name, event_attributes, offset_ns in events:
            span.add_event(event_name, dict(event_attributes), timestamp=START_NS + offset_ns)
        if error:
            span.set_status(Status(OtelStatus.ERROR, "boom"))
        span.end(end_time=START_NS + duration_ns)
        provider.shutdown()
        (readable,) = exporter.get_finished_spans()
        return convert(readable, default_project=default_project)

    return _record


@pytest.fixture(autouse=True)
def no_safety_net(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test in which ``make_span``'s last-resort ``except`` fires.

    ``make_span`` never raises, but the readers should not need that net: odd input must
    be handled where it is read, so that the other fields are still extracted.
    """
    import workbench.semconv as semconv

    def caught() -> None:
        raise AssertionError("make_span fell back to its safety net")

    monkeypatch.setattr(semconv, "_warn_once", caught)
