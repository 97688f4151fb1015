"""Fixtures for cost: a store in a temp file, a reader, and a user price file of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.pricing.prices import Prices


@pytest.fixture
def price_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's price file for this test (``WORKBENCH_PRICES``); it starts absent."""
    path = tmp_path / "prices.json"
    monkeypatch.setenv("WORKBENCH_PRICES", str(path))
    return path


@pytest.fixture
def prices(price_file: Path) -> Prices:
    return Prices()


@pytest.fixture
def reader(store: Any, price_file: Path) -> Iterator[Any]:
    from workbench.query import Reader

    yield Reader(store)
