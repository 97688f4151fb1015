#!/usr/bin/env python3
"""``/metrics`` at a million spans: what counting costs at ingest, and what a scrape costs.

The counters are kept as spans arrive (``Metrics.observe`` on each batch the receiver
stores), so a scrape renders the series it holds and never reads the store. This measures:

* ingest: a million spans in 512-span Arrow batches (the OTLP exporter's batch size) through
  ``Metrics.observe``: 20 models x 3 providers x 5 projects x 4 kinds, 2% errors, TTFT on
  half the LLM spans; microseconds per span;
* scrape: ``Metrics.render()`` afterwards (the text Prometheus reads): milliseconds and bytes;
* the road not taken: the same figures computed by scanning the spans at scrape time, one
  DuckDB GROUP BY over the million rows in memory (a lower bound for a store on disk).

Run by hand (about a minute):

    python benchmarks/bench_metrics.py [--spans 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from types import SimpleNamespace

import numpy as np
import pyarrow as pa

from workbench.server.metrics import Metrics


def _batch(rng: np.random.Generator, n: int) -> pa.Table:
    models = np.array([f"gpt-4o-mini-{i}" if i else "gpt-4o-mini" for i in range(20)], dtype=object)
    kinds = np.array(["LLM", "CHAIN", "RETRIEVER", "TOOL"], dtype=object)
    kind = kinds[rng.integers(0, 4, n)]
    llm = kind == "LLM"
    ttft = np.where(llm & (rng.random(n) < 0.5), rng.gamma(2, 150, n), np.nan)
    return pa.table({
        "model_name": pa.array(np.where(llm, models[rng.integers(0, 20, n)], None)),
        "provider": pa.array(np.where(llm, np.array(["openai", "anthropic", "bedrock"], dtype=object)[
            rng.integers(0, 3, n)], None)),
        "project": pa.array(np.array([f"project-{i}" for i in range(5)], dtype=object)[rng.integers(0, 5, n)]),
        "span_kind": pa.array(kind),
        "status_code": pa.array(np.where(rng.random(n) < 0.02, "ERROR", "OK")),
        "latency_ms": pa.array(rng.gamma(2, 400, n)),
        "time_to_first_token_ms": pa.array(ttft, from_pandas=True),
        "prompt_tokens": pa.array(np.where(llm, rng.integers(50, 5000, n), None)),
        "completion_tokens": pa.array(np.where(llm, rng.integers(5, 800, n), None)),
        "cache_read_tokens": pa.array(np.where(llm, rng.integers(0, 40, n), None)),
        "cache_write_tokens": pa.array([None] * n, pa.int64()),
        "reasoning_tokens": pa.array([None] * n, pa.int64()),
        "prompt_includes_cache": pa.array(np.where(llm, True, None)),
        "client_cost": pa.array([None] * n, pa.float64()),
        "start_time": pa.array(np.full(n, np.datetime64("2026-12-01T12:00:00", "us")), pa.timestamp("us", "UTC")),
        "attributes": pa.array(['{"error.type": "rate_limit_exceeded"}'] * n),
        "events": pa.array(["[]"] * n),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    size = 512
    batches = [_batch(rng, size) for _ in range(64)]  # reused in turn: building them is not measured
    metrics = Metrics()
    metrics.render()  # loads prometheus_client's exposition code
    n_batches = args.spans // size
    started = time.perf_counter()
    for i in range(n_batches):
        metrics.observe(SimpleNamespace(spans=batches[i % len(batches)]))  # type: ignore[arg-type]
    ingest_s = time.perf_counter() - started
    scrapes = []
    for _ in range(20):
        start = time.perf_counter()
        text = metrics.render()
        scrapes.append(time.perf_counter() - start)
    scrapes.sort()

    import duckdb

    every = pa.concat_tables(batches[i % len(batches)] for i in range(n_batches))
    con = duckdb.connect()
    con.register("spans", every)
    query = """
        SELECT model_name, provider, project, span_kind, count(*), sum(prompt_tokens), sum(completion_tokens),
               sum(cache_read_tokens), count(*) FILTER (WHERE status_code = 'ERROR'),
               histogram(CASE WHEN latency_ms < 250 THEN 0 WHEN latency_ms < 1000 THEN 1 ELSE 2 END)
        FROM spans GROUP BY ALL
    """
    con.execute(query).fetchall()
    scans = []
    for _ in range(5):
        start = time.perf_counter()
        con.execute(query).fetchall()
        scans.append(time.perf_counter() - start)
    scans.sort()
    print(json.dumps({
        "spans": n_batches * size,
        "ingest_us_per_span": round(ingest_s / (n_batches * size) * 1e6, 2),
        "ingest_ms_per_512_span_batch": round(ingest_s / n_batches * 1000, 3),
        "scrape_ms_p50": round(scrapes[len(scrapes) // 2] * 1000, 2),
        "scrape_ms_max": round(scrapes[-1] * 1000, 2),
        "scrape_bytes": len(text),
        "series": text.count(b"\nworkbench_spans_total{"),
        "scan_at_scrape_ms_p50_duckdb_in_memory": round(scans[len(scans) // 2] * 1000, 1),
        "load": os.getloadavg()[0],
    }, indent=2))


if __name__ == "__main__":
    main()
