"""The app's look: colours per span kind and status, and the stylesheet every HTML part shares.

Panel renders each component in its own shadow DOM, so the stylesheet is handed to each
component (``stylesheets=[CSS]``) rather than set once on the page.
"""

from __future__ import annotations

import threading
import zlib

__all__ = ["CSS", "KIND_COLORS", "PAGE_CSS", "PALETTE", "STATUS_COLORS", "color_of", "kind_color"]

KIND_COLORS = {
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

STATUS_COLORS = {"ERROR": "#dc2626", "OK": "#16a34a", "UNSET": "#94a3b8"}

ACCENT = "#2563eb"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"
MONO = "ui-monospace, 'SFMono-Regular', Menlo, Consolas, 'DejaVu Sans Mono', monospace"


def kind_color(kind: str | None) -> str:
    """The colour of a span kind."""
    return KIND_COLORS.get(str(kind or "UNKNOWN").upper(), KIND_COLORS["UNKNOWN"])


#: The colours given to the values of a chart's groups, in order of first use.
PALETTE = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626", "#0f766e",
           "#9333ea", "#ca8a04", "#be123c", "#4f46e5", "#ea580c", "#0284c7", "#16a34a")
#: Groups that stand for "the rest" or "nothing": grey wherever they appear.
_MUTED = {"other": "#94a3b8", "(no model)": "#cbd5e1", "(none)": "#cbd5e1", "(no value)": "#cbd5e1", "": "#cbd5e1"}
#: Fixed colours of some dimensions' values.
_FIXED: dict[str, dict[str, str]] = {
    "kind": KIND_COLORS,
    "status": STATUS_COLORS,
    "percentile": {"p50": "#2563eb", "p95": "#d97706", "p99": "#dc2626"},
    "source": {"primary": "#2563eb", "reference": "#94a3b8", "corpus": "#059669"},
}
_assigned: dict[str, dict[str, str]] = {}
_MAX_REMEMBERED = 5_000  # values per dimension
_assigned_lock = threading.Lock()


def color_of(value: object, dimension: str = "") -> str:
    """The one colour of ``value`` of ``dimension`` (``"model"``, ``"prompt_version"``...), in every chart.

    A value keeps the colour it was first given for as long as the process runs, so the same
    model (say) has the same colour in every chart of a page and on every page that groups
    by models. Distinct values get distinct colours until the palette runs out.
    """
    text = str(value)
    fixed = _FIXED.get(dimension, {})
    if text in fixed or text.upper() in fixed:
        return fixed.get(text) or fixed[text.upper()]
    if text in _MUTED:
        return _MUTED[text]
    if text.startswith("(no ") and text.endswith(")"):  # "(no prompt version)" and its kin
        return _MUTED["(none)"]
    with _assigned_lock:
        colors = _assigned.setdefault(dimension, {})
        if text not in colors:
            if len(colors) >= _MAX_REMEMBERED:  # users, sessions: no end of values; a stable hash instead
                return PALETTE[zlib.crc32(text.encode()) % len(PALETTE)]
            colors[text] = PALETTE[len(colors) % len(PALETTE)]
        return colors[text]


