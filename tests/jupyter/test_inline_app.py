"""The inline app in a real JupyterLab, in headless chromium, with no internet.

What a user does in a notebook: launch, view the app in the cell, click through to a trace;
then restart or shut down the kernel and see the old output say it is disconnected.
"""

from __future__ import annotations

import re
import socket

import pytest

pytestmark = pytest.mark.browser

ROWS = ".wb-grid tbody tr[data-href]"
#: What each page draws for the notebook's one trace.
SHOWN = {"Traces": ROWS, "Trace": ".wf-row[data-id]", "Latency": ".wb-card", "Cost": ".wb-cost-cards",
         "Monitors": ".wb-monitor-results"}

LAUNCH = """\
import workbench
session = workbench.launch("jupyter-test", db="DB", port=0)

@workbench.traced(kind="TOOL")
def lookup(order: str) -> str:
    return "order " + order + " shipped"

with workbench.span("support_turn", kind="CHAIN", input="where is A-1?"):
    lookup("A-1")
print("traces:", len(session.traces()))
"""


def _output(cell):
    return cell.locator(".jp-OutputArea-output")


@pytest.mark.parametrize(("ui", "ending"), [("lab", "restart"), ("notebook", "shut down")])
def test_the_inline_app_works_offline_fits_the_cell_and_says_when_disconnected(jupyter_page, ui, ending):
    standalone = ("import workbench.app\n"
                  "workbench.app.TraceView(session.reader, trace_id=session.traces()['trace_id'][0])")
    cells = [LAUNCH.replace("DB", f"inline-{ui}.duckdb"), "session.view(height=640)", standalone]
    nb = jupyter_page.open(f"inline-{ui}.ipynb", cells, ui=ui)
    launched = nb.run(0)
    assert "traces: 1" in _output(launched).all_inner_texts()[-1]

    view = nb.run(1)
    app = view.locator(".wb-inline")
    app.locator(ROWS).first.wait_for(timeout=60_000)
    app.locator(".wb-inline-notice").wait_for(state="hidden", timeout=10_000)

    # As wide as the cell, as high as asked, and nothing cut off at the right: the header's
    # right end (the store's line) and the toolbar's last button are inside the output.
    box = app.bounding_box()
    area = view.locator(".jp-OutputArea-output").last.bounding_box()
    assert area["width"] - 40 <= box["width"] <= area["width"] + 1, (box, area)
    assert 620 <= box["height"] <= 700, box
    right = box["x"] + box["width"]
    for part in (app.locator(".wb-store").first, app.locator("button", has_text="Live").first):
        edge = part.bounding_box()
        assert edge["width"] > 0 and edge["x"] + edge["width"] <= right + 1, (edge, box)

    # Click through to the trace.
    app.locator(ROWS).first.locator("td").nth(3).click()
    app.locator(".wf-row[data-id]").first.wait_for(timeout=60_000)
    names = app.locator(".wf-row[data-id] .nm").all_inner_texts()
    assert names[:2] == ["support_turn", "lookup"], names

    # A view shown on its own works offline too.
    alone = nb.run(2)
    alone.locator(".wf-row[data-id]").first.wait_for(timeout=60_000)
    assert alone.locator(".wf-row[data-id] .nm").all_inner_texts()[:2] == ["support_turn", "lookup"]

    # Nothing was fetched from the internet: every script and stylesheet came from workbench.
    assert [u for u in jupyter_page.blocked if u.split("?")[0].endswith((".js", ".css"))] == []

    # Every page opens in the cell without an error in the page (a page whose Panel extension
    # was not loaded fails here: its model's script is missing).
    if ui == "lab":
        nav = app.locator(".bk-btn-group").first
        tabs = [tab.strip() for tab in nav.locator(".bk-btn").all_inner_texts()]
        # Twice round: going back to a page drawn before lost the click now and then.
        for tab in tabs + tabs:
            exact = re.compile(f"^{re.escape(tab)}$")  # "Trace" is not "Traces"
            nav.locator(".bk-btn").filter(has_text=exact).first.click()
            nav.locator(".bk-btn.bk-active").filter(has_text=exact).first.wait_for(timeout=30_000)
            nb.wait_idle()
            if tab in SHOWN:  # the page is drawn, as a user waits to see it
                app.locator(SHOWN[tab]).first.wait_for(timeout=60_000)
        # Back to Traces after Cost and Quality: the rows show (no page's callbacks outlive it).
        nav.locator(".bk-btn").filter(has_text=re.compile("^Traces$")).first.click()
        nb.wait_idle()
        app.locator(ROWS).first.wait_for(timeout=60_000)
        assert [line for line in jupyter_page.console if line.startswith("page error")] == []

    nb.restart_kernel() if ending == "restart" else nb.shut_down_kernel()
    notice = app.locator(".wb-inline-notice")
    notice.wait_for(state="visible", timeout=60_000)
    assert "Disconnected" in notice.inner_text()


def test_an_output_whose_scripts_cannot_load_says_so(jupyter_page):
    # A page that has not loaded Bokeh yet, and a server that is gone: the cell must not stay empty.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{sock.getsockname()[1]}"
    cells = ["from workbench.app.shell import inline_app\nfrom workbench.query import Reader\n"
             "from workbench.store import Store\n"
             f"inline_app(Reader(Store(':memory:')), server_url='{gone}')"]
    nb = jupyter_page.open("unreachable.ipynb", cells)
    view = nb.run(0)
    notice = view.locator(".wb-inline-notice[data-kind='error']")
    notice.wait_for(state="visible", timeout=60_000)
    text = notice.inner_text()
    assert "did not load" in text and gone in text and 'resources="inline"' in text


REGISTER = """\
from opentelemetry import trace
provider = workbench.register("registered")
with trace.get_tracer("nb").start_as_current_span("registered_call"):
    pass
print("projects:", sorted(set(session.spans()["project"])))
"""

RELAUNCH = """\
session.stop()
session = workbench.launch("jupyter-test", db="relaunch.duckdb", port=0)
with workbench.span("after_relaunch", kind="CHAIN"):
    pass
print("names:", sorted(session.traces()["name"]))
"""


def test_register_then_stop_and_launch_again_in_the_same_kernel(jupyter_page):
    """The same kernel: launch, register() and trace, stop, launch again; all shows inline.

    Needs one consistent tracer provider across register(), launch() and stop().
    """
    cells = [LAUNCH.replace("DB", "relaunch.duckdb"), REGISTER, RELAUNCH, "session.view()"]
    nb = jupyter_page.open("relaunch.ipynb", cells)
    nb.run(0)
    registered = _output(nb.run(1)).all_inner_texts()[-1]
    assert "projects: ['jupyter-test', 'registered']" in registered
    relaunched = _output(nb.run(2)).all_inner_texts()[-1]
    assert "names: ['after_relaunch', 'registered_call', 'support_turn']" in relaunched
    app = nb.run(3).locator(".wb-inline")
    app.locator(ROWS).first.wait_for(timeout=60_000)
    shown = app.locator(ROWS).all_inner_texts()
    assert any("after_relaunch" in row for row in shown) and any("registered_call" in row for row in shown)
