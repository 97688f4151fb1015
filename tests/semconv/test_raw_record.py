"""Every way in decodes a span into one RawSpan record, which the conventions layer reads whole."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from tests.helpers import otlp_body
from workbench import semconv
from workbench.collector import otlp, readable
from workbench.model import RawSpan, Span, StatusCode


def _emit(tracer):
    with tracer.start_as_current_span("root") as root:
        root.set_attributes({"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "input.value": "hi"})
        root.add_event("first token", {"k": 1})
        with tracer.start_as_current_span("child"):
            pass


class _Keep(SpanExporter):
    def __init__(self) -> None:
        self.spans = []

    def export(self, spans):
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def _readables():
    keep = _Keep()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(keep))
    _emit(provider.get_tracer("scope-x", "1.2"))
    provider.shutdown()
    return keep.spans


def _json_body() -> bytes:
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "svc"}}]}, "scopeSpans": [{
            "scope": {"name": "scope-x", "version": "1.2"}, "spans": [{
                "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "root",
                "kind": 3, "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
                "status": {"code": 2, "message": "boom"},
                "attributes": [{"key": "openinference.span.kind", "value": {"stringValue": "LLM"}}],
                "events": [{"name": "e", "timeUnixNano": "1700000000500000000"}],
                "links": [{"traceId": "1af7651916cd43dd8448eb211c80319c", "spanId": "c7ad6b7169203331"}],
            }]}]}]}).encode()


WAYS = {
    "protobuf": lambda: otlp.decode_protobuf(otlp_body(_emit, {"service.name": "svc"})).spans,
    "json": lambda: otlp.decode_json(_json_body()).spans,
    "sdk": lambda: [readable.from_readable(span) for span in _readables()],
}


@pytest.mark.parametrize("way", list(WAYS))
def test_each_decoder_hands_the_conventions_one_raw_record(way, monkeypatch):
    seen: list[RawSpan] = []
    convert = semconv.span_from

    def recording(raw, **kwargs):
        seen.append(raw)
        return convert(raw, **kwargs)

    monkeypatch.setattr(otlp, "span_from", recording)
    monkeypatch.setattr(readable, "span_from", recording)
    spans = WAYS[way]()
    assert spans and len(seen) == len(spans)
    for raw, span in zip(seen, spans):
        assert type(raw) is RawSpan and isinstance(span, Span)
        assert span.raw == raw  # the span keeps the record as sent, field for field
        assert raw.scope_name in ("scope-x", "test")  # the scope travels in the record too
        assert type(raw.events) is tuple and type(raw.links) is tuple
    root = next(span for span in spans if span.name == "root")
    assert root.span_kind.value == "LLM"  # the conventions read the record


def test_make_span_is_span_from_a_record_by_keywords():
    fields = {"trace_id": "ab" * 16, "span_id": "cd" * 8, "parent_span_id": None, "name": "s", "start_time_ns": 1,
              "end_time_ns": 2, "status_code": StatusCode.ERROR, "attributes": {"llm.model_name": "gpt-4o"}}
    made = semconv.make_span(**fields, default_project="p")
    assert made == semconv.span_from(RawSpan(**fields), default_project="p")
    assert made.raw == RawSpan(**fields) and made.model_name == "gpt-4o" and made.project == "p"
