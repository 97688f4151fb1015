"""How fast the trace list reads when some traces lost their root. Run by hand; prints figures.

    python benchmarks/bench_traces.py [--spans 1000000] [--rootless 0.01] [--repeat 5] [--keep DIR]

Makes the spans of ``bench_app.py`` (100,000 traces of ten spans), then removes the root span
of a share of the traces (``--rootless``) and gives as many others a second parentless span,
imports them into a fresh store and times the read API under the Traces page: counting the
traces, the first page sorted by start, latency and cost, and a filtered page, each with a
reader that has read before and (the first two) with a new one. The same figures for the
store without those traces are printed first, for comparison.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_app import SPANS_PER_TRACE, make_spans

from workbench.query import Reader
from workbench.store import Store


def timed(label: str, func: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    median = statistics.median(times) * 1000
    print(f"  {label:<48} {median:8.0f} ms  (best {min(times) * 1000:.0f})")
    return median


def damaged(table: pa.Table, share: float, seed: int = 11) -> tuple[pa.Table, int, int]:
    """``table`` with the roots of ``share`` of its traces removed, and as many traces given a second root."""
    rng = np.random.default_rng(seed)
    roots = table.filter(pc.is_null(table.column("parent_span_id")))
    ids = np.array(roots.column("trace_id").to_pylist())
    chosen = rng.choice(len(ids), size=2 * max(1, int(len(ids) * share)), replace=False)
    lose, twice = set(ids[chosen[: len(chosen) // 2]]), ids[chosen[len(chosen) // 2:]]
    keep = pc.invert(pc.and_(pc.is_null(table.column("parent_span_id")),
                             pc.is_in(table.column("trace_id"), pa.array(sorted(lose)))))
    kept = table.filter(keep)
    second = roots.filter(pc.is_in(roots.column("trace_id"), pa.array(twice)))
    span_ids = pa.array([f"{int(v):016x}" for v in rng.integers(1, 2**62, second.num_rows)])
    second = second.set_column(second.schema.get_field_index("span_id"), "span_id", span_ids)
    return pa.concat_tables([kept, second]), len(lose), len(twice)


def figures(reader: Reader, repeat: int) -> None:
    # A new reader finds the traces without exactly one root again; a reader that has
    # answered since the last write reuses what it found.
    timed("count_traces(), a new reader", lambda: Reader(reader.store).count_traces(), repeat)
    timed("traces(limit=50), newest first, a new reader", lambda: Reader(reader.store).traces(limit=50), repeat)
    timed("count_traces()", reader.count_traces, repeat)
    timed("traces(limit=50), newest first", lambda: reader.traces(limit=50), repeat)
    timed("traces(limit=50), slowest first", lambda: reader.traces(order_by="latency_ms", limit=50), repeat)
    timed("traces(limit=50), costliest first", lambda: reader.traces(order_by="cost", limit=50), repeat)
    timed("traces('status_code == \"ERROR\"', limit=50)",
          lambda: reader.traces("status_code == 'ERROR'", limit=50), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--rootless", type=float, default=0.01, help="Share of traces whose root is removed.")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", help="Keep the stores in this folder (and reuse them when there).")
    args = parser.parse_args()

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="wb-bench-traces-"))
    folder.mkdir(parents=True, exist_ok=True)
    whole_db, damaged_db = folder / "whole.duckdb", folder / "damaged.duckdb"
    if not (whole_db.exists() and damaged_db.exists()):
        table, _ = make_spans(max(1, args.spans // SPANS_PER_TRACE), big_trace=1)
        broken, lost, twice = damaged(table, args.rootless)
        print(f"made {table.num_rows:,} spans; removed {lost:,} roots, gave {twice:,} traces a second root")
        for db, rows in ((whole_db, table), (damaged_db, broken)):
            parquet = folder / "spans.parquet"
            pq.write_table(rows, parquet)
            with Store(db) as store:
                store.import_parquet(parquet)
            parquet.unlink()
    for label, db in (("every trace whole", whole_db), (f"{args.rootless:.1%} without a root", damaged_db)):
        with Store(db) as store:
            reader = Reader(store)
            listed = reader.traces(limit=None, arrow=True)
            rootless = (f"{int(listed.column('root_missing').to_numpy().sum()):,}"
                        if "root_missing" in listed.column_names else "none")  # older code: not listed
            print(f"{label}: {store.counts()['spans']:,} spans, {listed.num_rows:,} trace rows, "
                  f"{rootless} listed without their root")
            figures(reader, args.repeat)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
