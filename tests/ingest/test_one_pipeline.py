"""Both ways in run one ingest pipeline: the same spans, sent in process and over OTLP to a
server with the same redaction and sampling, are stored alike."""

from __future__ import annotations

import random

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Status, StatusCode

from tests.helpers import wait_for
from workbench.collector.pipeline import redaction_config
from workbench.collector.processor import CollectorProcessor
from workbench.collector.sampling import SamplingPolicy
from workbench.ingest import BatchSampler, IngestPipeline
from workbench.query import Reader
from workbench.server import Server
from workbench.store import Store

POLICY = SamplingPolicy(rate=0.3, cost_usd=0.05, decision_wait_s=0)
TRACES = 60


class _Seeded(IdGenerator):
    def __init__(self) -> None:
        self._rng = random.Random(7)

    def generate_span_id(self) -> int:
        return self._rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._rng.getrandbits(128) or 1


def _emit(provider: TracerProvider) -> None:
    tracer = provider.get_tracer("app")
    for i in range(TRACES):
        start = 1_764_000_000_000_000_000 + i * 1_000_000_000
        with tracer.start_as_current_span("answer", start_time=start) as root:
            root.set_attributes({"openinference.span.kind": "CHAIN", "input.value": f"mail me at ann{i}@example.com"})
            with tracer.start_as_current_span("llm", start_time=start + 1000) as llm:
                llm.set_attributes({
                    "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.provider": "openai",
                    "llm.token_count.prompt": 100_000 if i % 7 == 0 else 100,  # every 7th trace costs over $0.05
                    "llm.token_count.completion": 10,
                })
                if i % 10 == 0:
                    llm.set_status(Status(StatusCode.ERROR, "boom"))
            if i % 6 == 0:
                with tracer.start_as_current_span("judge", start_time=start + 2000) as judge:
                    judge.set_attributes({"annotations.0.annotation.name": "faithfulness",
                                          "annotations.0.annotation.score": 0.1})


def _stored(store: Store) -> tuple[list[tuple], list[tuple]]:
    reader = Reader(store, owns_store=False)
    spans = reader.spans(columns=["trace_id", "span_id", "name", "sample_weight", "input_value"], order_by="span_id")
    annotations = reader.annotations()
    spans = spans.astype(object).where(spans.notna(), None)
    return ([tuple(row) for row in spans.itertuples(index=False)],
            sorted(zip(annotations["trace_id"], annotations["name"], annotations["score"])))


def test_the_collector_and_the_server_store_the_same_spans_alike(tmp_path):
    resource = Resource.create({"service.name": "one-pipeline"})
    with Store(tmp_path / "in-process.duckdb") as store:
        pipeline = IngestPipeline(store, redaction=redaction_config(redact=True), sampling=POLICY)
        processor = CollectorProcessor(store, pipeline=pipeline, schedule_delay=0.05)
        provider = TracerProvider(resource=resource, id_generator=_Seeded())
        provider.add_span_processor(processor)
        _emit(provider)
        provider.shutdown()
        store.flush()
        in_process = _stored(store)

    with Store(tmp_path / "server.duckdb") as store:
        srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0, redact=True,
                     sampling=POLICY).start()
        try:
            provider = TracerProvider(resource=resource, id_generator=_Seeded())
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=srv.url + "/v1/traces"),
                                                           schedule_delay_millis=50))
            _emit(provider)
            assert provider.force_flush(10_000)
            provider.shutdown()
            assert isinstance(srv.ingest.pipeline, IngestPipeline) and isinstance(srv.ingest.sampler, BatchSampler)
            wait_for(lambda: srv.ingest.sampler.holding == 0 and store.flush(5))
        finally:
            srv.stop()
        over_otlp = _stored(store)

    assert isinstance(pipeline.sampler, BatchSampler)
    spans, annotations = in_process
    kept_traces = {row[0] for row in spans}
    assert 0 < len(kept_traces) < TRACES  # some healthy traces were sampled away
    # Redacted before anything was kept.
    assert any(row[4] for row in spans) and all("@example.com" not in (row[4] or "") for row in spans)
    assert {row[3] for row in spans} <= {1.0, 1 / POLICY.rate}
    assert annotations and all(a[0] in kept_traces for a in annotations)  # failed evaluations keep their trace
    assert over_otlp == in_process
