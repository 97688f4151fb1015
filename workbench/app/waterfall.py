"""The Waterfall browser component: a trace's span tree beside a time bar per span on one
axis, with collapse, expand and search in the browser, tokens and cost per node, and the
selected span synced back to Python."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import param
from panel.custom import JSComponent

from workbench.app.style import CSS, KIND_COLORS, STATUS_COLORS

__all__ = ["Waterfall"]


_WATERFALL_CSS = CSS + """
:host { display: block; }
.wf { height: 100%; overflow: auto; border: 1px solid #e2e8f0; border-radius: 6px; background: white; position: relative; }
.wf-wrap { height: 100%; display: flex; flex-direction: column; gap: 4px; }
.wf-search { display: flex; gap: 6px; align-items: center; font-size: 12px; color: #64748b; }
.wf-search input { flex: 0 1 280px; font: inherit; font-size: 12px; padding: 3px 8px; border: 1px solid #cbd5e1;
                   border-radius: 4px; color: #0f172a; }
.wf-search label { display: flex; gap: 3px; align-items: center; cursor: pointer; white-space: nowrap; }
.wf-wrap > .wf { flex: 1 1 auto; min-height: 0; }
.wf-row { display: grid; grid-template-columns: minmax(240px, 34%) 68px 62px 58px 70px 1fr; align-items: center;
          height: 24px; border-bottom: 1px solid #f1f5f9; cursor: pointer; }
.wf-row:hover { background: #f8fafc; }
.wf-row.sel { background: #e0ecff; }
.wf-headbox { position: sticky; top: 0; z-index: 3; }
.wf-body { position: relative; }
.wf-body .wf-row { position: absolute; left: 0; right: 0; box-sizing: border-box; }
.wf-head { position: sticky; top: 0; z-index: 2; background: #f8fafc; border-bottom: 1px solid #cbd5e1; cursor: default;
           font-size: 11px; font-weight: 600; color: #475569; height: 26px; }
.wf-head:hover { background: #f8fafc; }
.wf-name { display: flex; align-items: center; gap: 4px; overflow: hidden; white-space: nowrap; padding-right: 6px; }
.wf-name .nm { overflow: hidden; text-overflow: ellipsis; }
.wf-row.err .nm { color: #b91c1c; font-weight: 600; }
.wf-row.crit .nm { font-weight: 600; }
.wf-tog { width: 14px; flex: 0 0 14px; text-align: center; color: #64748b; font-size: 10px; user-select: none; }
.wf-tog:hover { color: #0f172a; }
.wf-kind { font-size: 9px; font-weight: 700; color: white; border-radius: 3px; padding: 0 4px; line-height: 15px; flex: 0 0 auto; }
.wf-num { text-align: right; padding-right: 8px; font-variant-numeric: tabular-nums; font-size: 12px; color: #334155; }
.wf-num.self { color: #64748b; }
.wf-time { position: relative; height: 100%; margin-right: 70px; }
.wf-bar { position: absolute; top: 6px; height: 12px; border-radius: 2px; min-width: 2px; opacity: .45; }
.wf-row.crit .wf-bar { opacity: 1; box-shadow: inset 0 -3px 0 rgba(15, 23, 42, .45); }
.wf-row.err .wf-bar { background: #dc2626 !important; opacity: .9; }
.wf-lab { position: absolute; top: 4px; font-size: 11px; color: #475569; white-space: nowrap; padding-left: 4px; }
.wf-axis { position: relative; height: 100%; margin-right: 70px; }
.wf-tick { position: absolute; top: 0; bottom: 0; border-left: 1px solid #cbd5e1; padding-left: 3px; line-height: 26px;
           font-weight: 500; white-space: nowrap; }
.wf-grid { position: absolute; top: 0; bottom: 0; border-left: 1px dashed #eef2f7; pointer-events: none; }
.wf-tools { display: flex; gap: 6px; align-items: center; font-weight: 500; }
.wf-tools a { cursor: pointer; font-weight: 500; }
.wf-err { color: #dc2626; font-size: 12px; }
.wf-num.tok, .wf-num.cost { color: #475569; }
.wf-num .sub { color: #94a3b8; }
.wf-hid-err { flex: 0 0 auto; font-size: 10px; font-weight: 700; color: white; background: #dc2626; border-radius: 8px;
              padding: 0 5px; line-height: 15px; margin-left: 4px; }
.wf-row.hit { background: #fef9c3; }
.wf-row.hit.sel { background: #e0ecff; box-shadow: inset 3px 0 0 #ca8a04; }
.wf-row.dim .wf-name, .wf-row.dim .wf-num { opacity: .45; }
"""


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows as one list per key (the keys of the first row; a row without one has None)."""
    keys = list(dict.fromkeys(key for row in rows[:1] for key in row))
    return {key: [row.get(key) for row in rows] for key in keys}


class Waterfall(JSComponent):
    """A span tree with a waterfall: one time bar per span on a shared axis.

    ``rows`` are in display order (parents before children), each a dict with ``id``,
    ``parent``, ``depth``, ``name``, ``kind``, ``status``, ``offset`` and ``duration`` (ms from
    the trace's start), ``self`` (self time, ms), ``critical`` (on the critical path) and
    ``children`` (how many); and optionally ``tokens``/``cost`` with their subtree's
    (``sub_tokens``/``sub_cost``, shown in grey where the node has none of its own),
    ``sub_errors`` (failed spans below it) and ``text``, what the search box matches besides
    the row's name, kind and id (model, tool, the start of its input and output...). Clicking a row sets ``selected``; the triangle folds a subtree, and a closed
    fold shows how many failed spans it hides (``sub_errors``, so also for children never
    sent; else counted from the rows sent).

    Only the rows in view are drawn, so a trace of any size scrolls as one of ten spans. Rows
    may come without their children (a big trace's deep levels): such a fold shows closed,
    and opening it calls ``on_open(span_id)`` (``on_open(None)`` for "expand all"), which
    answers with :meth:`send_rows`.

    Typing in the search box highlights the matching rows among all the browser has, drawn
    or not, opening the folds above them ("only matches" hides the rest, except the way down
    to a match); Enter selects the next match. While some folds' children were never sent,
    the search is also sent to ``on_search(text)``, which may answer with :meth:`send_rows`
    holding the matches it has (without it, only the rows sent are searched).
    """

    rows = param.List(default=[], doc="The spans, in display order.")
    columns = param.Dict(default={}, doc="The rows as the browser gets them: one list per key (set from rows).")
    total_ms = param.Number(default=0.0, doc="The trace's duration: the axis runs from 0 to this.")
    selected = param.String(default="", doc="The id of the selected span.")
    span_count = param.Integer(default=0, doc="Spans in the trace, sent or not (0: count the rows).")
    error_count = param.Integer(default=0, doc="Failed spans in the trace, sent or not.")

    def __init__(self, *, on_open: Callable[[str | None], Any] | None = None,
                 on_search: Callable[[str], Any] | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.on_open = on_open
        self.on_search = on_search
        self.columns = _columns(self.rows)
        self.param.watch(lambda event: setattr(self, "columns", _columns(event.new)), "rows")

    # The rows go to the browser as columns, each key once: a third of the bytes of a list of
    # dicts, and a third of the work to serialize them.
    _rename: ClassVar[dict[str, str | None]] = {"rows": None}

    def send_rows(self, rows: list[dict[str, Any]]) -> None:
        """Replace the rows with more of the same trace's (a fold's children, costs come in).

        The browser keeps its folds, search and scroll when the new rows start with the same
        root as the old; other rows (another trace) start afresh.
        """
        self.rows = rows

    def _handle_msg(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        if isinstance(data.get("search"), str):
            if self.on_search is not None:
                self.on_search(data["search"])
        elif self.on_open is None:
            return
        elif data.get("open_all"):
            self.on_open(None)
        elif isinstance(data.get("open"), str):
            self.on_open(data["open"])

    _stylesheets: ClassVar[list[str]] = [_WATERFALL_CSS]

    _esm = (
        "const KIND = " + repr(KIND_COLORS).replace("'", '"') + ";\n"
        + "const ERROR = " + repr(STATUS_COLORS["ERROR"]).replace("'", '"') + ";\n"
        + """
    const ABBR = {LLM: "LLM", CHAIN: "CHAIN", RETRIEVER: "RETR", EMBEDDING: "EMB", RERANKER: "RERANK",
                  TOOL: "TOOL", AGENT: "AGENT", GUARDRAIL: "GUARD", EVALUATOR: "EVAL", PROMPT: "PROMPT",
                  UNKNOWN: "SPAN"};

    function esc(text) {
      return String(text ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
    }

    function fmt(ms) {
      if (ms == null) return "";
      if (ms === 0) return "0";
      if (ms < 1) return ms.toFixed(2) + " ms";
      if (ms < 1000) return Math.round(ms) + " ms";
      const s = ms / 1000;
      if (s < 10) return s.toFixed(2) + " s";
      if (s < 60) return s.toFixed(1) + " s";
      const m = Math.floor(s / 60);
      return m + "m " + String(Math.round(s - m * 60)).padStart(2, "0") + "s";
    }

    function tokens(n) {
      if (n == null) return "";
      return n >= 10000 ? (n / 1000).toFixed(n >= 100000 ? 0 : 1) + "k" : n.toLocaleString("en-US");
    }

    function money(v) {
      if (v == null) return "";
      if (v === 0) return "$0";
      if (v < 0.000001) return "<$0.000001";
      return "$" + (v < 0.01 ? Number(v.toPrecision(3)).toFixed(6).replace(/0+$/, "") : v < 1 ? v.toFixed(3) : v.toFixed(2));
    }

    function ticks(total) {
      if (!(total > 0)) return [0];
      const raw = total / 5;
      const mag = Math.pow(10, Math.floor(Math.log10(raw)));
      const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => total / s <= 6) || raw;
      const out = [];
      for (let t = 0; t <= total + 1e-9; t += step) out.push(t);
      return out;
    }

    const ROW = 24;  // px per row: rows are drawn only where the viewport is (a trace may hold 100,000)
    const OVERSCAN = 30;

    export function render({ model }) {
      const wrap = document.createElement("div");
      wrap.className = "wf-wrap";
      const bar = document.createElement("div");
      bar.className = "wf-search";
      bar.innerHTML = '<input type="search" class="wf-find" placeholder="search this trace: name, model, tool, text" ' +
        'aria-label="search this trace"><label><input type="checkbox" class="wf-only"> only matches</label>' +
        '<span class="wf-hits"></span>';
      const find = bar.querySelector(".wf-find");
      const only = bar.querySelector(".wf-only");
      const hitsEl = bar.querySelector(".wf-hits");
      const box = document.createElement("div");
      box.className = "wf";
      const head = document.createElement("div");
      head.className = "wf-headbox";
      const body = document.createElement("div");
      body.className = "wf-body";
      box.append(head, body);
      wrap.append(bar, box);
      const collapsed = new Set();   // folded by the user
      const pending = new Set();     // folds whose children were asked of the server
      let rows = [];                 // what the server has sent, in display order
      let byId = new Map();
      let shown = [];                // indices into rows: not under a fold
      let position = new Map();      // id -> index in shown
      let loadedKids = new Map();    // id -> children among rows
      let errorsBelow = new Map();   // id -> failed spans below it among rows
      let rowEls = new Map();
      let painted = [-1, -1];
      let wanted = null;             // a selection waiting for its rows
      let query = "";                // the search, lower case
      let hits = [];                 // ids of the matching rows, in display order
      let hitSet = new Set();
      let keep = new Set();          // the ancestors of a match: shown with "only matches"

      function take(list) {
        rows = list || [];
        byId = new Map(rows.map((r) => [r.id, r]));
        loadedKids = new Map();
        errorsBelow = new Map();
        for (const r of rows) if (r.parent) loadedKids.set(r.parent, (loadedKids.get(r.parent) || 0) + 1);
        for (let i = rows.length - 1; i >= 0; i--) {  // children come after their parents
          const r = rows[i];
          if (!r.parent) continue;
          const n = (errorsBelow.get(r.id) || 0) + (r.status === "ERROR" ? 1 : 0);
          if (n) errorsBelow.set(r.parent, (errorsBelow.get(r.parent) || 0) + n);
        }
        for (const id of [...pending]) if (loadedKids.get(id)) pending.delete(id);
      }

      // A fold is closed when the user closed it, or when its children have not been sent yet.
      const isClosed = (r) => collapsed.has(r.id) || (r.children > 0 && !loadedKids.get(r.id));
      const incomplete = () => rows.some((r) => r.children && !loadedKids.get(r.id));
      const hiddenErrors = (r) => (r.sub_errors != null ? r.sub_errors : errorsBelow.get(r.id) || 0);

      function layout() {
        const hidden = new Set();
        const closed = new Set();
        const onlyHits = !!query && only.checked;
        shown = [];
        position = new Map();
        for (let i = 0; i < rows.length; i++) {
          const r = rows[i];
          if (r.parent && (hidden.has(r.parent) || closed.has(r.parent))) { hidden.add(r.id); continue; }
          if (r.children && isClosed(r)) closed.add(r.id);
          if (onlyHits && !hitSet.has(r.id) && !keep.has(r.id)) continue;  // nothing below it matches either
          position.set(r.id, shown.length);
          shown.push(i);
        }
        body.style.height = (shown.length * ROW) + "px";
        painted = [-1, -1];
        paint();
      }

      // The search runs over every row the browser has, drawn or not; a new match opens the
      // folds above it (a match is never hidden in a fold).
      function search() {
        query = find.value.trim().toLowerCase();
        const before = hitSet;
        hits = [];
        keep = new Set();
        if (query) {
          for (const r of rows) {
            if (!r.find.includes(query)) continue;
            hits.push(r.id);
            const fresh = !before.has(r.id);
            let steps = 0;  // bounded: ids may point round in a circle
            for (let p = r.parent; p && steps++ < rows.length; p = (byId.get(p) || {}).parent) {
              if (fresh) collapsed.delete(p);
              else if (keep.has(p)) break;  // the rest of the way is kept already
              keep.add(p);
            }
          }
        }
        hitSet = new Set(hits);
        hitsEl.textContent = query ? (hits.length ? hits.length.toLocaleString() + " match" + (hits.length > 1 ? "es" : "") +
                                      " \u00b7 Enter for the next" : "no match") : "";
        layout();
      }

      let asked = null;
      function askServer() {  // the server has the rows under folds never opened
        if (!query || !incomplete()) return;
        clearTimeout(asked);
        const text = query;
        asked = setTimeout(() => { if (text === query) model.send_msg({ search: text }); }, 250);
      }

      function jump() {
        search();
        if (!hits.length) return;
        const at = hits.indexOf(model.selected);
        const next = hits[(at + 1) % hits.length];
        model.selected = next;
        select(next, true);
      }

      find.addEventListener("input", () => { search(); askServer(); });
      find.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); jump(); } });
      only.addEventListener("change", () => layout());

      function drawHead() {
        const total = model.total_ms > 0 ? model.total_ms : 1;
        const pct = (v) => Math.max(0, Math.min(100, (v / total) * 100));
        const count = model.span_count || rows.length;
        const errors = model.error_count != null && model.span_count ? model.error_count
                       : rows.filter((r) => r.status === "ERROR").length;
        let html = '<div class="wf-row wf-head"><div class="wf-name wf-tools">Span &middot; ' + count.toLocaleString() +
          (errors ? ' <span class="wf-err">&middot; ' + errors + ' error' + (errors > 1 ? 's' : '') + '</span>' : '') +
          ' &middot; <a data-act="expand">expand all</a> <a data-act="collapse">collapse all</a></div>' +
          '<div class="wf-num">Duration</div><div class="wf-num self">Self</div>' +
          '<div class="wf-num tok" title="tokens of this call; in grey, of its subtree">Tokens</div>' +
          '<div class="wf-num cost" title="cost of this call; in grey, of its subtree">Cost</div><div class="wf-axis">';
        for (const t of ticks(total)) {
          html += '<span class="wf-tick" style="left:' + pct(t) + '%">' + fmt(t) + '</span>';
        }
        head.innerHTML = html + '</div></div>';
      }

      function rowHtml(r, top) {
        const total = model.total_ms > 0 ? model.total_ms : 1;
        const pct = (v) => Math.max(0, Math.min(100, (v / total) * 100));
        const color = KIND[r.kind] || KIND.UNKNOWN;
        const hit = hitSet.has(r.id);
        const cls = "wf-row" + (r.critical ? " crit" : "") + (r.status === "ERROR" ? " err" : "") +
                    (r.id === model.selected ? " sel" : "") + (hit ? " hit" : query ? " dim" : "");
        const left = pct(r.offset), width = Math.max(pct(r.duration), 0.15);
        const closed = r.children && isClosed(r);
        const tog = r.children ? '<span class="wf-tog" data-tog="' + esc(r.id) + '">' +
                    (pending.has(r.id) ? "&hellip;" : closed ? "&#9654;" : "&#9660;") + '</span>' : '<span class="wf-tog"></span>';
        const title = esc(r.name) + " (" + esc(r.kind) + ")\\nstarts at +" + fmt(r.offset) + ", takes " + fmt(r.duration) +
                      ", self " + fmt(r.self) + (r.critical ? "\\non the critical path" : "") +
                      (r.status === "ERROR" ? "\\nERROR" : "") + (r.children ? "\\n" + r.children + " children" : "");
        // A closed fold says how many of the spans it hides failed.
        const failed = closed ? hiddenErrors(r) : 0;
        const badge = failed ? '<span class="wf-hid-err" title="' + failed + ' hidden span' + (failed > 1 ? "s" : "") +
                      ' below failed; unfold to see ' + (failed > 1 ? "them" : "it") + '">\u26a0 ' + failed + '</span>' : "";
        const tok = r.tokens != null ? esc(tokens(r.tokens))
                  : (r.sub_tokens != null ? '<span class="sub">' + esc(tokens(r.sub_tokens)) + '</span>' : "");
        const cost = r.cost != null ? esc(money(r.cost))
                   : (r.sub_cost ? '<span class="sub">' + esc(money(r.sub_cost)) + '</span>' : "");
        return '<div class="' + cls + '" data-id="' + esc(r.id) + '" title="' + title + '" style="top:' + top + 'px">' +
          '<div class="wf-name" style="padding-left:' + (4 + r.depth * 14) + 'px">' + tog +
          '<span class="wf-kind" style="background:' + color + '">' + (ABBR[r.kind] || esc(r.kind)) + '</span>' +
          '<span class="nm">' + (r.status === "ERROR" ? "&#9888; " : "") + esc(r.name) + '</span>' + badge + '</div>' +
          '<div class="wf-num">' + fmt(r.duration) + '</div><div class="wf-num self">' + fmt(r.self) + '</div>' +
          '<div class="wf-num tok">' + tok + '</div><div class="wf-num cost">' + cost + '</div>' +
          '<div class="wf-time"><div class="wf-bar" style="left:' + left + '%;width:' + width + '%;background:' + color + '"></div>' +
          '<span class="wf-lab" style="left:' + Math.min(left + width, 100) + '%">' + fmt(r.duration) + '</span></div></div>';
      }

      function paint() {
        const view = box.clientHeight || 600;
        const top = Math.max(0, box.scrollTop - head.offsetHeight);
        const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
        const last = Math.min(shown.length, Math.ceil((top + view) / ROW) + OVERSCAN);
        if (first === painted[0] && last === painted[1]) return;
        painted = [first, last];
        let html = "";
        for (let k = first; k < last; k++) html += rowHtml(rows[shown[k]], k * ROW);
        const made = document.createElement("div");
        made.innerHTML = html;
        const fresh = [...made.children], old = [...body.children];
        if (old.length === fresh.length && old.every((el, i) => el.dataset.id === fresh[i].dataset.id)) {
          // The same rows (costs came, a search ran): changed in place, so a click whose press
          // and release straddle the update still lands on its row.
          old.forEach((el, i) => {
            const n = fresh[i];
            el.className = n.className;
            el.title = n.title;
            el.style.cssText = n.style.cssText;
            el.innerHTML = n.innerHTML;
          });
        } else {
          body.replaceChildren(...fresh);
        }
        rowEls = new Map();
        for (const el of body.children) rowEls.set(el.dataset.id, el);
      }

      let queued = false;
      box.addEventListener("scroll", () => {
        if (queued) return;
        queued = true;
        requestAnimationFrame(() => { queued = false; paint(); });
      });
      if (window.ResizeObserver) new ResizeObserver(() => { painted = [-1, -1]; paint(); }).observe(box);

      function select(id, scroll) {
        for (const [rid, el] of rowEls) el.classList.toggle("sel", rid === id);
        if (!id) return;
        if (!position.has(id)) {
          if (!byId.has(id)) { wanted = id; return; }  // its rows are on their way
          let changed = false;  // under a fold the user closed: open the way to it
          for (let p = byId.get(id).parent; p && byId.has(p); p = byId.get(p).parent) {
            changed = collapsed.delete(p) || changed;
          }
          if (changed) layout();
          if (!position.has(id)) return;
        }
        wanted = null;
        if (scroll) {
          const y = position.get(id) * ROW + head.offsetHeight;
          if (y < box.scrollTop + head.offsetHeight || y + ROW > box.scrollTop + box.clientHeight) {
            box.scrollTop = Math.max(0, y - box.clientHeight / 3);
            paint();
          }
        }
        for (const [rid, el] of rowEls) el.classList.toggle("sel", rid === id);
      }

      function open(id) {
        pending.add(id);
        model.send_msg({ open: id });
      }

      box.addEventListener("click", (event) => {
        const act = event.target.closest("[data-act]");
        if (act) {
          collapsed.clear();
          if (act.dataset.act === "collapse") {
            for (const r of rows) if (r.children && r.parent) collapsed.add(r.id);
          } else if (incomplete()) {
            model.send_msg({ open_all: true });
          }
          layout();
          return;
        }
        const tog = event.target.closest("[data-tog]");
        if (tog) {
          event.stopPropagation();
          const id = tog.dataset.tog;
          const r = byId.get(id);
          if (r && r.children && !loadedKids.get(id)) {
            collapsed.delete(id);
            if (!pending.has(id)) open(id);
            painted = [-1, -1];
            paint();
            return;
          }
          if (collapsed.has(id)) collapsed.delete(id); else collapsed.add(id);
          layout();
          return;
        }
        const row = event.target.closest(".wf-row[data-id]");
        if (row) {
          model.selected = row.dataset.id;
          select(row.dataset.id, false);
        }
      });

      // The rows come as columns (one list per key); the search matches each row's name,
      // kind and id, and its ``text``: what else the server lets it match (model, tool, input...).
      function unpack() {
        const c = model.columns || {};
        const get = (k) => (c instanceof Map ? c.get(k) : c[k]) || [];
        const keys = c instanceof Map ? [...c.keys()] : Object.keys(c);
        const lists = keys.map(get);
        const n = get("id").length;
        const out = new Array(n);
        for (let i = 0; i < n; i++) {
          const r = {};
          for (let k = 0; k < keys.length; k++) r[keys[k]] = lists[k][i];
          r.find = [r.name, r.kind, r.id, r.text].filter((v) => v != null && v !== "").join(" ").toLowerCase();
          out[i] = r;
        }
        return out;
      }

      model.on("columns", () => {
        const next = unpack();
        if (rows.length && next.length && rows[0].id === next[0].id) {  // the same trace, with more in it
          take(next);
          search();  // matches among the new rows open their folds; lays out
          if (wanted) select(wanted, true);  // a selection that waited for its rows
          else select(model.selected, false);
          return;
        }
        collapsed.clear();
        pending.clear();
        hitSet = new Set();
        take(next);
        drawHead();
        box.scrollTop = 0;
        search();
        askServer();
      });
      model.on("total_ms", () => { drawHead(); painted = [-1, -1]; paint(); });
      model.on("span_count", drawHead);
      model.on("error_count", drawHead);
      model.on("selected", () => select(model.selected, true));
      take(unpack());
      drawHead();
      search();
      setTimeout(() => { painted = [-1, -1]; paint(); select(model.selected, true); }, 0);
      return wrap;
    }
    """
    )
