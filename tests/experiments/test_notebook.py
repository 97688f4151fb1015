"""In a notebook: datasets and experiments go into the store of the running workbench.launch() session."""

from __future__ import annotations

from pathlib import Path

import workbench
from workbench.experiments import ExactMatch, create_dataset, dataset, list_datasets, run_experiment


def test_no_where_means_the_running_sessions_store(tmp_path):
    session = workbench.launch("nb", db=tmp_path / "session.duckdb", port=0)
    try:
        create_dataset(None, "qa", [{"input": "2+2", "expected": "4"}])
        assert len(dataset(session, "qa")) == 1  # the session itself is a place too
        exp = run_experiment(None, "qa", lambda input: "4", [ExactMatch()], name="nb", progress=False)
        assert exp.pass_rate == 1
        runs = session.spans()
        assert set(exp.runs["trace_id"]) <= set(runs["trace_id"])
        assert Path(session.store.path) == tmp_path / "session.duckdb"
    finally:
        session.stop()
    assert list(list_datasets(tmp_path / "session.duckdb")["name"]) == ["qa"]
