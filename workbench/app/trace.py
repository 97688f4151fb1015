"""The Trace page: one trace's span tree beside a waterfall, and the selected span's detail."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, ClassVar

import panel as pn
import param

from workbench.app.correction import CORRECTABLE_KINDS, CorrectionBox, latest_correction
from workbench.app.folds import Folds
from workbench.app.js_components import CopyButton, LinkedHTML, Waterfall
from workbench.app.markup import (
    cost_html,
    esc,
    fmt_count,
    fmt_ms,
    fmt_time,
    fmt_usd,
    href,
    is_missing,
    tabs,
    zone_label,
)
from workbench.app.outline import Outline
from workbench.app.page import PageView
from workbench.app.quality import FeedbackWidget
from workbench.app.span_detail import attributes_html, events_html, overview_html, resource_html
from workbench.app.style import CSS
from workbench.app.trace_costs import TraceCosts, trace_costs
from workbench.errors import NotFoundError, WorkbenchError
from workbench.read import SPAN_FIELDS, supports
from workbench.read.outline import outline_spans
from workbench.tree import Trace

__all__ = ["TREE_COLUMNS", "TraceView", "read_outline", "trace_cost_html", "waterfall_rows"]

#: What the tree, the waterfall, the summary line and the search read of every span from a
#: reader that runs no SQL (else :func:`workbench.read.outline.outline_spans` reads the same in
#: one narrow query); the selected span is read whole when it is selected.
TREE_COLUMNS = (
    "name", "span_kind", "status_code", "status_message", "latency_ms", "model_name", "tool_name", "total_tokens",
    "prompt_tokens", "completion_tokens", "session_id", "user_id", "project", "input_value", "output_value",
)


def _loads_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    try:
        loaded = json.loads(value) if value else []
    except (TypeError, ValueError):
        return []
    return loaded if isinstance(loaded, list) else []


def _count_keys(value: Any) -> int:
    if isinstance(value, dict):
        return len(value)
    try:
        loaded = json.loads(value) if value else {}
    except (TypeError, ValueError):
        return 0
    return len(loaded) if isinstance(loaded, dict) else 0


_SEARCH_CHARS = 200  # of a span's input and output, searched in the browser


def _count(value: Any) -> int | None:
    return None if value is None or is_missing(value) else int(value)


def _tokens(span: Mapping[str, Any]) -> int | None:
    total = _count(span.get("total_tokens"))
    if total is not None:
        return total
    known = [n for n in (_count(span.get(k)) for k in ("prompt_tokens", "completion_tokens")) if n is not None]
    return sum(known) if known else None


def _search_text(span: Mapping[str, Any]) -> str:
    parts = [span.get(k) for k in ("name", "span_kind", "span_id", "model_name", "tool_name", "status_message")]
    parts += [str(span.get(k))[:_SEARCH_CHARS] for k in ("input_value", "output_value") if not is_missing(span.get(k))]
    return " ".join(str(p) for p in parts if not is_missing(p) and p != "").lower()


def waterfall_rows(trace: Trace, costs: dict[str, dict[str, Any]] | None = None,
                   spans: Mapping[str, Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The rows the :class:`Waterfall` draws, in display order.

    Args:
        trace: The trace.
        costs: :func:`workbench.analysis.cost.span_costs` rows by span id, for each node's cost.
        spans: Fuller copies of the trace's spans by id (e.g. read with every column), for
            tokens and search text; the tree's own columns where a span is not among them.

    Each row also carries its tokens and cost, its subtree's (``sub_tokens``, ``sub_cost``),
    ``sub_errors`` (how many spans below it failed, so a fold can say so even when its
    children were never sent) and ``text``: what a search in the browser matches (name, kind,
    id, model, tool, status message, the start of its input and output).
    """
    costs = costs or {}
    spans = spans or {}
    start = trace.start_us
    full = {node.span_id: spans.get(node.span_id) or node.span for node in trace}
    own_tokens = {span_id: _tokens(span) for span_id, span in full.items()}
    subtree: dict[str, int | None] = {}
    errors_below: dict[str, int] = {}
    for node in reversed(list(trace)):  # children before their parents
        values = [own_tokens[node.span_id], *(subtree.get(c.span_id) for c in node.children)]
        known = [v for v in values if v is not None]
        subtree[node.span_id] = sum(known) if known else None
        errors_below[node.span_id] = sum(
            errors_below.get(c.span_id, 0) + (c.span.get("status_code") == "ERROR") for c in node.children)
    rows = []
    for node in trace:
        span = node.span
        parent = span.get("parent_span_id")
        cost = costs.get(node.span_id) or {}
        rows.append({
            "id": node.span_id,
            "parent": parent if parent in trace.nodes else None,
            "depth": node.depth,
            "name": str(span.get("name") or ""),
            "kind": str(span.get("span_kind") or "UNKNOWN"),
            "status": str(span.get("status_code") or "UNSET"),
            "offset": (node.start_us - start) / 1000,
            "duration": node.duration_ms,
            "self": node.self_time_ms,
            "critical": node.on_critical_path,
            "children": len(node.children),
            "sub_errors": errors_below[node.span_id],
            "tokens": own_tokens[node.span_id],
            "sub_tokens": subtree[node.span_id],
            "cost": None if is_missing(cost.get("cost")) else float(cost["cost"]),
            "sub_cost": None if is_missing(cost.get("subtree_cost")) else float(cost["subtree_cost"]),
            "text": _search_text(full[node.span_id]),
        })
    return rows


