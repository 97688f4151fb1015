"""The app's navigation in a real browser: the view follows the URL both ways (Back, Forward,
reload), and every link works whichever pages were opened before (no page's callbacks
outlive it)."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.app.browser import new_app_page, serve_app

pytestmark = pytest.mark.browser

ROWS = ".wb-grid tbody tr[data-href]"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def _active(app) -> str:
    return app.page.locator(".bk-btn-group .bk-btn.bk-active").first.inner_text()


def _nav(app, title: str, ready: str | None = None) -> None:
    """Click ``title`` in the navigation; wait until it is active (and ``ready`` is shown)."""
    nav = app.page.locator(".bk-btn-group").first
    exact = re.compile(f"^{title}$")
    nav.locator(".bk-btn").filter(has_text=exact).first.click()
    nav.locator(".bk-btn.bk-active").filter(has_text=exact).first.wait_for(timeout=30_000)
    if ready:
        app.wait_for(ready, timeout=60_000)


def test_back_and_forward_move_between_a_trace_and_latency(app, dataset):
    app.goto(ready=ROWS)
    app.page.locator(ROWS).first.locator("td").nth(3).click()
    app.wait_url(page="trace")
    app.wait_for(".wf-row[data-id]")
    trace_id = _query(app.page.url)["trace_id"]
    root = app.text(".wf-row[data-id] .nm")

    _nav(app, "Latency")
    app.wait_url(page="latency", trace_id=None)
    app.wait_for(".wb-card")

    app.page.go_back()
    app.wait_url(page="trace", trace_id=trace_id)
    app.wait_for(".bk-btn.bk-active", text="Trace")
    app.wait_for(".wf-row[data-id]")
    assert app.text(".wf-row[data-id] .nm") == root
    assert app.page.locator(".wb-card").count() == 0  # Latency is gone, not under the trace

    app.page.go_forward()
    app.wait_url(page="latency", trace_id=None)
    app.wait_for(".bk-btn.bk-active", text="Latency")
    app.wait_for(".wb-card")
    assert app.page.locator(".wf-row[data-id]").count() == 0

    # Back once more shows the trace again; reloading its URL shows the same view.
    app.page.go_back()
    app.wait_url(page="trace", trace_id=trace_id)
    app.wait_for(".wf-row[data-id]")
    app.page.reload()
    app.wait_for(".wf-row[data-id]")
    assert _active(app) == "Trace" and _query(app.page.url)["trace_id"] == trace_id

    # Back from the trace: the list it was opened from.
    app.page.go_back()
    app.wait_url(page="traces", trace_id=None)
    app.wait_for(ROWS)


def test_back_restores_the_filter_before(app, dataset):
    app.goto(ready=ROWS)
    app.wait_for(".wb-muted", text=f"{len(dataset.trace_ids)} traces match")
    box = app.page.get_by_placeholder("filter: span_kind == 'LLM' and latency_ms > 2000")
    box.fill("status_code == 'ERROR'")
    box.press("Enter")
    app.wait_url(filter="status_code == 'ERROR'")
    app.wait_for(".wb-muted", text=f"{len(set(dataset.errors))} traces match")
    app.page.locator("select").first.select_option(label="Last 24 hours")
    app.wait_url(range="24h", filter="status_code == 'ERROR'")

    app.page.go_back()  # the time range goes, the filter stays
    app.wait_url(range=None, filter="status_code == 'ERROR'")
    app.wait_for(".wb-muted", text=f"{len(set(dataset.errors))} traces match")
    expect(app.page.locator("select").first).to_have_value("All time", timeout=30_000)

    app.page.go_back()  # no filter: every trace again, and an empty box
    app.wait_url(page="traces", filter=None)
    app.wait_for(".wb-muted", text=f"{len(dataset.trace_ids)} traces match")
    expect(box).to_have_value("", timeout=30_000)

    app.page.go_forward()
    app.wait_url(filter="status_code == 'ERROR'")
    app.wait_for(".wb-muted", text=f"{len(set(dataset.errors))} traces match")
    expect(box).to_have_value("status_code == 'ERROR'", timeout=30_000)


def test_back_restores_the_span_selected_before(app, dataset):
    app.goto(f"page=trace&trace_id={dataset.llm_trace}", ready=".wf-row[data-id]")
    rows = app.page.locator(".wf-row[data-id]")
    root = rows.nth(0).get_attribute("data-id")
    app.wait_url(span_id=root)  # the root, chosen by the page: no entry of its own
    second, third = rows.nth(1).get_attribute("data-id"), rows.nth(2).get_attribute("data-id")
    rows.nth(1).click()
    app.wait_url(span_id=second)
    rows.nth(2).click()
    app.wait_url(span_id=third)
    app.wait_for(f".wf-row.sel[data-id='{third}']")

    app.page.go_back()
    app.wait_url(span_id=second)
    app.wait_for(f".wf-row.sel[data-id='{second}']")
    assert app.page.locator(".wf-row.sel").count() == 1
    app.page.go_back()
    app.wait_url(span_id=root, trace_id=dataset.llm_trace)
    app.wait_for(f".wf-row.sel[data-id='{root}']")
    app.page.go_forward()
    app.wait_url(span_id=second)
    app.wait_for(f".wf-row.sel[data-id='{second}']")


# Every link of every page, after every page was opened ---------------------------------

# Each page, and what only it shows once it is built (Cost and Drift open as a new document:
# a selector another page also has would be found before it, and the next click lost).
PAGES = {"Traces": ROWS, "Trace": ".wb-empty", "Latency": ".wb-card", "Sessions": ".wb-turn",
         "Quality": ".wb-names", "Experiments": ".wb-datasets", "Cost": ".wb-cost-cards", "Drift": ".wb-drift-status",
         "Monitors": ".wb-monitor-results"}


@pytest.fixture(scope="module")
def sample_server(tmp_path_factory):
    from workbench.sample import load_sample
    from workbench.store import Store

    store = Store(tmp_path_factory.mktemp("nav") / "sample.duckdb")
    load_sample(store)
    with serve_app(store) as server:
        yield server
    store.close()


def _exceptions(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records
            if r.exc_info or r.levelno >= logging.ERROR]


def test_every_link_of_every_page_works_after_every_page_was_opened(browser, sample_server, caplog):
    caplog.set_level(logging.WARNING)
    tab = new_app_page(browser, sample_server.url)
    try:
        tab.goto(ready=ROWS)
        for title, ready in PAGES.items():
            _nav(tab, title, ready)
        assert _exceptions(caplog) == []

        def follow(page: str, selector: str, *, nth: int = 0, lands: str, ready: str, **url: str) -> None:
            _nav(tab, page, PAGES[page])
            link = tab.page.locator(selector).nth(nth)
            link.wait_for(timeout=60_000)
            link.click()
            tab.wait_url(page=lands, **url)
            tab.wait_for(ready, timeout=60_000)
            assert _exceptions(caplog) == [], (page, selector, nth)

        _nav(tab, "Monitors", ".wb-monitor-spans")
        spans_links = tab.page.locator(".wb-monitor-spans").count()
        assert spans_links >= 2
        for i in range(spans_links):
            follow("Monitors", ".wb-monitor-spans", nth=i, lands="traces", ready=".wb-muted >> text=/match/",
                   range="custom")
        follow("Traces", ROWS, lands="trace", ready=".wf-row[data-id]")
        follow("Latency", "table.wb-list a[href*='page=trace&']", lands="trace", ready=".wf-row[data-id]")
        follow("Sessions", ".wb-turn a >> text=open trace", lands="trace", ready=".wf-row[data-id]")
        follow("Cost", ".wb-top-traces a", lands="trace", ready=".wf-row[data-id]")
        follow("Cost", ".wb-top-users a", lands="traces", ready=ROWS)
        follow("Quality", ".wb-worst a.wb-review", lands="quality", ready=".wb-review-trace")
        follow("Quality", ".wb-worst a >> text=trace", lands="trace", ready=".wf-row[data-id]")
        _nav(tab, "Traces")
        tab.wait_for(ROWS)
        tab.assert_no_errors()
    finally:
        tab.page.context.close()
    assert _exceptions(caplog) == []
