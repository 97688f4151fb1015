"""The browser components the pages are built from, in one place.

* :class:`LinkedHTML` (here): HTML whose in-app links (``<a href="?page=trace&trace_id=...">``)
  navigate inside the app without a page reload; a middle click still opens a new tab,
  since every link is a real URL.
* :class:`~workbench.app.waterfall.Waterfall`: a trace's span tree beside a time bar per span.
* :class:`~workbench.app.copy_button.CopyButton`: copies text to the clipboard.
* :class:`~workbench.app.plotly_guard.PlotlyGuard`: calls on a Plotly chart that has left the
  page do nothing instead of failing.

Importing this module loads all of them: a notebook registers them at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import param
from panel.custom import JSComponent

from workbench.app.copy_button import CopyButton  # loaded with the others: a notebook registers them all at once
from workbench.app.plotly_guard import PlotlyGuard
from workbench.app.style import CSS
from workbench.app.waterfall import Waterfall

__all__ = ["CopyButton", "LinkedHTML", "PlotlyGuard", "Waterfall", "parse_href"]


def parse_href(href: str) -> tuple[str, dict[str, str]]:
    """The page and parameters of an in-app link such as ``?page=trace&trace_id=ab``."""
    query = dict(parse_qsl(href.lstrip("?"), keep_blank_values=False))
    return query.pop("page", "traces"), query


class LinkedHTML(JSComponent):
    """HTML whose ``?page=...`` links call ``on_link(page, params)`` instead of reloading.

    Tabs switch in the browser: elements with ``data-tab="name"`` show the element with
    ``data-pane="name"`` and hide the other panes (see :func:`workbench.app.markup.tabs`);
    the chosen tab stays chosen when the HTML changes. Also in the browser, with no round
    trip: ``.wb-copy`` buttons copy their text (:func:`~workbench.app.markup.copy_button`);
    ``data-view`` buttons switch every message between its views (text, Markdown, JSON),
    remembered for the next span; a ``table.wb-grid[data-grid]`` gets a column chooser and
    draggable widths, remembered per table name (:func:`~workbench.app.markup.grid`).
    """

    html = param.String(default="", doc="The HTML shown.")

    _stylesheets: ClassVar[list[str]] = [CSS + """