# The stylesheet of every HTML fragment the app renders.
CSS = f"""
:host {{ font-family: {FONT}; font-size: 13px; color: #1e293b; }}
a {{ color: {ACCENT}; text-decoration: none; }}
a:hover {{ text-decoration: underline; }}
.wb-muted {{ color: #64748b; }}
.wb-error-text {{ color: #b91c1c; }}
.wb-error-box {{ color: #991b1b; background: #fef2f2; border: 1px solid #fecaca; border-radius: 4px; padding: 4px 8px;
                max-width: 100%; box-sizing: border-box; overflow-wrap: anywhere; }}
.wb-error-box details summary {{ cursor: pointer; color: #b91c1c; font-size: 12px; }}
.wb-error-full {{ max-height: 160px; overflow: auto; font-size: 12px; padding-top: 2px; }}
pre.wb-caret {{ font-family: {MONO}; font-size: 12px; margin: 3px 0; overflow-x: auto; white-space: pre; }}
.wb-caret-mark {{ color: #dc2626; font-weight: 700; }}
.wb-mono {{ font-family: {MONO}; font-size: 12px; }}
.wb-pre {{ font-family: {MONO}; font-size: 12px; white-space: pre-wrap; word-break: break-word;
          margin: 0; padding: 6px 8px; background: #f8fafc; border: 1px solid #e2e8f0; border-radius: 4px; }}
.wb-json {{ background: #f8fafc; }}
details.wb-fold > summary {{ list-style: none; cursor: pointer; }}
details.wb-fold > summary::-webkit-details-marker {{ display: none; }}
details.wb-fold > summary .wb-pre {{ border-bottom-left-radius: 0; border-bottom-right-radius: 0; }}
details.wb-fold[open] > summary .wb-more {{ display: none; }}
details.wb-fold > pre {{ border-top: none; border-top-left-radius: 0; border-top-right-radius: 0; }}
.wb-more {{ display: inline-block; margin: 2px 0 4px; color: {ACCENT}; font-size: 12px; }}
.wb-badge {{ display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 11px; font-weight: 600;
            line-height: 18px; color: white; white-space: nowrap; }}
.wb-chip {{ display: inline-block; padding: 0 6px; border-radius: 9px; font-size: 11px; line-height: 18px;
           background: #eef2ff; color: #3730a3; margin-right: 4px; white-space: nowrap; }}
.wb-status-ERROR {{ color: {STATUS_COLORS['ERROR']}; font-weight: 600; }}
.wb-status-OK {{ color: {STATUS_COLORS['OK']}; }}
.wb-status-UNSET {{ color: #64748b; }}
table.wb-kv {{ border-collapse: collapse; margin: 2px 0 8px; }}
table.wb-kv th {{ text-align: left; font-weight: 500; color: #64748b; padding: 2px 10px 2px 0; vertical-align: top;
                 white-space: nowrap; }}
table.wb-kv td {{ padding: 2px 22px 2px 0; vertical-align: top; overflow-wrap: anywhere; }}
table.wb-kv-grid {{ width: 100%; table-layout: fixed; }}
table.wb-kv-grid th {{ width: 104px; white-space: normal; }}
table.wb-kv-grid td {{ padding-right: 12px; }}
h3.wb-h {{ font-size: 13px; font-weight: 600; margin: 14px 0 6px; color: #0f172a;
          border-bottom: 1px solid #e2e8f0; padding-bottom: 3px; }}
h2.wb-title {{ font-size: 16px; font-weight: 600; margin: 0 0 6px; }}
.wb-msg {{ border: 1px solid #e2e8f0; border-radius: 6px; margin: 0 0 8px; overflow: hidden; }}
.wb-msg-head {{ padding: 3px 8px; background: #f1f5f9; font-size: 12px; font-weight: 600; display: flex; gap: 8px;
                align-items: center; }}
.wb-views {{ margin-left: auto; display: flex; gap: 2px; align-items: center; }}
.wb-view, .wb-copy {{ font: inherit; font-size: 11px; font-weight: 500; border: 1px solid #cbd5e1; background: white;
                      color: #475569; border-radius: 3px; padding: 0 5px; line-height: 16px; cursor: pointer; }}
.wb-view.on {{ background: #1e293b; color: white; border-color: #1e293b; }}
.wb-copy {{ margin-left: 6px; vertical-align: 1px; }}
.wb-copy:hover, .wb-view:hover {{ border-color: #64748b; }}
.wb-copy.done {{ color: #15803d; border-color: #15803d; }}
.wb-md {{ padding: 4px 10px; background: white; font-size: 13px; line-height: 1.5; overflow-wrap: anywhere; }}
.wb-md p {{ margin: 4px 0; }}
.wb-md pre {{ font-family: {MONO}; font-size: 12px; background: #f8fafc; padding: 6px; overflow-x: auto; }}
.wb-md code {{ font-family: {MONO}; font-size: 12px; }}
.wb-md table {{ border-collapse: collapse; }}
.wb-md th, .wb-md td {{ border: 1px solid #e2e8f0; padding: 2px 6px; }}
.wb-msg .wb-pre {{ border: none; border-radius: 0; background: white; }}
.wb-role-system .wb-msg-head {{ background: #f1f5f9; color: #475569; }}
.wb-role-user .wb-msg-head {{ background: #eff6ff; color: #1d4ed8; }}
.wb-role-assistant .wb-msg-head {{ background: #f5f3ff; color: #6d28d9; }}
.wb-role-tool .wb-msg-head {{ background: #fffbeb; color: #b45309; }}
.wb-call {{ margin: 6px 8px 8px; border-left: 3px solid #d97706; padding-left: 8px; }}
.wb-doc {{ border: 1px solid #e2e8f0; border-radius: 6px; margin: 0 0 8px; }}
.wb-doc-head {{ padding: 3px 8px; background: #f0fdf4; font-size: 12px; display: flex; gap: 12px; }}
.wb-doc .wb-pre {{ border: none; background: white; }}
.wb-event {{ margin: 0 0 8px; }}
.wb-exc {{ border-left: 3px solid #dc2626; padding-left: 8px; }}
.wb-empty {{ color: #64748b; padding: 24px 4px; }}
.wb-cards {{ display: flex; gap: 10px; flex-wrap: wrap; }}
.wb-card {{ border: 1px solid #e2e8f0; border-radius: 6px; padding: 8px 14px; min-width: 110px; background: white; }}
.wb-card .v {{ font-size: 20px; font-weight: 600; }}
.wb-card .l {{ font-size: 11px; color: #64748b; text-transform: uppercase; letter-spacing: .04em; }}
table.wb-list {{ border-collapse: collapse; width: 100%; }}
table.wb-list th {{ text-align: left; font-weight: 600; font-size: 12px; color: #475569; border-bottom: 1px solid #cbd5e1;
                   padding: 4px 8px; white-space: nowrap; }}
table.wb-list td {{ padding: 4px 8px; border-bottom: 1px solid #f1f5f9; vertical-align: top; }}
table.wb-list tr:hover td {{ background: #f8fafc; }}
table.wb-list td.num, table.wb-list th.num {{ text-align: right; white-space: nowrap; }}
.wb-tabs {{ display: flex; gap: 2px; border-bottom: 1px solid #e2e8f0; margin: 0 0 8px; position: sticky; top: 0;
           background: white; z-index: 1; }}
.wb-tab {{ border: none; background: none; padding: 7px 12px; font: inherit; color: #475569; cursor: pointer;
          border-bottom: 2px solid transparent; margin-bottom: -1px; }}
.wb-tab:hover {{ color: #0f172a; background: #f8fafc; }}
.wb-tab.active {{ color: #1d4ed8; border-bottom-color: {ACCENT}; font-weight: 500; }}
.wb-tab .n {{ color: #94a3b8; font-size: 11px; margin-left: 3px; }}
table.wb-grid {{ border-collapse: separate; border-spacing: 0; table-layout: fixed; min-width: 100%; font-size: 12.5px; }}
table.wb-grid th {{ position: sticky; top: 0; z-index: 1; background: #f8fafc; border-bottom: 1px solid #cbd5e1;
                   text-align: left; padding: 6px 8px; font-weight: 600; color: #334155; white-space: nowrap;
                   overflow: hidden; text-overflow: ellipsis; }}
table.wb-grid th a {{ color: inherit; display: block; }}
table.wb-grid th .wb-th {{ display: block; white-space: nowrap; }}
table.wb-grid th .wb-th-label {{ display: inline-block; max-width: calc(100% - 14px); overflow: hidden;
                                text-overflow: ellipsis; vertical-align: top; }}
table.wb-grid th .wb-th-label:only-child {{ max-width: 100%; }}
table.wb-grid th .wb-th-arrow {{ white-space: pre; }}
table.wb-grid .wb-grip {{ position: absolute; top: 0; right: 0; width: 6px; height: 100%; cursor: col-resize; }}
table.wb-grid .wb-grip:hover, table.wb-grid .wb-grip.on {{ background: #93c5fd; }}
.wb-cols {{ position: sticky; left: 0; z-index: 3; font-size: 12px; color: #475569; margin: 2px 0 2px 2px;
           display: inline-block; }}
.wb-cols > summary {{ cursor: pointer; user-select: none; padding: 1px 4px; }}
.wb-cols-menu {{ position: absolute; background: white; border: 1px solid #cbd5e1; border-radius: 4px;
                padding: 6px 10px; box-shadow: 0 4px 12px rgba(15, 23, 42, .12); display: grid;
                grid-template-columns: repeat(2, auto); gap: 2px 14px; white-space: nowrap; }}
.wb-cols-menu label {{ cursor: pointer; }}
.wb-cols-menu a {{ grid-column: 1 / -1; cursor: pointer; margin-top: 4px; }}
table.wb-grid th.sorted a {{ color: #1d4ed8; }}
table.wb-grid td {{ padding: 5px 8px; border-bottom: 1px solid #f1f5f9; white-space: nowrap; overflow: hidden;
                   text-overflow: ellipsis; height: 18px; }}
table.wb-grid tbody tr {{ cursor: pointer; }}
table.wb-grid tbody tr:hover td {{ background: #eef4ff; }}
table.wb-grid .num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.st-ERROR {{ color: {STATUS_COLORS['ERROR']}; font-weight: 600; }}
.st-OK {{ color: {STATUS_COLORS['OK']}; }}
.st-UNSET {{ color: #94a3b8; }}
.wb-turn {{ border: 1px solid #e2e8f0; border-radius: 6px; margin: 0 0 10px; }}
.wb-turn-head {{ display: flex; gap: 14px; align-items: baseline; padding: 4px 10px; background: #f8fafc;
                border-bottom: 1px solid #e2e8f0; font-size: 12px; }}
.wb-turn-body {{ padding: 6px 10px; display: grid; grid-template-columns: 70px 1fr; gap: 4px 8px; }}
.wb-turn-body .who {{ color: #64748b; font-size: 12px; padding-top: 6px; }}
a.wb-button {{ display: inline-block; padding: 3px 10px; border: 1px solid #cbd5e1; border-radius: 6px;
              background: #f8fafc; color: #1d4ed8; font-size: 12.5px; text-decoration: none; }}
a.wb-button:hover {{ background: #eef4ff; }}
ins.wb-ins {{ background: #dcfce7; color: #14532d; text-decoration: none; }}
del.wb-del {{ background: #fee2e2; color: #7f1d1d; }}
.wb-up {{ color: #059669; }}
.wb-down {{ color: #dc2626; }}
"""

# The page around the components: the header bar and the navigation.
PAGE_CSS = f"""
body {{ font-family: {FONT}; background: #f8fafc; margin: 0; }}
"""
