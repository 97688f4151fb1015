"""Fixtures for drift: a store holding the synthetic scenario."""

from __future__ import annotations

import pytest

from tests.drift import scenario


@pytest.fixture(scope="module")
def drift_scenario() -> scenario.Scenario:
    return scenario.build()


@pytest.fixture
def drift_store(store, drift_scenario):
    scenario.load(store, drift_scenario)
    return store


@pytest.fixture
def reader(drift_store):
    from workbench.query import Reader

    return Reader(drift_store)
