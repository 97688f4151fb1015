"""``register()`` with the OpenTelemetry contrib OpenAI instrumentation in its default setup.

``opentelemetry-instrumentation-openai-v2`` records messages as log records (events) through
the global LoggerProvider, not as span attributes. The real instrumentation and the real
``openai`` client talk to a stand-in OpenAI-compatible server on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("openai")
pytest.importorskip("opentelemetry.instrumentation.openai_v2")

import workbench
from workbench.store import Store

ANSWER = "Paris is the capital of France."


class _ChatCompletions(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # http.server's name
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1763884800, "model": request["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": ANSWER}}],
            "usage": {"prompt_tokens": 14, "completion_tokens": 7, "total_tokens": 21},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def openai_stand_in() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ChatCompletions)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def _chat_once(base_url: str, tracer_provider) -> None:
    import openai
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        client = openai.OpenAI(base_url=base_url, api_key="test-key")
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": "What is the capital of France?"}],
        )
        assert reply.choices[0].message.content == ANSWER
    finally:
        instrumentor.uninstrument()


def _llm_row(store: Store) -> dict:
    rows = store.query(
        "SELECT span_kind, model_name, prompt_tokens, input_value, output_value, input_messages, "
        "output_messages, events FROM spans"
    ).to_pylist()
    assert len(rows) == 1
    return rows[0]


def test_messages_sent_only_as_events_become_the_spans_messages(tmp_path, monkeypatch, openai_stand_in):
    # The GenAI conventions' event mode: the span carries no text, one log record
    # (gen_ai.client.inference.operation.details) carries the messages.
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "EVENT_ONLY")
    store = Store(tmp_path / "w.duckdb")
    provider = workbench.register("genai-app", sink=store)
    try:
        _chat_once(openai_stand_in, provider)
        assert provider.force_flush(20_000)
        row = _llm_row(store)
        assert (row["span_kind"], row["model_name"], row["prompt_tokens"]) == ("LLM", "gpt-4o-mini", 14)
        assert row["input_value"] == "What is the capital of France?"
        assert row["output_value"] == ANSWER
        assert [m["role"] for m in json.loads(row["input_messages"])] == ["system", "user"]
        names = [e["name"] for e in json.loads(row["events"])]
        assert names == ["gen_ai.client.inference.operation.details"]
        records = store.query("SELECT event_name, attached FROM log_records").to_pylist()
        assert records == [{"event_name": "gen_ai.client.inference.operation.details", "attached": True}]
    finally:
        provider.shutdown()
        store.close()


def test_default_configuration_shows_what_it_sends(tmp_path, monkeypatch, openai_stand_in):
    # Whatever the instrumentation sends by default (its version decides: message events
    # without text, or attributes only) reaches the span; nothing is left waiting.
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    store = Store(tmp_path / "w.duckdb")
    provider = workbench.register("genai-app", sink=store)
    try:
        _chat_once(openai_stand_in, provider)
        assert provider.force_flush(20_000)
        row = _llm_row(store)
        assert (row["span_kind"], row["model_name"], row["prompt_tokens"]) == ("LLM", "gpt-4o-mini", 14)
        records = store.query("SELECT event_name, attached FROM log_records ORDER BY time_ns").to_pylist()
        assert all(r["attached"] for r in records)
        assert [e["name"] for e in json.loads(row["events"])] == [r["event_name"] for r in records]
    finally:
        provider.shutdown()
        store.close()
