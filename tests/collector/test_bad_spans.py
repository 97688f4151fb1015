"""The in-process collector: a span the store cannot hold as it is costs only itself."""

from __future__ import annotations

import json
import math

import workbench
from workbench.collector.processor import CollectorProcessor
from workbench.store import Store

START = 1_700_000_000_000_000_000


def test_one_bad_span_does_not_sink_the_batch_it_is_written_in(db_path):
    store = Store(db_path)
    provider = workbench.register("bad-spans", sink=store, set_global=False)
    processor = next(p for p in provider._active_span_processor._span_processors if isinstance(p, CollectorProcessor))
    tracer = provider.get_tracer("test")
    try:
        for i in range(20):
            with tracer.start_as_current_span(f"good-{i}"):
                pass
        tracer.start_span("surrogate", attributes={"text": "a\ud800b"}).end()
        tracer.start_span("huge-int", attributes={"big": 2**70}).end()
        tracer.start_span("backwards", start_time=START).end(end_time=START - 1000)
        tracer.start_span("nan-vector", attributes={
            "openinference.span.kind": "EMBEDDING", "embedding.embeddings.0.embedding.text": "x",
            "embedding.embeddings.0.embedding.vector": [math.nan, 0.5, 0.5]}).end()
        tracer.start_span("after-2262", start_time=2**63 + 5).end(end_time=2**63 + 10)  # cannot be placed in time
        assert provider.force_flush(30_000)
        rows = {name: (json.loads(attributes), latency) for name, attributes, latency in
                store.fetchall("SELECT name, attributes, latency_ms FROM spans")}
        assert {f"good-{i}" for i in range(20)} <= set(rows)
        assert set(rows) - {f"good-{i}" for i in range(20)} == {"surrogate", "huge-int", "backwards", "nan-vector"}
        assert rows["surrogate"][0]["text"] == "a\ufffdb"
        assert rows["huge-int"][0]["big"] == str(2**70)
        assert rows["backwards"][1] == 0.0
        for name in ("surrogate", "huge-int", "backwards", "nan-vector"):
            assert rows[name][0]["workbench.repaired"], name
        assert store.fetchall("SELECT vector FROM embeddings") == [(None,)]
        assert processor.failed == 1  # the span after 2262, counted
        assert store.writer.rejected_spans == 1
    finally:
        provider.shutdown()
        store.close()
