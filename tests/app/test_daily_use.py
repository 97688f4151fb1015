"""The pages as a daily tool, in a real browser: errors that keep to their box, layouts that
fit the window, and what a daily user reaches for (columns, copy, search, message views)."""

from __future__ import annotations

import pytest

from tests.app.browser import new_app_page
from tests.app.page_charts import legends
from tests.helpers import wait_for

pytestmark = pytest.mark.browser

ROWS = ".wb-grid tbody tr[data-href]"
FILTER = "filter: span_kind == 'LLM' and latency_ms > 2000"


def _rect(app, selector: str, index: int = 0) -> dict[str, float]:
    return app.page.locator(selector).nth(index).evaluate(
        "el => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top,"
        " bottom: r.bottom, width: r.width, height: r.height}; }")


def _host(app, selector: str) -> dict[str, float]:
    """The box of the Panel component (shadow host) holding the first ``selector``."""
    return app.page.locator(selector).first.evaluate(
        "el => { const r = el.getRootNode().host.getBoundingClientRect(); return {left: r.left, right: r.right,"
        " top: r.top, bottom: r.bottom, width: r.width, height: r.height}; }")


def _type_filter(app, text: str) -> None:
    box = app.page.get_by_placeholder(FILTER)
    box.fill(text)
    box.press("Enter")


# Filter errors -----------------------------------------------------------------------------

def test_a_long_filter_error_stays_in_its_box_with_the_whole_message_one_click_away(app):
    app.goto(ready=ROWS)
    _type_filter(app, "colour == 'red'")
    app.wait_for(".wb-error-box", text="no field 'colour'")
    box = _rect(app, ".wb-error-box")
    line = app.text(".wb-error-line")
    assert len(line) < 200 and "cache_read_tokens" not in line  # the 42 fields are not in the box's line
    full = app.page.locator(".wb-error-more")
    assert not app.page.locator(".wb-error-full").first.is_visible()
    full.locator("summary").click()
    app.wait_for(".wb-error-full", text="cache_read_tokens")
    box = _rect(app, ".wb-error-box")
    header = _rect(app, ".wb-grid th")
    assert box["bottom"] <= header["top"] + 1, (box, header)  # pushes the table down, never over it
    status = _host(app, ".wb-error-box")
    assert box["right"] <= status["right"] + 1 and box["bottom"] <= status["bottom"] + 1


@pytest.mark.parametrize(("typed", "advice"), [
    ("span_kind == LLM", "put text values in quotes, as in span_kind == 'LLM'"),
    ("span_kind = 'LLM'", "compare with ==, as in span_kind == 'LLM'"),
])
def test_a_filter_slip_shows_the_mended_filter(app, typed, advice):
    app.goto(ready=ROWS)
    _type_filter(app, typed)
    app.wait_for(".wb-error-box", text=advice)


def test_an_unfinished_filter_gets_a_caret_under_the_right_column(app):
    app.goto(ready=ROWS)
    _type_filter(app, "latency_ms >")
    app.wait_for(".wb-error-box", text="column 13")
    expression, caret = app.text("pre.wb-caret").split("\n")[:2]
    assert expression == "latency_ms >" and caret.index("^") == 12  # just after the '>'
    first = _rect(app, "pre.wb-caret")
    mark = _rect(app, ".wb-caret-mark")
    char = app.page.locator("pre.wb-caret").evaluate(
        "el => { const c = document.createElement('canvas').getContext('2d'); c.font = getComputedStyle(el).font;"
        " return c.measureText('x').width; }")
    assert abs((mark["left"] - first["left"]) - 12 * char) < char, (mark, first, char)


# Latency -----------------------------------------------------------------------------------

