"""Fixtures of the app's tests: one dataset and one served store per module, and a browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.browser import new_app_page, serve_app
from tests.app.data import Dataset, make_dataset

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--screenshots", action="store_true", default=False,
                     help="Save the browser tests' screenshots of each page to docs/images/.")


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return make_dataset()


@pytest.fixture(scope="module")
def loaded_store(tmp_path_factory: Any, dataset: Dataset) -> Iterator[Any]:
    from workbench.store import Store

    store = Store(tmp_path_factory.mktemp("app") / "workbench.duckdb")
    store.write(dataset.spans)
    yield store
    store.close()


@pytest.fixture(scope="module")
def reader(loaded_store: Any) -> Any:
    from workbench.query import Reader

    return Reader(loaded_store)


@pytest.fixture(scope="module")
def app_server(loaded_store: Any) -> Iterator[Any]:
    with serve_app(loaded_store) as server:
        yield server


@pytest.fixture
def app(browser: Any, app_server: Any) -> Iterator[Any]:
    """A browser tab on the served app; the test fails on any console error."""
    page = new_app_page(browser, app_server.url)
    yield page
    page.page.context.close()
    page.assert_no_errors()


@pytest.fixture
def shots(request: Any) -> Any:
    """Where to save a page's screenshot: docs/images/ with --screenshots, else nowhere."""
    def path(name: str) -> Path | None:
        return IMAGES / f"{name}.png" if request.config.getoption("--screenshots", default=False) else None

    return path


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "browser: drives the app in headless chromium")
