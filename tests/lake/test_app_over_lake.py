"""The app over a lake (what ``workbench serve --from-lake`` serves), in headless chromium."""

from __future__ import annotations

import pytest

from tests.app.browser import new_app_page
from tests.app.data import make_dataset
from tests.app.test_browser import ROWS, _matching
from workbench.lake.publish import Publisher
from workbench.read.lake import LakeReader
from workbench.server import Server
from workbench.store import Store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lake_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lake-app")
    dataset = make_dataset()
    with Store(folder / "ingester.duckdb") as store:
        store.write(dataset.spans)
        Publisher(store, str(folder / "lake")).publish()
    reader = LakeReader(str(folder / "lake"))
    memory = Store(":memory:")
    server = Server(memory, host="127.0.0.1", port=0, app=True, reader=reader).start()
    yield server, dataset
    server.stop()
    reader.close()
    memory.close()


def test_the_pages_read_the_lake(browser, lake_app):
    server, dataset = lake_app
    app = new_app_page(browser, server.url)
    try:
        app.goto(ready=ROWS)
        assert _matching(app) == len(dataset.trace_ids)
        app.page.locator(ROWS).first.click()
        app.wait_url(page="trace")
        app.goto("page=latency", ready=".wb-card")
        app.goto("page=cost", ready=".wb-cost-groups")
    finally:
        app.page.context.close()
    app.assert_no_errors()
