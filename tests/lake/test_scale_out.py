"""The Collector set-up of docs/scale-out.md, tested by protocol (the Collector binary is not here).

The two configurations are read from the page. What the second tier's ``otlphttp`` exporter
sends (OTLP protobuf, gzip, ``POST /v1/traces``) goes to two real ingesters, routed by trace
id as the first tier's load-balancing exporter routes; every trace must land whole in one
ingester, and once in the lake.
"""

from __future__ import annotations

import gzip
import os
import re
import urllib.request
from pathlib import Path

import duckdb
import yaml

from tests.helpers import wait_for
from workbench.lake import committed_files

from .test_s3 import Ingester

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "scale-out.md"


def _configs() -> tuple[dict, dict]:
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", PAGE.read_text(), re.DOTALL)]
    front = next(b for b in blocks if "load_balancing" in b.get("exporters", {}))
    tier2 = next(b for b in blocks if "otlphttp" in b.get("exporters", {}))
    return front, tier2


def test_the_front_collector_routes_whole_traces_to_the_second_tier():
    front, tier2 = _configs()
    balancing = front["exporters"]["load_balancing"]
    assert balancing["routing_key"] == "traceID"
    assert list(balancing["protocol"]) == ["otlp"]  # the only protocol it speaks: gRPC
    assert front["service"]["pipelines"]["traces"]["exporters"] == ["load_balancing"]
    ports = {h.rsplit(":", 1)[1] for h in balancing["resolver"]["static"]["hostnames"]}
    assert ports == {tier2["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].rsplit(":", 1)[1]}
    assert tier2["service"]["pipelines"]["traces"]["exporters"] == ["otlphttp"]


def _requests(traces: int, per_trace: int) -> list[tuple[str, bytes]]:
    """(trace id, OTLP protobuf body) for each trace, made by the OTel SDK."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "fleet"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("scale-out")
    out = []
    for t in range(traces):
        memory.clear()
        with tracer.start_as_current_span(f"request-{t}"):
            for i in range(per_trace - 1):
                with tracer.start_as_current_span(f"step-{i}"):
                    pass
        spans = memory.get_finished_spans()
        out.append((format(spans[0].context.trace_id, "032x"), encode_spans(spans).SerializeToString()))
    return out


def test_what_the_second_tier_sends_lands_whole_in_one_ingester_and_once_in_the_lake(tmp_path):
    _, tier2 = _configs()
    exporter = tier2["exporters"]["otlphttp"]
    assert exporter["endpoint"].startswith("http://127.0.0.1:")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKBENCH_LAKE_INTERVAL_S": "0.3"}
    lake = str(tmp_path / "lake")
    ingesters = [Ingester(tmp_path / f"{n}.duckdb", lake, env).start() for n in "ab"]
    try:
        bodies = _requests(traces=40, per_trace=4)
        for trace_id, body in bodies:
            target = ingesters[int(trace_id, 16) % len(ingesters)]  # stands in for the exporter's hash ring
            data = gzip.compress(body) if exporter.get("compression") == "gzip" else body
            request = urllib.request.Request(
                f"http://127.0.0.1:{target.port}/v1/traces", data=data, method="POST",
                headers={"Content-Type": "application/x-protobuf", "Content-Encoding": exporter.get("compression", "")})
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200

        def published() -> bool:
            files = committed_files(lake)
            return bool(files) and duckdb.sql(f"SELECT count(*) FROM read_parquet({files!r})").fetchall()[0][0] >= 160

        wait_for(published, timeout=120, interval=0.3)
        files = committed_files(lake)
        rows = duckdb.sql(f"""
            SELECT trace_id, count(*), count(DISTINCT span_id),
                   count(DISTINCT split_part(parse_filename(filename), '-', 1))
            FROM read_parquet({files!r}, filename = true) GROUP BY trace_id""").fetchall()
        assert len(rows) == 40
        assert all(n == distinct == 4 and writers == 1 for _, n, distinct, writers in rows)
        writers = duckdb.sql(f"SELECT count(DISTINCT split_part(parse_filename(filename), '-', 1)) "
                             f"FROM read_parquet({files!r}, filename = true)").fetchall()[0][0]
        assert writers == 2  # both ingesters took traces
    finally:
        for ingester in ingesters:
            ingester.stop()
