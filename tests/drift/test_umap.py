"""UMAP itself: few, small tests, since its numba compilation takes seconds per process."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pandas as pd
import pytest

from tests.drift import scenario
from workbench.drift import DriftWorker, MemoryCache, UMAPProjector, Window, analyze, projection
from workbench.read import Reader

PRIMARY = Window(start=scenario.PRIMARY_FROM, end=scenario.END)
REFERENCE = Window(start=scenario.START, end=scenario.PRIMARY_FROM)


def test_a_missing_umap_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(ImportError, match=r"pip install 'llm-trace-workbench\[drift\]'"):
        UMAPProjector().fit_transform(np.zeros((20, 4), np.float32))


def test_the_worker_compiles_umap_at_start_and_jobs_wait_for_it(reader):
    pytest.importorskip("umap")
    was_warm = projection.is_warm()
    stages = []
    with DriftWorker(reader, cache=MemoryCache(), on_progress=lambda j: stages.append(j.stage)) as worker:
        job = worker.submit(PRIMARY, REFERENCE)
        result = job.result(timeout=300)
        assert worker.warm and worker.warm_error is None
    if not was_warm:
        assert "compiling UMAP (first use in this process)" in stages
        assert worker.warm_seconds > 0
    assert result.projector["projector"] == "umap"


def test_umap_finds_the_planted_topic_and_repeats_itself(reader, drift_scenario):
    pytest.importorskip("umap")
    first = analyze(reader, PRIMARY, REFERENCE, cache=MemoryCache())
    second = analyze(reader, PRIMARY, REFERENCE, cache=MemoryCache())
    assert not second.cached
    pd.testing.assert_frame_equal(first.points, second.points)  # seeded: the same layout every time
    top = first.clusters.iloc[0]
    topics = first.cluster_queries(int(top["cluster"]))["point_id"].map(drift_scenario.query_topic)
    assert (topics == scenario.NEW_TOPIC).mean() >= 0.95
    assert top["drift_ratio"] > 0.9 and top["coverage_gap"]


def test_tiny_inputs_and_three_dimensions():
    pytest.importorskip("umap")
    assert UMAPProjector(n_components=3).fit_transform(np.eye(3, dtype=np.float32)).shape == (3, 3)
    rng = np.random.default_rng(1)
    coords = UMAPProjector(n_components=3, n_neighbors=5).fit_transform(rng.normal(size=(40, 8)))
    assert coords.shape == (40, 3) and coords.dtype == np.float32 and np.isfinite(coords).all()


def test_a_store_without_embeddings_does_not_compile_umap_until_a_job_needs_it(store):
    # Compiling takes 10-45 s of CPU in the user's process (a notebook's kernel, the server
    # behind the app): a store with nothing to project must not pay it by opening the Drift page.
    pytest.importorskip("umap")
    def compiling() -> set[int | None]:
        return {t.ident for t in threading.enumerate() if t.name == "workbench-drift-warm"}

    before = compiling()
    with DriftWorker(Reader(store), cache=MemoryCache()) as worker:
        assert compiling() - before == set() and not worker.warm
        assert worker.wait_warm(timeout=300) and worker.warm_error is None  # on need, it compiles
