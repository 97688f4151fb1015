"""Retention on a real file: how long removing and compacting take, and what the file weighs.

Run by hand: ``python benchmarks/bench_retention.py [spans]`` (default 300,000 spans, 3 per
trace, over 30 days; 90% of them older than the 3-day limit). Prints sizes and times.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.store.test_retention import NOW, _checkpoint, _fill
from workbench.store import Store
from workbench.store.retention import Limits, Retention, apply, compact


def main() -> None:
    spans = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.duckdb"
        with Store(path) as store:
            started = time.perf_counter()
            _fill(store, project="a", traces=spans // 3, first_day=30, days=30)
            _checkpoint(store)
            print(f"filled {spans:,} spans in {time.perf_counter() - started:.1f} s: "
                  f"{os.path.getsize(path) / 2**20:.1f} MiB")
            started = time.perf_counter()
            removed = apply(store, Retention(Limits(max_age=dt.timedelta(days=3))), now=NOW)
            took = time.perf_counter() - started
            _checkpoint(store)
            print(f"removed {removed.spans:,} spans ({removed.traces:,} traces) in {took:.2f} s; "
                  f"after delete + CHECKPOINT: {os.path.getsize(path) / 2**20:.1f} MiB")
            started = time.perf_counter()
            before, after = compact(store)
            print(f"compacted {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB "
                  f"in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
