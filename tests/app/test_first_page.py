"""The first page loads only the JavaScript it shows: the Traces page comes without plotly (the
Drift page's) and tabulator (the Cost page's); opening those pages loads them, and every page
still works whichever one the browser started on."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

ROWS = ".wb-grid tbody tr[data-href]"


def _scripts(app) -> list[str]:
    return app.page.evaluate("() => [...document.scripts].map(s => s.src).filter(Boolean)")


def _nav(app, title: str) -> None:
    nav = app.page.locator(".bk-btn-group").first
    nav.locator(".bk-btn").filter(has_text=re.compile(f"^{title}$")).first.click()


def test_the_traces_page_comes_without_the_other_pages_libraries(app):
    app.goto(ready=ROWS)
    scripts = _scripts(app)
    assert any("panel.min.js" in s for s in scripts)
    assert not [s for s in scripts if "plotly" in s or "tabulator" in s], scripts
    assert app.page.evaluate("() => typeof window.Plotly === 'undefined' && typeof window.Tabulator === 'undefined'")


def test_opening_a_page_that_needs_a_library_loads_it_and_back_returns(app):
    app.goto(ready=ROWS)
    app.wait_for(".wb-muted", text="match")
    _nav(app, "Cost")
    app.wait_url(page="cost")
    app.wait_for(".wb-cost-cards")
    app.wait_for(".tabulator")  # Cost's tables, drawn by the library the first page did not load
    assert app.page.evaluate("() => typeof window.Tabulator !== 'undefined'")

    _nav(app, "Drift")
    app.wait_url(page="drift")
    app.wait_until("() => typeof window.Plotly !== 'undefined'")
    app.wait_for(".bk-btn.bk-active", text="Drift")

    _nav(app, "Traces")  # back to a page this document can show: no new load
    app.wait_url(page="traces")
    app.wait_for(ROWS)
    assert app.page.evaluate("() => typeof window.Plotly !== 'undefined'")

    app.page.go_back()
    app.wait_url(page="drift")
    app.wait_for(".bk-btn.bk-active", text="Drift")
    app.page.go_back()
    app.wait_url(page="cost")
    app.wait_for(".wb-cost-cards")
    app.wait_for(".tabulator")


def test_a_link_keeps_the_scope_when_it_loads_the_page_anew(app):
    app.goto("range=7d&filter=span_kind+%3D%3D+%27LLM%27", ready=ROWS)
    _nav(app, "Cost")
    app.wait_url(page="cost", range="7d", filter="span_kind == 'LLM'")
    app.wait_for(".wb-cost-cards")
