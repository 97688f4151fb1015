"""Every page in a narrow browser window (a laptop's half screen): nothing runs off the right
edge, the navigation stays whole, and the toolbars wrap instead of widening the page."""

from __future__ import annotations

import pytest

from tests.app.browser import new_app_page

WIDTH = 900

_FITS = "() => ({page: document.documentElement.scrollWidth, window: window.innerWidth})"
LAST_TAB = "Monitors"  # the navigation's right end


def _pages(dataset) -> list[tuple[str, str]]:
    return [
        ("page=traces", ".wb-grid tbody tr[data-href]"),
        ("page=traces&mode=spans", ".wb-grid tbody tr[data-href]"),
        (f"page=trace&trace_id={dataset.llm_trace}", ".wf-row[data-id]"),
        ("page=latency", ".wb-card"),
        ("page=latency&by=model", ".wb-model-link"),
        ("page=sessions&order=turns", ".wb-turn"),
        ("page=quality", ".wb-rates, .wb-muted"),
        ("page=experiments", ".wb-datasets"),
        ("page=cost", ".wb-cost-groups"),
        ("page=monitors", ".wb-monitor-results"),
        ("page=drift", ".wb-brand"),
        ("page=playground", ".wb-brand"),
    ]


@pytest.mark.parametrize("width", [WIDTH, 1440])
def test_every_page_fits_the_window_with_its_navigation_whole(browser, app_server, dataset, width):
    app = new_app_page(browser, app_server.url, width=width)
    try:
        for query, ready in _pages(dataset):
            app.goto(query, ready=ready)
            fits = app.page.evaluate(_FITS)
            assert fits["page"] <= fits["window"], (query, fits)  # no sideways scroll of the page
            tab = app.page.locator(".bk-btn-group .bk-btn", has_text=LAST_TAB).first.bounding_box()
            assert tab and tab["x"] + tab["width"] <= fits["window"], (query, tab)  # every tab can be clicked
        app.assert_no_errors()
    finally:
        app.page.context.close()


def test_in_a_narrow_window_the_session_turns_keep_a_readable_width(browser, app_server):
    app = new_app_page(browser, app_server.url, width=WIDTH)
    try:
        app.goto("page=sessions&order=turns", ready=".wb-turn")
        box = app.page.locator(".wb-turn").first.evaluate(
            "el => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right}; }")
        assert box["right"] - box["left"] >= 300 and box["right"] <= WIDTH, box
        app.assert_no_errors()
    finally:
        app.page.context.close()


@pytest.mark.parametrize("query", ["page=cost", "page=latency"])
def test_in_a_narrow_window_the_summary_cards_wrap_inside_their_box(browser, app_server, query):
    app = new_app_page(browser, app_server.url, width=700)
    try:
        app.goto(query, ready=".wb-cards .wb-card")
        box = app.page.locator(".wb-cards").first.evaluate(
            "el => { const cards = [...el.querySelectorAll('.wb-card')].map(c => c.getBoundingClientRect());"
            " const host = el.getRootNode().host.getBoundingClientRect();"
            " return {host: host.bottom, cards: Math.max(...cards.map(c => c.bottom)),"
            " lines: new Set(cards.map(c => Math.round(c.top))).size}; }")
        assert box["cards"] <= box["host"] + 0.5, box  # a second line of cards is not drawn over the next part
        app.assert_no_errors()
    finally:
        app.page.context.close()


def test_in_a_narrow_window_the_trace_tree_keeps_a_usable_width(browser, app_server, dataset):
    app = new_app_page(browser, app_server.url, width=700)
    try:
        app.goto(f"page=trace&trace_id={dataset.llm_trace}", ready=".wf-row[data-id]")
        app.wait_for(".wb-tabs")
        tree = app.page.locator(".wf-row[data-id]").first.evaluate(
            "el => { const r = el.getRootNode().host.getBoundingClientRect(); return [r.left, r.right]; }")
        detail = app.page.locator(".wb-tabs").first.evaluate(
            "el => { const r = el.getRootNode().host.getBoundingClientRect(); return [r.left, r.right]; }")
        assert tree[1] - tree[0] >= 250, tree  # names and durations readable, not a sliver
        assert detail[1] - detail[0] >= 250 and detail[1] <= 700 + 0.5, detail
        app.assert_no_errors()
    finally:
        app.page.context.close()
