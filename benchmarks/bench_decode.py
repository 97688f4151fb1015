#!/usr/bin/env python3
"""Decode benchmark: what one decode worker does per request, timed in this process.

The server's ingest rate is bounded by its decode workers (protobuf -> spans -> Arrow), so a
change on the decode path shows here first and without the noise of HTTP, DuckDB and other
processes. It decodes recorded OTLP protobuf request bodies (``replay.py record`` of the shared
workload, 512 spans each) with :func:`workbench.server.decode.decode_body`, the garbage
collector paused as in a worker, and prints spans per second of wall time and per second of
this process's CPU time, per round and their median, as JSON. On a shared machine the CPU
figure is the one to compare: other processes slow the wall clock, not the work done.

    python benchmarks/bench_decode.py [--traces 2500] [--rounds 7] [--bench-dir ../shared/bench]

Run it from a checkout with ``PYTHONPATH=$PWD`` to measure that checkout's code.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bodies(bench_dir: Path, traces: int) -> list[bytes]:
    recorded = Path(tempfile.gettempdir()) / f"workbench-bench-decode-{traces}"
    if not (recorded / "meta.json").exists():
        subprocess.run([sys.executable, str(bench_dir / "replay.py"), "record", "--traces", str(traces),
                        "--out", str(recorded)], check=True, cwd=bench_dir, stdout=subprocess.DEVNULL)
    return [path.read_bytes() for path in sorted(recorded.glob("*.pb"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traces", type=int, default=2500)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--bench-dir", type=Path, default=ROOT.parent / "shared" / "bench")
    args = parser.parse_args()

    from workbench.server.decode import decode_body

    bodies = _bodies(args.bench_dir, args.traces)
    decode_body(bodies[0], "application/x-protobuf", "bench", None, None)  # imports, first-use costs
    rates, cpu_rates = [], []
    for _ in range(args.rounds):
        spans = 0
        gc.disable()
        t0, c0 = time.perf_counter(), time.process_time()
        for body in bodies:
            spans += decode_body(body, "application/x-protobuf", "bench", None, None).spans
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        gc.enable()
        rates.append(spans / elapsed)
        cpu_rates.append(spans / cpu)
    print(json.dumps({
        "code": str(Path(sys.modules["workbench"].__file__).parent),
        "requests": len(bodies),
        "spans_per_round": spans,
        "decode_spans_per_s": {"median": round(statistics.median(rates)), "max": round(max(rates)),
                               "min": round(min(rates))},
        "decode_spans_per_cpu_s": {"median": round(statistics.median(cpu_rates)), "max": round(max(cpu_rates)),
                                   "min": round(min(cpu_rates))},
        "all": [round(rate) for rate in rates],
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