.wb-html { overflow-x: auto; }  /* a table wider than its box (a narrow window) scrolls in it */
:host(.wb-scroll) { display: block; }
:host(.wb-scroll) .wb-html { height: 100%; overflow: auto; padding: 0 8px 0 12px; box-sizing: border-box; }
"""]

    _esm = """
    export function render({ model }) {
      const root = document.createElement("div");
      root.className = "wb-html";
      let activeTab = null;
      const showTab = (name) => {
        const tabs = root.querySelectorAll("[data-tab]");
        if (!tabs.length) return;
        if (!root.querySelector(`[data-tab="${name}"]`)) name = tabs[0].dataset.tab;
        activeTab = name;
        for (const tab of tabs) tab.classList.toggle("active", tab.dataset.tab === name);
        for (const pane of root.querySelectorAll("[data-pane]")) pane.hidden = pane.dataset.pane !== name;
      };
      const VIEW_KEY = "workbench.message-view";
      const stored = (key) => { try { return window.localStorage.getItem(key); } catch (e) { return null; } };
      const store = (key, value) => { try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ } };
      const showView = (name) => {
        for (const box of root.querySelectorAll("[data-views]")) {
          if (!box.querySelector(`[data-v="${name}"]`)) continue;
          box.dataset.views = name;
          for (const body of box.querySelectorAll(":scope > [data-v]")) body.hidden = body.dataset.v !== name;
          for (const button of box.querySelectorAll("[data-view]")) button.classList.toggle("on", button.dataset.view === name);
        }
      };
      const copy = (button) => {
        const source = button.nextElementSibling;
        const text = source && source.classList.contains("wb-copy-src") ? source.value : (button.dataset.copy || "");
        const done = () => {
          button.classList.add("done");
          button.textContent = "copied";
          setTimeout(() => { button.classList.remove("done"); button.textContent = "copy"; }, 1200);
        };
        const fallback = () => {
          const area = document.createElement("textarea");
          area.value = text;
          area.style.position = "fixed";
          area.style.opacity = "0";
          document.body.appendChild(area);
          area.select();
          try { document.execCommand("copy"); done(); } finally { area.remove(); }
        };
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback);
        else fallback();
      };
      const draw = () => {
        root.innerHTML = model.html;
        showTab(activeTab);
        const view = stored(VIEW_KEY);
        if (view) showView(view);
        gridTools();
      };
      // Tables with data-grid: a chooser of the columns shown, and widths dragged at the
      // headers' right edge; both remembered in the browser per table name.
      let chooserOpen = false;
      const gridPrefs = (table) => {
        try { return JSON.parse(stored("workbench.grid." + table.dataset.grid) || "{}") || {}; } catch (e) { return {}; }
      };
      const saveGridPrefs = (table, prefs) => store("workbench.grid." + table.dataset.grid, JSON.stringify(prefs));
      const fitTable = (table) => {
        let sum = 0;
        for (const col of table.querySelectorAll("colgroup col")) sum += Number(col.dataset.w) || 0;
        table.style.minWidth = sum + "px";
      };
      function gridTools() {
        for (const table of root.querySelectorAll("table.wb-grid[data-grid]")) {
          const prefs = gridPrefs(table);
          const hidden = new Set(prefs.hidden || []), widths = prefs.widths || {};
          const heads = [...table.querySelectorAll("thead th")];
          const cols = [...table.querySelectorAll("colgroup col")];
          const names = heads.map((th) => th.dataset.col);
          const labels = heads.map((th) => th.dataset.label || th.dataset.col);
          const shown = names.filter((n) => !hidden.has(n));
          for (let i = heads.length - 1; i >= 0; i--) {
            if (hidden.has(names[i]) && shown.length) {
              cols[i].remove();
              heads[i].remove();
              for (const row of table.tBodies[0].rows) if (row.cells.length === names.length) row.cells[i].remove();
            } else if (widths[names[i]]) {
              cols[i].dataset.w = widths[names[i]];
              if (cols[i].style.width) cols[i].style.width = widths[names[i]] + "px";
            }
          }
          fitTable(table);
          const chooser = document.createElement("details");
          chooser.className = "wb-cols";
          chooser.open = chooserOpen;
          chooser.innerHTML = "<summary>Columns &#9662;</summary><div class='wb-cols-menu'>" + names.map((n, i) =>
            "<label><input type='checkbox' data-col-toggle='" + n.replace(/'/g, "") + "'" + (hidden.has(n) ? "" : " checked") +
            "> " + labels[i].replace(/[&<>]/g, "") + "</label>").join("") + "<a data-cols-reset>show all, reset widths</a></div>";
          chooser.addEventListener("toggle", () => { chooserOpen = chooser.open; });
          chooser.addEventListener("change", (event) => {
            const box = event.target.closest("[data-col-toggle]");
            if (!box) return;
            const now = gridPrefs(table);
            const off = new Set(now.hidden || []);
            if (box.checked) off.delete(box.dataset.colToggle); else off.add(box.dataset.colToggle);
            now.hidden = [...off];
            saveGridPrefs(table, now);
            draw();
          });
          chooser.querySelector("[data-cols-reset]").addEventListener("click", () => { saveGridPrefs(table, {}); draw(); });
          table.before(chooser);
        }
      }
      root.addEventListener("mousedown", (event) => {
        const grip = event.target.closest(".wb-grip");
        if (!grip) return;
        event.preventDefault();
        const th = grip.closest("th"), table = th.closest("table");
        const index = [...th.parentElement.children].indexOf(th);
        const col = table.querySelectorAll("colgroup col")[index];
        const startX = event.clientX, startW = th.getBoundingClientRect().width;
        grip.classList.add("on");
        const move = (e) => {
          const width = Math.max(40, Math.round(startW + e.clientX - startX));
          col.style.width = width + "px";
          col.dataset.w = width;
          fitTable(table);
        };
        const up = () => {
          window.removeEventListener("mousemove", move);
          window.removeEventListener("mouseup", up);
          grip.classList.remove("on");
          const prefs = gridPrefs(table);
          prefs.widths = Object.assign(prefs.widths || {}, { [th.dataset.col]: Number(col.dataset.w) });
          saveGridPrefs(table, prefs);
        };
        window.addEventListener("mousemove", move);
        window.addEventListener("mouseup", up);
      });
      draw();
      model.on("html", draw);
      root.addEventListener("click", (event) => {
        const tab = event.target.closest("[data-tab]");
        if (tab) { showTab(tab.dataset.tab); return; }
        const copyButton = event.target.closest(".wb-copy");
        if (copyButton) { event.preventDefault(); event.stopPropagation(); copy(copyButton); return; }
        const viewButton = event.target.closest("[data-view]");
        if (viewButton) {
          // One way of reading messages for all of them, kept for the next span.
          showView(viewButton.dataset.view);
          store(VIEW_KEY, viewButton.dataset.view);
          return;
        }
        const link = event.target.closest("a[href^='?']");
        const row = link ? null : event.target.closest("[data-href]");
        const href = link ? link.getAttribute("href") : (row ? row.dataset.href : null);
        if (!href) return;
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
          if (row && (event.ctrlKey || event.metaKey)) window.open(href, "_blank");
          return;  // a link's own new-tab behaviour
        }
        if (row && String(window.getSelection ? window.getSelection() : "").length) return;  // selecting text
        event.preventDefault();
        model.send_msg({ href });
      });
      return root;
    }
    """

    def __init__(
        self, html: str = "", *, on_link: Callable[[str, dict[str, str]], Any] | None = None, **params: Any
    ) -> None:
        super().__init__(html=html, **params)
        self.on_link = on_link

    def _handle_msg(self, data: Any) -> None:
        if self.on_link is not None and isinstance(data, dict) and isinstance(data.get("href"), str):
            page, params = parse_href(data["href"])
            self.on_link(page, params)
