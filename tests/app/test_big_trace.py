"""A trace of thousands of spans on the Trace page: only the rows in view are drawn, the deep
levels come when a fold opens, and a span deep down can still be linked to."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import wait_for
from workbench.model import Span, SpanKind, StatusCode

TRACE = "ab" * 16
GROUPS, LEAVES = 20, 200  # 1 + 20 + 4,000 spans


def _id(n: int) -> str:
    return f"{n + 1:016x}"


def big_trace() -> list[Span]:
    t0 = time.time_ns() - 3_600 * 10**9
    spans = [Span(TRACE, _id(0), None, "agent", t0, t0 + 10**12, span_kind=SpanKind.AGENT,
                  status_code=StatusCode.OK, project="big")]
    n = 1
    for g in range(GROUPS):
        group = _id(n)
        g0 = t0 + g * 10**10
        spans.append(Span(TRACE, group, _id(0), f"group_{g}", g0, g0 + 9 * 10**9, span_kind=SpanKind.CHAIN,
                          project="big"))
        n += 1
        for leaf in range(LEAVES):
            s0 = g0 + leaf * 4 * 10**7
            failed = g == 17 and leaf == 150
            spans.append(Span(TRACE, _id(n), group, f"leaf_{g}_{leaf}", s0, s0 + 3 * 10**7, span_kind=SpanKind.TOOL,
                              status_code=StatusCode.ERROR if failed else StatusCode.OK, project="big",
                              input_value=f"input of leaf {g}/{leaf}"))
            n += 1
    return spans


@pytest.fixture(scope="module")
def spans() -> list[Span]:
    return big_trace()


@pytest.fixture(scope="module")
def loaded_store(tmp_path_factory: Any, spans: list[Span]) -> Iterator[Any]:
    from workbench.store import Store

    store = Store(tmp_path_factory.mktemp("big") / "workbench.duckdb")
    store.write(spans)
    yield store
    store.close()


ROW = ".wf-row[data-id]"


def test_a_big_trace_draws_only_the_rows_in_view(app, spans):
    app.goto(f"page=trace&trace_id={TRACE}", ready=ROW)
    app.wait_for(".wf-tools", text=f"{len(spans):,}")  # the header counts every span
    drawn = app.page.locator(ROW).count()
    assert 0 < drawn < 150, drawn
    # Scrolling to the end draws the last rows the browser has: the last group, whose fold is closed.
    app.page.locator(".wf").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    app.wait_for(ROW, text=f"group_{GROUPS - 1}")
    assert app.page.locator(ROW).count() < 150


def test_opening_a_fold_brings_its_children(app):
    app.goto(f"page=trace&trace_id={TRACE}", ready=ROW)
    app.page.locator("[data-act='collapse']").click()
    app.wait_count(ROW, GROUPS + 1)
    assert app.page.locator(ROW, has_text="leaf_5_0").count() == 0
    app.page.locator(ROW, has_text="group_5").locator("[data-tog]").click()
    app.wait_for(ROW, text="leaf_5_0")
    app.page.locator(ROW, has_text="leaf_5_3").first.click()
    app.wait_for(".wb-html", text="input of leaf 5/3")  # the detail reads the selected span whole
    app.page.locator(ROW, has_text="group_5").locator("[data-tog]").click()  # and it folds again
    app.wait_count(ROW, GROUPS + 1)


def test_a_link_to_a_deep_span_opens_the_way_to_it(app):
    deep = _id(1 + 17 * (LEAVES + 1) + 1 + 150)
    app.goto(f"page=trace&trace_id={TRACE}&span_id={deep}", ready=".wf-row.sel")
    app.wait_for(".wf-row.sel", text="leaf_17_150")
    assert app.page.locator(".wf-row.sel.err").count() == 1
    app.wait_for(".wb-html", text="input of leaf 17/150")


def test_expand_all_brings_every_row(app, spans):
    app.goto(f"page=trace&trace_id={TRACE}", ready=ROW)
    app.page.locator("[data-act='expand']").click()
    last = app.page.locator(ROW, has_text=f"leaf_{GROUPS - 1}_{LEAVES - 1}")

    def at_the_end() -> bool:  # the rows come from the server: scroll again until they are there
        app.page.locator(".wf").evaluate("el => { el.scrollTop = el.scrollHeight; }")
        return last.count() == 1

    wait_for(at_the_end, timeout=30)
    assert app.page.locator(ROW).count() < 150


def test_a_closed_fold_counts_the_failed_spans_it_hides_even_before_they_are_sent(app):
    app.goto(f"page=trace&trace_id={TRACE}", ready=ROW)
    app.page.locator("[data-act='collapse']").click()  # every group in view
    app.wait_count(ROW, GROUPS + 1)
    group = app.page.locator(ROW, has_text="group_17")
    app.wait_for(f"{ROW} .wf-hid-err", text="1")
    assert group.locator(".wf-hid-err").inner_text().endswith("1")  # leaf_17_150 failed, never sent
    assert app.page.locator(".wf-hid-err").count() == 1
    group.locator("[data-tog]").click()  # opened: the failure is in sight, so the fold says nothing
    app.wait_for(ROW, text="leaf_17_0")
    app.wait_count(".wf-hid-err", 0)


def test_a_search_finds_spans_under_folds_whose_children_were_never_sent(app):
    app.goto(f"page=trace&trace_id={TRACE}", ready=ROW)
    assert app.page.locator(ROW, has_text="leaf_12_7").count() == 0
    find = app.page.get_by_placeholder("search this trace: name, model, tool, text")
    find.fill("leaf_12_7")  # also matches leaf_12_70 .. leaf_12_79
    app.wait_for(".wf-hits", text="11 matches")
    find.press("Enter")
    app.wait_for(".wf-row.sel.hit", text="leaf_12_7")
    app.wait_url(span_id=_id(1 + 12 * (LEAVES + 1) + 1 + 7))
    app.page.locator(".wf-only").check()  # the matches and the way down to them
    app.wait_count(ROW, 11 + 2)


def test_a_click_whose_press_and_release_straddle_a_redraw_still_selects_its_row(app):
    # The rows are drawn again whenever more come (costs, a fold's children) or a search runs;
    # a click pressed before and released after must still land on its row.
    app.goto(f"page=trace&trace_id={TRACE}", ready=ROW)
    row = app.page.locator(f"{ROW}[data-id='{_id(7)}']")  # leaf_0_5
    box = row.bounding_box()
    assert box is not None
    app.page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    app.page.mouse.down()
    app.page.locator(".wf-find").evaluate("el => { el.value = 'no such span'; el.dispatchEvent(new Event('input')); }")
    app.page.mouse.up()
    app.wait_for(f".wf-row.sel[data-id='{_id(7)}']")
    app.wait_for(".wb-html", text="input of leaf 0/5")
