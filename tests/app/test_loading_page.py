"""While a server is still loading the app, ``/`` shows the Traces page's first rows drawn
without it (plain HTML from the store), and hands over to the app once it is loaded."""

from __future__ import annotations

import html
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.app.browser import new_app_page
from workbench.server import Server

ROWS = ".wb-grid tbody tr[data-href]"


@pytest.fixture
def loading_server(loaded_store: Any) -> Iterator[Server]:
    """A server that loads the app when a browser first asks for it (as ``workbench serve``)."""
    server = Server(loaded_store, host="127.0.0.1", port=0, app=True, app_on_demand=True).start()
    yield server
    server.stop()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return answer.read().decode()


def _newest_traces(reader: Any) -> list[str]:
    return list(reader.traces(order_by="start_time", descending=True, limit=50)["trace_id"])


def _row_traces(tab: Any) -> list[str]:
    hrefs = tab.page.locator(ROWS).evaluate_all("rows => rows.map(r => r.getAttribute('data-href'))")
    return [parse_qs(urlparse(h).query)["trace_id"][0] for h in hrefs]


class _HeldReady:
    """Holds the page's "is the app loaded?" request until :meth:`release`."""

    def __init__(self, page: Any) -> None:
        self.routes: list[Any] = []
        self._released = False
        page.route("**/api/app/ready", self._hold)

    def _hold(self, route: Any) -> None:
        if self._released:
            route.continue_()
        else:
            self.routes.append(route)

    def release(self) -> None:
        self._released = True
        for route in self.routes:
            route.continue_()


def test_the_first_request_gets_the_newest_rows_and_the_app_loads_meanwhile(loading_server, reader):
    page = _get(loading_server.url + "/")
    assert 'id="wb-first"' in page and "bokeh" not in page.lower()
    expected = _newest_traces(reader)
    assert [parse_qs(urlparse(html.unescape(part.split('"')[0])).query)["trace_id"][0]
            for part in page.split('data-href="')[1:]] == expected
    assert f"{reader.count_traces():,} traces match" in page
    assert _get(loading_server.url + "/api/app/ready") == '{"app": true}'
    assert "bokeh" in _get(loading_server.url + "/").lower()  # the app, from now on


def test_an_address_with_a_filter_or_another_page_waits_for_the_app(loaded_store):
    for query in ("?page=latency", "?page=traces&text=refund", "?page=trace&trace_id=00"):
        server = Server(loaded_store, host="127.0.0.1", port=0, app=True, app_on_demand=True).start()
        try:
            page = _get(server.url + "/" + query)
            assert 'id="wb-first"' not in page and "bokeh" in page.lower(), query
        finally:
            server.stop()


@pytest.mark.browser
def test_the_first_page_hands_over_to_the_app_with_the_same_rows(browser, loading_server, reader):
    tab = new_app_page(browser, loading_server.url)
    held = _HeldReady(tab.page)
    try:
        tab.goto(ready=ROWS)
        assert tab.page.locator("#wb-first").is_visible()
        first = _row_traces(tab)
        assert first == _newest_traces(reader)
        tab.wait_until("() => document.querySelector('.wb-first-loading').textContent.includes('Loading')")
        held.release()
        tab.wait_for(".wb-brand")  # the app, at the same address
        tab.wait_for(ROWS)
        assert tab.page.locator("#wb-first").count() == 0
        assert _row_traces(tab)[: len(first)] == first
        assert urlparse(tab.page.url).query in ("", "page=traces")
        tab.assert_no_errors()
    finally:
        tab.page.context.close()


@pytest.mark.browser
def test_a_row_and_a_sorting_header_of_the_first_page_open_the_app_there(browser, loading_server, reader):
    tab = new_app_page(browser, loading_server.url)
    _HeldReady(tab.page)  # the first page stays until it is left
    try:
        tab.goto(ready=ROWS)
        trace_id = _row_traces(tab)[2]
        tab.page.locator(ROWS).nth(2).locator("td").nth(3).click()  # a cell, not its link
        tab.wait_url(page="trace", trace_id=trace_id)
        tab.wait_for(".wf-row[data-id]")  # the app's Trace page
        tab.goto(ready=ROWS)  # the app is loaded now: / is the app itself
        tab.wait_for(".wb-brand")
        tab.assert_no_errors()
    finally:
        tab.page.context.close()

    server = Server(reader.store, host="127.0.0.1", port=0, app=True, app_on_demand=True).start()
    tab = new_app_page(browser, server.url)
    _HeldReady(tab.page)
    try:
        tab.goto(ready=ROWS)
        tab.page.locator("th[data-col='Latency'] a").click()
        tab.wait_url(page="traces", sort="latency_ms")
        tab.wait_for(".wb-brand")
        tab.wait_for("th.sorted", text="Latency")
        tab.assert_no_errors()
    finally:
        tab.page.context.close()
        server.stop()


