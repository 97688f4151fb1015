"""``POST /v1/logs``: GenAI message events sent as OTLP log records reach their spans.

Spans and log records go out through the real SDK exporters (``OTLPSpanExporter``,
``OTLPLogExporter``) over HTTP, in both orders, and as hand-made OTLP/JSON.
"""

from __future__ import annotations

import gzip
import json

import pytest
import requests
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests.helpers import wait_for

LONG = 600_000  # ms: nothing is exported until the test flushes


def _providers(url: str, gzip_body: bool = False) -> tuple[TracerProvider, LoggerProvider]:
    resource = Resource.create({"service.name": "chat-app"})
    compression = Compression.Gzip if gzip_body else Compression.NoCompression
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=url + "/v1/traces"), schedule_delay_millis=LONG)
    )
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(
            OTLPLogExporter(endpoint=url + "/v1/logs", compression=compression), schedule_delay_millis=LONG
        )
    )
    return tracer_provider, logger_provider


def _chat(tracer_provider: TracerProvider, logger_provider: LoggerProvider, question: str) -> str:
    """One chat call as the GenAI conventions' default mode records it: the span holds the
    model and tokens, log records hold the messages. Returns the span id."""
    tracer = tracer_provider.get_tracer("opentelemetry.instrumentation.openai_v2")
    log = logger_provider.get_logger("opentelemetry.instrumentation.openai_v2")
    with tracer.start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attributes({
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 3,
        })
        log.emit(event_name="gen_ai.system.message", attributes={"gen_ai.system": "openai"},
                 body={"content": "Answer briefly."})
        log.emit(event_name="gen_ai.user.message", attributes={"gen_ai.system": "openai"},
                 body={"content": question})
        log.emit(event_name="gen_ai.choice", attributes={"gen_ai.system": "openai"},
                 body={"index": 0, "finish_reason": "stop",
                       "message": {"role": "assistant", "content": "Paris."}})
        log.emit(body="cache miss for the prompt", severity_text="INFO")  # not a GenAI event
        return f"{span.get_span_context().span_id:016x}"


def _stored(store, span_id: str) -> dict:
    rows = store.query(
        "SELECT span_kind, input_value, output_value, input_messages, output_messages, events "
        "FROM spans WHERE span_id = ?", [span_id]
    ).to_pylist()
    return rows[0] if rows else {}


def _check_messages(store, span_id: str, question: str) -> None:
    def merged():
        row = _stored(store, span_id)
        return row if row.get("output_value") else None

    row = wait_for(merged, timeout=20)
    assert row["span_kind"] == "LLM"
    assert row["input_value"] == question
    assert row["output_value"] == "Paris."
    assert [m["role"] for m in json.loads(row["input_messages"])] == ["system", "user"]
    names = [e["name"] for e in json.loads(row["events"])]
    assert names == ["gen_ai.system.message", "gen_ai.user.message", "gen_ai.choice", "log"]
    plain = json.loads(row["events"])[-1]["attributes"]
    assert plain["body"] == "cache miss for the prompt" and plain["log.severity"] == "INFO"
    records = store.query(
        "SELECT event_name, attached FROM log_records WHERE span_id = ? ORDER BY time_ns", [span_id]
    ).to_pylist()
    assert len(records) == 4 and all(r["attached"] for r in records)


@pytest.mark.parametrize("gzip_body", [False, True])
def test_logs_before_their_span(server, store, gzip_body):
    tracer_provider, logger_provider = _providers(server.url, gzip_body)
    span_id = _chat(tracer_provider, logger_provider, "Capital of France?")
    assert logger_provider.force_flush(10_000)
    assert store.counts()["log_records"] == 4 and store.counts()["spans"] == 0
    assert tracer_provider.force_flush(10_000)
    _check_messages(store, span_id, "Capital of France?")
    tracer_provider.shutdown()
    logger_provider.shutdown()


def test_logs_after_their_span(server, store):
    tracer_provider, logger_provider = _providers(server.url)
    span_id = _chat(tracer_provider, logger_provider, "And of Italy?")
    assert tracer_provider.force_flush(10_000)
    wait_for(lambda: store.counts()["spans"] == 1)
    assert _stored(store, span_id)["output_value"] is None
    assert logger_provider.force_flush(10_000)
    # The answer to the logs request came after the merge: no waiting needed.
    _check_messages(store, span_id, "And of Italy?")
    tracer_provider.shutdown()
    logger_provider.shutdown()


