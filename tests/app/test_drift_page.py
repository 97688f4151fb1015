"""The Drift page: as a view on its own, and in a real browser (cluster selection, point click).

The data is the drift tests' synthetic scenario: a new topic (5) appears in the primary days
with no corpus documents. The page runs with the instant PCA projection; UMAP has its own
tests in tests/drift.
"""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import panel as pn
import pytest

from tests.app.browser import ReadyHold, new_app_page, serve_app
from tests.drift import scenario
from workbench.app.registry import PAGES
from workbench.drift import DriftWorker, PCAProjector, Window
from workbench.query import Reader

pytest.importorskip(
    "sklearn", reason="the Drift page clusters with scikit-learn: pip install 'llm-trace-workbench[drift]'"
)

WINDOWS = {
    "primary_start": "2026-03-04T00:00Z", "primary_end": "2026-03-07T00:00Z",
    "reference_start": "2026-03-01T00:00Z", "reference_end": "2026-03-04T00:00Z", "method": "pca",
}
QUERY = "&".join(f"{k}={v}" for k, v in WINDOWS.items())


@pytest.fixture(scope="module")
def drift_store(tmp_path_factory: Any) -> Iterator[Any]:
    from workbench.store import Store

    store = Store(tmp_path_factory.mktemp("drift") / "workbench.duckdb")
    scenario.load(store, scenario.build())
    yield store
    DriftWorker.shared(Reader(store), warm=False).stop()
    store.close()


@pytest.fixture(scope="module", autouse=True)
def drift_page() -> Iterator[None]:
    assert "drift" in PAGES  # listed in the app's registry
    yield


@pytest.fixture(scope="module")
def app_server(drift_store: Any) -> Iterator[Any]:
    with serve_app(drift_store) as server:
        yield server


def _view(store: Any, **params: Any) -> Any:
    from workbench.app.drift import DriftView

    view = DriftView(Reader(store), **{**WINDOWS, **params})
    pn.panel(view).get_root()
    assert view.wait(60) is not None
    return view


def test_the_view_ranks_the_new_topic_first_and_lists_a_cluster(drift_store):
    view = _view(drift_store)
    top = view.result.clusters.iloc[0]
    assert top["drift_ratio"] == pytest.approx(1.0) and top["coverage_gap"]
    assert "question about topic 5" in view._clusters.html
    assert "1 coverage gap" not in view._status.object and "coverage gaps" in view._status.object
    view.cluster = int(top["cluster"])
    assert "question about topic 5" in view._queries.html and view._export.visible
    exported = pd.read_parquet(io.BytesIO(view._export_bytes().read()))
    assert len(exported) == top["size"]
    assert len(view.selected_points()) == top["size"]
    assert "question about topic" in view._far.html and "Top score" in view._weak.html


def test_a_point_click_opens_its_trace_below_a_view_on_its_own(drift_store):
    view = _view(drift_store, color_by="cluster")
    point = view.result.points[view.result.points["source"] == "primary"].iloc[0]
    view._cloud.click_data = {"points": [{"customdata": [point["trace_id"], point["point_id"], str(point["cluster"])]}]}
    assert view.links.view is not None and view.links.view.trace_id == point["trace_id"]


def test_the_reference_window_is_saved_as_a_baseline_and_compared_with(drift_store):
    view = _view(drift_store)
    view.save_baseline("")
    assert "needs a name" in view._status.object
    view.save_baseline("before-launch")
    assert view.baseline == "before-launch" and "before-launch" in view._baseline.options
    result = view.wait(60)
    assert result.reference.baseline == "before-launch" and result.counts["reference"] == 180
    assert result.clusters.iloc[0]["drift_ratio"] == pytest.approx(1.0)


def test_bad_windows_are_shown_not_raised(drift_store):
    from workbench.app.drift import DriftView

    view = DriftView(Reader(drift_store), **{**WINDOWS, "primary_start": "yesterday"})
    pn.panel(view).get_root()
    view.wait(30)
    assert "is not a time" in view._status.object and view.result is None


@pytest.mark.browser
def test_the_page_renders_a_cluster_lists_its_queries_and_a_point_opens_a_trace(app, shots):
    app.goto(f"page=drift&{QUERY}", ready=".wb-drift-clusters")
    app.wait_for(".js-plotly-plot .scatterlayer .point")
    assert "question about topic 5" in app.text(".wb-drift-clusters")
    app.page.locator(".wb-drift-clusters a").first.click()
    app.wait_for(".wb-drift-queries", text="question about topic 5")
    app.wait_until("() => new URLSearchParams(location.search).get('cluster') !== null")
    app.screenshot(shots("drift"))
    # A click on a primary query's point opens its trace.
    point = app.page.locator(".js-plotly-plot .scatterlayer .trace").first.locator(".point").first
    box = point.bounding_box()
    app.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    app.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    app.wait_url(page="trace")
    app.wait_for(".wb-title, .wb-waterfall, .wb-html")