def trace_cost_html(costs: dict[str, dict[str, Any]]) -> str:
    """The trace's cost for its summary line, from :func:`workbench.analysis.cost.span_costs` rows by span id:
    the known sum, and what it leaves out (calls without a price, calls that reported no tokens)."""
    rows = [row for row in costs.values() if row.get("calls")]
    if not rows:
        return ""
    known = [float(row["cost"]) for row in rows if not is_missing(row.get("cost"))]
    unpriced = sum(int(row.get("unpriced_calls") or 0) for row in rows)
    idle = sum(int(row.get("no_usage_calls") or 0) for row in rows)
    text = f"cost <b>{cost_html(sum(known))}</b>" if known else (
        f"cost {cost_html(None, unpriced, missing='unknown')}")
    if unpriced:
        text += f" <span class='wb-muted'>({unpriced:,} call{'s' if unpriced != 1 else ''} without a price)</span>"
    if idle:
        text += (f" <span class='wb-muted'>({idle:,} call{'s' if idle != 1 else ''} reported no tokens: "
                 "cost unknown)</span>")
    return f"<span class='wb-trace-cost'>{text}</span>"


def _summary_html(outline: Outline, costs: TraceCosts | None = None) -> str:
    root = outline.span(outline.roots[0]) if outline.roots else {}
    totals = outline.totals()
    errors, llm_calls = totals["errors"], totals["llm_calls"]
    status = "ERROR" if errors else str(root.get("status_code") or "UNSET")
    critical = " &rarr; ".join(esc(outline.table.column("name")[i].as_py()) for i in outline.critical_path()[1:6])
    parts = [
        f"<span class='wb-status-{status}'>{'&#9888; ' if errors else ''}{status}</span>",
        esc(fmt_time(root.get("start_time"))) + " " + esc(zone_label()),
        f"<b>{esc(fmt_ms(outline.duration_ms))}</b>",
        f"{totals['spans']:,} spans" + (f" <span class='wb-error-text'>({errors} failed)</span>" if errors else ""),
        f"{llm_calls} LLM calls, {fmt_count(totals['llm_tokens'])} tokens" if llm_calls else "",
        trace_cost_html(costs.by_call() if costs is not None else {}),
        esc(", ".join(totals["models"])),
    ]
    if root.get("parent_span_id"):
        parts.insert(0, "<span class='wb-error-text' title='the span without a parent never arrived; the trace is "
                        "shown from its earliest span'>root span missing</span>")
    if root.get("session_id"):
        session_id = root["session_id"]
        parts.append(f"session <a href='{esc(href('sessions', session_id=session_id))}'>{esc(session_id)}</a>")
    if root.get("user_id"):
        parts.append(f"user {esc(root['user_id'])}")
    if root.get("project"):
        parts.append(f"project {esc(root['project'])}")
    line = " &middot; ".join(p for p in parts if p)
    trace_id = outline.trace_id
    return (
        f"<div style='display:flex;gap:10px;align-items:baseline;flex-wrap:wrap'>"
        f"<h2 class='wb-title' style='margin:0'>{esc(root.get('name'))}</h2><span>{line}</span></div>"
        f"<div class='wb-muted' style='margin-top:3px'>trace <span class='wb-mono'>{esc(trace_id)}</span>"
        + (f" &middot; critical path: {critical}" if critical else "")
        + f" &middot; <a href='{esc(href('traces', mode='spans', filter=f'trace_id == {trace_id!r}'))}'>"
        "its spans as a list</a></div>"
    )