def test_latency_by_model_has_no_no_model_group_and_legends_sit_below_and_hide_on_click(app, dataset):
    app.goto("page=latency&by=model", ready=".wb-cards")
    app.wait_until("() => window.Bokeh && Bokeh.documents.length")
    charts = app.wait_until(  # a chart by model is drawn (the page's other charts may come first)
        "() => { for (const d of Bokeh.documents) for (const m of d._all_models.values())"
        " if (m.type === 'Legend' && m.items.some((i) => i.label && i.label.value === 'gpt-4o'))"
        " return true; return false; }")
    assert charts
    lines = [c for c in legends(app) if len(c["colors"]) > 1]
    # The charts by model (others on the page have legends too: the percentiles, say).
    by_model = [set(c["colors"]) for c in lines if "gpt-4o" in c["colors"]]
    assert by_model, lines
    for groups in by_model:
        assert "(no model)" not in groups and {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet"} <= groups, groups
    assert all(c["side"] == "below" and c["click"] == "hide" for c in lines)


def test_the_slow_tool_is_one_click_from_the_latency_page(app, dataset):
    app.goto("page=latency", ready=".wb-tools")
    tools = app.text(".wb-tools")
    assert "lookup_invoice" in tools
    app.page.locator("a.wb-tool-link", has_text="lookup_invoice").click()
    app.wait_url(page="traces", mode="spans")
    _wait_rows(app, lambda row: "lookup_invoice" in row)


def _wait_rows(app, each) -> list[str]:
    """The list's rows once every one passes ``each``: the address changes before the new
    rows arrive, so the previous page's rows may still show for a moment."""
    def rows():
        names = app.page.locator(ROWS).all_inner_texts()
        return names if names and all(each(n) for n in names) else None

    app.wait_for(ROWS)
    return wait_for(rows, timeout=30)



def test_each_model_of_the_latency_page_lists_its_calls_slowest_first(app):
    app.goto("page=latency", ready=".wb-model-link")
    model = app.page.locator("a.wb-model-link").first.inner_text()
    app.page.locator("a.wb-model-link").first.click()
    app.wait_url(page="traces", mode="spans", model=model, sort="latency_ms")
    _wait_rows(app, lambda row: model in row)


# Layout ------------------------------------------------------------------------------------

def test_the_trace_page_fits_the_window_and_gives_the_span_detail_the_height(app, dataset):
    app.goto(f"page=trace&trace_id={dataset.llm_trace}", ready=".wf-row[data-id]")
    app.wait_for(".wb-tabs")
    width = app.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width  # no horizontal scroll of the page
    assert not app.page.locator(".wb-feedback-note textarea").first.is_visible()  # folded until wanted
    detail = _host(app, ".wb-tabs")
    assert detail["height"] > 0.6 * 900, detail
    app.page.locator(".wb-feedback-card .card-header").first.click()
    app.wait_for(".wb-feedback-note textarea")


def test_sorted_headers_keep_their_arrow_and_the_input_column_is_whole(app):
    app.goto("sort=total_tokens&descending=true", ready=ROWS)
    arrow = _rect(app, "th.sorted .wb-th-arrow")
    header = _rect(app, "th.sorted")
    assert arrow["width"] > 0 and arrow["right"] <= header["right"] + 0.5, (arrow, header)
    table_box = _host(app, ".wb-grid")
    for column in ("Input", "Output"):  # the text columns at the right end are whole, not cut at the edge
        head = _rect(app, f".wb-grid th[data-col='{column}']")
        assert head["width"] >= 100 and head["right"] <= table_box["right"] + 1, (column, head, table_box)


def test_the_monitors_window_select_names_the_window_in_use(app):
    app.goto("page=monitors", ready=".wb-cards")
    shown = app.page.locator("select").first.evaluate("el => el.options[el.selectedIndex].text")
    assert "days" in shown or "hours" in shown, shown


def test_the_sessions_list_shows_last_activity(browser, tmp_path):
    """The sample's sessions, ids and users as real apps name them: the list keeps every
    column, Last activity too."""
    from tests.app.browser import serve_app
    from workbench.sample import load_sample
    from workbench.store import Store

    store = Store(tmp_path / "sessions.duckdb")
    load_sample(store)
    with serve_app(store) as server:
        tab = new_app_page(browser, server.url)
        try:
            tab.goto("page=sessions", ready="text=Last activity")
            tab.wait_for(".wb-title", text="Session")
            header = _rect(tab, "th:has-text('Last activity')")
            turns = _host(tab, ".wb-title:has-text('Session')")  # the selected session, right of the list
            assert header["right"] <= turns["left"] + 1, (header, turns)
            cell = tab.page.locator("table.wb-list tr").nth(1).locator("td").last
            assert cell.evaluate("el => el.getBoundingClientRect().right") <= turns["left"] + 1
        finally:
            tab.page.context.close()
    store.close()
    tab.assert_no_errors()


# The trace tree ----------------------------------------------------------------------------

def test_a_folded_subtree_shows_that_a_hidden_span_failed(app, dataset):
    trace_id = dataset.errors[0]
    app.goto(f"page=trace&trace_id={trace_id}", ready=".wf-row[data-id]")
    assert app.page.locator(".wf-hid-err").count() == 0
    app.page.locator(".wf-row[data-id] [data-tog]").first.click()  # fold the root
    app.wait_for(".wf-hid-err", text="1")
    assert "failed" in app.page.locator(".wf-hid-err").first.get_attribute("title")
    app.page.locator(".wf-row[data-id] [data-tog]").first.click()
    app.wait_count(".wf-hid-err", 0)


def test_tokens_and_cost_per_node_and_search_within_the_trace(app, dataset):
    trace_id = dataset.llm_trace
    answer = next(s for s in dataset.spans if s.trace_id == trace_id and s.name == "answer")
    app.goto(f"page=trace&trace_id={trace_id}", ready=".wf-row[data-id]")
    row = app.page.locator(f".wf-row[data-id='{answer.span_id}']")
    assert row.locator(".wf-num.tok").inner_text() == f"{answer.tokens.total:,}"
    # Costs are priced a moment after the tree is drawn, and fill in its rows when they come.
    app.wait_for(f".wf-row[data-id='{answer.span_id}'] .wf-num.cost", text="$")
    assert row.locator(".wf-num.cost").inner_text().startswith("$")
    find = app.page.get_by_placeholder("search this trace: name, model, tool, text")
    find.fill("ANSWER")
    app.wait_for(".wf-hits", text="1 match")
    assert app.page.locator(".wf-row.hit").count() == 1
    assert "hit" in row.get_attribute("class")
    find.press("Enter")
    app.wait_url(span_id=answer.span_id)
    app.page.locator(".wf-only").check()
    visible = [r for r in app.page.locator(".wf-row[data-id]").all() if r.is_visible()]
    assert len(visible) == 2  # the match and the root above it



def test_a_search_opens_the_folds_the_user_closed_above_a_match(app, dataset):
    answer = next(s for s in dataset.spans if s.trace_id == dataset.llm_trace and s.name == "answer")
    app.goto(f"page=trace&trace_id={dataset.llm_trace}", ready=".wf-row[data-id]")
    app.page.locator(".wf-row[data-id] [data-tog]").first.click()  # fold the root: one row left
    app.wait_count(".wf-row[data-id]", 1)
    app.page.get_by_placeholder("search this trace: name, model, tool, text").fill("answer")
    app.wait_for(f".wf-row.hit[data-id='{answer.span_id}']")
    app.wait_for(".wf-hits", text="1 match")


# The lists ---------------------------------------------------------------------------------

def test_columns_can_be_hidden_and_widths_dragged_and_both_are_remembered(app):
    app.goto(ready=ROWS)

    def heads() -> list[str]:
        return [h.strip(" \u25b2\u25bc") for h in app.page.locator(".wb-grid th").all_inner_texts()]

    assert "User" in heads()
    app.page.locator(".wb-cols summary").click()
    app.page.locator("[data-col-toggle='User']").uncheck()
    app.wait_count(".wb-grid th[data-col='User']", 0)
    name = app.page.locator(".wb-grid th[data-col='Name']")
    before = name.evaluate("el => el.getBoundingClientRect().width")
    grip = app.page.locator(".wb-grid th[data-col='Name'] .wb-grip").bounding_box()
    app.page.mouse.move(grip["x"] + 2, grip["y"] + grip["height"] / 2)
    app.page.mouse.down()
    app.page.mouse.move(grip["x"] + 82, grip["y"] + grip["height"] / 2, steps=4)
    app.page.mouse.up()
    after = name.evaluate("el => el.getBoundingClientRect().width")
    assert after == pytest.approx(before + 80, abs=4)
    app.page.reload()
    app.wait_for(ROWS)
    assert "User" not in heads() and "Name" in heads()
    kept = app.page.locator(".wb-grid th[data-col='Name']").evaluate("el => el.getBoundingClientRect().width")
    assert kept == pytest.approx(after, abs=2)
    app.page.locator(".wb-cols summary").click()
    app.page.locator("[data-cols-reset]").click()
    app.wait_for(".wb-grid th[data-col='User']")


# The span detail ---------------------------------------------------------------------------

def test_messages_copy_and_read_as_text_markdown_or_json(browser, app_server, dataset):
    tab = new_app_page(browser, app_server.url)
    try:
        tab.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        trace_id = dataset.llm_trace
        answer = next(s for s in dataset.spans if s.trace_id == trace_id and s.name == "answer")
        tab.goto(f"page=trace&trace_id={trace_id}&span_id={answer.span_id}", ready=".wb-msg")
        reply = tab.page.locator(".wb-msg.wb-role-assistant").last
        reply.locator(".wb-copy").click()
        tab.wait_for(".wb-copy.done")
        copied = tab.page.evaluate("() => navigator.clipboard.readText()")
        assert copied == answer.output_messages[0].content
        reply.locator("[data-view='md']").click()
        assert reply.locator("[data-v='md']").is_visible() and not reply.locator("[data-v='raw']").is_visible()
        assert reply.locator("[data-v='md'] .wb-md p").count() >= 1
        reply.locator("[data-view='json']").click()
        json_text = reply.locator("[data-v='json']").inner_text()
        assert '"role": "assistant"' in json_text
        tab.page.locator(".wb-tab[data-tab='overview']").first.click()
        tab.page.locator(f".wb-mono:text-is('{answer.span_id}') + .wb-copy").first.click()
        tab.page.wait_for_function("id => navigator.clipboard.readText().then((t) => t === id)", arg=answer.span_id)
    finally:
        tab.page.context.close()
    tab.assert_no_errors()
