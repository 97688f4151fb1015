"""The views used on their own (as in a notebook): built from a reader, state in params."""

from __future__ import annotations

import pandas as pd
import panel as pn
import pytest

from workbench.app import App, LatencyView, SessionsView, TracesView, TraceView, create_app
from workbench.app.js_components import parse_href
from workbench.app.page import Scope
from workbench.app.registry import PAGES, Page, get_page, ordered, register_page
from workbench.app.trace import waterfall_rows


def _render(view):
    """Build the view's Bokeh models, as showing it in a notebook would."""
    return pn.panel(view).get_root()


def test_the_traces_view_pages_filters_and_sorts_in_the_store(reader, dataset):
    view = TracesView(reader, page_size=10)
    _render(view)
    assert view.total == len(dataset.trace_ids) and len(view.frame) == 10
    view.page_no = 2
    assert len(view.frame) == 10 and view.total == len(dataset.trace_ids)
    view.status = "ERROR"
    assert view.page_no == 1 and view.total == len(set(dataset.errors))
    assert set(view.frame["trace_id"]) == set(dataset.errors)
    view.param.update(status="", sort="latency_ms", descending=True)
    assert set(view.frame["trace_id"].iloc[:len(dataset.slow)]) == set(dataset.slow)
    html = view._table.html
    assert '>Latency</span><span class="wb-th-arrow"> \u25bc' in html
    assert f"?page=trace&amp;trace_id={view.frame['trace_id'].iloc[0]}" in html
    view._follow("traces", {"sort": "latency_ms", "descending": "false"})  # a header's link
    assert view.descending is False and '>Latency</span><span class="wb-th-arrow"> \u25b2' in view._table.html


