"""OpenTelemetry SDK ``ReadableSpan`` objects, converted into :class:`~workbench.model.Span`."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode as OtelStatusCode

from workbench.model import Event, Link, Span, StatusCode
from workbench.semconv import span_from
from workbench.semconv.build import new_raw_span

__all__ = ["from_readable"]

_STATUS = {
    OtelStatusCode.UNSET: StatusCode.UNSET,
    OtelStatusCode.OK: StatusCode.OK,
    OtelStatusCode.ERROR: StatusCode.ERROR,
}


def from_readable(span: ReadableSpan, *, default_project: str = "default") -> Span:
    """Convert an ended SDK span into a workbench span."""
    context = span.context
    parent = span.parent
    status = span.status
    scope = span.instrumentation_scope
    start = span.start_time or 0
    return span_from(
        new_raw_span(
            trace_id=format(context.trace_id, "032x"),
            span_id=format(context.span_id, "016x"),
            parent_span_id=format(parent.span_id, "016x") if parent is not None else None,
            name=span.name,
            start_time_ns=start,
            end_time_ns=span.end_time or start,
            status_code=_STATUS.get(status.status_code, StatusCode.UNSET),
            status_message=status.description or "",
            otel_kind=span.kind.name,
            attributes=dict(span.attributes or {}),
            resource=dict(span.resource.attributes) if span.resource is not None else {},
            events=tuple(Event(e.name, e.timestamp, dict(e.attributes or {})) for e in span.events),
            links=tuple(
                Link(format(k.context.trace_id, "032x"), format(k.context.span_id, "016x"), dict(k.attributes or {}))
                for k in span.links
            ),
            scope_name=scope.name if scope is not None else None,
            scope_version=scope.version if scope is not None else None,
        ),
        default_project=default_project,
    )