class TraceView(PageView):
    """One trace: the span tree with a waterfall, and the detail of the selected span.

    Args:
        reader: Where the trace comes from.
        trace_id: The trace shown.
        span_id: The span selected (default: the root).
    """

    trace_id = param.String(default="", doc="The trace shown.")
    span_id = param.String(default="", doc="The selected span.")

    url_params: ClassVar[tuple[str, ...]] = ("trace_id", "span_id")
    uses_scope: ClassVar[bool] = False

    def __init__(self, reader: Any, **params: Any) -> None:
        super().__init__(reader, **params)
        self.outline: Outline | None = None
        self._folds: Folds | None = None
        self._costs: TraceCosts | None = None

    @property
    def trace(self) -> Trace | None:
        """The trace shown as a :class:`workbench.tree.Trace` (made from its outline when first
        asked for), or None."""
        outline = self.outline
        if outline is None:
            return None
        cached = self.__dict__.get("_trace")
        if cached is None or cached[0] is not outline:
            cached = (outline, outline.to_trace())
            self.__dict__["_trace"] = cached
        return cached[1]

    def _build(self) -> Any:
        self._id_input = pn.widgets.TextInput.from_param(self.param.trace_id, name="", placeholder="go to a trace id",
                                                         width=250, margin=(8, 12), stylesheets=[_ID_CSS])
        self._summary = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(6, 12), min_height=44)
        self._copy = CopyButton(margin=(10, 0), title="The whole trace as Markdown, for an LLM or a bug report")
        self._waterfall = Waterfall(on_open=self._open_fold, on_search=self._search, sizing_mode="stretch_both",
                                    min_height=320, margin=(4, 6, 8, 12))
        self._waterfall.param.watch(self._selected, "selected")
        # Everything in the side column stretches to its width: a fixed width plus a margin
        # would make the page wider than the window.
        self._detail = LinkedHTML(on_link=self._follow, sizing_mode="stretch_both",
                                  css_classes=["wb-scroll", "wb-span-detail"], margin=(0, 0, 4, 0),
                                  styles={"border-left": "1px solid #e2e8f0"})
        self.watch(self._load, "trace_id")
        self.watch(self._select, "span_id")
        self._cost = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(4, 8, 0, 8),
                                  css_classes=["wb-span-cost"])
        self._feedback = FeedbackWidget(self.reader)
        # Folded until wanted, so the span's detail gets the height.
        self._feedback_card = pn.Card(self._feedback, title="Feedback", collapsed=True, sizing_mode="stretch_width",
                                      margin=(0, 8, 6, 8), css_classes=["wb-feedback-card"],
                                      header_background="#f8fafc", styles={"flex-shrink": "0"})
        self._correction = CorrectionBox(self.reader, on_saved=lambda _: self._select())
        self._correction_card = pn.Card(self._correction, title="Correct this answer", collapsed=True,
                                        sizing_mode="stretch_width", margin=(0, 8, 6, 8), visible=False,
                                        css_classes=["wb-correction-card"], header_background="#f8fafc",
                                        styles={"flex-shrink": "0"})
        # In a narrow window the span detail gives way too, so the tree keeps half the width.
        side = pn.Column(self._cost, self._detail, self._correction_card, self._feedback_card,
                         max_width=_SIDE_WIDTH, sizing_mode="stretch_both", margin=0)
        self._body = pn.Row(self._waterfall, side, sizing_mode="stretch_both", margin=0)
        self._load()
        return pn.Column(pn.Row(self._summary, self._copy, self._id_input, sizing_mode="stretch_width", margin=0),
                         self._body, sizing_mode="stretch_both", margin=0)

    def _selected(self, event: Any) -> None:
        if event.new:  # a span picked in the waterfall
            self.span_id = event.new

    @param.depends("trace_id", watch=True, on_init=True)
    def _normalize_id(self) -> None:
        """A trace id as typed or pasted: hex, lowercase, without spaces."""
        trace_id = self.trace_id.strip().lower()
        if trace_id != self.trace_id:
            self.trace_id = trace_id

    def _follow(self, page: str, params: dict[str, str]) -> None:
        if page == "trace" and params.get("trace_id") == self.trace_id:
            self.span_id = params.get("span_id", "")
            return
        self.link(page, **params)

    def refresh(self) -> None:
        """Load the trace again (spans may still be arriving)."""
        self._load()

    def _load(self) -> None:
        self.outline = None
        if not self.trace_id:
            self._show_message("Choose a trace on the <a href='?page=traces'>Traces</a> page, or paste its id above.")
            return
        try:
            outline = read_outline(self.reader, self.trace_id)
        except NotFoundError:
            self._show_message(f"There is no trace <span class='wb-mono'>{esc(self.trace_id)}</span> in this store.")
            return
        except WorkbenchError as exc:
            self._show_message(f"<span class='wb-error-text'>{esc(exc)}</span>")
            return
        self.outline = outline
        self._costs = None
        self._summary.html = _summary_html(outline)
        self._copy.text = ""  # until the whole trace is read for it, below
        if self.span_id not in outline:
            self.settle(span_id=outline.ids[outline.order[0]])
        self._folds = Folds(outline)
        self._folds.reveal(self.span_id)
        self._waterfall.param.update(rows=outline.rows(self._folds.shown()), total_ms=outline.duration_ms,
                                     selected=self.span_id, span_count=len(outline),
                                     error_count=outline.totals()["errors"])
        self._body.visible = True
        self._select()
        # Costs price every call of the trace, then the text for an LLM reads the spans again:
        # shown a moment after the tree, one after the other, and only once the browser has
        # drawn the page (work on other threads would slow the server sending it).
        reader = self.reader

        def costs_then_markdown(costs: TraceCosts | None) -> None:
            self._show_costs(outline, costs)
            self.in_background(lambda: _markdown(reader, outline, costs),
                               lambda text: self._show_markdown(outline, text), key="markdown")

        pn.state.onload(lambda: self.in_background(lambda: trace_costs(reader, outline), costs_then_markdown,
                                                   key="costs"))

    def _show_markdown(self, outline: Outline, text: str) -> None:
        if outline is self.outline:  # else another trace was opened meanwhile
            self._copy.text = text

    def _show_costs(self, outline: Outline, costs: TraceCosts | None) -> None:
        if outline is not self.outline:  # another trace was opened meanwhile
            return
        self._costs = costs
        if costs is None:
            return
        self._summary.html = _summary_html(outline, costs)
        self._cost.object = _cost_html(self._cost_row(self.span_id))
        self._send_rows()

    def _cost_row(self, span_id: str) -> dict[str, Any] | None:
        if self.outline is None or self._costs is None or span_id not in self.outline:
            return None
        return self._costs.row(self.outline.index[span_id])

    def _send_rows(self) -> None:
        """Send the rows shown again (a fold opened, costs came), keeping the browser's folds."""
        if self.outline is None or self._folds is None:
            return
        self._waterfall.send_rows(self.outline.rows(self._folds.shown(), self._costs))

    def _full_span(self, i: int) -> dict[str, Any]:
        """The selected span with every column (the outline holds a few of each span's), read by
        its trace, id and start, which a big store finds without reading every span id."""
        assert self.outline is not None
        span_id, start = self.outline.ids[i], _utc(int(self.outline.start[i]))
        try:
            rows = self.reader.spans(f"span_id == {span_id!r}", trace_ids=[self.trace_id], start=start,
                                     end=start + dt.timedelta(microseconds=1), columns=SPAN_FIELDS,
                                     arrow=True).to_pylist()
        except WorkbenchError:
            rows = []
        if rows:
            return rows[0]
        span = self.outline.span(i)  # gone meanwhile, or a reader without the filter: what the outline has
        span.update(input_value=span.pop("input_start"), output_value=span.pop("output_start"))
        return span

    def _open_fold(self, span_id: str | None) -> None:
        """The browser opened a fold whose children it has not got (None: "expand all")."""
        if self._folds is None:
            return
        if span_id is None:
            self._folds.open_all()
        else:
            self._folds.open(span_id)
        self._send_rows()

    def _search(self, text: str) -> None:
        """The browser searches the trace: send it every matching row, opening the folds above them."""
        if self._folds is not None and self._folds.reveal_matching(text):
            self._send_rows()

    def _show_message(self, html: str) -> None:
        self._summary.html = f"<div class='wb-empty'>{html}</div>"
        self._folds = None
        self._copy.text = ""
        self._waterfall.param.update(rows=[], total_ms=0.0, selected="", span_count=0, error_count=0)
        self._body.visible = False

    def _select(self) -> None:
        outline = self.outline
        if outline is None:
            return
        if self.span_id not in outline:  # none (a URL without one) or another trace's
            if len(outline):
                self.settle(span_id=outline.ids[outline.order[0]])  # selects it
            return
        i = outline.index[self.span_id]
        if self._folds is not None and self._folds.reveal(self.span_id):
            self._send_rows()
        span = self._full_span(i)
        documents: list[dict[str, Any]] = []
        embeddings: list[dict[str, Any]] = []
        kind = span.get("span_kind")
        try:
            if kind in ("RETRIEVER", "RERANKER"):
                documents = self.reader.documents(span_ids=[self.span_id], arrow=True).to_pylist()
            elif kind == "EMBEDDING":
                embeddings = self.reader.embeddings(span_ids=[self.span_id], arrow=True).to_pylist()
        except WorkbenchError:
            pass
        self._waterfall.selected = self.span_id
        self._cost.object = _cost_html(self._cost_row(self.span_id))
        root = outline.depth[i] == 0
        self._feedback.param.update(trace_id=self.trace_id, span_id="" if root else self.span_id)
        correctable = kind in CORRECTABLE_KINDS
        self._correction.param.update(trace_id=self.trace_id, span_id=self.span_id)
        self._correction_card.visible = correctable
        correction = latest_correction(self.reader, self.trace_id, self.span_id, root=root) if correctable else None
        events = _loads_list(span.get("events"))
        attributes = span.get("attributes") or "{}"
        self._detail.html = tabs([
            ("overview", "Overview", overview_html(span, documents=documents, embeddings=embeddings,
                                                   self_time_ms=outline.self_time_ms(i),
                                                   critical=i in outline.critical, correction=correction)),
            ("attributes", f"Attributes<span class='n'>{_count_keys(attributes)}</span>", attributes_html(span)),
            ("events", f"Events<span class='n'>{len(events)}</span>", events_html(span)),
            ("resource", "Resource", resource_html(span)),
        ])


