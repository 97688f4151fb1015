"""One trace (or a few) as one self-contained HTML fragment: tree, waterfall, detail on click.

The tree and the waterfall are written here as escaped HTML, so they show even where an
output's script does not run (an untrusted notebook, a viewer that strips scripts). The
detail of each span travels as JSON inside the fragment and the small script of
:mod:`workbench.render.assets` draws it when a span is clicked: no server, no CDN, no request.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError
from workbench.render.assets import CSS, KINDS, SCRIPT
from workbench.render.detail import Budget, resource_item, span_detail
from workbench.render.values import Clip, encodable, esc, fmt_ms, fmt_utc, number, text

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_CHARS", "DEFAULT_MAX_SPANS", "TraceHTML"]

DEFAULT_MAX_SPANS = 1000
"""Spans an output shows by default, the first in tree order; the rest are counted in a note."""
DEFAULT_MAX_CHARS = 2000
"""Characters one value (a message, an input, an attribute) keeps by default before it is cut."""
DEFAULT_MAX_BYTES = 2_000_000
"""Bytes of span detail (JSON) one output embeds by default; later spans then show their header only."""

_MAX_INDENT = 24  # deeper levels are drawn at this depth (their depth is in the row's title)
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value: Any) -> str:
    """JSON that can sit inside a ``<script>`` element: no ``<``, ``>`` or ``&`` appears as such."""
    out = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    for char, escaped in _ESCAPES.items():
        out = out.replace(char, escaped)
    return out


def _limit(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}={value!r} must be a whole number of at least 1, e.g. {name}=500.")
    return value


def _kind(span: Any) -> str:
    kind = text(span.get("span_kind")).upper() or "UNKNOWN"
    return kind if kind in KINDS else "UNKNOWN"


def _below(nodes: Sequence[Any]) -> dict[str, tuple[int, int]]:
    """Span id -> (descendants, failed descendants), for ``nodes`` in tree order: what a folded
    span hides, and what the output leaves out under a span."""
    out: dict[str, tuple[int, int]] = {}
    for node in reversed(nodes):  # children come before their parents
        count = failed = 0
        for child in node.children:
            below = out[child.span_id]
            count += 1 + below[0]
            failed += below[1] + (text(child.span.get("status_code")) == "ERROR")
        out[node.span_id] = (count, failed)
    return out


def _left_out(node: Any, kept: set[str], below: dict[str, tuple[int, int]]) -> tuple[int, int, bool]:
    """(spans, failed spans) under ``node`` in children left out of the output and their
    subtrees, and whether any child is shown."""
    count = failed = 0
    shown = False
    for child in node.children:
        if child.span_id in kept:
            shown = True
            continue
        count += 1 + below[child.span_id][0]
        failed += below[child.span_id][1] + (text(child.span.get("status_code")) == "ERROR")
    return count, failed, shown


def _trace_head(trace: Any) -> str:
    spans = [n.span for n in trace.nodes.values()]
    root = trace.roots[0].span if trace.roots else {}
    failed = sum(1 for s in spans if text(s.get("status_code")) == "ERROR")
    llm = [s for s in spans if text(s.get("span_kind")) == "LLM"]
    tokens = sum(int(number(s.get("total_tokens")) or 0) for s in llm)
    models = sorted({text(s.get("model_name")) for s in spans if text(s.get("model_name"))})
    status = "ERROR" if failed else (text(root.get("status_code")) or "UNSET")
    parts = [
        f"<span class='wbx-status wbx-s-{status if status in ('ERROR', 'OK') else 'UNSET'}'>{esc(status)}</span>",
        esc(fmt_utc(trace.start_us)),
        f"<b>{esc(fmt_ms(trace.duration_ms))}</b>",
        f"{len(spans):,} span{'s' if len(spans) != 1 else ''}"
        + (f" <span class='wbx-errtext'>({failed:,} failed)</span>" if failed else ""),
        (f"{len(llm):,} LLM call{'s' if len(llm) != 1 else ''}" + (f", {tokens:,} tokens" if tokens else ""))
        if llm else "",
        esc(", ".join(models)),
    ]
    if root.get("parent_span_id"):
        parts.insert(0, "<span class='wbx-errtext'>root span not among these spans</span>")
    ticks = " ".join(f"<span style='left:{p}%'>{esc(fmt_ms(trace.duration_ms * p / 100))}</span>"
                    for p in (0, 25, 50, 75))
    return (
        "<div class='wbx-trace'><div class='wbx-trace-title'>"
        f"<b class='wbx-root-name'>{esc(root.get('name'))}</b> {' · '.join(p for p in parts if p)}"
        f"<div class='wbx-muted'>trace <span class='wbx-mono'>{esc(trace.trace_id)}</span></div></div>"
        f"<div class='wbx-axis-gap'></div><div class='wbx-axis'>{ticks}</div></div>"
    )


def _row(index: int, node: Any, extent: tuple[int, int], below: tuple[int, int],
         left_out: tuple[int, int, bool]) -> str:
    span = node.span
    total = extent[1] - extent[0]
    left = (node.start_us - extent[0]) / total * 100 if total > 0 else 0.0
    width = (node.end_us - node.start_us) / total * 100 if total > 0 else 0.0
    kind = _kind(span)
    status = text(span.get("status_code"))
    classes = "wbx-row" + (" wbx-err" if status == "ERROR" else "") + (" wbx-crit" if node.on_critical_path else "")
    toggle = "<span class='wbx-tog' title='fold or unfold'>&#9662;</span>" if left_out[2] else (
        "<span class='wbx-tog wbx-leaf'></span>")
    off = (f" <span class='wbx-off'>+{left_out[0]:,} not shown"
           + (f" · <b>{left_out[1]:,} failed</b>" if left_out[1] else "") + "</span>") if left_out[0] else ""
    name = text(span.get("name")) or "(no name)"
    title = f"{name} · {kind} · depth {node.depth}" + (f" · {status}" if status else "")
    # Spans inside the row and spaces between them: where the stylesheet is stripped (an
    # untrusted notebook), a row still reads as one line, "▾ TOOL lookup 20 ms".
    return (
        f"<div class='{classes}' data-i='{index}' data-d='{node.depth}' data-n='{below[0]}' data-f='{below[1]}' "
        f"tabindex='0' role='treeitem' aria-level='{node.depth + 1}' title='{esc(title)}'>"
        f"<span class='wbx-name' style='padding-left:{min(node.depth, _MAX_INDENT) * 14 + 4}px'>{toggle} "
        f"<span class='wbx-kind wbx-k-{kind}'>{esc(kind)}</span> "
        f"<span class='wbx-label'>{esc(name)}</span>"
        + (" <span class='wbx-errmark' title='failed'>&#9888;</span>" if status == "ERROR" else "")
        + off + " <span class='wbx-hid'></span></span> "
        f"<span class='wbx-dur'>{esc(fmt_ms(node.duration_ms))}</span>"
        f"<span class='wbx-lane'><span class='wbx-bar wbx-k-{kind}' style='left:{left:.3f}%;width:{width:.3f}%'>"
        "</span></span></div>"
    )


class TraceHTML:
    """Traces as one self-contained HTML fragment, shown when it is a notebook cell's value.

    The tree and waterfall are HTML; clicking a span shows its detail (messages, tool calls,
    documents, attributes, events, errors) from data embedded in the fragment, drawn by a
    small inline script. Nothing is fetched: it works in a notebook exported to HTML, in VS
    Code and JupyterLab, and as a file written by :meth:`to_html`.

    Args:
        traces: :class:`workbench.tree.Trace` objects, shown one after another.
        max_spans: Show at most this many spans, the first in tree order; a note says how many
            were left out.
        max_chars: Cut any one value (a message, an input, an attribute) to this many
            characters; the cut is marked where it happens.
        max_bytes: Embed at most about this many bytes of span detail; spans past it show
            their summary only, with a note.

    Raises:
        ConfigError: A limit is not a whole number of at least 1.
    """

    def __init__(self, traces: Iterable[Any], *, max_spans: int = DEFAULT_MAX_SPANS,
                 max_chars: int = DEFAULT_MAX_CHARS, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.traces: Sequence[Any] = list(traces)
        self.max_spans = _limit("max_spans", max_spans)
        self.max_chars = _limit("max_chars", max_chars)
        self.max_bytes = _limit("max_bytes", max_bytes)
        self._fragment: str | None = None

    def __repr__(self) -> str:
        spans = sum(len(t) for t in self.traces)
        if len(self.traces) == 1:
            return f"<trace {self.traces[0].trace_id}: {spans:,} spans, {fmt_ms(self.traces[0].duration_ms)}>"
        return f"<{len(self.traces):,} traces, {spans:,} spans>"

    @property
    def html(self) -> str:
        """The fragment: one ``<div>`` with its own style, data and script."""
        if self._fragment is None:
            self._fragment = encodable(self._render())
        return self._fragment

    def _repr_html_(self) -> str:
        return self.html

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.html, "text/plain": repr(self)}

    def to_html(self, path: str | Path | None = None) -> str | Path:
        """A whole HTML page to share: the fragment, and a policy that lets the page fetch nothing.

        Args:
            path: Write the page to this file (UTF-8). Without it, the page is returned as text.

        Returns:
            The path written, or the page's text.
        """
        title = "workbench trace"
        if len(self.traces) == 1 and self.traces[0].roots:
            title = f"{text(self.traces[0].roots[0].span.get('name'))} · {title}"
        page = (
            "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{encodable(esc(title))}</title></head>\n"
            f"<body style='margin:16px;background:#fff'>\n{self.html}\n</body></html>\n"
        )
        if path is None:
            return page
        out = Path(path)
        out.write_text(page, encoding="utf-8")
        return out

    def _render(self) -> str:
        uid = "wbx-" + secrets.token_hex(6)
        clip = Clip(self.max_chars)
        budget = Budget(self.max_bytes)
        resources: dict[str, int] = {}
        parts: list[str] = []
        entries: list[dict[str, Any]] = []
        total = sum(len(t) for t in self.traces)
        for trace in self.traces:
            if len(entries) >= self.max_spans:
                break
            parts.append(_trace_head(trace))
            ordered = list(trace)
            shown = ordered[: self.max_spans - len(entries)]  # the first in tree order: with their parents
            below = _below(ordered)
            kept = {n.span_id for n in shown}
            extent = (trace.start_us, trace.end_us)
            for node in shown:
                entries.append(span_detail(node, clip, resources, budget))
                parts.append(_row(len(entries) - 1, node, extent, below[node.span_id], _left_out(node, kept, below)))
        notes = self._notes(len(entries), total, clip, budget)
        if total > len(entries):
            parts.append(f"<div class='wbx-more'>&hellip; {total - len(entries):,} more span(s) not shown "
                         f"(max_spans={self.max_spans:,}).</div>")
        res = [resource_item(json.loads(key), clip) for key in resources]
        data = {"spans": entries, "str": clip.strings, "res": res}
        body = "".join(parts) if entries else "<div class='wbx-note'>No spans to show.</div>"
        return (
            f"<div class='wbx' id='{uid}' data-wbx='1'><style>{CSS}</style>"
            f"<div class='wbx-top'><span class='wbx-brand'>workbench</span> {notes}</div>"
            f"<div class='wbx-main'><div class='wbx-tree' role='tree'>{body}</div>"
            "<div class='wbx-detail'><div class='wbx-nojs'>The span detail needs this output's script, which "
            "did not run: run the cell again, or trust the notebook (the command Trust Notebook in JupyterLab), "
            "or open the page that <span class='wbx-mono'>trace.to_html(path)</span> writes.</div></div></div>"
            f"<script type='application/json' class='wbx-data'>{script_json(data)}</script>"
            f"<script>{SCRIPT.replace('__WBX_ID__', json.dumps(uid))}</script></div>"
        )

    def _notes(self, shown: int, total: int, clip: Clip, budget: Budget) -> str:
        notes = []
        if total > shown:
            notes.append(f"Showing the first {shown:,} of {total:,} spans in tree order "
                         f"(max_spans={self.max_spans:,}).")
        if clip.cut:
            notes.append(f"{clip.cut:,} long value(s) cut to {self.max_chars:,} characters (max_chars).")
        if budget.short:
            notes.append(f"Detail of {budget.short:,} span(s) left out to keep this output under "
                         f"{self.max_bytes:,} bytes (max_bytes).")
        if not notes:
            return ""
        return "<span class='wbx-notes'>" + " ".join(esc(n) for n in notes) + "</span>"

