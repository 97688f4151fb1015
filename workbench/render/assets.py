"""The stylesheet and the script every rendered trace carries inline.

The stylesheet is scoped to ``.wbx`` so it neither takes from nor gives to the notebook's own
styles. The script is plain JavaScript with no library: it reads the fragment's embedded JSON,
draws a clicked span's detail with ``textContent`` only (span content never becomes markup),
folds subtrees (a folded span says how many spans it hides and how many of them failed), and
moves the selection with the arrow keys. It fetches nothing.
"""

from __future__ import annotations

__all__ = ["CSS", "KINDS", "SCRIPT"]

#: Span kinds with a colour of their own; any other kind is drawn as UNKNOWN.
KINDS = {
    "LLM": "#7c3aed",
    "CHAIN": "#64748b",
    "RETRIEVER": "#059669",
    "EMBEDDING": "#0891b2",
    "RERANKER": "#65a30d",
    "TOOL": "#d97706",
    "AGENT": "#2563eb",
    "GUARDRAIL": "#db2777",
    "EVALUATOR": "#9333ea",
    "PROMPT": "#0d9488",
    "UNKNOWN": "#94a3b8",
}

_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
_MONO = 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace'

CSS = (
    f"""
.wbx {{ font: 13px/1.4 {_FONT}; color: #1e293b; background: #fff; border: 1px solid #e2e8f0;
  border-radius: 6px; padding: 8px; text-align: left; }}
.wbx * {{ box-sizing: border-box; }}
.wbx .wbx-top {{ display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin-bottom: 6px; }}
.wbx .wbx-brand {{ font-weight: 600; color: #475569; }}
.wbx .wbx-notes {{ color: #92400e; background: #fffbeb; border: 1px solid #fde68a; border-radius: 4px;
  padding: 2px 6px; font-size: 12px; }}
.wbx .wbx-btn {{ font: 12px {_FONT}; border: 1px solid #cbd5e1; background: #f8fafc; border-radius: 4px;
  padding: 1px 8px; cursor: pointer; color: #1e293b; }}
.wbx.wbx-live .wbx-nojs {{ display: none; }}
.wbx .wbx-main {{ display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }}
.wbx .wbx-tree {{ flex: 3 1 460px; min-width: 0; max-height: 640px; overflow: auto; }}
.wbx .wbx-detail {{ flex: 2 1 320px; min-width: 0; max-height: 640px; overflow: auto;
  border-left: 1px solid #e2e8f0; padding: 0 4px 0 10px; }}
.wbx .wbx-trace {{ display: grid; grid-template-columns: minmax(180px, 44%) 64px 1fr; align-items: end;
  border-bottom: 1px solid #e2e8f0; padding: 4px 0; margin-top: 4px; }}
.wbx .wbx-trace-title {{ grid-column: 1 / -1; padding-right: 8px; }}
.wbx .wbx-axis-gap {{ grid-column: 1 / 3; }}
.wbx .wbx-axis {{ position: relative; height: 16px; color: #94a3b8; font-size: 11px; }}
.wbx .wbx-axis span {{ position: absolute; top: 0; padding-left: 2px; border-left: 1px solid #cbd5e1; }}
.wbx .wbx-row {{ display: grid; grid-template-columns: minmax(180px, 44%) 64px 1fr; align-items: center;
  height: 24px; cursor: pointer; border-radius: 3px; outline: none; }}
.wbx .wbx-row[hidden] {{ display: none; }}
.wbx .wbx-row:hover {{ background: #f1f5f9; }}
.wbx .wbx-row:focus-visible {{ box-shadow: inset 0 0 0 2px #93c5fd; }}
.wbx .wbx-row.wbx-sel {{ background: #e0e7ff; }}
.wbx .wbx-name {{ display: flex; align-items: center; gap: 4px; overflow: hidden; white-space: nowrap; }}
.wbx .wbx-tog {{ display: inline-block; width: 14px; flex: none; text-align: center; color: #64748b;
  transition: transform .1s; }}
.wbx .wbx-folded .wbx-tog {{ transform: rotate(-90deg); }}
.wbx .wbx-kind {{ flex: none; font-size: 10px; font-weight: 600; color: #fff; border-radius: 3px; padding: 0 4px; }}
.wbx .wbx-label {{ overflow: hidden; text-overflow: ellipsis; }}
.wbx .wbx-err .wbx-label, .wbx .wbx-errtext, .wbx .wbx-errmark {{ color: #b91c1c; }}
.wbx .wbx-hid {{ flex: none; font-size: 11px; color: #64748b; }}
.wbx .wbx-off {{ flex: none; font-size: 11px; color: #92400e; }}
.wbx .wbx-hid b, .wbx .wbx-off b {{ color: #b91c1c; font-weight: 600; }}
.wbx .wbx-dur {{ font-size: 11px; color: #475569; text-align: right; padding-right: 6px; white-space: nowrap; }}
.wbx .wbx-lane {{ display: block; position: relative; height: 12px; background: #f8fafc; border-radius: 2px; }}
.wbx .wbx-bar {{ display: block; position: absolute; top: 1px; height: 10px; min-width: 2px;
                border-radius: 2px; opacity: .8; }}
.wbx .wbx-crit .wbx-bar {{ opacity: 1; box-shadow: 0 0 0 1px #0f172a; }}
.wbx .wbx-err .wbx-bar {{ background: #dc2626; }}
.wbx .wbx-more, .wbx .wbx-note, .wbx .wbx-muted, .wbx .wbx-nojs {{ color: #64748b; }}
.wbx .wbx-more {{ padding: 6px 4px; font-style: italic; }}
.wbx .wbx-mono, .wbx .wbx-pre, .wbx .wbx-val {{ font-family: {_MONO}; font-size: 12px; }}
.wbx .wbx-dhead {{ font-size: 15px; font-weight: 600; margin: 2px 0 6px; word-break: break-word; }}
.wbx .wbx-dhead .wbx-kind {{ vertical-align: middle; margin-right: 6px; }}
.wbx .wbx-h {{ font-size: 12px; font-weight: 600; color: #334155; margin: 10px 0 4px;
  text-transform: uppercase; letter-spacing: .03em; }}
.wbx .wbx-h span {{ color: #94a3b8; margin-left: 6px; }}
.wbx .wbx-pre {{ white-space: pre-wrap; word-break: break-word; margin: 0 0 4px; padding: 6px 8px;
  background: #f8fafc; border: 1px solid #e2e8f0; border-radius: 4px; max-height: 360px; overflow: auto;
  color: #1e293b; text-align: left; }}
.wbx .wbx-cut {{ font-size: 11px; color: #92400e; margin: 0 0 4px; }}
.wbx table.wbx-kv {{ border-collapse: collapse; width: 100%; margin: 0; table-layout: fixed; }}
.wbx table.wbx-kv th, .wbx table.wbx-kv td {{ text-align: left; vertical-align: top; padding: 2px 6px;
  border: 0; border-bottom: 1px solid #f1f5f9; background: transparent; color: #1e293b; font-size: 12px; }}
.wbx table.wbx-kv th {{ width: 34%; font-weight: 500; color: #475569; word-break: break-word; }}
.wbx .wbx-val {{ white-space: pre-wrap; word-break: break-word; max-height: 240px; overflow: auto; }}
.wbx .wbx-box {{ border: 1px solid #e2e8f0; border-left: 3px solid #94a3b8; border-radius: 4px;
  margin: 0 0 6px; padding: 4px 6px; }}
.wbx .wbx-box-head {{ font-size: 12px; font-weight: 600; color: #334155; margin-bottom: 3px; word-break: break-word; }}
.wbx .wbx-box-user {{ border-left-color: #2563eb; }}
.wbx .wbx-box-assistant {{ border-left-color: #7c3aed; }}
.wbx .wbx-box-system {{ border-left-color: #64748b; background: #f8fafc; }}
.wbx .wbx-box-tool, .wbx .wbx-box-call {{ border-left-color: #d97706; }}
.wbx .wbx-box-doc {{ border-left-color: #059669; }}
.wbx .wbx-box-err {{ border-left-color: #dc2626; background: #fef2f2; }}
.wbx .wbx-box-event {{ border-left-color: #0891b2; }}
.wbx .wbx-status {{ font-weight: 600; }}
.wbx .wbx-s-ERROR {{ color: #b91c1c; }}
.wbx .wbx-s-OK {{ color: #15803d; }}
.wbx .wbx-s-UNSET {{ color: #64748b; }}
"""
    + "".join(f".wbx .wbx-k-{kind} {{ background: {colour}; }}\n" for kind, colour in KINDS.items())
)

