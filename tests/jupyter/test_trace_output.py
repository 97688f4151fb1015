"""A trace as a cell's value in a real JupyterLab (and Notebook 7), with no workbench server and no
internet: the tree shows in the output and a click shows a span's detail."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

RECORD = """\
import workbench
provider = workbench.register("jupyter-trace", db="DB")

@workbench.traced(kind="TOOL")
def lookup(order: str) -> str:
    return "order " + order + " shipped"

with workbench.span("support_turn", kind="CHAIN", input="<b>where</b> is A-1?"):
    lookup("A-1")
wb = workbench.open("DB")
print("traces:", len(wb.traces()))
"""


@pytest.mark.parametrize("ui", ["lab", "notebook"])
def test_a_trace_shows_in_the_cell_and_a_click_shows_the_spans_detail(jupyter_page, ui):
    cells = [RECORD.replace("DB", f"trace-{ui}.duckdb"), "wb.trace(wb.traces()['trace_id'][0])"]
    nb = jupyter_page.open(f"trace-{ui}.ipynb", cells, ui=ui)
    assert "traces: 1" in nb.run(0).locator(".jp-OutputArea-output").all_inner_texts()[-1]
    output = nb.run(1).locator(".wbx")
    output.locator(".wbx-row").first.wait_for(timeout=60_000)
    assert output.locator(".wbx-row .wbx-label").all_inner_texts() == ["support_turn", "lookup"]
    detail = output.locator(".wbx-detail")
    detail.locator(".wbx-dhead", has_text="support_turn").wait_for(timeout=30_000)  # the script ran
    assert "<b>where</b> is A-1?" in detail.inner_text()
    output.locator(".wbx-row", has_text="lookup").click()
    detail.locator(".wbx-dhead", has_text="lookup").wait_for(timeout=30_000)
    assert "order A-1 shipped" in detail.inner_text()
    assert jupyter_page.blocked == []


def test_an_untrusted_notebooks_saved_trace_still_shows_its_tree(jupyter_page, tmp_path):
    """A notebook from elsewhere: JupyterLab drops its outputs' scripts, the tree stays readable."""
    import json

    from tests.helpers import make_span
    from workbench.model import SpanKind
    from workbench.read import Reader
    from workbench.store import Store

    store = Store(tmp_path / "saved.duckdb")
    store.write([make_span(0, kind=SpanKind.CHAIN, name="saved_turn"),
                 make_span(1, parent=0, kind=SpanKind.TOOL, name="saved_tool", start_ms=10, duration_ms=20)])
    fragment = Reader(store).trace(f"{1:032x}")._repr_html_()
    store.close()
    notebook = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"cell_type": "code", "id": "cell-0", "metadata": {}, "source": "wb.trace(trace_id)",
                   "execution_count": 1, "outputs": [{"output_type": "execute_result", "execution_count": 1,
                                                      "metadata": {}, "data": {"text/html": fragment,
                                                                               "text/plain": "<Trace>"}}]}],
    }
    (jupyter_page.lab.root / "saved.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    page = jupyter_page.page
    page.goto(f"{jupyter_page.lab.url}/lab/workspaces/saved/tree/saved.ipynb?token={jupyter_page.lab.token}")
    output = page.locator(".jp-OutputArea-output .wbx")
    output.locator(".wbx-row").first.wait_for(timeout=60_000)
    assert output.locator(".wbx-row .wbx-label").all_inner_texts() == ["saved_turn", "saved_tool"]
    # Each span still reads as one line, and the output says why there is no detail.
    assert [" ".join(t.split()) for t in output.locator(".wbx-row").all_inner_texts()] == [
        "▾ CHAIN saved_turn 100 ms", "TOOL saved_tool 20 ms"]
    assert "trust the notebook" in output.locator(".wbx-detail").inner_text()
    assert output.locator("button").count() == 0  # no button that would do nothing
