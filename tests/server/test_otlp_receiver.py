"""The OTLP/HTTP receiver, fed by the real OpenTelemetry SDK exporter and by hand-made requests."""

from __future__ import annotations

import gzip
import json
import threading

import pytest
import requests
from openinference.semconv.trace import SpanAttributes
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from tests.helpers import wait_for
from workbench.query import Reader


def _provider(endpoint: str, *, gzip_body: bool = False, project: str = "rag-app") -> TracerProvider:
    exporter = OTLPSpanExporter(
        endpoint=endpoint, compression=Compression.Gzip if gzip_body else Compression.NoCompression
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "svc", "openinference.project.name": project}))
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=50))
    return provider


def _emit_rag_trace(tracer, i: int) -> None:
    with tracer.start_as_current_span("rag") as root:
        root.set_attributes({SpanAttributes.OPENINFERENCE_SPAN_KIND: "CHAIN",
                             SpanAttributes.INPUT_VALUE: f"question {i}"})
        with tracer.start_as_current_span("retrieve") as ret:
            ret.set_attributes({
                SpanAttributes.OPENINFERENCE_SPAN_KIND: "RETRIEVER",
                "retrieval.documents.0.document.id": f"doc-{i}",
                "retrieval.documents.0.document.content": "Refunds take 5 days.",
                "retrieval.documents.0.document.score": 0.8,
            })
        with tracer.start_as_current_span("llm") as llm:
            llm.set_attributes({
                SpanAttributes.OPENINFERENCE_SPAN_KIND: "LLM",
                SpanAttributes.LLM_MODEL_NAME: "gpt-4o-mini",
                SpanAttributes.LLM_TOKEN_COUNT_PROMPT: 100 + i,
                SpanAttributes.LLM_TOKEN_COUNT_COMPLETION: 20,
                "embedding.embeddings.0.embedding.vector": [0.25] * 8,
                "app.unknown_attribute": "kept",
            })
            if i % 5 == 0:
                llm.set_status(Status(StatusCode.ERROR, "RateLimitError"))


def test_the_sdk_exporter_delivers_spans_that_read_back_whole(server, store):
    provider = _provider(server.url + "/v1/traces")
    tracer = provider.get_tracer("test")
    for i in range(20):
        _emit_rag_trace(tracer, i)
    assert provider.force_flush(10_000)
    provider.shutdown()
    reader = Reader(store)
    wait_for(lambda: reader.count() == 60)
    spans = reader.spans()
    assert set(spans["project"]) == {"rag-app"}
    llm = reader.spans("span_kind == 'LLM' and prompt_tokens >= 115")
    assert sorted(llm["prompt_tokens"]) == [115, 116, 117, 118, 119]
    assert json.loads(llm["attributes"].iloc[0])["app.unknown_attribute"] == "kept"
    assert reader.count("status_code == 'ERROR'") == 4
    assert len(reader.documents()) == 20
    assert server.ingest.accepted_spans == 60


def test_gzip_bodies_are_accepted(server, store):
    provider = _provider(server.url + "/v1/traces", gzip_body=True)
    _emit_rag_trace(provider.get_tracer("t"), 1)
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert wait_for(lambda: store.counts()["spans"] == 3)


def test_a_200_means_the_spans_are_already_queryable(server, store):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=server.url + "/v1/traces")))
    with provider.get_tracer("t").start_as_current_span("one"):
        pass
    # SimpleSpanProcessor exports synchronously: by the time the span has ended, the server
    # answered, so the span must be visible now, with no waiting.
    assert store.counts()["spans"] == 1


def _otlp_json(trace_id: str = "5b8efff798038103d269b633813fc60c", span_id: str = "eee19b7ec3c1b174") -> dict:
    return {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
            "scopeSpans": [{
                "scope": {"name": "manual", "version": "1.0"},
                "spans": [{
                    "traceId": trace_id,
                    "spanId": span_id,
                    "parentSpanId": "",
                    "name": "chat gpt-4o",
                    "kind": 3,
                    "startTimeUnixNano": "1700000000000000000",
                    "endTimeUnixNano": "1700000001500000000",
                    "attributes": [
                        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "42"}},
                        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 7}},
                        {"key": "tags",
                         "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}}},
                    ],
                    "events": [{"timeUnixNano": "1700000000100000000", "name": "exception",
                                "attributes": [{"key": "exception.message", "value": {"stringValue": "boom"}}]}],
                    "status": {"code": 2, "message": "failed"},
                }],
            }],
        }]
    }


