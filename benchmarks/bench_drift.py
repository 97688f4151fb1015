#!/usr/bin/env python3
"""Drift benchmark: projecting and clustering 2,000 points, warm, cached, and in a fresh process.

Measures, on a store in a temp file holding synthetic RAG traffic (384-dimensional vectors,
12 topics, one of them new in the primary window, 1,000 primary + 600 reference queries and
400 corpus documents: 2,000 points projected):

* ``fresh_process``: a new Python process runs one analysis with UMAP from nothing: the
  import of umap, numba's compilation, the projection and clustering (what the first look
  costs without the worker's warm-up);
* ``warm``: the same analysis in a process where UMAP is compiled, cache bypassed (median
  of ``--repeat`` runs), with its stages;
* ``cached``: the analysis again after closing and re-opening the store, so the projection
  comes from the store's ``drift_cache`` table; in this process, and in a fresh one.

Run by hand (about a minute on 2 cores):

    python benchmarks/bench_drift.py [--sample] [--repeat 3]

``--sample`` uses the shipped sample (last 7 days against the 14 before) instead. It prints
one JSON document; benchmarks/README.md records the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
SPLIT = START + dt.timedelta(days=14)
END = START + dt.timedelta(days=21)


def make_store(path: Path, *, seed: int = 0) -> None:
    """Write the synthetic traffic and corpus into a new store at ``path``."""
    import numpy as np

    from workbench.model import Document, Embedding, Span, SpanKind
    from workbench.store import Store

    rng = np.random.default_rng(seed)
    dims, topics = 384, 12
    centres = rng.normal(size=(topics, dims))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def around(topic: int) -> np.ndarray:
        v = centres[topic] + rng.normal(0, 0.04, dims)
        return (v / np.linalg.norm(v)).astype(np.float32)

    corpus_topics = rng.integers(0, topics - 1, 400)  # the last topic has no documents
    corpus = np.stack([around(t) for t in corpus_topics])
    corpus_ids = [f"doc-{i}" for i in range(len(corpus))]
    spans: list[Span] = []

    def trace(n: int, when: dt.datetime, topic: int) -> None:
        vector = around(topic)
        sims = corpus @ vector
        top = np.argsort(-sims)[:5]
        base = int(when.timestamp() * 1e9)
        ids = [f"{(n << 8) + k + 1:016x}" for k in range(3)]
        tid = f"{n + 1:032x}"
        common = {"trace_id": tid, "start_time_ns": base, "end_time_ns": base + 800_000_000, "project": "bench"}
        spans.extend([
            Span(span_id=ids[0], parent_span_id=None, name="rag", span_kind=SpanKind.CHAIN, **common),
            Span(span_id=ids[1], parent_span_id=ids[0], name="retrieve", span_kind=SpanKind.RETRIEVER,
                 documents=tuple(Document(i, corpus_ids[j], None, float(sims[j])) for i, j in enumerate(top)),
                 **common),
            Span(span_id=ids[2], parent_span_id=ids[1], name="embed_query", span_kind=SpanKind.EMBEDDING,
                 embeddings=(Embedding(0, f"question on topic {topic}", tuple(vector.tolist()), "bench"),),
                 **common),
        ])

    n = 0
    for count, (lo, hi), new_share in ((600, (START, SPLIT), 0.0), (1000, (SPLIT, END), 0.25)):
        seconds = (hi - lo).total_seconds()
        for i in range(count):
            topic = topics - 1 if rng.random() < new_share else int(rng.integers(0, topics - 1))
            trace(n, lo + dt.timedelta(seconds=seconds * i / count), topic)
            n += 1
    with Store(path) as store:
        store.write(spans)
        store.load_corpus([{"id": i, "text": i, "vector": v.tolist()} for i, v in zip(corpus_ids, corpus)])


def windows(sample: bool) -> tuple[object, object]:
    from workbench.drift import Window

    if sample:
        return Window(start="7d"), Window(start="21d", end="7d")
    return Window(start=SPLIT, end=END), Window(start=START, end=SPLIT)


def analyze_once(db: str, sample: bool, *, cache: str) -> dict:
    """One analysis; ``cache`` is ``"store"`` or ``"none"``. Returns timings and a summary."""
    began = time.perf_counter()
    from workbench.drift import MemoryCache, StoreCache, analyze
    from workbench.query import Reader
    from workbench.store import Store

    imported = time.perf_counter() - began
    with Store(db) as store:
        reader = Reader(store)
        primary, reference = windows(sample)
        mark = time.perf_counter()
        result = analyze(reader, primary, reference, cache=StoreCache(store) if cache == "store" else MemoryCache())
        seconds = time.perf_counter() - mark
    top = result.clusters.iloc[0]
    return {"seconds": round(seconds, 3), "import_s": round(imported, 3), "cached": result.cached,
            "points": len(result.points), "clusters": int(result.clusters["rank"].notna().sum()),
            "timings": {k: round(v, 3) for k, v in result.timings.items()},
            "top_cluster": {"primary": int(top["primary"]), "reference": int(top["reference"]),
                            "corpus": int(top["corpus"]), "drift_ratio": round(float(top["drift_ratio"]), 3),
                            "coverage_gap": bool(top["coverage_gap"]), "example": top["example"]}}


def in_fresh_process(db: str, sample: bool, cache: str) -> dict:
    code = (f"import json, sys, time; t = time.perf_counter(); sys.path.insert(0, {str(ROOT)!r}); "
            "from benchmarks.bench_drift import analyze_once; "
            f"r = analyze_once({db!r}, {sample!r}, cache={cache!r}); "
            "r['process_s'] = round(time.perf_counter() - t, 3); print(json.dumps(r))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", action="store_true", help="use the shipped sample instead of synthetic data")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs to take the median of")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.duckdb")
        if args.sample:
            from workbench.sample import load_sample
            from workbench.store import Store

            with Store(db) as store:
                load_sample(store)
        else:
            make_store(Path(db))

        report: dict[str, object] = {"data": "sample" if args.sample else "synthetic"}
        # 1. A fresh process: import, compilation, projection, clustering.
        report["fresh_process"] = in_fresh_process(db, args.sample, "none")

        # 2. Warm, in this process.
        from workbench.drift import warm_up

        report["warm_up_s"] = round(warm_up(), 3)
        runs = [analyze_once(db, args.sample, cache="none") for _ in range(args.repeat)]
        report["warm"] = {**runs[-1], "seconds": round(statistics.median(r["seconds"] for r in runs), 3),
                          "runs": [r["seconds"] for r in runs]}

        # 3. Cached: fill the store's cache, then re-open the store and look again.
        analyze_once(db, args.sample, cache="store")
        runs = [analyze_once(db, args.sample, cache="store") for _ in range(args.repeat)]
        assert all(r["cached"] for r in runs)
        report["cached"] = {**runs[-1], "seconds": round(statistics.median(r["seconds"] for r in runs), 3),
                            "runs": [r["seconds"] for r in runs]}
        report["cached_fresh_process"] = in_fresh_process(db, args.sample, "store")
        print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
