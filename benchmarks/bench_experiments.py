"""Datasets and experiments: what the sample's experiments add to loading the sample, and how
fast run_experiment gets through a dataset with a Python task.

    python benchmarks/bench_experiments.py --repeat 5 --examples 500

Prints JSON: the median seconds of ``load_sample`` into a fresh file with and without the
experiment files (the ``serve --sample`` start-up path), and runs per second of a Python
task that returns at once (the runner's own cost: a traced span, two evaluators, the writes)
at concurrency 1 and 4.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = ("datasets", "dataset_examples", "experiments", "experiment_runs")


def _load_seconds(traces: Path) -> float:
    import workbench.sample as sample
    from workbench.sample import load_sample
    from workbench.store import Store

    sample.sample_path = lambda: traces  # type: ignore[assignment]  # this checkout's files
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "s.duckdb")
        began = time.perf_counter()
        load_sample(store)
        seconds = time.perf_counter() - began
        store.close()
    return seconds


def _without_experiments(folder: Path) -> Path:
    copy = folder / "traces"
    shutil.copytree(ROOT / "sample_data" / "traces", copy)
    for name in OWN:
        shutil.rmtree(copy / name)
    for name in ("spans", "annotations"):
        (copy / name / "experiments.parquet").unlink()
    return copy


def _only_experiments(folder: Path) -> Path:
    only = folder / "only"
    for name in OWN:
        shutil.copytree(ROOT / "sample_data" / "traces" / name, only / name)
    for name in ("spans", "annotations"):
        (only / name).mkdir(parents=True)
        shutil.copy(ROOT / "sample_data" / "traces" / name / "experiments.parquet", only / name)
    return only


def _import_seconds(folder: Path) -> float:
    from workbench.store import Store

    with tempfile.TemporaryDirectory() as target:
        store = Store(Path(target) / "i.duckdb")
        began = time.perf_counter()
        store.import_parquet(folder)
        seconds = time.perf_counter() - began
        store.close()
    return seconds


def _runs_per_second(examples: int, concurrency: int) -> float:
    from workbench.experiments import Contains, ExactMatch, create_dataset, run_experiment
    from workbench.store import Store

    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "e.duckdb")
        create_dataset(store, "d", [{"input": f"q{n}", "expected": f"q{n}"} for n in range(examples)])
        began = time.perf_counter()
        run_experiment(store, "d", lambda input: input, [ExactMatch(), Contains()], concurrency=concurrency,
                       progress=False)
        seconds = time.perf_counter() - began
        store.close()
    return examples / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--examples", type=int, default=500)
    args = parser.parse_args()
    without_times, with_times = [], []
    with tempfile.TemporaryDirectory() as folder:
        bare = _without_experiments(Path(folder))
        only = _only_experiments(Path(folder))
        for _ in range(args.repeat):  # interleaved, so a busy moment hits both alike
            without_times.append(_load_seconds(bare))
            with_times.append(_load_seconds(ROOT / "sample_data" / "traces"))
        import_only = statistics.median(_import_seconds(only) for _ in range(args.repeat))
    without, with_ = statistics.median(without_times), statistics.median(with_times)
    print(json.dumps({
        "load_sample_s_without_experiments": round(without, 3),
        "load_sample_s_with_experiments": round(with_, 3),
        "added_s": round(with_ - without, 3),
        "import_of_the_experiment_files_alone_s": round(import_only, 3),
        "runs_per_s_concurrency_1": round(_runs_per_second(args.examples, 1), 1),
        "runs_per_s_concurrency_4": round(_runs_per_second(args.examples, 4), 1),
        "load_average": os.getloadavg()[0],
    }, indent=2))


if __name__ == "__main__":
    main()