def test_the_trace_list_shows_start_times_in_the_chosen_zone(reader, dataset, monkeypatch):
    monkeypatch.setenv("WORKBENCH_TIMEZONE", "Asia/Kolkata")  # UTC+05:30, no summer time
    view = TracesView(reader, page_size=5)
    _render(view)
    first = view.frame.iloc[0]
    utc = reader.traces(limit=5)["start_time"].iloc[0]
    shown = (utc + pd.Timedelta(hours=5, minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
    assert first["Start"] == shown
    assert "Start (IST)" in view._table.html and "(UTC)" not in view._table.html


def test_the_traces_view_lists_spans_and_combines_filters(reader, dataset):
    view = TracesView(reader, mode="spans", kind="TOOL")
    _render(view)
    tools = [s for s in dataset.spans if s.tool_name]
    assert view.total == len(tools)
    view.text = "refund"
    assert view.expression() == "span_kind == 'TOOL' and ('refund' in input_value or 'refund' in output_value)"


def test_a_bad_filter_is_shown_not_raised(reader):
    view = TracesView(reader, filter="latncy_ms > 5")
    _render(view)
    assert "did you mean 'latency_ms'" in view.error and view.total == 0
    assert "did you mean" in view._status_line.object
    view.scope.filter = "latency_ms > 5"
    assert view.error is None and view.total > 0


def test_the_trace_view_shows_a_tree_with_critical_path(reader, dataset):
    view = TraceView(reader, trace_id=dataset.llm_trace)
    _render(view)
    rows = view._waterfall.rows
    assert rows[0]["name"] == "support_chat" and rows[0]["depth"] == 0 and rows[0]["critical"]
    assert all(r["depth"] == 1 for r in rows[1:])
    assert view.span_id == rows[0]["id"]
    answer = next(r for r in rows if r["name"] == "answer")
    assert answer["critical"]  # the last thing the root waited on
    view._waterfall.selected = answer["id"]  # as a click in the browser does
    assert view.span_id == answer["id"]
    assert "Input messages" in view._detail.html and "You are Acme Cloud" in view._detail.html


def test_the_trace_view_explains_a_missing_trace(reader):
    view = TraceView(reader, trace_id="ab" * 16)
    _render(view)
    assert "There is no trace" in view._summary.html and not view._body.visible
    view.trace_id = ""
    assert "Choose a trace" in view._summary.html


def test_waterfall_rows_measure_from_the_trace_start(reader, dataset):
    trace = reader.trace(dataset.errors[0])
    rows = waterfall_rows(trace)
    assert rows[0]["offset"] == 0 and rows[0]["duration"] == pytest.approx(trace.duration_ms)
    failed = [r for r in rows if r["status"] == "ERROR"]
    assert [r["name"] for r in failed] == ["lookup_invoice"]
    assert all(r["parent"] == rows[0]["id"] for r in rows[1:])


def test_the_latency_view_renders_for_a_filter(reader):
    view = LatencyView(reader, filter="span_kind == 'LLM'", level="spans", by="model")
    _render(view)
    assert view.scope.filter == "span_kind == 'LLM'"
    assert "LLM" not in view._status.object or "matching" in view._status.object
    assert view._over_time.object is not None and "Slowest" not in view._slowest.html


def test_a_latency_bucket_opens_its_traces_slowest_first(reader):
    view = LatencyView(reader, by="kind", level="spans")
    _render(view)
    view._bucket_tapped({"start": "2026-01-01T10:00:00+00:00", "bucket_end": "2026-01-01T10:15:00+00:00",
                         "group": "LLM", "value": 1.0, "count": 1})
    opened = view.links.view
    assert isinstance(opened, TracesView)
    assert (opened.mode, opened.kind, opened.sort, opened.descending) == ("spans", "LLM", "latency_ms", True)
    assert view.scope.range == "custom" and view.scope.start.startswith("2026-01-01T10:00")


def test_the_sessions_view_selects_the_latest_session(reader, dataset):
    view = SessionsView(reader)
    _render(view)
    assert view.session_id in dataset.sessions
    assert "Turn 1" in view._turns.html
    view._follow("sessions", {"session_id": "sess-000"})
    assert view.session_id == "sess-000"


def test_links_in_a_standalone_view_open_below_it(reader, dataset):
    view = SessionsView(reader)
    layout = _render(view)
    assert layout is not None
    view._follow("trace", {"trace_id": dataset.llm_trace})
    opened = view.links.view
    assert isinstance(opened, TraceView) and opened.trace_id == dataset.llm_trace


def test_the_app_opens_pages_from_a_url_query(reader, dataset):
    app = App(reader, query={"page": "trace", "trace_id": dataset.llm_trace, "range": "24h"})
    assert app.page == "trace" and app.scope.range == "24h"
    assert app.url_query() == {"page": "trace", "range": "24h", "trace_id": dataset.llm_trace,
                               "span_id": app.view("trace").span_id}
    app.open("traces", status="ERROR", descending="false")
    traces = app.view("traces")
    assert (traces.status, traces.descending) == ("ERROR", False)
    assert app.url_query()["status"] == "ERROR" and app.url_query()["descending"] == "false"
    app.open("traces", mode="spans")
    assert traces.status == "" and traces.mode == "spans"  # a link states the whole view
    app.open("no-such-page")
    assert app.page == "traces"


def test_a_link_to_a_span_selects_it_in_an_open_trace_view(reader, dataset):
    app = App(reader, query={"page": "trace", "trace_id": dataset.llm_trace})
    other = dataset.errors[0]
    failed = next(s.span_id for s in dataset.spans if s.trace_id == other and s.status_code.value == "ERROR")
    app.open("trace", trace_id=other, span_id=failed)
    view = app.view("trace")
    assert (view.trace_id, view.span_id) == (other, failed)
    assert view._waterfall.selected == failed and "TimeoutError" in view._detail.html


def test_create_app_takes_a_store_or_a_reader(reader, loaded_store):
    assert isinstance(create_app(reader), App)
    assert create_app(loaded_store).reader.store is loaded_store


def test_pages_plug_in_through_the_registry(reader):
    class HelloView(TracesView):
        pass

    register_page(Page("hello", "Hello", HelloView, order=99))
    try:
        assert get_page("hello").view_class() is HelloView
        assert ordered()[-1].name == "hello"
        app = App(reader, query={"page": "hello"})
        assert isinstance(app.view("hello"), HelloView)
        assert "Hello" in app._nav.options
    finally:
        del PAGES["hello"]
    with pytest.raises(KeyError, match="known pages: traces"):
        get_page("hello")


def test_scope_bounds(monkeypatch):
    import datetime as dt

    assert Scope().bounds() == (None, None)
    assert Scope(range="24h").bounds() == ("24h", None)
    monkeypatch.setenv("WORKBENCH_TIMEZONE", "Europe/Paris")
    # A time typed without an offset is a time in the zone the app shows.
    start, end = Scope(range="custom", start="2026-01-01T09:00", end="").bounds()
    assert start == dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone.utc) and end is None
    assert Scope(range="custom", start="2026-07-01T09:00+00:00").bounds()[0].utcoffset() == dt.timedelta(0)
    # A window picked on a chart (UTC buckets) keeps its zone written out.
    scope = Scope()
    scope.set_window(dt.datetime(2026, 7, 1, 9), dt.datetime(2026, 7, 1, 10))
    assert scope.start == "2026-07-01T09:00:00+00:00"
    assert scope.bounds()[0] == dt.datetime(2026, 7, 1, 9, tzinfo=dt.timezone.utc)


def test_times_are_shown_in_the_chosen_zone(monkeypatch):
    import datetime as dt

    from workbench.app.markup import fmt_time, zone_label

    noon = dt.datetime(2026, 7, 1, 12, tzinfo=dt.timezone.utc)
    monkeypatch.setenv("WORKBENCH_TIMEZONE", "UTC")
    assert fmt_time(noon) == "2026-07-01 12:00:00" and zone_label() == "UTC"
    monkeypatch.setenv("WORKBENCH_TIMEZONE", "America/New_York")
    assert fmt_time(noon) == "2026-07-01 08:00:00"  # summer time
    assert fmt_time(noon.replace(month=1)) == "2026-01-01 07:00:00"  # winter time
    assert zone_label() in ("EST", "EDT")
    assert fmt_time(dt.datetime(2026, 7, 1, 12)) == "2026-07-01 08:00:00"  # a naive time is UTC
    monkeypatch.setenv("WORKBENCH_TIMEZONE", "Mars/Olympus")
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError, match="must be local, UTC or a zone name such as Europe/Paris"):
        fmt_time(noon)


def test_parse_href():
    assert parse_href("?page=trace&trace_id=ab&span_id=cd") == ("trace", {"trace_id": "ab", "span_id": "cd"})
    assert parse_href("?filter=a+%3D%3D+1") == ("traces", {"filter": "a == 1"})


def test_feedback_and_unpriced_cost_show_as_marks_not_markup(store, rag_spans):
    from workbench.query import Reader

    store.write(rag_spans)
    store.add_annotations([{"trace_id": rag_spans[0].trace_id, "name": "user_feedback", "label": "thumbs_down"},
                           {"span_id": rag_spans[3].span_id, "trace_id": rag_spans[3].trace_id,
                            "name": "faithfulness", "label": "fail", "score": 0}])
    view = TracesView(Reader(store))
    _render(view)
    html = view._table.html
    assert "\U0001f44e" in html  # the thumb, as a mark
    assert "&lt;span" not in html and ">nan<" not in html and "nan " not in html