def read_outline(reader: Any, trace_id: str) -> Outline:
    """The trace's :class:`Outline`: one narrow query, or from the reader's tree when it runs no SQL.

    Raises:
        NotFoundError: No span of that trace is stored.
    """
    if supports(reader, "sql"):
        table = outline_spans(reader, trace_id)
        if not table.num_rows:
            raise NotFoundError(f"There is no trace {trace_id!r}; check the id.")
        return Outline(trace_id.lower(), table)
    trace = reader.trace(trace_id, columns=TREE_COLUMNS)
    return Outline.from_spans(trace.trace_id, (node.span for node in trace.nodes.values()))


#: Above this many spans the text for an LLM is made from the tree's columns: reading every
#: column of a huge trace would take seconds, and the text's budget shows only its start.
MARKDOWN_FULL_READ = 5_000


def _markdown(reader: Any, outline: Outline, costs: TraceCosts | None = None) -> str:
    """The trace as Markdown: from every column of its spans when it is not huge, else from the
    outline's columns (reading every column of a huge trace would take seconds, and the text's
    budget shows only its start)."""
    if len(outline) <= MARKDOWN_FULL_READ:
        try:
            return str(reader.trace(outline.trace_id).to_markdown())
        except WorkbenchError:
            pass  # gone meanwhile: the outline's columns still tell most of it
    return outline.to_markdown(costs)


def _utc(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=us)


def _cost_html(row: dict[str, Any] | None) -> str:
    """'Cost: $x this call · $y with its children', never $0 for what has no price."""
    if not row:
        return ""
    parts = []
    own, subtree = row.get("cost"), row.get("subtree_cost")
    if row.get("calls"):
        if not is_missing(own):
            parts.append(f"{fmt_usd(own)} this call")
        elif row.get("unpriced_calls"):
            parts.append("this call has no price")
        else:
            parts.append("this call reported no tokens, so its cost is unknown")
    if not is_missing(subtree) and subtree and (is_missing(own) or abs(subtree - own) > 1e-12):
        parts.append(f"{fmt_usd(subtree)} with its children")
    if row.get("subtree_unpriced_calls"):
        parts.append(f"{int(row['subtree_unpriced_calls'])} call(s) without a price")
    return f"<div class='wb-muted'>Cost: {' · '.join(parts)}</div>" if parts else ""


_ = CSS  # the components carry the stylesheet
_SIDE_WIDTH = 560
_ID_CSS = ".bk-input { font-family: monospace; font-size: 11px; height: 28px; color: #475569; }"