def test_the_point_cloud_fills_its_panel_and_the_cluster_table_is_whole(app):
    app.goto(f"page=drift&{QUERY}", ready=".wb-drift-clusters")
    app.wait_for(".js-plotly-plot .scatterlayer .point")
    spread = app.page.locator(".js-plotly-plot").first.evaluate(
        """el => {
          const host = el.getRootNode().host.getBoundingClientRect();
          const points = [...el.querySelectorAll('.scatterlayer .point')].map((p) => p.getBoundingClientRect());
          const left = Math.min(...points.map((r) => r.left)), right = Math.max(...points.map((r) => r.right));
          const top = Math.min(...points.map((r) => r.top)), bottom = Math.max(...points.map((r) => r.bottom));
          return [(right - left) / host.width, (bottom - top) / host.height];
        }""")
    assert spread[0] >= 0.8 and spread[1] >= 0.6, spread  # the points fill the panel, not a square in its middle
    table = app.page.locator("table.wb-drift-clusters").evaluate(
        "el => [el.getBoundingClientRect().right, el.getRootNode().host.getBoundingClientRect().right]")
    assert table[0] <= table[1] + 0.5, table


def test_in_a_narrow_window_the_clusters_go_below_a_readable_point_cloud(browser, app_server):
    tab = new_app_page(browser, app_server.url, width=900)
    try:
        tab.goto(f"page=drift&{QUERY}", ready=".wb-drift-clusters")
        tab.wait_for(".js-plotly-plot .scatterlayer .point")
        cloud = tab.page.locator(".js-plotly-plot").first.evaluate(
            "el => { const r = el.getRootNode().host.getBoundingClientRect(); return [r.left, r.right]; }")
        table = tab.page.locator("table.wb-drift-clusters").evaluate(
            "el => { const r = el.getBoundingClientRect(); return [r.left, r.right]; }")
        width = tab.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], width  # the page does not scroll sideways
        assert cloud[1] - cloud[0] >= 360, cloud  # not squeezed beside the table
        assert table[1] <= width[1] + 0.5, table  # the table is whole
        tab.assert_no_errors()
    finally:
        tab.page.context.close()


class _Gate:
    """A projection that waits until it is let through: it keeps the worker busy, so the
    page's analysis queued behind it finishes when the test says."""

    n_components = 2

    def __init__(self) -> None:
        self.open = threading.Event()
        self.key = {"projector": "test-gate", "run": uuid.uuid4().hex}

    def fit_transform(self, X: Any) -> Any:
        self.open.wait(60)
        return PCAProjector(2).fit_transform(X)


@pytest.mark.browser
def test_an_analysis_that_ends_while_the_page_is_still_loading_fills_the_clusters_table(
        browser, app_server, drift_store):
    # The analysis ends after the browser has the page but before it has told the server
    # the page is ready (held here, so that moment lasts): its results still reach the page.
    gate = _Gate()
    worker = DriftWorker.shared(Reader(drift_store), warm=False)
    busy = worker.submit(Window(start=WINDOWS["primary_start"], end=WINDOWS["primary_end"]),
                         Window(start=WINDOWS["reference_start"], end=WINDOWS["reference_end"]), projector=gate)
    tab = new_app_page(browser, app_server.url)
    hold = ReadyHold(tab.page, on_pulled=gate.open.set)
    try:
        tab.goto(f"page=drift&{QUERY}&cluster=0", ready=".bk-btn.bk-active >> text=Drift")
        busy.result(60)
        tab.wait_for(".wb-muted", text="coverage gap")  # the analysis is shown, the ready report held
        assert hold.pulled
        hold.release()
        tab.wait_for(".wb-drift-clusters tbody a[href*='cluster=']")
        tab.wait_for(".wb-drift-selected")
        assert "question about topic 5" in tab.text(".wb-drift-clusters")
        tab.assert_no_errors()
    finally:
        gate.open.set()
        tab.page.context.close()


def test_a_point_cloud_resized_after_its_page_was_left_raises_nothing_in_the_browser(app):
    # Panel's Plotly pane resizes its chart a moment after each layout pass and after its first
    # draw. When the page is left in that moment, the chart is purged first, and the resize used
    # to throw "Cannot read properties of undefined (reading '_guiEditing')" in the browser.
    # Leave the page for real, then make the calls the pane's pending timers make.
    app.goto(f"page=drift&{QUERY}", ready=".wb-drift-clusters")
    chart = app.page.locator(".js-plotly-plot").first
    chart.wait_for()
    handle = chart.element_handle()
    app.page.locator(".bk-btn-group .bk-btn").filter(has_text="Traces").first.click()
    app.wait_for(".bk-btn.bk-active", text="Traces")
    app.wait_until("gd => !gd.isConnected && gd._fullLayout === undefined", handle)  # left, and purged
    outcomes = handle.evaluate("""async (gd) => {
      const settle = (call) => { try { return Promise.resolve(call()).then(() => "ok", (e) => String(e)); }
                                  catch (e) { return Promise.resolve(String(e)); } };
      return Promise.all([
        settle(() => window.Plotly.relayout(gd, {width: 640, height: 480})),
        settle(() => window.Plotly.restyle(gd, {opacity: 0.5})),
        settle(() => window.Plotly.update(gd, {}, {width: 640})),
        settle(() => window.Plotly.Plots.resize(gd)),
      ]);
    }""")
    assert outcomes == ["ok"] * 4, outcomes
    app.assert_no_errors()