def _json_logs(trace_id: str, span_id: str, **extra_record: object) -> dict:
    return {
        "resourceLogs": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "js-app"}}]},
            "scopeLogs": [{
                "scope": {"name": "genai-js"},
                "logRecords": [
                    {
                        "timeUnixNano": "1763884800100000000",
                        "eventName": "gen_ai.user.message",
                        "traceId": trace_id,
                        "spanId": span_id,
                        "body": {"kvlistValue": {"values": [{"key": "content", "value": {"stringValue": "Hi there"}}]}},
                        **extra_record,
                    },
                    {   # the event name in an attribute, as older senders do
                        "timeUnixNano": "1763884800200000000",
                        "traceId": trace_id,
                        "spanId": span_id,
                        "attributes": [{"key": "event.name", "value": {"stringValue": "gen_ai.choice"}}],
                        "body": {"kvlistValue": {"values": [
                            {"key": "index", "value": {"intValue": "0"}},
                            {"key": "message", "value": {"kvlistValue": {"values": [
                                {"key": "role", "value": {"stringValue": "assistant"}},
                                {"key": "content", "value": {"stringValue": "Hello!"}},
                            ]}}},
                        ]}},
                    },
                    {"timeUnixNano": "1763884800300000000", "severityNumber": 9, "body": {"stringValue": "no span"}},
                ],
            }],
        }]
    }


def _json_span(trace_id: str, span_id: str) -> dict:
    return {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": trace_id, "spanId": span_id, "name": "chat",
        "startTimeUnixNano": "1763884800000000000", "endTimeUnixNano": "1763884801000000000",
        "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}],
    }]}]}]}


@pytest.mark.parametrize("logs_first", [True, False])
def test_otlp_json_logs_in_either_order(server, store, logs_first):
    trace_id, span_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    posts = [
        ("/v1/logs", _json_logs(trace_id, span_id)),
        ("/v1/traces", _json_span(trace_id, span_id)),
    ]
    for path, payload in posts if logs_first else reversed(posts):
        answer = requests.post(server.url + path, json=payload, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {}
    row = wait_for(lambda: _stored(store, span_id).get("output_value") and _stored(store, span_id), timeout=20)
    assert (row["input_value"], row["output_value"]) == ("Hi there", "Hello!")
    assert row["span_kind"] == "LLM"
    orphan = store.query("SELECT body, attached, severity_number FROM log_records WHERE span_id IS NULL").to_pylist()
    assert orphan == [{"body": '"no span"', "attached": False, "severity_number": 9}]


def test_partial_success_for_records_with_bad_ids(server, store):
    payload = _json_logs("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")
    payload["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["spanId"] = "not-hex"
    answer = requests.post(server.url + "/v1/logs", json=payload, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["partialSuccess"]["rejectedLogRecords"] == "1"
    assert "spanId" in answer.json()["partialSuccess"]["errorMessage"]
    assert store.counts()["log_records"] == 2

    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.trace_id, record.span_id = b"\x01" * 5, b"\x02" * 8
    record.body.string_value = "bad trace id"
    good = request.resource_logs[0].scope_logs[0].log_records.add()
    good.body.string_value = "fine"
    answer = requests.post(
        server.url + "/v1/logs", data=gzip.compress(request.SerializeToString()),
        headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}, timeout=10,
    )
    assert answer.status_code == 200
    response = ExportLogsServiceResponse.FromString(answer.content)
    assert response.partial_success.rejected_log_records == 1
    assert "trace_id" in response.partial_success.error_message
    assert store.counts()["log_records"] == 3


@pytest.mark.parametrize(
    ("body", "headers", "status", "words"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400, "not valid JSON"),
        (b"\xff\x00garbage", {"Content-Type": "application/x-protobuf"}, 400, "ExportLogsServiceRequest"),
        (b"[]", {"Content-Type": "application/json"}, 400, "resourceLogs"),
        (b"{}", {"Content-Type": "text/plain"}, 415, "Content-Type"),
        (b"{}", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 400, "gzip"),
        (b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"attributes": 5}]}]}]}',
         {"Content-Type": "application/json"}, 400, "attributes"),
    ],
)
def test_malformed_requests_get_a_4xx_and_the_server_keeps_serving(server, store, body, headers, status, words):
    answer = requests.post(server.url + "/v1/logs", data=body, headers=headers, timeout=10)
    assert answer.status_code == status
    if answer.headers["Content-Type"] == "application/x-protobuf":  # OTLP: a google.rpc.Status
        message = status_pb2.Status.FromString(answer.content).message
    else:
        message = answer.json()["message"]
    assert words in message
    ok = requests.post(server.url + "/v1/logs", json=_json_logs("ab" * 16, "cd" * 8), timeout=10)
    assert ok.status_code == 200


