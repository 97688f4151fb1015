"""The Traces page: one row per trace (or, switched, per span), filtered, sorted and paged
in the store, so it stays fast with millions of spans."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
import panel as pn
import param

from workbench.app.js_components import LinkedHTML
from workbench.app.markup import esc, href
from workbench.app.page import PageView, cached_facets, status_line
from workbench.app.style import CSS
from workbench.app.to_dataset import AddToDataset, Examples
from workbench.app.trace_list import SPAN_SORT, TRACE_SORT, annotations_of, list_table, span_rows, trace_rows
from workbench.errors import FilterError, WorkbenchError
from workbench.model import SpanKind
from workbench.read import Selection

__all__ = ["TracesView"]

_SPAN_COLUMNS = (
    "trace_id", "span_id", "start_time", "name", "span_kind", "status_code", "latency_ms", "model_name",
    "total_tokens", "cost", "session_id", "project", "input_value", "output_value",
)
_LIVE_MS = 5_000
_MAX_ADDED = 10_000  # the most examples one "Add to dataset" of a filter takes


class TracesView(PageView):
    """Every trace (root span) with totals, or every span; filtered, sorted and paged in the store.

    Args:
        reader: Where the spans come from.
        mode: ``"traces"`` or ``"spans"``.
        status, kind, model, text: Quick filters (any span of a trace matching lists the trace).
    """

    mode = param.Selector(default="traces", objects=["traces", "spans"], doc="List traces or spans.")
    status = param.Selector(default="", objects=["", "OK", "ERROR", "UNSET"], doc="Only this status.")
    kind = param.String(default="", doc="Only this span kind.")
    model = param.String(default="", doc="Only this model.")
    text = param.String(default="", doc="Text in the input or output (case-insensitive).")
    sort = param.String(default="start_time", doc="The column sorted by.")
    descending = param.Boolean(default=True, doc="Sort from the largest.")
    page_no = param.Integer(default=1, bounds=(1, None), doc="Page number, from 1.")
    page_size = param.Integer(default=50, bounds=(5, 500), doc="Rows per page.")
    live = param.Boolean(default=False, doc="Query again every few seconds, to watch spans arrive.")

    url_params: ClassVar[tuple[str, ...]] = ("mode", "status", "kind", "model", "text", "sort", "descending", "page_no")

    def __init__(self, reader: Any, **params: Any) -> None:
        super().__init__(reader, **params)
        self.total = 0
        self.frame = pd.DataFrame()
        self.error: str | None = None
        self._resetting = False
        self.ticked: list[str] = []  # ids of the rows ticked by hand (traces, or spans), in order

    # Data -------------------------------------------------------------------------------

    def expression(self) -> str | None:
        """The filter expression this page asks the read API for (scope filter and quick filters)."""
        parts = []
        if self.scope.filter:
            parts.append(f"({self.scope.filter})")
        if self.status:
            parts.append(f"status_code == {self.status!r}")
        if self.kind:
            parts.append(f"span_kind == {self.kind!r}")
        if self.model:
            parts.append(f"model_name == {self.model!r}")
        text = self.text.strip()
        if text:
            parts.append(f"({text!r} in input_value or {text!r} in output_value)")
        return " and ".join(parts) or None

    def _sort_key(self) -> str:
        allowed = set((TRACE_SORT if self.mode == "traces" else SPAN_SORT).values())
        return self.sort if self.sort in allowed else "start_time"

    def query(self, *, count: bool = True) -> dict[str, Any]:
        """The current page of rows (and, with ``count``, how many match), or the error."""
        out: dict[str, Any] = {"mode": self.mode, "error": None}
        try:
            if self.scope.filter:  # name the user's own expression in an error, not the combined one
                Selection(self.scope.filter).where("s")
            selection = self.scope.selection(self.expression() or "")
            offset = (self.page_no - 1) * self.page_size
            if self.mode == "traces":
                if count:
                    out["total"] = self.reader.count_traces(selection)
                frame = self.reader.traces(selection, order_by=self._sort_key(), descending=self.descending,
                                           limit=self.page_size, offset=offset)
                out["frame"] = trace_rows(frame, annotations_of(self.reader, frame))
            else:
                if count:
                    out["total"] = self.reader.count(selection)
                frame = self.reader.spans(selection, columns=_SPAN_COLUMNS, order_by=self._sort_key(),
                                          descending=self.descending, limit=self.page_size, offset=offset)
                out["frame"] = span_rows(frame)
        except WorkbenchError as exc:  # FilterError included: shown under the filter
            out["error"] = str(exc)
            if isinstance(exc, FilterError):
                out["total"] = 0
                out["frame"] = (trace_rows if self.mode == "traces" else span_rows)(pd.DataFrame(
                    columns=[*_SPAN_COLUMNS, "span_count", "error_count", "models", "user_id"]))
        return out

    def load(self, *, count: bool = True) -> None:
        """Query the current page (and, with ``count``, how many rows match) on this thread."""
        self._take(self.query(count=count))

    def _take(self, result: dict[str, Any]) -> None:
        self.error = result["error"]
        if "total" in result:
            self.total = result["total"]
        if "frame" in result:
            self.frame = result["frame"]

    def _reload(self, *, count: bool = True) -> None:
        """Query in the background when served, then show."""
        def show(result: dict[str, Any]) -> None:
            self._take(result)
            self._render()

        self.in_background(lambda: self.query(count=count), show, busy=[self._table])

    # Layout -----------------------------------------------------------------------------

    def _build(self) -> Any:
        values = cached_facets(self.reader)
        self._mode = pn.widgets.RadioButtonGroup.from_param(
            self.param.mode, name="", options={"Traces": "traces", "Spans": "spans"}, color="light", width=140,
            margin=(5, 5))
        self._status = pn.widgets.Select.from_param(
            self.param.status, name="", options={"Any status": "", "Error": "ERROR", "OK": "OK", "Unset": "UNSET"},
            width=110, margin=(5, 5))
        kinds = {"Any kind": ""} | {k.value: k.value for k in SpanKind}
        self._kind = pn.widgets.Select.from_param(self.param.kind, name="", options=kinds, width=120, margin=(5, 5))
        models = {"Any model": ""} | {m: m for m in values["models"]}
        if self.model and self.model not in models:
            models[self.model] = self.model
        self._model = pn.widgets.Select.from_param(self.param.model, name="", options=models, width=170,
                                                   margin=(5, 5))
        self._text = pn.widgets.TextInput.from_param(self.param.text, name="", placeholder="text in input or output",
                                                     width=200, margin=(5, 5))
        self._refresh = pn.widgets.Button(label="Refresh", color="light", width=80, margin=(5, 5))
        self._live = pn.widgets.Toggle.from_param(self.param.live, name="Live", color="light", width=70, margin=(5, 5))
        self.param.watch(self._live_changed, "live")
        self._live_callback: Any = None
        self._status_line = pn.pane.HTML(status_line(), stylesheets=[CSS], sizing_mode="stretch_width",
                                         margin=(0, 10), min_height=20)
        self._table = LinkedHTML(on_link=self._follow, sizing_mode="stretch_both", min_height=240,
                                 css_classes=["wb-scroll"], margin=(0, 10),
                                 styles={"border": "1px solid #e2e8f0", "border-radius": "6px"})
        self._prev = pn.widgets.Button(label="\u2039 Prev", color="light", width=80, margin=(4, 4))
        self._next = pn.widgets.Button(label="Next \u203a", color="light", width=80, margin=(4, 4))
        self._page_info = pn.pane.HTML("", stylesheets=[CSS], margin=(10, 8), width=260)
        self._prev.on_click(lambda _: self._turn(-1))
        self._next.on_click(lambda _: self._turn(1))
        self._refresh.on_click(lambda *_: self.refresh())
        self._add = AddToDataset(self.reader, self._examples, on_link=self._follow)
        self.param.watch(self._changed, ["mode", "status", "kind", "model", "text", "sort", "descending",
                                         "page_no", "page_size"])
        self.watch(self._scope_changed, self.scope.url_params, on=self.scope)

        scope_row = pn.Row(*self.scope.widgets(self.reader), self._refresh, self._live, sizing_mode="stretch_width",
                           margin=(4, 5, 0, 5))
        quick_row = pn.Row(self._mode, self._status, self._kind, self._model, self._text,
                           sizing_mode="stretch_width", margin=(0, 5))
        pager = pn.Row(self._prev, self._next, self._page_info, pn.layout.HSpacer(), self._add,
                       sizing_mode="stretch_width", margin=(0, 5), height=42)
        self.load()
        self._render()
        return pn.Column(scope_row, quick_row, self._status_line, self._table, pager,
                         sizing_mode="stretch_both", margin=0)

    def _render(self) -> None:
        noun = "traces" if self.mode == "traces" else "spans"
        if self.error:
            self._status_line.object = status_line(esc(self.error), error=True)
        else:
            self._status_line.object = status_line(f"{self.total:,} {noun} match" + (
                f" <span class='wb-mono'>{esc(self.expression())}</span>" if self.expression() else ""))
        self._table.html = self.table_html()
        first = (self.page_no - 1) * self.page_size + 1 if self.total else 0
        last = min(self.page_no * self.page_size, self.total)
        self._page_info.object = f"<span class='wb-muted'>{first:,}\u2013{last:,} of {self.total:,} {noun}</span>"
        self._prev.disabled = self.page_no <= 1
        self._next.disabled = last >= self.total
        one = noun[:-1]  # "trace" or "span"
        ticked = len(self.ticked)
        self._add.label = (f"Add {ticked:,} ticked {noun if ticked != 1 else one}" if ticked
                           else f"Add this {one}" if self.total == 1 else f"Add these {self.total:,} {noun}")

    def _examples(self) -> Examples:
        """What "Add to dataset" adds: the rows ticked, else every row the filter matches."""
        if self.ticked:
            return self.mode, list(self.ticked)
        if not self.total:
            raise ValueError(f"No {self.mode} match; change the filter, or tick rows.")
        if self.total > _MAX_ADDED:
            raise ValueError(f"{self.total:,} {self.mode} match, more than the {_MAX_ADDED:,} one dataset version "
                             "takes at once; narrow the filter or the time range.")
        return self.mode, self.scope.selection(self.expression() or "")

    def tick(self, row_id: str) -> None:
        """Tick a row (a trace or span id), or untick it."""
        if row_id in self.ticked:
            self.ticked.remove(row_id)
        else:
            self.ticked.append(row_id)
        self._render()

    # Events -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Query again (new spans may have arrived)."""
        self._reload()

    def _live_changed(self, event: Any) -> None:
        self._poll(event.new and self.on_screen)

    def _poll(self, on: bool) -> None:
        """Start or stop querying every few seconds."""
        if self._live_callback is not None:
            self._live_callback.stop()
            self._live_callback = None
        if on:
            self._live_callback = pn.state.add_periodic_callback(self.refresh, period=_LIVE_MS)

    def shown(self) -> None:
        """Live again, if it was live when the page was left."""
        super().shown()
        if self.live and hasattr(self, "_live"):
            self._poll(True)

    def hidden(self) -> None:
        """No live queries while the page is not shown."""
        super().hidden()
        if hasattr(self, "_live"):
            self._poll(False)

    def _changed(self, *events: Any) -> None:
        if self._resetting:
            return
        names = {e.name for e in events}
        if "mode" in names:
            self.ticked = []  # trace ids and span ids do not mix
        if "mode" in names and not names & {"sort", "descending"} and not self.applying \
                and (self.sort, self.descending) != ("start_time", True):
            self.param.update(sort="start_time", descending=True)  # the other list: newest first (reloads)
            return
        if not names - {"page_no", "page_size"}:
            self._reload(count=False)  # another page of the same rows
            return
        if "page_no" not in names and not self.applying:
            self._first_page()  # other rows: from their start (a link or URL states its page)
        if self.model not in self._model.options.values():  # a model from a link joins the list
            self._model.options = {**self._model.options, self.model: self.model}
            self._model.value = self.model
        self._reload()

    def _first_page(self) -> None:
        self._resetting = True
        try:
            self.page_no = 1
        finally:
            self._resetting = False

    def _scope_changed(self) -> None:
        if not self.applying:
            self._first_page()
        self.refresh()

    def _turn(self, step: int) -> None:
        self.page_no = max(1, self.page_no + step)

    def _follow(self, page: str, params: dict[str, str]) -> None:
        if page != "traces":
            self.link(page, **params)
            return
        if "tick" in params:  # a row's tick box
            self.tick(params["tick"])
            return
        # A header's link: this page's own state (sorting), applied in place.
        scope = {k: v for k, v in params.items() if k in self.scope.url_params}
        self.apply_url({k: v for k, v in params.items() if k not in scope})
        if scope and any(getattr(self.scope, k) != v for k, v in scope.items()):
            self.scope.param.update(**scope)

    # The table --------------------------------------------------------------------------

    def href(self, **changes: Any) -> str:
        """The URL of this page as it is, with ``changes``."""
        state: dict[str, Any] = {k: getattr(self.scope, k) for k in self.scope.url_params
                                 if getattr(self.scope, k) != self.scope.param[k].default}
        for name in self.url_params:
            value = changes.get(name, getattr(self, name))
            if value != self.param[name].default:
                state[name] = str(value).lower() if isinstance(value, bool) else value
        return href("traces", **state)

    def table_html(self) -> str:
        """The current page of rows as an HTML table with sorting headers."""
        return list_table(self.frame, spans=self.mode == "spans", sort=self._sort_key(), descending=self.descending,
                          sort_href=lambda key, descending: self.href(sort=key, descending=descending, page_no=1),
                          ticked=self.ticked)
