"""Named baseline sets: saved once, the same points however much data arrives later."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tests.drift import scenario
from workbench.drift import PCAProjector, Window, analyze, baselines, delete_baseline, save_baseline
from workbench.errors import ConfigError, NotFoundError, StoreError

REFERENCE = Window(start=scenario.START, end=scenario.PRIMARY_FROM)
PRIMARY = Window(start=scenario.PRIMARY_FROM, end=scenario.END)


def test_a_saved_baseline_is_the_reference_window(reader, drift_store):
    assert save_baseline(reader, "launch", REFERENCE) == 180
    assert baselines(reader)[["name", "points"]].values.tolist() == [["launch", 180]]
    by_window = analyze(reader, PRIMARY, REFERENCE, projector=PCAProjector())
    by_name = analyze(reader, PRIMARY, Window(baseline="launch"), projector=PCAProjector())
    assert by_name.counts == by_window.counts
    assert by_name.clusters.iloc[0]["drift_ratio"] == pytest.approx(1.0)
    assert by_name.key == by_window.key  # the same points: the same cached projection

    # Later traffic inside the saved time range does not change a baseline.
    late = scenario.rag_trace(9999, scenario.START + dt.timedelta(hours=1), "late", np.ones(scenario.DIMS), [])
    drift_store.write(late)
    assert analyze(reader, PRIMARY, Window(baseline="launch"), projector=PCAProjector()).counts["reference"] == 180


def test_baseline_names_are_checked(reader):
    save_baseline(reader, "launch", REFERENCE)
    with pytest.raises(ConfigError, match="already a baseline named 'launch'"):
        save_baseline(reader, "launch", PRIMARY)
    assert save_baseline(reader, "launch", PRIMARY, replace=True) == 180
    with pytest.raises(NotFoundError, match="no drift baseline named 'nope' \\(saved ones: launch\\)"):
        analyze(reader, PRIMARY, Window(baseline="nope"), projector=PCAProjector())
    with pytest.raises(NotFoundError, match="has no embeddings to save"):
        save_baseline(reader, "empty", Window(project="elsewhere"))
    assert delete_baseline(reader, "launch") and not delete_baseline(reader, "launch")
    assert baselines(reader).empty


def test_a_read_only_store_lists_no_baselines_and_says_why_it_cannot_save(drift_store, db_path):
    from workbench.query import Reader
    from workbench.store import Store

    drift_store.close()
    with Store(db_path, read_only=True) as store:
        reader = Reader(store)
        assert baselines(reader).empty and not delete_baseline(reader, "launch")
        with pytest.raises(NotFoundError, match="none is saved yet"):
            analyze(reader, PRIMARY, Window(baseline="launch"), projector=PCAProjector())
        with pytest.raises(StoreError, match="open read-only, so a baseline cannot be saved"):
            save_baseline(reader, "launch", REFERENCE)
