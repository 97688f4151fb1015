"""The app in a real browser (headless chromium) against a real server with data made here.

The README's screenshots come from the sample data instead: tests/app/test_serve.py with --screenshots.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.app.browser import new_app_page

pytestmark = pytest.mark.browser


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


ROWS = ".wb-grid tbody tr[data-href]"


def _cell(app, label: str, row: int = 0) -> str:
    """The text of column ``label`` in a row of the list."""
    headers = [h.strip(" \u25b2\u25bc") for h in app.page.locator(".wb-grid th").all_inner_texts()]
    return app.page.locator(ROWS).nth(row).locator("td").nth(headers.index(label)).inner_text()


def _matching(app) -> int:
    text = app.text(".wb-muted >> text=/match/")
    return int(re.search(r"([\d,]+) (traces|spans) match", text)[1].replace(",", ""))


def test_the_traces_page_lists_every_trace(app, dataset):
    app.goto(ready=ROWS)
    assert _matching(app) == len(dataset.trace_ids)
    rows = app.page.locator(ROWS)
    assert rows.count() == min(50, len(dataset.trace_ids))
    assert "support_chat" in rows.first.inner_text()


def test_a_filter_narrows_the_trace_list_and_errors_show_inline(app, dataset):
    app.goto(ready=ROWS)
    box = app.page.get_by_placeholder("filter: span_kind == 'LLM' and latency_ms > 2000")
    box.fill("status_code == 'ERROR'")
    box.press("Enter")
    app.wait_for(".wb-muted", text=f"{len(set(dataset.errors))} traces match")
    app.wait_count(ROWS, len(set(dataset.errors)))
    app.wait_url(filter="status_code == 'ERROR'")
    box.fill("latncy_ms > 5")
    box.press("Enter")
    app.wait_for(".wb-error-text", text="did you mean 'latency_ms'")


def test_quick_filters_and_the_spans_switch(app, dataset):
    app.goto("status=ERROR", ready=ROWS)
    app.wait_for(".wb-muted", text=f"{len(set(dataset.errors))} traces match")
    app.page.get_by_role("button", name="Spans").click()
    # Only the failed spans are listed now (one TOOL span per failed trace).
    app.wait_for(".wb-muted", text=f"{len(dataset.errors)} spans match")
    app.wait_for(ROWS + ":first-child", text="lookup_invoice")
    app.wait_count(ROWS, len(dataset.errors))
    app.wait_url(mode="spans")  # the address follows once the change is complete


def test_sorting_happens_in_the_store(app, dataset):
    app.goto(ready=ROWS)
    app.page.locator(".wb-grid th a", has_text="Latency").click()
    app.wait_url(sort="latency_ms")  # slowest first
    app.wait_for(".wb-grid th.sorted", text="Latency \u25bc")
    assert float(_cell(app, "Latency").split()[0]) >= 8  # the planted slow traces lead
    app.page.locator(".wb-grid th a", has_text="Latency").click()
    app.wait_url(sort="latency_ms", descending="false")
    app.wait_for(".wb-grid th.sorted", text="Latency \u25b2")
    assert _cell(app, "Latency").endswith("ms")  # fastest first


def test_clicking_a_trace_opens_its_tree(app, dataset):
    app.goto(ready=ROWS)
    app.page.locator(ROWS).first.locator("td").nth(3).click()
    app.wait_for(".wf-row[data-id]")
    app.wait_url(page="trace")  # the address follows once the change is complete
    trace_id = _query(app.page.url)["trace_id"]
    assert trace_id in dataset.trace_ids
    names = app.page.locator(".wf-row[data-id] .nm").all_inner_texts()
    assert names[0] == "support_chat" and {"embed_question", "search_knowledge_base", "answer"} <= set(names)


def test_selecting_an_llm_span_shows_its_messages(app, dataset):
    app.goto(f"page=trace&trace_id={dataset.llm_trace}", ready=".wf-row[data-id]")
    app.page.locator(".wf-row[data-id]", has_text="answer").first.click()
    app.wait_for(".wb-msg-head", text="system")
    overview = app.page.locator(".wb-html", has_text="Input messages").first.inner_text()
    assert "You are Acme Cloud's support assistant" in overview
    assert "Time to first token" in overview and "Invocation parameters" in overview
    assert app.page.locator(".wb-role-assistant").count() >= 1
    app.wait_until("() => new URLSearchParams(location.search).get('span_id')")


def test_a_failed_tool_shows_its_stack_trace_and_folds_expand(app, dataset):
    app.goto(f"page=trace&trace_id={dataset.errors[0]}", ready=".wf-row.err")
    app.page.locator(".wf-row.err").first.click()
    app.wait_for(".wb-exc", text="TimeoutError")
    assert "support/tools.py" in app.text(".wb-exc")
    app.page.locator(".wb-tab", has_text="Attributes").click()
    app.wait_for(".wb-pane[data-pane='attributes'] .wb-list", text="tool.name")
    assert not app.page.locator(".wb-pane[data-pane='overview']").is_visible()


def test_collapse_and_expand_in_the_tree(app, dataset):
    app.goto(f"page=trace&trace_id={dataset.llm_trace}", ready=".wf-row[data-id]")
    visible = app.page.locator(".wf-row[data-id]:not(.hidden)")
    total = visible.count()
    app.page.locator(".wf-tog[data-tog]").first.click()
    app.wait_count(".wf-row[data-id]:not(.hidden)", 1)
    app.page.locator(".wf-tog[data-tog]").first.click()
    app.wait_count(".wf-row[data-id]:not(.hidden)", total)


def test_the_latency_page_shows_the_slow_tail(app, dataset):
    app.goto("page=latency", ready=".wb-card")
    labels, values = app.page.locator(".wb-card .l"), app.page.locator(".wb-card .v")
    cards = dict(zip(labels.all_inner_texts(), values.all_inner_texts()))
    assert cards["TRACES"] == str(len(dataset.trace_ids))
    p99 = cards["P99"]
    assert p99.endswith(" s") and float(p99.split()[0]) >= 8, cards  # the planted tail
    slowest = app.page.locator("table.wb-list a[href*='page=trace&trace_id=']").first
    trace_id = _query(slowest.get_attribute("href"))["trace_id"]
    assert trace_id in dataset.slow
    app.wait_for("table.wb-list", text="Tokens/s p50")
    slowest.click()
    app.wait_for(".wf-row[data-id]")
    app.wait_url(page="trace", trace_id=trace_id)


def test_a_point_on_the_latency_chart_lists_its_traces_slowest_first(app):
    app.goto("page=latency&by=kind&level=spans", ready=".wb-card")
    # What a tap on a point does: select it in its Bokeh data source.
    found = app.page.evaluate("""() => {
      for (const model of Bokeh.documents[0].all_models) {
        const groups = model.data && (model.data.get ? model.data.get("group") : model.data.group);
        if (groups && groups[0] === "LLM") { model.selected.indices = [0]; return true; }
      }
      return false;
    }""")
    assert found
    app.wait_url(page="traces", mode="spans", kind="LLM", sort="latency_ms", range="custom")
    app.wait_for(".wb-muted", text="spans match")
    app.wait_for(ROWS)


def test_the_sessions_page_lists_turns_in_order(app, dataset):
    session_id = max(dataset.sessions, key=lambda s: len(dataset.sessions[s]))
    app.goto(f"page=sessions&session_id={session_id}", ready=".wb-turn")
    heads = app.page.locator(".wb-turn-head b").all_inner_texts()
    assert heads == [f"Turn {i}" for i in range(1, len(dataset.sessions[session_id]) + 1)]
    app.page.locator(".wb-turn a", has_text="open trace").first.click()
    app.wait_for(".wf-row[data-id]")
    app.wait_url(page="trace", trace_id=dataset.sessions[session_id][0])


def test_a_shared_link_restores_the_view(browser, app_server, dataset):
    tab = new_app_page(browser, app_server.url)
    try:
        tab.goto("page=traces&status=ERROR&mode=spans", ready=ROWS)
        tab.wait_for(".wb-muted", text=f"{len(dataset.errors)} spans match")
        assert tab.page.locator(".bk-btn.bk-active", has_text="Spans").count() == 1
        tab.assert_no_errors()
    finally:
        tab.page.context.close()


def test_navigation_between_pages_keeps_the_scope(app):
    app.goto(ready=ROWS)
    app.page.locator("select").first.select_option(label="Last 24 hours")
    app.wait_url(range="24h")
    app.page.get_by_role("button", name="Latency").click()
    app.wait_for(".wb-card")
    app.wait_url(page="latency", range="24h")


def test_live_shows_new_traces_as_they_arrive(browser, tmp_path):
    """With Live on, spans written after the page opened appear without a reload."""
    from tests.app.browser import serve_app
    from tests.app.data import make_dataset
    from workbench.store import Store

    first, more = make_dataset(sessions=6, seed=4), make_dataset(sessions=12, seed=1)
    with Store(tmp_path / "live.duckdb") as store, serve_app(store) as server:
        store.write(first.spans)
        tab = new_app_page(browser, server.url)
        try:
            tab.goto(ready=ROWS)
            tab.wait_for(".wb-muted", text=f"{len(first.trace_ids)} traces match")
            tab.page.get_by_role("button", name="Live").click()
            store.write(more.spans)
            tab.wait_for(".wb-muted", text=f"{len(first.trace_ids) + len(more.trace_ids)} traces match")
            tab.assert_no_errors()
        finally:
            tab.page.context.close()


def test_a_span_shows_its_cost_and_takes_feedback(app, app_server, dataset):
    app.goto(f"page=trace&trace_id={dataset.llm_trace}", ready=".wf-row[data-id]")
    app.page.locator(".wf-row[data-id]", has_text="answer").first.click()
    app.wait_for(".wb-span-cost", text="this call")
    cost = app.page.locator(".wb-span-cost .wb-muted").first.inner_text()
    assert cost.startswith("Cost: $") and "this call" in cost
    app.page.locator(".wb-feedback-card .card-header").first.click()  # folded until wanted
    app.page.locator(".wb-feedback-note textarea").fill("cited the wrong document")
    app.page.locator(".wb-thumbs-down button").click()
    app.wait_for(".wb-feedback-list", text="cited the wrong document")
    notes = app_server.reader.annotations("user_feedback", trace_ids=[dataset.llm_trace])
    assert list(notes["label"]) == ["thumbs_down"] and list(notes["explanation"]) == ["cited the wrong document"]
    assert notes["span_id"].iloc[0]  # on the span selected, not the whole trace


def test_the_header_says_when_redaction_is_on_and_data_is_sampled(browser, tmp_path):
    import requests

    from tests.helpers import wait_for
    from workbench.collector.sampling import SamplingPolicy
    from workbench.server import Server
    from workbench.store import Store

    with Store(tmp_path / "redacted.duckdb") as store:
        server = Server(store, host="127.0.0.1", port=0, decode_workers=0, redact=True,
                        sampling=SamplingPolicy(rate=0.5, decision_wait_s=0)).start()
        try:
            body = {"resourceSpans": [{"scopeSpans": [{"spans": [{
                "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat",
                "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
                "attributes": [{"key": "input.value", "value": {"stringValue": "reach me at ann@example.com"}}],
                "status": {"code": 2},
            }]}]}]}
            assert requests.post(server.url + "/v1/traces", json=body, timeout=30).status_code == 200
            wait_for(lambda: store.counts()["spans"] == 1)
            app = new_app_page(browser, server.url)
            try:
                app.goto("page=traces", ready=".wb-store")
                header = app.page.locator(".wb-store").first.inner_text()
                assert "redaction on (1 replaced)" in header and "sampled data" in header
                assert app.errors == []
            finally:
                app.page.context.close()
        finally:
            server.stop()
