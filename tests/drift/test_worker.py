"""The background worker, with the PCA projector (no compilation to wait for)."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from tests.drift import scenario
from tests.helpers import wait_for
from workbench.drift import DriftWorker, MemoryCache, PCAProjector, Window, analyze
from workbench.errors import NotFoundError

PRIMARY = Window(start=scenario.PRIMARY_FROM, end=scenario.END)
REFERENCE = Window(start=scenario.START, end=scenario.PRIMARY_FROM)


def test_a_job_reports_progress_and_returns_the_analysis(reader):
    stages = []
    with DriftWorker(reader, warm=False, cache=MemoryCache(), on_progress=lambda j: stages.append(j.stage)) as worker:
        job = worker.submit(PRIMARY, REFERENCE, projector=PCAProjector())
        result = job.result(timeout=60)
        assert job.state == "done" and job.fraction == 1.0
        assert stages[0] == "reading embeddings" and stages[-1] == "done"
        assert "projecting" in stages and "clustering" in stages
        again = worker.submit(PRIMARY, REFERENCE, projector=PCAProjector()).result(timeout=60)
    assert again.cached
    expected = analyze(reader, PRIMARY, REFERENCE, projector=PCAProjector(), cache=MemoryCache())
    pd.testing.assert_frame_equal(result.clusters, expected.clusters)


def test_submit_never_blocks_and_replace_cancels_what_is_queued(reader):
    gate = threading.Event()

    class Slow(PCAProjector):
        def fit_transform(self, X):
            gate.wait(30)
            return super().fit_transform(X)

    with DriftWorker(reader, warm=False, cache=MemoryCache()) as worker:
        running = worker.submit(PRIMARY, REFERENCE, projector=Slow())
        wait_for(lambda: running.stage == "projecting")
        page, other = object(), object()
        queued = worker.submit(PRIMARY, REFERENCE, projector=PCAProjector(3), owner=page)
        others = worker.submit(PRIMARY, REFERENCE, projector=PCAProjector(3), owner=other)
        latest = worker.submit(PRIMARY, REFERENCE, projector=PCAProjector(), replace=True, owner=page)
        assert queued.state == "cancelled" and queued.done()
        assert [j.id for j in worker.jobs()] == [running.id, others.id, latest.id]  # another page's job stays
        gate.set()
        assert others.result(timeout=60).points.shape[1] > 0
        assert not running.result(timeout=60).cached
        assert latest.result(timeout=60).points.shape[0] == 520


def test_a_failing_job_carries_its_error(reader):
    with DriftWorker(reader, warm=False, cache=MemoryCache()) as worker:
        job = worker.submit(Window(project="elsewhere"), projector=PCAProjector())
        with pytest.raises(NotFoundError, match="has no embeddings"):
            job.result(timeout=60)
        assert job.state == "failed" and "has no embeddings" in job.stage
        # The worker goes on.
        assert worker.submit(PRIMARY, REFERENCE, projector=PCAProjector()).result(timeout=60)


def test_the_shared_worker_is_one_per_store(reader):
    from workbench.query import Reader

    first = DriftWorker.shared(reader, warm=False)
    try:
        assert DriftWorker.shared(Reader(reader.store)) is first
        assert first.jobs() == []
    finally:
        first.stop()
    second = DriftWorker.shared(reader, warm=False)
    assert second is not first  # a stopped worker is not handed out again
    second.stop()
