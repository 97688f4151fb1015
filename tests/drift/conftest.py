"""Fixtures for drift: a store holding the synthetic scenario.

Clustering needs scikit-learn (the ``drift`` extra); without it the tests that analyse are
skipped, with the reason shown.
"""

from __future__ import annotations

import pytest

from tests.drift import scenario


def needs_sklearn() -> None:
    pytest.importorskip("sklearn", reason="drift analyses need scikit-learn: pip install 'llm-trace-workbench[drift]'")


@pytest.fixture(scope="module")
def drift_scenario() -> scenario.Scenario:
    return scenario.build()


@pytest.fixture
def drift_store(store, drift_scenario):
    needs_sklearn()
    scenario.load(store, drift_scenario)
    return store


@pytest.fixture
def reader(drift_store):
    from workbench.query import Reader

    return Reader(drift_store)
