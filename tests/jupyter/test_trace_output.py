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
