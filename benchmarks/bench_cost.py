#!/usr/bin/env python3
"""Cost benchmark: cost by model per hour over one million spans, priced when queried.

Builds a store of ``--spans`` spans (a quarter of them trace roots, the rest LLM calls to
eight models, one of them unpriced, over 30 days) straight from Arrow, then times
``workbench.analysis.cost.cost_by(reader, by="model", every="hour")``: the distinct
(model, provider, day) keys priced through the shipped table, the join and the sums, into a
pandas DataFrame. The first call (cold: the price table is read and its patterns compiled)
is reported apart from the best and the median of the warm ones, with the CPU time they
took (all threads) and the machine's load, since others' work slows the wall clock. Target:
under 200 ms.

    python benchmarks/bench_cost.py [--spans 1000000] [--runs 7]

It prints one JSON document.
"""

from __future__ import annotations

import argparse
import binascii
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.analysis.cost import cost_by
from workbench.query import Reader
from workbench.store import TABLES, Store

MODELS = [
    ("gpt-4o-2024-08-06", "openai"),
    ("gpt-4o-mini", "openai"),
    ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "aws.bedrock"),
    ("claude-sonnet-4-5", "anthropic"),
    ("gemini-2.0-flash", "google"),
    ("mistral-large-latest", "mistralai"),
    ("text-embedding-3-small", "openai"),
    ("homegrown-7b", None),  # no price: its calls stay unpriced
]
TARGET_MS = 200.0


def _hex(values: np.ndarray, width: int) -> pa.Array:
    """Lowercase hex ids of ``width`` characters (16 or 32), without a Python loop."""
    words = values.astype(">u8").reshape(-1, 1)
    if width == 32:
        words = np.hstack([np.zeros_like(words), words])
    text = binascii.hexlify(words.tobytes())
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(values), [None, pa.py_buffer(text)])
    return fixed.cast(pa.binary()).cast(pa.string())


def make_spans(count: int, seed: int = 0) -> pa.Table:
    """``count`` spans as an Arrow table with the store's schema."""
    rng = np.random.default_rng(seed)
    schema = TABLES["spans"].arrow_schema
    index = np.arange(count, dtype=np.int64)
    root = index % 4 == 0
    trace = index // 4
    model = rng.integers(0, len(MODELS), count)
    end_us = 1_767_225_600_000_000  # 2026-01-01T00:00Z
    start = np.repeat(end_us - rng.integers(0, 30 * 86_400_000_000, (count + 3) // 4), 4)[:count] + index % 4 * 1000
    names = np.array([m for m, _ in MODELS], dtype=object)
    providers = np.array([p for _, p in MODELS], dtype=object)
    prompt = rng.integers(50, 6000, count)
    columns = {field.name: pa.nulls(count, field.type) for field in schema}
    columns.update(
        trace_id=_hex(trace, 32),
        span_id=_hex(index + 1, 16),
        parent_span_id=pa.array(np.where(root, None, _hex(trace * 4 + 1, 16).to_numpy(zero_copy_only=False))),
        name=pa.array(np.where(root, "request", "ChatCompletion").astype(object)),
        span_kind=pa.array(np.where(root, "CHAIN", "LLM").astype(object)),
        start_time=pa.array(start, pa.timestamp("us", tz="UTC")),
        end_time=pa.array(start + 800_000, pa.timestamp("us", tz="UTC")),
        latency_ms=pa.array(np.full(count, 800.0)),
        status_code=pa.array(np.full(count, "OK", dtype=object)),
        project=pa.array(np.full(count, "bench", dtype=object)),
        model_name=pa.array(np.where(root, None, names[model])),
        provider=pa.array(np.where(root, None, providers[model])),
        prompt_tokens=pa.array(np.where(root, None, prompt), pa.int64()),
        completion_tokens=pa.array(np.where(root, None, rng.integers(1, 900, count)), pa.int64()),
        cache_read_tokens=pa.array(np.where(root, None, (rng.random(count) < 0.3) * (prompt // 2)), pa.int64()),
        prompt_includes_cache=pa.array(np.where(root, None, model != 3)),
    )
    return pa.table([columns[f.name] for f in schema], schema=schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cost.duckdb"
        began = time.perf_counter()
        table = make_spans(args.spans)
        made = time.perf_counter()
        with Store(path) as store:
            assert store.writer is not None
            store.writer.submit_rows("spans", table).result(600)
        written = time.perf_counter()

        reader = Reader(Store(path, read_only=True))
        try:
            timings, cpu = [], []
            for _ in range(args.runs + 1):
                start, start_cpu = time.perf_counter(), time.process_time()
                frame = cost_by(reader, by="model", every="hour")
                timings.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
        finally:
            reader.close()

    cold, warm = timings[0], timings[1:]
    print(json.dumps({
        "benchmark": "cost by model per hour",
        "spans": args.spans,
        "calls": int(frame["calls"].sum()),
        "rows": len(frame),
        "unpriced_calls": int(frame["unpriced_calls"].sum()),
        "generate_s": round(made - began, 2),
        "write_s": round(written - made, 2),
        "cold_ms": round(cold, 1),
        "best_ms": round(min(warm), 1),
        "median_ms": round(statistics.median(warm), 1),
        # All threads; wall time rises when others share the cores.
        "median_cpu_ms": round(statistics.median(cpu[1:]), 1),
        "load_average": round(os.getloadavg()[0], 2),
        "target_ms": TARGET_MS,
        "within_target": statistics.median(warm) < TARGET_MS,
    }, indent=2))


if __name__ == "__main__":
    main()