def test_otlp_json_with_hex_ids_is_accepted(server, store):
    response = requests.post(server.url + "/v1/traces", json=_otlp_json(), timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    row = Reader(store).spans().iloc[0]
    assert row["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert row["span_kind"] == "LLM" and row["model_name"] == "gpt-4o"
    assert row["prompt_tokens"] == 42 and row["completion_tokens"] == 7
    assert row["project"] == "json-svc" and row["otel_kind"] == "CLIENT"
    assert row["status_code"] == "ERROR" and row["status_message"] == "failed"
    assert row["latency_ms"] == 1500.0
    assert json.loads(row["attributes"])["tags"] == ["a", "b"]
    assert json.loads(row["events"])[0]["attributes"]["exception.message"] == "boom"


def test_malformed_requests_get_4xx_with_a_message_and_the_server_keeps_serving(server, store):
    url = server.url + "/v1/traces"
    cases = [
        (b"\x0a\xff\xff\xff", {"Content-Type": "application/x-protobuf"}, 400, "not a valid OTLP"),
        (b"{not json", {"Content-Type": "application/json"}, 400, "not valid JSON"),
        (b"[]", {"Content-Type": "application/json"}, 400, "JSON object"),
        (json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 5}]}]}]}).encode(),
         {"Content-Type": "application/json"}, 400, "traceId"),
        (b"hello", {"Content-Type": "text/plain"}, 415, "not supported"),
        (b"hello", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 400, "not gzip"),
        (b"{}", {"Content-Type": "application/json", "Content-Encoding": "br"}, 415, "gzip or none"),
        # Shapes that are JSON but not OTLP: said in OTLP's terms, not Python's ("'NoneType' object ...").
        (b'{"resourceSpans": [null]}', {"Content-Type": "application/json"}, 400,
         "Each entry of resourceSpans must be an object"),
        (b'{"resourceSpans": [{"scopeSpans": [7]}]}', {"Content-Type": "application/json"}, 400,
         "Each entry of scopeSpans must be an object"),
        (b'{"resourceSpans": [{"resource": 5, "scopeSpans": []}]}', {"Content-Type": "application/json"}, 400,
         "A resource must be an object"),
    ]
    for body, headers, status, text in cases:
        response = requests.post(url, data=body, headers=headers, timeout=10)
        assert response.status_code == status, (body, response.text)
        assert text in _message(response), response.text
    assert requests.post(url, json=_otlp_json(), timeout=10).status_code == 200
    assert store.counts()["spans"] == 1


def test_base64_ids_are_rejected_with_the_reason(server):
    body = _otlp_json(trace_id="W47/95gDgQPSabYzgT/GDA==", span_id="7uGbfsPBsXQ=")
    response = requests.post(server.url + "/v1/traces", json=body, timeout=10)
    assert response.status_code == 400
    assert "hex, not base64" in response.json()["message"]


def test_a_request_with_some_bad_spans_keeps_the_good_ones(server, store):
    body = _otlp_json()
    good = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    bad = dict(good, spanId="xyz")
    body["resourceSpans"][0]["scopeSpans"][0]["spans"].append(bad)
    response = requests.post(server.url + "/v1/traces", json=body, timeout=10)
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert store.counts()["spans"] == 1


