"""``register()`` routes the process's OpenTelemetry log records into the store, merged
into their spans, under the same redaction policy as spans."""

from __future__ import annotations

import json

from opentelemetry import _logs

import workbench
from workbench.collector.sink import InMemorySink
from workbench.store import Store


def _chat(provider) -> None:
    tracer = provider.get_tracer("app")
    log = _logs.get_logger("app")
    with tracer.start_as_current_span("chat") as span:
        span.set_attribute("gen_ai.request.model", "gpt-4o")
        log.emit(event_name="gen_ai.user.message", body={"content": "My email is ann@example.com"})
        log.emit(event_name="gen_ai.choice", body={"index": 0, "message": {"role": "assistant", "content": "Noted."}})


def test_global_logger_records_reach_their_span(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    provider = workbench.register("logs", sink=store)
    try:
        _chat(provider)
        assert provider.force_flush(20_000)
        row = store.query("SELECT span_kind, input_value, output_value FROM spans").to_pylist()
        assert row == [{"span_kind": "LLM", "input_value": "My email is ann@example.com", "output_value": "Noted."}]
    finally:
        provider.shutdown()
        store.close()


def test_a_later_register_takes_over_the_global_logger(tmp_path):
    first, second = InMemorySink(), InMemorySink()
    workbench.register("one", sink=first).shutdown()
    provider = workbench.register("two", sink=second)
    _chat(provider)
    assert provider.force_flush(20_000)
    assert [r.event_name for r in second.logs] == ["gen_ai.user.message", "gen_ai.choice"]
    assert first.logs == []
    provider.shutdown()


def test_log_records_are_redacted_like_spans(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    provider = workbench.register("logs", sink=store, redact=True)
    try:
        _chat(provider)
        assert provider.force_flush(20_000)
        bodies = " ".join(r["body"] for r in store.query("SELECT body FROM log_records").to_pylist())
        assert "ann@example.com" not in bodies
        (row,) = store.query("SELECT input_value, events FROM spans").to_pylist()
        assert "ann@example.com" not in row["input_value"] and "ann@example.com" not in row["events"]
        assert json.loads(row["events"])[0]["name"] == "gen_ai.user.message"
    finally:
        provider.shutdown()
        store.close()
