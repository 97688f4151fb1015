#!/usr/bin/env python3
"""The recording proxy's added latency: the same calls sent straight to a stand-in upstream
and through `workbench serve`'s ``/proxy/openai/v1``, interleaved.

Three processes: the stand-in OpenAI API (tests/server/upstream.py), a real `workbench serve
--no-app` pointed at it, and this client (httpx, one keep-alive connection per route).
Measured per call: non-streaming, the time to the whole answer; streaming, the time to the
first chunk (the first token) and to the end. The proxy records every call as a span, after
the caller has its answer. Printed: p50 / p99 / mean milliseconds per route and the
proxy's added p50 / p99.

Run by hand (about half a minute):

    python benchmarks/bench_proxy.py [--calls 500]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM = """
import sys, time
sys.path.insert(0, {root!r})
from tests.server.upstream import Upstream
up = Upstream()
print(up.port, flush=True)
while True:
    time.sleep(3600)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per route and mode")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM.format(root=str(ROOT))], stdout=subprocess.PIPE,
                                text=True, env=env)
    assert upstream.stdout is not None
    up_url = f"http://127.0.0.1:{upstream.stdout.readline().strip()}"
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [sys.executable, "-m", "workbench", "serve", "--no-app", "--db", f"{tmp}/bench.duckdb", "--port",
             str(port)],
            env={**env, "WORKBENCH_PROXY_OPENAI_URL": up_url + "/v1", "HOME": tmp},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            _wait(f"http://127.0.0.1:{port}/api/health")
            routes = {"direct": up_url + "/v1", "proxy": f"http://127.0.0.1:{port}/proxy/openai/v1"}
            clients = {name: httpx.Client(base_url=url, timeout=30) for name, url in routes.items()}
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "How long do refunds take?"}]}
            headers = {"Authorization": "Bearer sk-bench"}
            times: dict[str, list[float]] = {}
            for mode in ("plain", "stream_first_chunk", "stream_whole"):
                for name in routes:
                    times[f"{mode}/{name}"] = []
            for i in range(args.calls + 20):  # the first 20 warm both routes up
                for name, client in clients.items():
                    start = time.perf_counter()
                    client.post("/chat/completions", json=body, headers=headers).read()
                    plain = time.perf_counter() - start
                    start = time.perf_counter()
                    with client.stream("POST", "/chat/completions", json={**body, "stream": True},
                                       headers=headers) as response:
                        chunks = response.iter_raw()
                        next(chunks)
                        first = time.perf_counter() - start
                        for _ in chunks:
                            pass
                    whole = time.perf_counter() - start
                    if i >= 20:
                        times[f"plain/{name}"].append(plain)
                        times[f"stream_first_chunk/{name}"].append(first)
                        times[f"stream_whole/{name}"].append(whole)
            stats = {key: _percentiles(values) for key, values in times.items()}
            added = {
                mode: {
                    "p50_ms": round(stats[f"{mode}/proxy"]["p50_ms"] - stats[f"{mode}/direct"]["p50_ms"], 3),
                    "p99_ms": round(stats[f"{mode}/proxy"]["p99_ms"] - stats[f"{mode}/direct"]["p99_ms"], 3),
                }
                for mode in ("plain", "stream_first_chunk", "stream_whole")
            }
            expected = 2 * (args.calls + 20)  # the proxied plain and streamed calls
            deadline = time.monotonic() + 30
            while True:  # finished calls are recorded together, a moment later
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as answer:
                    recorded = json.loads(answer.read())["spans"]
                if recorded >= expected or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            print(json.dumps({"calls": args.calls, "routes": stats, "added_by_proxy": added,
                              "spans_recorded": recorded, "load": os.getloadavg()[0]}, indent=2))
        finally:
            server.terminate()
            server.wait(30)
            upstream.terminate()
            upstream.wait(10)


if __name__ == "__main__":
    main()
