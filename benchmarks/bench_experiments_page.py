"""The Experiments page and the playground's core, timed on the sample.

    python benchmarks/bench_experiments_page.py --repeat 5

Prints JSON: the median milliseconds the Experiments page takes to read what it shows (the
datasets, the experiments of the sample's dataset with their pass rates and scores, and the
two prompts compared example by example) and to draw it as HTML; and, against a local
stand-in endpoint streaming a 40-word answer, the milliseconds from the request to the first
piece and to the recorded run (``workbench.playground.run``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from tests.evals.standin import StandIn
    from workbench.app.experiments import ExperimentsView
    from workbench.playground import ChatRequest, run
    from workbench.query import Reader
    from workbench.store import Store

    folder = Path(tempfile.mkdtemp())
    store = Store(folder / "sample.duckdb")
    store.import_parquet(ROOT / "sample_data" / "traces")
    reader = Reader(store)
    view = ExperimentsView(reader, dataset="support-bad-answers", compare="support-prompt-v2,support-prompt-v1")
    view.__panel__()
    reads, draws = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        data = view.query()
        reads.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        view._show(data)
        draws.append((time.perf_counter() - start) * 1000)

    firsts, totals = [], []
    question = " ".join(f"word{i}" for i in range(38))
    with StandIn() as standin:
        for _ in range(args.repeat):
            start = time.perf_counter()
            first: list[float] = []

            def note(_: str, seen: list[float] = first) -> None:
                if not seen:
                    seen.append(time.perf_counter())

            run(store, ChatRequest([{"role": "user", "content": question}], "m1"), base_url=standin.url, on_piece=note)
            totals.append((time.perf_counter() - start) * 1000)
            firsts.append((first[0] - start) * 1000)
    store.close()
    print(json.dumps({
        "experiments_page_read_ms": round(statistics.median(reads), 1),
        "experiments_page_draw_ms": round(statistics.median(draws), 1),
        "playground_first_piece_ms": round(statistics.median(firsts), 1),
        "playground_recorded_run_ms": round(statistics.median(totals), 1),
    }, indent=1))


if __name__ == "__main__":
    main()