# __WBX_ID__ is replaced by the fragment's id (JSON text). The fragment holds this script, so
# currentScript finds it; the id is the fallback for hosts that run scripts another way.
SCRIPT = """
(function () {
  var here = document.currentScript;
  var root = here && here.parentNode && here.parentNode.getAttribute &&
             here.parentNode.getAttribute("data-wbx") ? here.parentNode : document.getElementById(__WBX_ID__);
  if (!root || root.getAttribute("data-live")) return;
  var data;
  try { data = JSON.parse(root.querySelector("script.wbx-data").textContent); } catch (e) { return; }
  root.setAttribute("data-live", "1");
  root.classList.add("wbx-live");
  var rows = root.querySelectorAll(".wbx-row"), detail = root.querySelector(".wbx-detail"), selected = -1;
  function el(tag, cls, txt) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (txt !== undefined && txt !== null) e.textContent = String(txt);
    return e;
  }
  // A long text comes once, in data.str; elsewhere its index stands for it.
  function str(v) { return typeof v === "number" ? data.str[v] : v; }
  function item(it) {
    var out;
    if (it.t === "kv") {
      out = el("table", "wbx-kv");
      (it.rows || []).forEach(function (r) {
        var tr = el("tr"), td = el("td");
        tr.appendChild(el("th", null, r[0]));
        td.appendChild(el("div", "wbx-val", str(r[1])));
        if (r[2]) td.appendChild(el("div", "wbx-cut", r[2]));
        tr.appendChild(td);
        out.appendChild(tr);
      });
    } else if (it.t === "pre") {
      out = el("div");
      out.appendChild(el("pre", "wbx-pre", str(it.v)));
      if (it.note) out.appendChild(el("div", "wbx-cut", it.note));
    } else if (it.t === "box") {
      out = el("div", "wbx-box wbx-box-" + it.cls);
      out.appendChild(el("div", "wbx-box-head", it.head));
      (it.body || []).forEach(function (b) { out.appendChild(item(b)); });
    } else {
      out = el("div", "wbx-note", it.v);
    }
    return out;
  }
  function section(title, count, items) {
    var h = el("div", "wbx-h", title);
    if (count) h.appendChild(el("span", null, count));
    detail.appendChild(h);
    items.forEach(function (it) { detail.appendChild(item(it)); });
  }
  function show(i) {
    var span = data.spans[i];
    if (!span) return;
    if (selected >= 0) rows[selected].classList.remove("wbx-sel");
    selected = i;
    rows[i].classList.add("wbx-sel");
    while (detail.firstChild) detail.removeChild(detail.firstChild);
    var head = el("div", "wbx-dhead");
    head.appendChild(el("span", "wbx-kind wbx-k-" + rows[i].querySelector(".wbx-kind").textContent, span.kind));
    head.appendChild(el("span", span.status === "ERROR" ? "wbx-errtext" : null, span.name));
    detail.appendChild(head);
    span.sec.forEach(function (s) { section(s.h, s.n, s.items); });
    if (span.res !== undefined && data.res[span.res]) section("Resource", "", [data.res[span.res]]);
    detail.scrollTop = 0;
  }
  function depth(j) { return +rows[j].getAttribute("data-d"); }
  function fold(i, closed) {
    var d = depth(i), j = i + 1, hid = rows[i].querySelector(".wbx-hid");
    if (!rows[i].querySelector(".wbx-tog:not(.wbx-leaf)")) return;
    rows[i].classList.toggle("wbx-folded", closed);
    rows[i].setAttribute("aria-expanded", closed ? "false" : "true");
    while (j < rows.length && depth(j) > d) {
      if (closed) { rows[j].hidden = true; j++; continue; }
      rows[j].hidden = false;
      if (rows[j].classList.contains("wbx-folded")) {
        var dj = depth(j);
        j++;
        while (j < rows.length && depth(j) > dj) j++;
      } else {
        j++;
      }
    }
    while (hid.firstChild) hid.removeChild(hid.firstChild);
    if (closed) {
      var n = +rows[i].getAttribute("data-n"), f = +rows[i].getAttribute("data-f");
      hid.appendChild(document.createTextNode(n + " folded"));
      if (f) { hid.appendChild(document.createTextNode(" · ")); hid.appendChild(el("b", null, f + " failed")); }
    }
  }
  function visible(from, step) {
    for (var j = from + step; j >= 0 && j < rows.length; j += step) if (!rows[j].hidden) return j;
    return -1;
  }
  Array.prototype.forEach.call(rows, function (row, i) {
    row.addEventListener("click", function (event) {
      if (event.target.classList.contains("wbx-tog")) { fold(i, !row.classList.contains("wbx-folded")); return; }
      show(i);
    });
    row.addEventListener("keydown", function (event) {
      var k = event.key, next = -1;
      if (k === "Enter" || k === " ") show(i);
      else if (k === "ArrowDown") next = visible(i, 1);
      else if (k === "ArrowUp") next = visible(i, -1);
      else if (k === "ArrowLeft") fold(i, true);
      else if (k === "ArrowRight") fold(i, false);
      else return;
      event.preventDefault();
      if (next >= 0) { rows[next].focus(); show(next); }
    });
  });
  // The buttons exist only where the script runs (they would do nothing elsewhere).
  var brand = root.querySelector(".wbx-brand");
  [["unfold", "Unfold all"], ["fold", "Fold all"]].forEach(function (spec) {
    var button = el("button", "wbx-btn", spec[1]);
    button.type = "button";
    button.setAttribute("data-act", spec[0]);
    button.addEventListener("click", function () {
      var j;
      if (spec[0] === "fold") for (j = rows.length - 1; j >= 0; j--) fold(j, true);
      else for (j = 0; j < rows.length; j++) fold(j, false);
    });
    brand.parentNode.insertBefore(button, brand.nextSibling);
  });
  if (rows.length) show(0);
})();
"""
