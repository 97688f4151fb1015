"""The app: the only package that imports panel (and bokeh).

One :class:`~panel.viewable.Viewer` per view, state in params, data from the read API. The
whole app, or any one view, renders inline in Jupyter and under ``workbench serve``::

    import workbench.app as wa
    wa.TraceView(reader, trace_id="...")            # one trace's tree, inline
    wa.LatencyView(reader, filter="span_kind == 'LLM'")
    wa.create_app(reader)                            # the whole app

Pages are listed in :mod:`workbench.app.registry`; a new page plugs in with
``register_page(Page(...))``.
"""

from __future__ import annotations

import importlib.util
from typing import Any

# Checked, not imported: the plain-HTML parts (trace_list, first_page, markup, style) serve
# a first page before panel has loaded; the views import it themselves.
if importlib.util.find_spec("panel") is None:  # pragma: no cover - depends on the installation
    raise ImportError(
        "The workbench app needs panel (No module named 'panel'); install it with pip install "
        "'llm-trace-workbench[app]'."
    )

from workbench.app.registry import PAGES, Page, get_page, register_page

__all__ = [
    "PAGES",
    "App",
    "LatencyView",
    "Page",
    "SessionsView",
    "TraceView",
    "TracesView",
    "create_app",
    "get_page",
    "register_page",
]

_LAZY = {
    "App": "workbench.app.shell",
    "create_app": "workbench.app.shell",
    "TracesView": "workbench.app.traces",
    "TraceView": "workbench.app.trace",
    "LatencyView": "workbench.app.latency",
    "SessionsView": "workbench.app.sessions",
}


def __getattr__(name: str) -> Any:
    # Views load when first asked for, so importing the package stays cheap.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'workbench.app' has no attribute {name!r}")
