"""A lake in a real S3-protocol server (moto's, on 127.0.0.1), written by real ingesters."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import duckdb
import pyarrow.dataset as ds

from tests.helpers import make_span, wait_for
from workbench.lake import committed_files
from workbench.lake.location import locate
from workbench.lake.maintain import compact
from workbench.lake.publish import Publisher
from workbench.read.lake import LakeReader
from workbench.store import Store

ROOT = Path(__file__).resolve().parents[2]


def test_publish_read_and_compact_a_lake_in_s3(tmp_path, s3_lake):
    with Store(tmp_path / "a.duckdb") as store:
        publisher = Publisher(store, s3_lake)
        for p in range(3):
            store.write([make_span(i, trace=p * 100 + i, project="bot") for i in range(5)])
            publisher.publish()
    reader = LakeReader(s3_lake, refresh_s=0)
    assert reader.count() == 15
    files = committed_files(s3_lake)
    assert len(files) == 3 and all(f.startswith(s3_lake + "/table=spans/project=bot/day=2025-11-23/") for f in files)
    report = compact(s3_lake, grace_s=0)
    assert report.files_merged == 3 and report.files_deleted == 3
    assert reader.count() == 15
    # Plain pyarrow + DuckDB, no workbench, reading only the committed files.
    location = locate(s3_lake)
    paths = [f.removeprefix("s3://") for f in committed_files(s3_lake)]
    table = ds.dataset(paths, filesystem=location.fs, format="parquet").to_table()
    con = duckdb.connect()
    con.register("published", table)
    assert con.sql("SELECT count(DISTINCT span_id) FROM published").fetchall()[0][0] == 15
    reader.close()


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Ingester:
    """``workbench serve --lake`` in a process of its own."""

    def __init__(self, db: Path, lake: str, env: dict[str, str]) -> None:
        self.db, self.lake, self.env, self.port = db, lake, env, _port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> Ingester:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workbench", "serve", "--db", str(self.db), "--port", str(self.port), "--no-app",
             "--lake", self.lake],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        wait_for(self._up, timeout=120, interval=0.2)
        return self

    def _up(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _feed(ingester: Ingester, prefix: int, batches: int, acked: set[str], lock: threading.Lock,
          between: threading.Event | None = None, at: int = -1) -> None:
    """Send spans made by the OTel SDK with its OTLP/HTTP exporter; remember those acknowledged."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": f"fleet-{prefix}"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("lake-test")
    for b in range(batches):
        if b == at and between is not None:
            between.wait(120)
        memory.clear()
        for i in range(20):
            with tracer.start_as_current_span(f"call-{prefix}-{b}-{i}"):
                pass
        spans = memory.get_finished_spans()
        exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{ingester.port}/v1/traces", timeout=3)
        result = exporter.export(spans)
        exporter.shutdown()
        if result.name == "SUCCESS":
            with lock:
                acked.update(format(s.context.span_id, "016x") for s in spans)


def test_two_ingesters_one_killed_mid_stream_every_acknowledged_span_once(tmp_path, s3_lake):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKBENCH_LAKE_INTERVAL_S": "0.3"}
    a = Ingester(tmp_path / "a.duckdb", s3_lake, env).start()
    b = Ingester(tmp_path / "b.duckdb", s3_lake, env).start()
    acked: set[str] = set()
    lock = threading.Lock()
    restarted = threading.Event()
    try:
        feed_b = threading.Thread(target=_feed, args=(b, 2, 30, acked, lock))
        feed_a = threading.Thread(target=_feed, args=(a, 1, 30, acked, lock, restarted, 20))
        feed_b.start()
        feed_a.start()
        wait_for(lambda: len(acked) >= 200, timeout=180, interval=0.05)
        a.kill()  # mid-stream: B keeps going, A's sender fails until A is back
        a.start()
        restarted.set()
        feed_a.join(300)
        feed_b.join(300)
        assert len(acked) >= 600

        reader = LakeReader(s3_lake, refresh_s=0)

        def published() -> bool:
            ids = {r[0] for r in reader.rows("SELECT span_id FROM spans")}
            return acked <= ids

        wait_for(published, timeout=120, interval=0.5)
        total, distinct = reader.rows("SELECT count(*), count(DISTINCT span_id) FROM spans")[0]
        assert total == distinct  # nothing twice
        assert {r[0] for r in reader.rows("SELECT DISTINCT project FROM spans")} == {"fleet-1", "fleet-2"}
        reader.close()
    finally:
        a.stop()
        b.stop()
