"""The first page a server sends while the app is still loading: the Traces page's first rows
as plain HTML, drawn from the store without panel, which then hands over to the app.

A browser opened on a server that has just started (``workbench serve --sample`` opens one
right away) would otherwise wait for panel and bokeh to be imported before it shows anything.
This page needs neither: its rows, links and sorting headers are the Traces page's own
(:mod:`workbench.app.trace_list`); once the app is loaded (``/api/app/ready`` answers), the
page loads itself again and the app, now served at the same address, takes over.
"""

from __future__ import annotations

from typing import Any

from workbench.app.markup import esc, href
from workbench.app.registry import ordered
from workbench.app.style import CSS
from workbench.app.trace_list import annotations_of, list_table, trace_rows

__all__ = ["READY_PATH", "first_page_html"]

#: Answers once the app is served (it waits for it): the page's signal to load itself again.
READY_PATH = "/api/app/ready"

_PAGE_SIZE = 50

_LAYOUT = """
html, body { margin: 0; height: 100%; background: #fff; }
.wb-first-head { display: flex; align-items: center; gap: 18px; padding: 8px 14px; border-bottom: 1px solid #e2e8f0;
  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif; font-size: 13px; }
.wb-first-brand { font-weight: 700; font-size: 16px; color: #0f172a; letter-spacing: -.01em; }
.wb-first-brand span { color: #2563eb; }
.wb-first-nav a { color: #334155; text-decoration: none; padding: 4px 8px; border-radius: 4px; }
.wb-first-nav a.on { background: #e2e8f0; }
.wb-first-loading { margin-left: auto; color: #64748b; }
.wb-first-tools { height: 78px; display: flex; flex-direction: column; gap: 8px; }
.wb-first-tools div { height: 30px; width: 720px; max-width: 100%; border-radius: 4px; background: #f1f5f9; }
"""

# Rows open their trace; the page is loaded again once the app answers at the same address,
# unless the browser is already on its way to another one.
_SCRIPT = """
document.addEventListener("click", function (event) {
  var row = event.target.closest("tr[data-href]");
  if (row && !event.target.closest("a")) { location.href = row.getAttribute("data-href"); }
});
// On the way to another address already: the reload would cancel it, and the app is there anyway.
var leaving = false;
addEventListener("beforeunload", function () { leaving = true; });
(function wait(delay) {
  fetch("%(ready)s", {cache: "no-store", credentials: "same-origin"}).then(function (answer) {
    if (answer.ok) { if (!leaving) { location.reload(); } }
    else { setTimeout(function () { wait(1000); }, delay); }
  }, function () { setTimeout(function () { wait(Math.min(delay * 2, 5000)); }, delay); });
})(500);
"""


def _sort_href(key: str, descending: bool) -> str:
    # The Traces page's own links: parameters left at their defaults are not written.
    state: dict[str, Any] = {}
    if key != "start_time":
        state["sort"] = key
    if not descending:
        state["descending"] = "false"
    return href("traces", **state)


def first_page_html(reader: Any) -> str:
    """The whole HTML document: the newest traces, as the Traces page lists them unfiltered."""
    frame = reader.traces(order_by="start_time", descending=True, limit=_PAGE_SIZE)
    total = reader.count_traces()
    rows = trace_rows(frame, annotations_of(reader, frame))
    table = list_table(rows, spans=False, sort="start_time", descending=True, sort_href=_sort_href)
    nav = "".join(
        f"<a href='{esc(href(page.name))}'{' class=on' if page.name == 'traces' else ''}>{esc(page.title)}</a>"
        for page in ordered() if page.nav
    )
    shown = min(total, _PAGE_SIZE)
    # The app's stylesheet is written for shadow roots (:host); here it styles one box.
    css = CSS.replace(":host", "#wb-first")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>workbench</title><link rel="icon" href="data:,"><style>{_LAYOUT}{css}</style></head>
<body>
<div class="wb-first-head"><div class="wb-first-brand">work<span>bench</span></div>
<nav class="wb-first-nav">{nav}</nav><div class="wb-first-loading" role="status">Loading the app&hellip;</div></div>
<div id="wb-first" style="padding: 8px 10px">
<div class="wb-first-tools" aria-hidden="true"><div></div><div></div></div>
<div class="wb-muted" style="min-height:18px; margin: 4px 0">{total:,} traces match; the newest {shown:,} below</div>
<div style="border: 1px solid #e2e8f0; border-radius: 6px; overflow: auto">{table}</div>
</div>
<script>{_SCRIPT % {"ready": READY_PATH}}</script>
</body></html>
"""
