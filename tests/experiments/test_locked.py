"""A file a running server holds: datasets and experiments say how to go on, in Python and on
the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.notebook_flow.test_locked_file import served  # noqa: F401 - the fixture
from workbench.errors import StoreError
from workbench.experiments import create_dataset, list_datasets

ROOT = Path(__file__).resolve().parents[2]


def test_a_file_held_by_a_server_is_refused_with_the_ways_on(served, db_path, tmp_path):  # noqa: F811
    with pytest.raises(StoreError) as caught:
        create_dataset(db_path, "qa", ["q"])
    message = str(caught.value)
    assert f"in use by the workbench server at {served}" in message
    assert f"workbench export DIR --url {served}" in message and "--db copy.duckdb" in message
    with pytest.raises(StoreError, match="in use by the workbench server"):
        list_datasets(str(db_path))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "workbench", "dataset", "list", "--db", str(db_path)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"workbench export DIR --url {served}" in done.stderr
