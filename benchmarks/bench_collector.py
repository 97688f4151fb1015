#!/usr/bin/env python3
"""In-process collector benchmark: the shared workload's spans through ``workbench.register``.

The shared workload (``../shared/bench/workload.py``: 4-span RAG traces with a 384-d vector,
5 documents and chat messages) is run through the real OpenTelemetry SDK into the in-process
collector writing a fresh database file, and the script prints, as JSON:

* ``spans_per_s``: spans ended and committed per second of wall time (from the first span
  started until ``force_flush`` returns, so conversion, the pipeline and the writer are all in);
* ``cpu_us_per_span``: this process's CPU time per span over the same interval;
* the same with outcome sampling on (``--sampling`` rate, default 0.1), where the pipeline also
  holds traces until they are decided.

    python benchmarks/bench_collector.py [--traces 5000] [--rounds 3] [--bench-dir ../shared/bench]

Run it from a checkout with ``PYTHONPATH=$PWD`` to measure that checkout's code; on a shared
machine compare the CPU figure and alternate the checkouts.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _round(workload, work: Path, traces: int, sampling: float | None, number: int) -> dict:
    import workbench

    db = work / f"collector-{sampling}-{number}.duckdb"
    provider = workbench.register("bench", db=db, set_global=False, sampling=sampling)
    tracer = provider.get_tracer("workload")
    rng = random.Random(42)
    text = workload.TextGen(rng)
    t_ns = time.time_ns() - traces * 100_000_000 - 60 * 10**9
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(traces):
        t_ns += 100_000_000
        workload.emit_trace(tracer, rng, text, t_ns, i)
    provider.force_flush(600_000)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    provider.shutdown()
    spans = traces * workload.SPANS_PER_TRACE
    reader = workbench.open(db)
    stored = reader.count()
    reader.close()
    return {"spans": spans, "stored": stored, "spans_per_s": round(spans / elapsed, 1),
            "cpu_us_per_span": round(cpu / spans * 1e6, 1)}


def _summary(rounds: list[dict]) -> dict:
    rates = [r["spans_per_s"] for r in rounds]
    cpus = [r["cpu_us_per_span"] for r in rounds]
    return {"spans_per_s": {"min": min(rates), "median": statistics.median(rates), "max": max(rates)},
            "cpu_us_per_span": {"min": min(cpus), "median": statistics.median(cpus), "max": max(cpus)},
            "stored": [r["stored"] for r in rounds]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traces", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sampling", type=float, default=0.1)
    parser.add_argument("--bench-dir", type=Path, default=ROOT.parent / "shared" / "bench")
    args = parser.parse_args()
    sys.path.insert(0, str(args.bench_dir))
    import workload

    work = Path(tempfile.mkdtemp(prefix="workbench-bench-collector-"))
    try:
        _round(workload, work, 200, None, -1)  # imports and first-use costs
        plain, sampled = [], []
        for number in range(args.rounds):  # alternate, so a slow minute costs both alike
            plain.append(_round(workload, work, args.traces, None, number))
            sampled.append(_round(workload, work, args.traces, args.sampling, number))
        print(json.dumps({"traces": args.traces, "all_kept": _summary(plain),
                          f"sampling_{args.sampling}": _summary(sampled)}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