def test_protobuf_answers_are_protobuf(server):
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("x"):
        pass
    body = encode_spans(memory.get_finished_spans()).SerializeToString()
    response = requests.post(server.url + "/v1/traces", data=body,
                             headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-protobuf"
    ExportTraceServiceResponse.FromString(response.content)


@pytest.mark.parametrize("media", ["application/protobuf", "Application/Protobuf; charset=binary",
                                   "application/vnd.google.protobuf"])
def test_protobuf_under_its_other_names_is_taken_as_protobuf(server, store, media):
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("named-" + media.split(";")[0].lower()):
        pass
    body = encode_spans(memory.get_finished_spans()).SerializeToString()
    response = requests.post(server.url + "/v1/traces", data=body, headers={"Content-Type": media}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/x-protobuf"
    names = set(Reader(store).spans()["name"])
    assert "named-" + media.split(";")[0].lower() in names


def test_an_oversized_body_is_refused_with_413(store):
    from workbench.server import Server

    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    srv.ingest.max_body_bytes = 1024
    try:
        big = gzip.compress(json.dumps(_otlp_json()).encode() + b" " * 5000)
        response = requests.post(srv.url + "/v1/traces", data=big,
                                 headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}, timeout=10)
        assert response.status_code == 413
        assert "larger than" in response.json()["message"]
        assert requests.get(srv.url + "/api/health", timeout=10).status_code == 200
    finally:
        srv.stop()


def test_a_full_queue_answers_503_with_retry_after_and_loses_nothing(db_path):
    from workbench.server import Server
    from workbench.store import Store

    store = Store(db_path, max_queued_spans=1)
    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    try:
        statuses = []
        # Stall the writer inside its transaction so the queue stays full.
        release = threading.Event()
        insert = store.writer._insert

        def stalled(*args):
            release.wait(10)
            insert(*args)

        store.writer._insert = stalled
        in_progress = []
        for i in range(store.writer.threads):  # one stalled transaction per writer thread
            in_progress.append(store.writer.submit([_fake_span(i)]))
            wait_for(lambda: store.writer.queued_spans == 0)  # taken by a writer, now stalled
        queued = store.writer.submit([_fake_span(99)])
        response = requests.post(srv.url + "/v1/traces", json=_otlp_json(), timeout=10)
        statuses.append(response.status_code)
        assert response.headers.get("Retry-After") == "1"
        assert "retry" in response.json()["message"]
        release.set()
        for future in in_progress:
            future.result(10)
        queued.result(10)
        retry = requests.post(srv.url + "/v1/traces", json=_otlp_json(), timeout=10)
        statuses.append(retry.status_code)
        assert statuses == [503, 200]
        assert store.counts()["spans"] == store.writer.threads + 2
    finally:
        srv.stop()
        store.close()


def _message(response: requests.Response) -> str:
    """The error message of an OTLP answer: a google.rpc.Status in protobuf, or JSON."""
    if response.headers["Content-Type"] == "application/x-protobuf":
        from google.rpc import status_pb2

        return status_pb2.Status.FromString(response.content).message
    return response.json()["message"]


def _fake_span(n: int):
    from tests.helpers import make_span

    return make_span(n, trace=99)


def test_worker_processes_decode_and_redact(db_path):
    import os

    from workbench.server import Server
    from workbench.store import Store

    with Store(db_path) as store:
        srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=1, redact=True).start()
        pool = srv.ingest.pool
        try:
            assert not pool.started  # an idle server carries no worker processes
            # The first request is decoded on a thread while the workers start.
            first = requests.post(srv.url + "/v1/traces", json=_otlp_json(), timeout=60)
            assert first.status_code == 200, first.text
            assert pool.started
            wait_for(pool.ready.is_set, timeout=60)
            body = _otlp_json()
            attrs = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]
            attrs.append({"key": "input.value", "value": {"stringValue": "mail me at jane.doe@example.com"}})
            response = requests.post(srv.url + "/v1/traces", json=body, timeout=60)
            assert response.status_code == 200, response.text
            spans = Reader(store).spans()
            rows = spans[spans["input_value"].fillna("").str.startswith("mail me")]
            assert list(rows["input_value"]) == ["mail me at <EMAIL>"]
            assert "jane.doe" not in rows["attributes"].iloc[0]
            assert srv.ingest.redacted["email"] >= 1
            bad = requests.post(srv.url + "/v1/traces", data=b"\x0a\xff", timeout=60,
                                headers={"Content-Type": "application/x-protobuf"})
            assert bad.status_code == 400 and "not a valid OTLP" in _message(bad)
            assert os.listdir(pool.spool) == []  # every handed-over batch was taken and removed
        finally:
            spool = pool.spool
            srv.stop()
        assert spool is not None and not os.path.exists(spool)


