"""A pytest plugin for eval suites that sit beside unit tests.

Enable it in a ``conftest.py`` with ``pytest_plugins = ["workbench.experiments.pytest_plugin"]``;
it gives the fixture ``workbench_store``: a writable reader over a fresh store file, for the
test's datasets, runs and traces (closed after the test)::

    def test_refund_answers(workbench_store):
        import_dataset(workbench_store, "tests/data/refunds.jsonl")
        exp = run_experiment(workbench_store, "refunds", answer, [Contains()], progress=False)
        assert_pass_rate(exp, 0.8)

Pass a path of your own instead of the fixture when the traces should outlive the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.read import Reader
from workbench.store import Store

__all__ = ["workbench_store"]


@pytest.fixture
def workbench_store(tmp_path: Path) -> Iterator[Reader]:
    """A writable reader over a new store file in the test's temporary folder."""
    store = Store(tmp_path / "experiments.duckdb")
    try:
        yield Reader(store)
    finally:
        store.close()
