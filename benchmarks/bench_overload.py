#!/usr/bin/env python3
"""Overload benchmark: many connections posting OTLP at once to a real `workbench serve`.

Each connection posts 512-span OTLP protobuf requests back to back for ``--seconds``, with a
10 s client timeout (the OTel exporter's default); a 503 is counted and the connection waits
the ``Retry-After`` it was given. Then ``--big`` connections each post one 48 MiB body at
the same moment. Printed per scenario: requests answered 200, 503 count, other failures
(errors, resets, timeouts), p50 / p99 / max seconds per request (every attempt), and the
peak RSS of the process tree (the server and its decode workers, sampled every 50 ms).

Run by hand (about two minutes):

    python benchmarks/bench_overload.py [--connections 16 80] [--seconds 20] [--big 16]
    python benchmarks/bench_overload.py --root /path/to/other/checkout   # the same, on other code

It prints one JSON document; benchmarks/README.md records the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 10.0  # the OTel exporters' default per-request timeout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(pid: int) -> list[int]:
    """The process and every descendant."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class RssSampler(threading.Thread):
    """The peak RSS of a process tree, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._done = pid, 0.0, threading.Event()

    def run(self) -> None:
        self.server_peak = 0.0
        while not self._done.wait(0.05):
            self.peak = max(self.peak, _rss_mib(_tree(self.pid)))
            self.server_peak = max(self.server_peak, _rss_mib([self.pid]))

    def stop(self) -> tuple[float, float]:
        self._done.set()
        self.join()
        return round(self.peak, 1), round(self.server_peak, 1)


def _template(spans: int, text_bytes: int) -> tuple[bytes, bytes]:
    """A request of ``spans`` LLM spans sharing one trace id, and that id (replaced per request)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    trace_id = os.urandom(16)
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    attribute = resource.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", "overload"
    scope = resource.scope_spans.add()
    base = time.time_ns() - 3600 * 10**9
    text = ("lorem ipsum dolor sit amet " * (text_bytes // 27 + 1))[:text_bytes]
    for i in range(spans):
        span = scope.spans.add()
        span.trace_id, span.span_id, span.name = trace_id, (i + 1).to_bytes(8, "big"), "llm"
        if i:
            span.parent_span_id = (1).to_bytes(8, "big")
        span.start_time_unix_nano = base + i * 1000
        span.end_time_unix_nano = base + i * 1000 + 250_000_000
        for key, value in (("openinference.span.kind", "LLM"), ("llm.model_name", "gpt-4o-mini"),
                           ("input.value", text), ("output.value", text[: text_bytes // 2])):
            attr = span.attributes.add()
            attr.key, attr.value.string_value = key, value
        for key, number in (("llm.token_count.prompt", 120), ("llm.token_count.completion", 40)):
            attr = span.attributes.add()
            attr.key, attr.value.int_value = key, number
    return request.SerializeToString(), trace_id


class Connection(threading.Thread):
    """One client connection posting requests until a deadline, or ``count`` of them."""

    def __init__(self, port: int, template: bytes, trace_id: bytes, until: float, count: int | None = None) -> None:
        super().__init__(daemon=True)
        self.port, self.template, self.trace_id, self.until, self.count = port, template, trace_id, until, count
        self.latencies: list[float] = []
        self.ok = self.refused = self.failed = 0

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)

    def run(self) -> None:
        conn = self._connect()
        sent = 0
        while time.monotonic() < self.until and (self.count is None or self.ok < self.count):
            body = self.template.replace(self.trace_id, os.urandom(16))
            t0 = time.perf_counter()
            retry_after = 0.0
            try:
                conn.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    self.ok += 1
                elif response.status in (429, 503):
                    self.refused += 1
                    retry_after = float(response.getheader("Retry-After") or 1)
                else:
                    self.failed += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = self._connect()
            except (OSError, http.client.HTTPException):
                self.failed += 1
                conn.close()
                conn = self._connect()
                retry_after = 0.5
            self.latencies.append(time.perf_counter() - t0)
            sent += 1
            if retry_after:
                time.sleep(min(retry_after, max(0.0, self.until - time.monotonic())))
        conn.close()


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _scenario(server: subprocess.Popen, port: int, connections: int, template: bytes, trace_id: bytes,
              seconds: float, count: int | None = None) -> dict:
    sampler = RssSampler(server.pid)
    sampler.start()
    until = time.monotonic() + seconds
    clients = [Connection(port, template, trace_id, until, count) for _ in range(connections)]
    t0 = time.perf_counter()
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    elapsed = time.perf_counter() - t0
    latencies = [x for client in clients for x in client.latencies]
    peak, server_peak = sampler.stop()
    ok = sum(c.ok for c in clients)
    return {
        "connections": connections,
        "body_mib": round(len(template) / 2**20, 2),
        "seconds": round(elapsed, 1),
        "ok": ok,
        "refused_503": sum(c.refused for c in clients),
        "failed": sum(c.failed for c in clients),
        "p50_s": _percentile(latencies, 0.50),
        "p99_s": _percentile(latencies, 0.99),
        "max_s": round(max(latencies), 3) if latencies else None,
        "peak_rss_mib": peak,
        "server_process_peak_rss_mib": server_peak,
        "server_alive": server.poll() is None,
    }


def _health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=30) as response:
        return json.loads(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 80])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--big", type=int, default=16, help="connections posting one 48 MiB body each (0: skip)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose workbench is served")
    args = parser.parse_args()

    small, small_id = _template(512, 600)
    results: dict = {"root": str(args.root), "scenarios": []}
    with tempfile.TemporaryDirectory() as work:
        port = _free_port()
        env = dict(os.environ, PYTHONPATH=str(args.root), HOME=work)
        server = subprocess.Popen(
            [sys.executable, "-m", "workbench", "serve", "--db", f"{work}/overload.duckdb", "--port", str(port),
             "--no-app"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
            cwd=args.root,  # `python -m` puts the working folder first on the path
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    _health(port)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(server.stderr.read().decode()) from None
                    time.sleep(0.05)
            results["idle_rss_mib"] = round(_rss_mib(_tree(server.pid)), 1)
            for connections in args.connections:
                results["scenarios"].append(_scenario(server, port, connections, small, small_id, args.seconds))
                time.sleep(3)  # let the writer drain and checkpoint between scenarios
            if args.big:
                big, big_id = _template(44_000, 600)  # 48 MB
                results["scenarios"].append(
                    _scenario(server, port, args.big, big, big_id, max(args.seconds, 60.0), count=1)
                )
            results["spans_stored"] = _health(port).get("spans")
        finally:
            server.terminate()
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
            results["exit_code"] = server.returncode
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
