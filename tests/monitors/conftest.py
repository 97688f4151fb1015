"""Fixtures for the monitor tests: settings kept away from the user's files, stores of
synthetic traffic (healthy, or with one story planted)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.monitors.world import World, fill
from workbench.query import Reader


@pytest.fixture(autouse=True)
def _own_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The user's price and monitors files must not change what the tests see.
    monkeypatch.setenv("WORKBENCH_PRICES", str(tmp_path / "prices.json"))
    # An empty monitors file: the default rules.
    (tmp_path / "monitors.toml").write_text("")
    monkeypatch.setenv("WORKBENCH_MONITORS", str(tmp_path / "monitors.toml"))
    # Checks run inside a GitHub Actions job annotate it; the tests that want that say so.
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture
def world_reader(tmp_path: Path) -> Iterator[Callable[..., Reader]]:
    """``world_reader(**knobs)``: a reader of a fresh store filled with a :class:`World`."""
    from workbench.store import Store

    opened: list[Store] = []

    def make(**knobs: Any) -> Reader:
        store = Store(tmp_path / f"world{len(opened)}.duckdb")
        opened.append(store)
        fill(store, World(**knobs))
        return Reader(store)

    yield make
    for store in opened:
        store.close()


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    """Three healthy weeks, shared by a module's tests (read only)."""
    from workbench.store import Store

    store = Store(tmp_path_factory.mktemp("healthy") / "healthy.duckdb")
    fill(store, World())
    yield Reader(store)
    store.close()