@pytest.mark.browser
def test_with_a_token_the_first_page_and_its_hand_over_work(browser, loaded_store):
    server = Server(loaded_store, host="127.0.0.1", port=0, app=True, app_on_demand=True, token="s3cret").start()
    tab = new_app_page(browser, server.url)
    try:
        tab.page.goto(server.url + "/?token=s3cret")
        tab.wait_for(ROWS)
        tab.wait_for(".wb-brand")  # the page asked, with the token's cookie, and loaded the app
        tab.wait_for(ROWS)
        tab.assert_no_errors()
    finally:
        tab.page.context.close()
        server.stop()


def test_a_trace_without_tokens_shows_an_empty_cell_not_pandas_na():
    import pandas as pd

    from workbench.app.markup import fmt_count, is_missing
    from workbench.app.trace_list import trace_rows

    assert is_missing(pd.NA) and fmt_count(pd.NA) == "" and fmt_count(1234) == "1,234"
    frame = pd.DataFrame({
        "trace_id": ["t1"], "start_time": [pd.Timestamp("2026-03-01", tz="UTC")], "name": ["run"],
        "status_code": ["OK"], "error_count": [0], "latency_ms": [1.5], "span_count": [1],
        "total_tokens": pd.array([None], dtype="Int64"), "models": [[]], "session_id": [None], "user_id": [None],
        "project": ["p"], "input_value": ["q"], "output_value": ["a"],
    })
    assert trace_rows(frame)["Tokens"].tolist() == [""]


def test_a_first_page_drawn_before_serving_is_answered_until_spans_arrive(tmp_path, dataset):
    from workbench.store import Store

    store = Store(tmp_path / "wb.duckdb")
    try:
        store.write(dataset.spans[:40])
        server = Server(store, host="127.0.0.1", port=0, app=True, app_on_demand=True)
        server.prepare_first_page()
        prepared = server.prepared_first_page()
        assert prepared is not None and 'id="wb-first"' in prepared
        server.start()
        try:
            assert _get(server.url + "/") == prepared
            store.write(dataset.spans[40:80])  # written since: the page is drawn again
            assert server.prepared_first_page() is None
        finally:
            server.stop()
    finally:
        store.close()


def test_an_empty_store_gets_a_first_page_that_says_so(tmp_path):
    from workbench.store import Store

    store = Store(tmp_path / "empty.duckdb")
    server = Server(store, host="127.0.0.1", port=0, app=True, app_on_demand=True).start()
    try:
        page = _get(server.url + "/")
        assert 'id="wb-first"' in page and "0 traces match" in page and "No traces match." in page
        assert "data-href=" not in page  # no rows
    finally:
        server.stop()
        store.close()


@pytest.mark.browser
def test_an_address_opened_while_the_app_loads_is_not_undone_by_the_hand_over(browser, loading_server):
    # The first page loads itself again once the app is loaded. When the user (or a test) is
    # already on the way to another address, that reload must not cancel it.
    tab = new_app_page(browser, loading_server.url)
    held = _HeldReady(tab.page)
    pending: list[Any] = []
    try:
        tab.goto(ready=ROWS)
        tab.page.route("**/?page=latency*", lambda route: pending.append(route))  # asked for, not answered yet
        tab.page.evaluate("() => { location.href = '/?page=latency'; }")
        deadline = time.monotonic() + 30
        while not pending:
            assert time.monotonic() < deadline, "the browser did not ask for the next address"
            tab.page.wait_for_timeout(20)  # lets Playwright deliver the route
        # The app is loaded: the first page has the answer, and its handler runs, while the next
        # address is still pending (the page cannot be asked anything meanwhile: it is navigating).
        with tab.page.expect_response("**/api/app/ready"):
            held.release()
        pending[0].continue_()
        tab.wait_url(page="latency")
        tab.wait_for(".wb-card")
        tab.assert_no_errors()
    finally:
        tab.page.context.close()
