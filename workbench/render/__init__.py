"""Traces as self-contained HTML: a notebook cell's output, or a file to share.

:class:`TraceHTML` draws one trace (or a few) as a tree beside a waterfall; clicking a span
shows its detail by kind (messages and tool calls, retrieved documents, a tool's arguments and
result, attributes, events, errors). It is one HTML fragment with its own style, its data as
JSON and a small script, and nothing else: no server round trip, no CDN, no Panel. So it shows
in JupyterLab, VS Code and a notebook exported to HTML alike::

    wb = workbench.open()
    wb.trace(trace_id)                        # a cell's value: shown inline
    wb.trace(trace_id).view(max_spans=5000)   # other limits
    wb.trace(trace_id).to_html("trace.html")  # a page to share
    workbench.show(wb.spans("span_kind == 'LLM'", start="1h"))   # any span list

Everything from a span is escaped or drawn as text; the output keeps to stated limits
(:data:`DEFAULT_MAX_SPANS`, :data:`DEFAULT_MAX_CHARS`, :data:`DEFAULT_MAX_BYTES`).
"""

from __future__ import annotations

from workbench.render.page import DEFAULT_MAX_BYTES, DEFAULT_MAX_CHARS, DEFAULT_MAX_SPANS, TraceHTML

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_CHARS", "DEFAULT_MAX_SPANS", "TraceHTML"]
