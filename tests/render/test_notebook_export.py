"""A trace shown in a real notebook, exported to HTML and opened with no server running.

The notebook runs in a real kernel (nbclient): it records spans with ``register()``,
``@traced`` and ``span()``, then shows ``wb.trace(...)`` and ``workbench.show(wb.spans(...))``
as cell values. nbconvert writes it as HTML; chromium opens the file with every request
aborted and recorded: the tree renders, a click shows a span's detail, span content that holds
a script or an image never runs or loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.render.offline import DEADLINE_MS, markup_of, offline_page

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
nbconvert = pytest.importorskip("nbconvert")

HOSTILE = ("<script>window.__pwned = 1</script>"
           "<img src=https://attacker.invalid/x.png onerror='window.__pwned = 2'> Where is my order A-1?")

RECORD = f'''
import workbench

provider = workbench.register("notebook-demo", db="nb.duckdb")

@workbench.traced(kind="TOOL")
def lookup_order(order_id: str) -> dict:
    return {{"order": order_id, "status": "shipped"}}

@workbench.traced(kind="TOOL")
def refund(order_id: str) -> None:
    raise ValueError("refund window closed for " + order_id)

@workbench.traced(kind="AGENT")
def agent(question: str) -> str:
    with workbench.span("search kb", kind="RETRIEVER", input=question, attributes={{
            "retrieval.documents.0.document.id": "kb-7",
            "retrieval.documents.0.document.content": "Refunds are possible within 30 days of delivery.",
            "retrieval.documents.0.document.score": 0.87}}):
        pass
    with workbench.span("chat", kind="LLM", attributes={{
            "llm.model_name": "gpt-4o-mini",
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "You answer order questions.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": question,
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup_order",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{{"order_id": "A-1"}}',
            "llm.token_count.prompt": 42, "llm.token_count.completion": 7}}):
        pass
    order = lookup_order("A-1")
    try:
        refund("A-1")
    except ValueError:
        pass
    return "Order " + order["order"] + " is " + order["status"] + "."

agent({HOSTILE!r})
'''

SHOW_TRACE = '''
wb = workbench.open("nb.duckdb")
trace_id = wb.traces()["trace_id"][0]
wb.trace(trace_id)
'''

SHOW_SPANS = '''
workbench.show(wb.spans("span_kind == 'TOOL'"))
'''


def _run_and_export(folder: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in (RECORD, SHOW_TRACE, SHOW_SPANS)]
    client = nbclient.NotebookClient(notebook, timeout=300, startup_timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    nbformat.write(notebook, folder / "demo.ipynb")
    # nbconvert's own page template loads require.js, MathJax and mermaid from CDNs: point it at
    # nothing, so that any request the page makes is the trace output's.
    exporter = nbconvert.HTMLExporter(template_name="lab", mathjax_url="", require_js_url="", jquery_url="",
                                      mermaid_js_url="", mermaid_layout_elk_js_url="")
    body, _ = exporter.from_notebook_node(notebook)
    out = folder / "demo.html"
    out.write_text(body, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory: Any) -> Path:
    return _run_and_export(tmp_path_factory.mktemp("notebook"))


def test_the_notebook_holds_the_trace_as_one_self_contained_html_output(exported: Path):
    notebook = nbformat.read(exported.with_suffix(".ipynb"), as_version=4)
    outputs = [o for o in notebook.cells[1].outputs if o.get("output_type") == "execute_result"]
    assert len(outputs) == 1
    fragment = outputs[0]["data"]["text/html"]
    tags = markup_of(fragment)
    assert tags["script"] == 2 and tags["style"] == 1 and "img" not in tags  # the data and the viewer only
    assert not tags["linked"], "the fragment loads nothing"
    assert "<script>window.__pwned" not in fragment  # the span's text is escaped, never markup


def test_the_exported_file_shows_the_tree_and_a_clicked_spans_detail_with_nothing_fetched(browser: Any,
                                                                                          exported: Path):
    with offline_page(browser, exported) as opened:
        page = opened.page
        first = page.locator(".wbx").first
        first.locator(".wbx-row").first.wait_for(state="visible", timeout=DEADLINE_MS)
        names = first.locator(".wbx-row .wbx-label").all_inner_texts()
        assert names == ["agent", "search kb", "chat", "lookup_order", "refund"]
        assert first.locator(".wbx-row.wbx-err .wbx-label").all_inner_texts() == ["refund"]

        # The root's detail shows at once; the hostile input is there as text.
        detail = first.locator(".wbx-detail")
        detail.locator(".wbx-dhead", has_text="agent").wait_for(timeout=DEADLINE_MS)
        assert HOSTILE in detail.inner_text()

        first.locator(".wbx-row", has_text="chat").click()
        detail.locator(".wbx-dhead", has_text="chat").wait_for(timeout=DEADLINE_MS)
        text = detail.inner_text()
        assert "INPUT MESSAGES" in text.upper() and "You answer order questions." in text
        assert "calls lookup_order" in text and '"order_id": "A-1"' in text
        assert "gpt-4o-mini" in text and "prompt 42" in text

        first.locator(".wbx-row", has_text="search kb").click()
        detail.locator(".wbx-box-doc", has_text="kb-7").first.wait_for(timeout=DEADLINE_MS)
        assert "Refunds are possible within 30 days of delivery." in detail.inner_text()

        first.locator(".wbx-row", has_text="refund").click()
        detail.locator(".wbx-box-err", has_text="ValueError").first.wait_for(timeout=DEADLINE_MS)
        assert "refund window closed for A-1" in detail.inner_text()

        # The span list of the third cell is its own view, with its own detail.
        tools = page.locator(".wbx").nth(1)
        assert tools.locator(".wbx-row .wbx-label").all_inner_texts() == ["lookup_order", "refund"]
        tools.locator(".wbx-row", has_text="lookup_order").click()
        tools.locator(".wbx-dhead", has_text="lookup_order").wait_for(timeout=DEADLINE_MS)
        assert '"status": "shipped"' in tools.locator(".wbx-detail").inner_text()

        assert page.evaluate("window.__pwned") is None
        assert page.locator(".wbx img").count() == 0 and page.locator(".wbx-detail script").count() == 0
        opened.assert_nothing_left_the_page()
