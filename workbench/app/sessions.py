"""Placeholder."""
from __future__ import annotations
from typing import Any, ClassVar
import panel as pn
import param
from workbench.app.base import PageView

class SessionsView(PageView):
    trace_id = param.String(default="")
    span_id = param.String(default="")
    session_id = param.String(default="")
    url_params: ClassVar[tuple[str, ...]] = ("trace_id", "span_id", "session_id")
    def _build(self) -> Any:
        return pn.pane.Markdown("todo SessionsView")
