#!/usr/bin/env python3
"""Guard benchmark: what the host, origin, token and content-type checks cost each request.

Times :meth:`workbench.server.security.Access.check` alone on three requests (a loopback
GET, a GET from a page of the server's own origin, an OTLP POST with a bearer token to a
server on every interface), then ``GET /api/health`` over one keep-alive connection to a
real server on 127.0.0.1 with and without a token, for scale.

    python benchmarks/bench_guard.py [--calls 200000] [--requests 2000]

It prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import timeit
from pathlib import Path

from tornado import httputil

from workbench.server.security import Access


def _request(method: str, path: str, headers: dict[str, str]) -> httputil.HTTPServerRequest:
    return httputil.HTTPServerRequest(
        start_line=httputil.RequestStartLine(method, path, "HTTP/1.1"), headers=httputil.HTTPHeaders(headers),
        connection=None,
    )


def check_cost(calls: int) -> dict[str, float]:
    """Microseconds per ``check`` call, best of three rounds."""
    token = "t" * 32
    loopback = Access("127.0.0.1", 4318, frozenset(), frozenset(), None)
    everywhere = Access("0.0.0.0", 4318, frozenset({"myhost"}), frozenset(), token)
    cases = {
        "loopback GET /api/spans": (loopback, _request("GET", "/api/spans?limit=5", {"Host": "127.0.0.1:4318"})),
        "own-origin POST /api/annotations": (loopback, _request("POST", "/api/annotations", {
            "Host": "localhost:4318", "Origin": "http://localhost:4318", "Content-Type": "application/json"})),
        "token POST /v1/traces": (everywhere, _request("POST", "/v1/traces", {
            "Host": "myhost:4318", "Authorization": f"Bearer {token}", "Content-Type": "application/x-protobuf"})),
    }
    out = {}
    for name, (access, request) in cases.items():
        assert access.check(request) is None, name
        best = min(timeit.repeat(lambda access=access, request=request: access.check(request), number=calls, repeat=3))
        out[name] = round(best / calls * 1e6, 2)
    return out


def end_to_end(requests_n: int) -> dict[str, float]:
    """Requests per second of ``GET /api/health`` over one connection, without and with a token."""
    import requests

    from workbench.server import Server
    from workbench.store import Store

    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, token in (("no token", None), ("token", "t" * 32)):
            store = Store(Path(folder) / f"{label}.duckdb")
            server = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0, token=token).start()
            session = requests.Session()
            if token:
                session.headers["Authorization"] = f"Bearer {token}"
            try:
                assert session.get(server.url + "/api/health", timeout=10).ok
                started = time.perf_counter()
                for _ in range(requests_n):
                    session.get(server.url + "/api/health", timeout=10)
                out[label] = round(requests_n / (time.perf_counter() - started))
            finally:
                server.stop()
                store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args()
    print(json.dumps({
        "check_us": check_cost(args.calls),
        "health_requests_per_s": end_to_end(args.requests),
        "load_avg": os.getloadavg()[0],
    }, indent=2))


if __name__ == "__main__":
    main()
