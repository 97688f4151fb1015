"""The shared page of a trace (``trace.to_html(path)``) in headless chromium, with no server and no
request allowed: selecting, folding, keys, and span content that tries to be markup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import make_span
from tests.render.offline import DEADLINE_MS, offline_page
from workbench.model import Document, Event, Message, SpanKind, StatusCode, ToolCall
from workbench.read import Reader

# Each would run script, or fetch, if it were ever parsed as HTML.
ATTACKS = [
    "</script><script>window.__pwned = 'script'</script>",
    "<img src=https://attacker.invalid/i.png onerror=\"window.__pwned = 'img'\">",
    "<svg onload=\"window.__pwned = 'svg'\"></svg>",
    "<iframe src=\"javascript:parent.__pwned = 'iframe'\"></iframe>",
    "<a href=javascript:window.__pwned='a'>x</a>\u2028\u2029<!--<script>",
]
EVIL = " ".join(ATTACKS)


def _spans() -> list[Any]:
    return [
        make_span(0, kind=SpanKind.AGENT, name="agent " + EVIL, duration_ms=1000, input_value=EVIL,
                  attributes={"openinference.span.kind": "AGENT", EVIL: EVIL}, resource={EVIL: EVIL}),
        make_span(1, parent=0, kind=SpanKind.LLM, name="plan", start_ms=10, duration_ms=200,
                  input_messages=(Message(EVIL, EVIL, name=EVIL),),
                  output_messages=(Message("assistant", None, tool_calls=(ToolCall(EVIL, EVIL, EVIL),)),)),
        make_span(2, parent=0, kind=SpanKind.CHAIN, name="step", start_ms=220, duration_ms=600),
        make_span(3, parent=2, kind=SpanKind.RETRIEVER, name="search", start_ms=230, duration_ms=100,
                  documents=(Document(0, EVIL, EVIL, 0.5, {EVIL: EVIL}),),
                  attributes={"openinference.span.kind": "RETRIEVER", "retrieval.documents.0.document.id": EVIL,
                              "retrieval.documents.0.document.content": EVIL}),
        make_span(4, parent=2, kind=SpanKind.TOOL, name="pay", start_ms=400, duration_ms=100,
                  status_code=StatusCode.ERROR, status_message=EVIL,
                  events=(Event("exception", 1_763_884_800_450_000_000,
                                {"exception.type": EVIL, "exception.message": EVIL, "exception.stacktrace": EVIL}),)),
        make_span(5, parent=0, kind=SpanKind.TOOL, name="reply", start_ms=850, duration_ms=100, output_value=EVIL),
    ]


def _page(store: Any, tmp_path: Path) -> Path:
    store.write(_spans())
    return Reader(store, owns_store=False).trace(f"{1:032x}").to_html(tmp_path / "trace.html")


def test_every_span_shows_its_detail_on_click_and_nothing_in_it_runs_or_loads(browser, store, tmp_path):
    with offline_page(browser, _page(store, tmp_path)) as opened:
        page = opened.page
        rows = page.locator(".wbx-row")
        rows.first.wait_for(state="visible", timeout=DEADLINE_MS)
        assert rows.count() == 6
        for i in range(6):
            rows.nth(i).click()
            page.locator(".wbx-row.wbx-sel").nth(0).wait_for(timeout=DEADLINE_MS)
            assert rows.nth(i).get_attribute("class").endswith("wbx-sel")
            detail = page.locator(".wbx-detail").inner_text()
            assert "<script>window.__pwned = 'script'</script>" in detail or i == 2  # shown as text
        assert page.evaluate("window.__pwned") is None
        assert page.locator(".wbx img, .wbx svg, .wbx iframe, .wbx a, .wbx-detail script").count() == 0
        opened.assert_nothing_left_the_page()


def test_a_folded_subtree_says_how_many_spans_it_hides_and_that_one_failed(browser, store, tmp_path):
    with offline_page(browser, _page(store, tmp_path)) as opened:
        page = opened.page
        step = page.locator(".wbx-row", has_text="step")
        step.locator(".wbx-tog").click()
        page.locator(".wbx-row", has_text="search").wait_for(state="hidden", timeout=DEADLINE_MS)
        assert step.locator(".wbx-hid").inner_text() == "2 folded · 1 failed"
        assert page.locator(".wbx-row", has_text="pay").is_hidden()
        assert page.locator(".wbx-row", has_text="reply").is_visible()

        # Folding the root hides everything; unfolding it keeps "step" folded.
        root = page.locator(".wbx-row").first
        root.locator(".wbx-tog").click()
        assert root.locator(".wbx-hid").inner_text() == "5 folded · 1 failed"
        assert page.locator(".wbx-row:visible").count() == 1
        root.locator(".wbx-tog").click()
        assert page.locator(".wbx-row:visible").count() == 4 and page.locator(".wbx-row", has_text="pay").is_hidden()

        page.locator("button[data-act=unfold]").click()
        assert page.locator(".wbx-row:visible").count() == 6 and step.locator(".wbx-hid").inner_text() == ""
        page.locator("button[data-act=fold]").click()
        assert page.locator(".wbx-row:visible").count() == 1
        opened.assert_nothing_left_the_page()


def test_the_keys_move_the_selection_and_fold(browser, store, tmp_path):
    with offline_page(browser, _page(store, tmp_path)) as opened:
        page = opened.page
        root = page.locator(".wbx-row").first
        root.focus()
        page.keyboard.press("ArrowDown")
        page.locator(".wbx-row.wbx-sel", has_text="plan").wait_for(timeout=DEADLINE_MS)
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowLeft")  # fold "step"
        assert page.locator(".wbx-row", has_text="search").is_hidden()
        page.keyboard.press("ArrowDown")  # past the folded spans
        page.locator(".wbx-row.wbx-sel", has_text="reply").wait_for(timeout=DEADLINE_MS)
        assert "reply" in page.locator(".wbx-detail .wbx-dhead").inner_text()
        opened.assert_nothing_left_the_page()
