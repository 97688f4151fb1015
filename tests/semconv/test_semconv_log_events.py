"""Log records as span events (workbench.semconv.logs)."""

from __future__ import annotations

from dataclasses import replace

from workbench.model import Event, LogRecord, Message, SpanKind
from workbench.semconv import make_span
from workbench.semconv.logs import as_event, with_events

T, S = "ab" * 16, "cd" * 8


def test_a_map_body_is_merged_over_the_attributes():
    record = LogRecord(5, T, S, "gen_ai.choice", {"index": 0, "message": {"role": "assistant", "content": "Hi"}},
                       {"gen_ai.system": "openai"})
    assert as_event(record) == Event("gen_ai.choice", 5, {
        "gen_ai.system": "openai", "index": 0, "message": {"role": "assistant", "content": "Hi"}})


def test_a_text_body_of_a_message_event_is_its_content():
    assert as_event(LogRecord(1, event_name="gen_ai.user.message", body="Hello")).attributes == {"content": "Hello"}


def test_the_event_name_may_come_in_an_attribute():
    event = as_event(LogRecord(1, attributes={"event.name": "gen_ai.tool.message", "id": "c1"}, body={"content": "42"}))
    assert event == Event("gen_ai.tool.message", 1, {"id": "c1", "content": "42"})


def test_a_plain_log_line_is_an_event_named_log():
    event = as_event(LogRecord(1, body="cache miss", severity_text="WARN", attributes={"code.lineno": 7}))
    assert event == Event("log", 1, {"code.lineno": 7, "body": "cache miss", "log.severity": "WARN"})


def test_with_events_reads_the_span_again_and_keeps_its_weight():
    span = make_span(trace_id=T, span_id=S, parent_span_id=None, name="chat", start_time_ns=0, end_time_ns=10,
                     attributes={"gen_ai.system": "openai"})
    span = replace(span, sample_weight=4.0)
    assert span.span_kind is SpanKind.UNKNOWN
    events = [as_event(LogRecord(2, T, S, "gen_ai.user.message", {"content": "Hi"})),
              as_event(LogRecord(1, T, S, "gen_ai.system.message", {"content": "Be kind."}))]
    merged = with_events(span, events)
    assert [e.name for e in merged.events] == ["gen_ai.system.message", "gen_ai.user.message"]
    assert merged.input_messages == (Message("system", "Be kind."), Message("user", "Hi"))
    assert merged.input_value == "Hi" and merged.span_kind is SpanKind.LLM
    assert merged.sample_weight == 4.0
    assert with_events(merged, events) is merged  # nothing new
