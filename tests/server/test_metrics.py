"""``GET /metrics``: spans sent with the real OTel SDK exporter, the answer read with Prometheus' parser."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import wait_for
from workbench.model import TokenUsage
from workbench.pricing import span_cost
from workbench.pricing.effective import effective_table
from workbench.server import Server


def _send(url: str, project: str, spans: list[dict]) -> None:
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": project}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=url + "/v1/traces")))
    tracer = provider.get_tracer("test")
    for spec in spans:
        start = 1_763_884_800_000_000_000
        span = tracer.start_span(spec.get("name", "call"), start_time=start)
        span.set_attributes(spec["attributes"])
        if spec.get("ttft_ms") is not None:
            span.add_event("First Token Stream Event", timestamp=start + int(spec["ttft_ms"] * 1e6))
        if spec.get("error"):
            span.set_status(Status(StatusCode.ERROR, "boom"))
            span.set_attribute("error.type", spec["error"])
        span.end(end_time=start + int(spec["ms"] * 1e6))
    provider.shutdown()


def _llm(model: str, prompt: int, completion: int, ms: float, **extra) -> dict:
    attributes = {
        "openinference.span.kind": "LLM", "llm.model_name": model, "llm.provider": "openai",
        "llm.token_count.prompt": prompt, "llm.token_count.completion": completion,
        "session.id": "session-secret-1", "user.id": "user-secret-1",
    }
    attributes.update(extra.pop("attributes", {}))
    return {"attributes": attributes, "ms": ms, **extra}


def _scrape(server: Server) -> dict[str, list]:
    response = requests.get(server.url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def _value(samples: list, name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_counters_and_histograms_by_model_provider_project_and_kind(server):
    _send(server.url, "shop", [
        _llm("gpt-4o-mini", 1000, 100, 250, ttft_ms=40,
             attributes={"llm.token_count.prompt_details.cache_read": 400}),
        _llm("gpt-4o-mini", 2000, 200, 1500, ttft_ms=300),
        _llm("gpt-4o-mini", 10, 0, 20, error="rate_limit_exceeded"),
        {"attributes": {"openinference.span.kind": "RETRIEVER"}, "ms": 5},
    ])
    _send(server.url, "support", [_llm("claude-sonnet-4-5", 500, 50, 800)])
    wait_for(lambda: server.ingest.accepted_spans == 5)
    metrics = _scrape(server)

    shop = {"model": "gpt-4o-mini", "provider": "openai", "project": "shop", "span_kind": "LLM"}
    assert _value(metrics["workbench_spans"], "workbench_spans_total", **shop) == 3
    assert _value(metrics["workbench_tokens"], "workbench_tokens_total", type="prompt", **shop) == 3010
    assert _value(metrics["workbench_tokens"], "workbench_tokens_total", type="completion", **shop) == 300
    assert _value(metrics["workbench_tokens"], "workbench_tokens_total", type="cache_read", **shop) == 400
    # gpt-4o-mini is priced in the shipped table: the calls cost something, the retriever nothing.
    prices = effective_table()
    day = datetime.date(2025, 11, 23)
    expected = sum(
        span_cost(prices, "LLM", "gpt-4o-mini", "openai", day, TokenUsage(prompt=p, completion=c, cache_read=r), None)
        or 0.0
        for p, c, r in [(1000, 100, 400), (2000, 200, None), (10, 0, None)]
    )
    assert expected > 0
    assert _value(metrics["workbench_cost_usd"], "workbench_cost_usd_total", **shop) == pytest.approx(expected)
    retriever = {"model": "none", "project": "shop", "span_kind": "RETRIEVER"}
    assert _value(metrics["workbench_cost_usd"], "workbench_cost_usd_total", **retriever) == 0
    assert _value(metrics["workbench_errors"], "workbench_errors_total", error_type="rate_limit_exceeded",
                  **shop) == 1

    latency = metrics["workbench_span_duration_seconds"]
    assert _value(latency, "workbench_span_duration_seconds_count", **shop) == 3
    assert _value(latency, "workbench_span_duration_seconds_bucket", le="0.25", **shop) == 2
    assert _value(latency, "workbench_span_duration_seconds_bucket", le="1.0", **shop) == 2
    assert _value(latency, "workbench_span_duration_seconds_bucket", le="2.5", **shop) == 3
    assert _value(latency, "workbench_span_duration_seconds_sum", **shop) == pytest.approx(1.77)
    ttft = metrics["workbench_time_to_first_token_seconds"]
    assert _value(ttft, "workbench_time_to_first_token_seconds_count", **shop) == 2
    assert _value(ttft, "workbench_time_to_first_token_seconds_bucket", le="0.05", **shop) == 1

    claude = {"model": "claude-sonnet-4-5", "project": "support"}
    assert _value(metrics["workbench_spans"], "workbench_spans_total", **claude) == 1
    assert _value(metrics["workbench_ingest_spans_accepted"], "workbench_ingest_spans_accepted_total") == 5
    assert _value(metrics["workbench_ingest_queued_spans"], "workbench_ingest_queued_spans") >= 0

    # Never a session or user id as a label.
    text = requests.get(server.url + "/metrics", timeout=10).text
    assert "secret" not in text and "session" not in text and "user_id" not in text


@pytest.fixture
def narrow_server(store, monkeypatch) -> Iterator[Server]:
    monkeypatch.setenv("WORKBENCH_METRICS_LABEL_VALUES", "3")
    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    yield srv
    srv.stop()


def test_label_values_are_capped_and_the_rest_counted_as_other(narrow_server):
    _send(narrow_server.url, "p", [_llm(f"model-{i}", 10, 1, 10) for i in range(10)])
    wait_for(lambda: narrow_server.ingest.accepted_spans == 10)
    samples = _scrape(narrow_server)["workbench_spans"]
    models = {s.labels["model"]: s.value for s in samples if s.name == "workbench_spans_total"}
    assert models == {"model-0": 1, "model-1": 1, "model-2": 1, "other": 7}


def test_ingest_counters_count_redactions_and_sampling(store, monkeypatch):
    monkeypatch.setenv("WORKBENCH_REDACT", "true")
    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0, sampling=0.0001).start()
    try:
        _send(srv.url, "p", [
            _llm("gpt-4o", 10, 1, 10, attributes={"input.value": "mail me at jane.doe@example.com"})
            for _ in range(20)
        ])
        wait_for(lambda: srv.ingest.accepted_spans == 20)
        srv.ingest.sampler.release(everything=True)  # type: ignore[union-attr]
        metrics = _scrape(srv)
        assert _value(metrics["workbench_ingest_redactions"], "workbench_ingest_redactions_total",
                      detector="email") == 20
        dropped = _value(metrics["workbench_ingest_sampling_dropped_spans"],
                         "workbench_ingest_sampling_dropped_spans_total")
        assert dropped == srv.ingest.sampler.sampler.stats()["dropped_spans"] > 0  # type: ignore[union-attr]
    finally:
        srv.stop()


def test_metrics_needs_the_token_when_the_server_has_one(store):
    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0, token="t0k3n").start()
    try:
        assert requests.get(srv.url + "/metrics", timeout=10).status_code == 401
        answer = requests.get(srv.url + "/metrics", headers={"Authorization": "Bearer t0k3n"}, timeout=10)
        assert answer.status_code == 200 and "workbench_ingest_spans_accepted_total" in answer.text
    finally:
        srv.stop()
