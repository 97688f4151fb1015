"""In a real browser: a trace's small cost keeps its digits on the Trace and Traces pages, the
part without a price is named, and a trace whose root never arrived is marked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.app.browser import serve_app
from tests.helpers import make_span
from workbench.model import SpanKind, StatusCode, TokenUsage

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: Any) -> Iterator[Any]:
    """A trace with a $0.000033 call, an unpriced call and a failed call; and one without its root."""
    from workbench.store import Store

    store = Store(tmp_path_factory.mktemp("trace-cost") / "workbench.duckdb")
    base = time.time_ns() - 600_000_000_000  # ten minutes ago: inside the app's default range
    store.write([
        make_span(0, kind=SpanKind.CHAIN, name="ask", base_ns=base, duration_ms=900),
        # gpt-4o-mini: 100 input tokens at $0.15 and 30 output at $0.60 per million: $0.000033.
        make_span(1, parent=0, name="answer", base_ns=base, start_ms=10, model_name="gpt-4o-mini", provider="openai",
                  tokens=TokenUsage(prompt=100, completion=30)),
        make_span(2, parent=0, name="homegrown", base_ns=base, start_ms=200, model_name="homegrown-7b",
                  tokens=TokenUsage(prompt=50, completion=5)),
        make_span(3, parent=0, name="retry", base_ns=base, start_ms=400, model_name="gpt-4o-mini",
                  provider="openai", tokens=TokenUsage(), status_code=StatusCode.ERROR),
        make_span(1, trace=1, parent=0, name="orphan_step", kind=SpanKind.TOOL, base_ns=base, start_ms=50),
    ])
    with serve_app(store) as server:
        yield server
    store.close()


def test_the_trace_page_shows_a_small_cost_and_what_it_leaves_out(app):
    trace_id = make_span(0).trace_id
    app.goto(f"page=trace&trace_id={trace_id}", ready=".wb-trace-cost")
    summary = app.text(".wb-trace-cost")
    assert "$0.000033" in summary and "1 call without a price" in summary and "1 call reported no tokens" in summary
    app.page.locator(".wf-row[data-id]", has_text="answer").first.click()
    app.wait_for(".wb-span-cost", text="this call")
    assert app.text(".wb-span-cost .wb-muted") == "Cost: $0.000033 this call"


def test_the_traces_page_shows_the_cost_and_the_missing_root(app):
    app.goto("", ready=".wb-grid tbody tr[data-href]")
    app.wait_for(".wb-grid tbody tr", text="orphan_step (root span missing)")
    row = app.page.locator(".wb-grid tbody tr", has_text="ask").first
    cost = row.locator("td.num").filter(has_text="$").first.inner_text()
    assert cost.startswith("$0.000033")