def test_register_with_an_endpoint_sends_the_process_log_records_too(server, store):
    from opentelemetry import _logs

    import workbench

    provider = workbench.register("remote-app", endpoint=server.url)
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("chat") as span:
        span.set_attribute("gen_ai.request.model", "gpt-4o")
        _logs.get_logger("app").emit(event_name="gen_ai.user.message", body={"content": "Ping?"})
        span_id = f"{span.get_span_context().span_id:016x}"
    assert provider.force_flush(20_000)
    row = wait_for(lambda: _stored(store, span_id).get("input_value") and _stored(store, span_id), timeout=20)
    assert row["input_value"] == "Ping?" and row["span_kind"] == "LLM"
    provider.shutdown()


def test_values_that_cannot_be_stored_are_refused_or_dropped_not_a_server_error(server, store):
    payload = _json_logs("ab" * 16, "cd" * 8)
    records = payload["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    records[0]["timeUnixNano"] = str(2**64 - 1)  # a fixed64 beyond any storable time
    records[2]["severityNumber"] = 10**12  # not an OTel severity
    records[1]["body"] = {"bytesValue": "AAEC"}
    answer = requests.post(server.url + "/v1/logs", json=payload, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["partialSuccess"]["rejectedLogRecords"] == "1"
    assert "out of range" in answer.json()["partialSuccess"]["errorMessage"]
    rows = store.query("SELECT severity_number, body FROM log_records ORDER BY time_ns").to_pylist()
    assert rows == [{"severity_number": None, "body": '"AAEC"'}, {"severity_number": None, "body": '"no span"'}]

    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.time_unix_nano = 2**64 - 1
    answer = requests.post(server.url + "/v1/logs", data=request.SerializeToString(),
                           headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert answer.status_code == 400
    assert "out of range" in status_pb2.Status.FromString(answer.content).message
    assert requests.get(server.url + "/api/health", timeout=10).status_code == 200


def test_the_servers_redaction_applies_to_log_records(store):
    from workbench.server import Server

    server = Server(store, host="127.0.0.1", port=0, app=False, redact=True, decode_workers=0).start()
    try:
        payload = _json_logs("ab" * 16, "cd" * 8)
        record = payload["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
        record["body"]["kvlistValue"]["values"][0]["value"]["stringValue"] = "Mail bob@example.com please"
        for path, body in (("/v1/logs", payload), ("/v1/traces", _json_span("ab" * 16, "cd" * 8))):
            assert requests.post(server.url + path, json=body, timeout=10).status_code == 200
        row = wait_for(lambda: _stored(store, "cd" * 8).get("output_value") and _stored(store, "cd" * 8), timeout=20)
        stored = json.dumps(store.query("SELECT body FROM log_records").to_pylist()) + json.dumps(row)
        assert "bob@example.com" not in stored
        assert row["input_value"].startswith("Mail ") and row["output_value"] == "Hello!"
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"timeUnixNano": "abc"}, "timeUnixNano 'abc'; it must be a whole number of nanoseconds"),
        ({"observedTimeUnixNano": "1e30"}, "observedTimeUnixNano '1e30'"),
        ({"eventName": 5}, "eventName 5; it must be text"),
        ({"severityText": ["WARN"]}, "severityText ['WARN']; it must be text"),
        ({"attributes": "nope"}, "attributes must be a list"),
        ({"body": {"kvlistValue": {"values": [{"key": "n", "value": {"intValue": "zz"}}]}}}, "intValue 'zz'"),
    ],
)
def test_one_bad_log_record_costs_only_itself(server, store, bad, reason):
    """As with spans: the others of its request are stored, and partial success says why."""
    payload = _json_logs("ab" * 16, "cd" * 8)
    records = payload["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    records.insert(1, {**records[0], "timeUnixNano": "1763884800150000000", **bad})
    answer = requests.post(server.url + "/v1/logs", json=payload, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["partialSuccess"]["rejectedLogRecords"] == "1"
    assert reason in answer.json()["partialSuccess"]["errorMessage"]
    assert store.query("SELECT count(*) AS n FROM log_records").to_pylist() == [{"n": 3}]
    assert requests.get(server.url + "/api/health", timeout=10).status_code == 200
