"""A page's life cycle in the app, without a browser: nothing outside a page holds a callback
into it, several scope changes at once reach every page, and a restored URL is exact."""

from __future__ import annotations

from workbench.app import App, TracesView
from workbench.app.page import Scope


def _watchers(parameterized) -> int:
    """How many callbacks watch ``parameterized`` (one watching several names counts once)."""
    return len({id(w) for per_name in parameterized.param.watchers.values() for ws in per_name.values() for w in ws})


def test_pages_left_behind_hold_no_callback_on_shared_state(reader):
    app = App(reader)
    for page in ("quality", "cost", "latency", "sessions", "monitors", "traces"):
        app.open(page)
    assert _watchers(app.scope) == _watchers(Scope())  # only its own: every page has its own scope
    # A link that sets four scope values at once (a monitor's spans), then every page again.
    app.open("traces", filter="status_code == 'ERROR'", range="custom", start="2020-01-01T00:00:00",
             end="2030-01-01T00:00:00")
    for page in ("quality", "cost", "latency", "sessions", "monitors", "traces"):
        app.open(page)
        assert app.view(page).scope.filter == "status_code == 'ERROR'"
        assert app.url_query()["filter"] == "status_code == 'ERROR'"
    assert app.view("traces").on_screen and not app.view("quality").on_screen


def test_restoring_a_url_sets_what_it_states_and_defaults_the_rest(reader, dataset):
    app = App(reader)
    app.open("traces", filter="status_code == 'ERROR'", status="ERROR", mode="spans")
    app.open("trace", trace_id=dataset.llm_trace)
    app.restore("?page=traces&mode=spans")
    traces = app.view("traces")
    assert (app.page, traces.mode, traces.status, app.scope.filter, traces.scope.filter) == (
        "traces", "spans", "", "", "")
    assert app.url == "?page=traces&mode=spans"
    app.restore(f"?page=trace&trace_id={dataset.llm_trace}&filter=span_kind+%3D%3D+%27LLM%27")
    assert app.page == "trace" and app.view("trace").trace_id == dataset.llm_trace
    assert app.scope.filter == "span_kind == 'LLM'"
    assert app.url_query()["span_id"]  # the first span, chosen by the page


def test_a_view_on_its_own_closes_the_view_it_opened_below_before_the_next(reader, dataset):
    view = TracesView(reader)
    view.__panel__()
    before = _watchers(view.scope)
    view.link("latency")
    first = view.links.view
    first.__panel__()
    view.link("latency")
    assert view.links.view is not first and not first.on_screen
    assert _watchers(view.scope) == before + 1  # the view below follows the scope; one at a time
    view.scope.filter = "status_code == 'ERROR'"
    assert view.links.view.scope.filter == "status_code == 'ERROR'" and first.scope.filter == ""
    view.links.close()
    assert _watchers(view.scope) == before