def test_the_receiver_samples_by_outcome(db_path):
    from workbench.collector.sampling import SamplingPolicy, trace_id_fraction
    from workbench.server import Server
    from workbench.store import Store

    with Store(db_path) as store:
        srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0,
                     sampling=SamplingPolicy(rate=0.2, decision_wait_s=0.2)).start()
        try:
            provider = _provider(srv.url + "/v1/traces")
            tracer = provider.get_tracer("t")
            for i in range(100):
                _emit_rag_trace(tracer, i)  # every fifth trace has an LLM error
            assert provider.force_flush(10_000)
            provider.shutdown()
            reader = Reader(store)
            wait_for(lambda: srv.ingest.sampler.holding == 0 and store.flush(5) and reader.count(root_only=True) > 20)
            roots = reader.spans(root_only=True)
            errors = set(reader.spans("status_code == 'ERROR'")["trace_id"])
            assert len(errors) == 20
            healthy = roots[~roots["trace_id"].isin(errors)]
            assert all(trace_id_fraction(t) < 0.2 for t in healthy["trace_id"])
            assert set(healthy["sample_weight"]) <= {5.0}
            assert reader.count() == 3 * len(roots)  # whole traces, never parts
            stats = srv.info()["sampling"]
            assert stats["kept_traces"]["error"] == 20
            assert stats["dropped_traces"] == 100 - len(roots)
        finally:
            srv.stop()


def test_a_batch_sent_again_after_a_lost_answer_is_stored_once(db_path):
    from tests.helpers import otlp_body
    from workbench.server import Server
    from workbench.store import Store

    def five_traces(tracer) -> None:
        for i in range(5):
            _emit_rag_trace(tracer, i)

    body = otlp_body(five_traces, {"service.name": "svc"})  # what the SDK's exporter posts

    with Store(db_path) as store:
        srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
        try:
            headers = {"Content-Type": "application/x-protobuf"}
            for _ in range(2):  # the retry of a request whose 200 never reached the client
                assert requests.post(srv.url + "/v1/traces", data=body, headers=headers, timeout=30).status_code == 200
            assert store.counts()["spans"] == 30  # both copies are committed at first ...
            wait_for(lambda: store.counts()["spans"] == 15)  # ... and the later one removed once ingest pauses
            counts = store.counts()
            assert counts["documents"] == 5 and counts["embeddings"] == 5
            assert store.writer.duplicates_removed == 15
            twice = store.fetchall(
                "SELECT count(*) FROM (SELECT trace_id, span_id FROM spans GROUP BY ALL HAVING count(*) > 1)"
            )
            assert twice == [(0,)]
        finally:
            srv.stop()


def test_a_signal_workbench_does_not_take_is_refused_in_words_the_exporter_logs(server, store, caplog):
    """One OTEL_EXPORTER_OTLP_ENDPOINT sends metrics here too: the SDK's exporter logs why they are refused."""
    from google.rpc import status_pb2
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=server.url + "/v1/metrics"),
                                           export_interval_millis=3_600_000)
    meters = MeterProvider(metric_readers=[reader])
    meters.get_meter("app").create_counter("requests").add(1)
    with caplog.at_level("ERROR"):
        meters.force_flush(30_000)
    meters.shutdown()
    assert "workbench does not receive /v1/metrics" in caplog.text and "OTEL_METRICS_EXPORTER=none" in caplog.text
    as_json = requests.post(server.url + "/v1/metrics", json={}, timeout=10)
    assert as_json.status_code == 404 and "traces at /v1/traces" in as_json.json()["message"]
    as_protobuf = requests.post(server.url + "/v1/metrics", data=b"", timeout=10,
                                headers={"Content-Type": "application/x-protobuf"})
    assert as_protobuf.status_code == 404
    assert "logs at /v1/logs" in status_pb2.Status.FromString(as_protobuf.content).message
    chat = requests.post(server.url + "/v1/chat/completions", json={"model": "gpt-4o"}, timeout=10)
    assert chat.status_code == 404 and "/proxy/openai/v1" in chat.json()["message"]
    for path in ("/v1/traces", "/v1/logs"):
        looked_at = requests.get(server.url + path, timeout=10)
        assert looked_at.status_code == 405 and "takes OTLP with POST" in looked_at.json()["message"]
    provider = _provider(server.url + "/v1/traces")
    _emit_rag_trace(provider.get_tracer("t"), 1)
    assert provider.force_flush(10_000)
    provider.shutdown()
    wait_for(lambda: Reader(store).count() == 3, timeout=30)  # traces are taken as before
