"""The Latency page: percentiles over time by name, model, kind or project; LLM timings; where
the time goes (self time by kind); and the slowest traces, each one click from its tree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import panel as pn
import param

from workbench.analysis.latency import (
    GROUPS,
    group_latency,
    latency_over_time,
    latency_summary,
    llm_timing_summary,
    llm_timings,
    self_time_by_kind,
    slowest_traces,
)
from workbench.app.charts import bars, histogram, lines_over_time
from workbench.app.js_components import LinkedHTML
from workbench.app.markup import esc, fmt_count, fmt_ms, fmt_time, href, number, short, zone_label
from workbench.app.page import PageView, status_line
from workbench.app.style import CSS
from workbench.app.tables import Column, table
from workbench.errors import WorkbenchError

__all__ = ["LatencyView"]

_SELF_TIME_TRACES = 5_000
_GROUP_LABELS = {"Nothing": "none", "Span name": "name", "Model": "model", "Tool": "tool", "Kind": "kind",
                 "Project": "project"}


def _cards(summary: dict[str, Any], noun: str) -> str:
    cards = [
        (fmt_count(summary["count"]), noun),
        (fmt_count(summary["errors"]), "errors"),
        (fmt_ms(summary["p50"]), "p50"),
        (fmt_ms(summary["p95"]), "p95"),
        (fmt_ms(summary["p99"]), "p99"),
        (fmt_ms(summary["max"]), "max"),
    ]
    return "<div class='wb-cards'>" + "".join(
        f"<div class='wb-card'><div class='v'>{esc(v) or '&ndash;'}</div><div class='l'>{esc(label)}</div></div>"
        for v, label in cards) + "</div>"


def _slowest_html(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<div class='wb-muted'>No traces.</div>"

    def link(r: Any, text: str) -> str:
        return f"<a href='{esc(href('trace', trace_id=r.trace_id))}'>{text}</a>"

    def status(r: Any) -> str:
        code = "ERROR" if r.error_count else r.status_code
        return f"<span class='wb-status-{esc(code)}'>{esc(code)}</span>"

    return table(frame.itertuples(index=False), [
        Column("Latency", lambda r: link(r, f"<b>{esc(fmt_ms(r.latency_ms))}</b>"), numeric=True),
        Column("Trace", lambda r: link(r, esc(r.name))),
        Column("Status", status),
        Column("Start", lambda r: esc(fmt_time(r.start_time)), head=f"Start ({esc(zone_label())})"),
        Column("Spans", lambda r: fmt_count(r.span_count), numeric=True),
        Column("Models", lambda r: esc(", ".join(r.models) if r.models is not None else "")),
        Column("Input", lambda r: esc(short(r.input_value, 90))),
    ])


def _tools_html(frame: pd.DataFrame) -> str:
    """Tool calls by tool, slowest tail first; each tool links to its calls, slowest first."""
    if frame.empty:
        return "<div class='wb-muted'>No tool calls.</div>"
    rows = []
    for r in frame.itertuples(index=False):
        condition = f"span_kind == 'TOOL' and (tool_name == {str(r.group)!r} or name == {str(r.group)!r})"
        link = href("traces", mode="spans", filter=condition, sort="latency_ms", descending="true")
        errors = f"<span class='wb-error-text'>{fmt_count(r.errors)}</span>" if r.errors else "0"
        rows.append(
            f"<tr><td><a class='wb-tool-link' href='{esc(link)}'>{esc(r.group)}</a></td>"
            f"<td class='num'>{fmt_count(r.count)}</td><td class='num'>{errors}</td>"
            f"<td class='num'>{esc(fmt_ms(r.p50))}</td><td class='num'>{esc(fmt_ms(r.p95))}</td>"
            f"<td class='num'><b>{esc(fmt_ms(r.p99))}</b></td><td class='num'>{esc(fmt_ms(r.max))}</td></tr>")
    return ("<table class='wb-list wb-tools'><tr><th>Tool</th><th class='num'>Calls</th><th class='num'>Errors</th>"
            "<th class='num'>p50</th><th class='num'>p95</th><th class='num'>p99</th><th class='num'>max</th></tr>"
            + "".join(rows) + "</table>")


def _model_href(model: str) -> str:
    """The model's calls, slowest first."""
    return href("traces", mode="spans", kind="LLM", model=model, sort="latency_ms", descending="true")


def _models_html(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<div class='wb-muted'>No LLM calls.</div>"
    frame = frame.sort_values(["latency_p95", "calls"], ascending=False, na_position="last")  # slowest first
    ms = {"TTFT p50": "ttft_p50", "TTFT p95": "ttft_p95", "p50": "latency_p50", "p95": "latency_p95",
          "p99": "latency_p99"}
    return table(frame.itertuples(index=False), [
        Column("Model", lambda r: f"<a class='wb-model-link' href='{esc(_model_href(r.model_name))}'>"
                                  f"{esc(r.model_name)}</a>"),
        Column("Calls", lambda r: fmt_count(r.calls), numeric=True),
        *[Column(label, _ms_of(key), numeric=True) for label, key in ms.items()],
        Column("Tokens/s p50", lambda r: esc(number(r.tokens_per_s_p50)), numeric=True),
    ])


class LatencyView(PageView):
    """Latency percentiles over time, LLM timings, self time by kind, and the slowest traces.

    Args:
        reader: Where the spans come from.
        filter: A filter expression (the shared scope's); ``start``/``end``/``project`` likewise.
        level: Measure whole ``traces`` or the matching ``spans``.
        by: Group the lines by ``none``, ``name``, ``model``, ``kind`` or ``project``.
        percentile: The percentile drawn per group (``p50``, ``p95``, ``p99``).
    """

    level = param.Selector(default="traces", objects=["traces", "spans"], doc="Measure traces or spans.")
    by = param.Selector(default="none", objects=list(GROUPS), doc="Group the lines by.")
    percentile = param.Selector(default="p95", objects=["p50", "p95", "p99"], doc="The percentile per group.")

    url_params: ClassVar[tuple[str, ...]] = ("level", "by", "percentile")

    def _build(self) -> Any:
        self._level = pn.widgets.RadioButtonGroup.from_param(
            self.param.level, name="", options={"Traces": "traces", "Spans": "spans"}, color="light", width=140,
            margin=(5, 5))
        self._by = pn.widgets.Select.from_param(self.param.by, name="", options=_GROUP_LABELS, width=140, margin=(5, 5))
        self._percentile = pn.widgets.RadioButtonGroup.from_param(self.param.percentile, name="", color="light",
                                                                  width=150, margin=(5, 5))
        self._status = pn.pane.HTML(status_line(), stylesheets=[CSS], min_height=20, margin=(0, 10),
                                    sizing_mode="stretch_width")
        self._cards = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(4, 10), min_height=62)
        self._over_time = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=300, margin=(4, 10))
        self._ttft = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=220, margin=(4, 6))
        self._last = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=220, margin=(4, 6))
        self._speed = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=220, margin=(4, 6))
        self._self_time = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=260, margin=(4, 6))
        self._models = LinkedHTML(on_link=lambda page, params: self.link(page, **params),
                                  sizing_mode="stretch_width", margin=(4, 6))
        self._tools = LinkedHTML(on_link=lambda page, params: self.link(page, **params),
                                 sizing_mode="stretch_width", margin=(4, 6))
        self._slowest = LinkedHTML(on_link=lambda page, params: self.link(page, **params),
                                   sizing_mode="stretch_width", margin=(4, 10))
        self.watch(self.refresh, ["level", "by", "percentile"])
        self.watch(self.refresh, self.scope.url_params, on=self.scope)

        def heading(text: str, note: str = "") -> Any:
            return pn.pane.HTML(_heading_html(text, note), stylesheets=[CSS], sizing_mode="stretch_width",
                                margin=(6, 10, 0, 10))

        self._self_time_note = heading("Where the time goes", "self time summed by span kind")

        controls = pn.Row(
            pn.pane.HTML("<span class='wb-muted'>Measure</span>", stylesheets=[CSS], margin=(12, 2, 0, 10)),
            self._level,
            pn.pane.HTML("<span class='wb-muted'>group by</span>", stylesheets=[CSS], margin=(12, 2, 0, 10)),
            self._by, self._percentile, sizing_mode="stretch_width", margin=(0, 5),
        )
        self._body = body = pn.Column(
            self._cards,
            heading("Latency over time", "click a point to list the traces of that bucket, slowest first; "
                                         "click a legend entry to hide or show its line"),
            self._over_time,
            heading("LLM calls", "time to first token, time to last token, output tokens per second"),
            pn.Row(self._ttft, self._last, self._speed, sizing_mode="stretch_width", margin=(0, 4)),
            pn.Row(
                pn.Column(self._self_time_note, self._self_time,
                          sizing_mode="stretch_width", margin=0),
                pn.Column(heading("By model", "slowest p95 first; a model lists its calls, slowest first"),
                          self._models,
                          heading("Tools", "slowest p95 first; a tool lists its calls, slowest first"), self._tools,
                          sizing_mode="stretch_width", margin=0),
                sizing_mode="stretch_width", margin=(0, 4),
            ),
            heading("Slowest traces"),
            self._slowest,
            sizing_mode="stretch_both", scroll=True, margin=0,
        )
        self._percentile.disabled = self.by == "none"
        self._show(self.query())  # the first look is part of the page, not a spinner
        scope_row = pn.Row(*self.scope.widgets(self.reader), sizing_mode="stretch_width", margin=(4, 5, 0, 5))
        return pn.Column(scope_row, controls, self._status, body, sizing_mode="stretch_both", margin=0)

    # Data -------------------------------------------------------------------------------

    def query(self) -> dict[str, Any]:
        """Every figure's data for the current scope and settings (or the error)."""
        selection = self.scope.selection()
        expression = selection.filter
        out: dict[str, Any] = {"level": self.level, "by": self.by, "percentile": self.percentile,
                               "expression": expression}
        try:
            out.update(
                summary=latency_summary(self.reader, selection, level=self.level),
                over_time=latency_over_time(self.reader, selection, by=self.by, level=self.level,
                                            rank=self.percentile),
                tools=group_latency(self.reader, selection, by="tool", level="spans", rank="p95"),
                timings=llm_timings(self.reader, selection),
                by_model=llm_timing_summary(self.reader, selection),
                self_time=self_time_by_kind(self.reader, selection, max_traces=_SELF_TIME_TRACES),
                slowest=slowest_traces(self.reader, selection, limit=15),
            )
        except WorkbenchError as exc:  # FilterError included
            out["error"] = str(exc)
        return out

    def refresh(self) -> None:
        """Query every figure again (in the background when served)."""
        if not hasattr(self, "_cards"):
            return
        self._percentile.disabled = self.by == "none"  # ungrouped, all three are drawn
        self.in_background(self.query, self._show, busy=[self._body])

    def _show(self, data: dict[str, Any]) -> None:
        if "error" in data:
            self._status.object = status_line(esc(data["error"]), error=True)
            return
        summary, over_time, timings = data["summary"], data["over_time"], data["timings"]
        noun, by, expression = data["level"], data["by"], data["expression"]
        width = ""
        if len(over_time) > 1:
            step = (over_time["bucket_end"].iloc[0] - over_time["bucket"].iloc[0])
            width = f"; one point per {_duration_text(step)}"
        self._status.object = status_line(
            f"{summary['count']:,} {noun}"
            + (f" matching <span class='wb-mono'>{esc(expression)}</span>" if expression else "")
            + width)
        self._cards.object = _cards(summary, noun)
        value = data["percentile"] if by != "none" else "p95"
        if by == "none":
            frame = over_time.melt(id_vars=["bucket", "bucket_end", "count"], value_vars=["p50", "p95", "p99"],
                                   var_name="group", value_name="value")
            title = f"{noun.title()} latency: p50, p95 and p99"
        else:
            frame = over_time.rename(columns={value: "value"})
            title = f"{noun.title()} latency, {value}, by {by}"
        self._over_time.object = lines_over_time(frame, value="value", title=title, on_tap=self._bucket_tapped,
                                                 dimension=by if by != "none" else "percentile")
        ttft = timings["ttft_ms"].dropna().to_numpy(dtype=float)
        last = timings["latency_ms"].dropna().to_numpy(dtype=float)
        speed = timings["output_tokens_per_s"].dropna().to_numpy(dtype=float)
        self._ttft.object = histogram(ttft, title="Time to first token", x_label="ms", color="#7c3aed",
                                      marks=_marks(ttft))
        self._last.object = histogram(last, title="Time to last token", x_label="ms", color="#2563eb",
                                      marks=_marks(last))
        self._speed.object = histogram(speed, title="Output tokens per second", x_label="tokens/s",
                                       color="#059669", marks=_marks(speed, (50,)))
        self_time = data["self_time"]
        texts = [f"{fmt_ms(ms)} ({share:.0%})" for ms, share in zip(self_time["self_ms"], self_time["share"])]
        self._self_time.object = bars(list(self_time["span_kind"]), list(self_time["self_ms"] / 1000),
                                      title="", x_label="seconds of self time", texts=texts)
        sampled = summary["count"] > _SELF_TIME_TRACES and noun == "traces"
        self._self_time_note.object = _heading_html(
            "Where the time goes", "self time summed by span kind"
            + (f", over the latest {_SELF_TIME_TRACES:,} traces" if sampled else ""))
        self._models.html = _models_html(data["by_model"])
        self._tools.html = _tools_html(data["tools"])
        self._slowest.html = _slowest_html(data["slowest"])

    def _bucket_tapped(self, row: dict[str, Any]) -> None:
        """A point was clicked: list that bucket's traces (or spans), slowest first."""
        params: dict[str, Any] = {"mode": self.level, "sort": "latency_ms", "descending": True}
        group = row.get("group")
        if self.by == "kind":
            params["kind"] = group
        elif self.by == "model" and group not in ("(no model)", "other"):
            params["model"] = group
        elif self.by == "project" and group != "other":
            params["project"] = group
        elif self.by in ("name", "tool") and group != "other":
            condition = (f"name == {group!r}" if self.by == "name"
                         else f"span_kind == 'TOOL' and (tool_name == {group!r} or name == {group!r})")
            params["filter"] = f"({self.scope.filter}) and {condition}" if self.scope.filter else condition
        self.link("traces", **params, **self.scope.window(str(row["start"]), str(row["bucket_end"])))


def _ms_of(key: str) -> Callable[[Any], str]:
    """A cell showing the row's ``key`` field as a duration."""
    return lambda r: esc(fmt_ms(getattr(r, key)))


def _heading_html(text: str, note: str = "") -> str:
    extra = f" <span class='wb-muted' style='font-weight:400'>{esc(note)}</span>" if note else ""
    return f"<h3 class='wb-h'>{esc(text)}{extra}</h3>"


def _marks(values: np.ndarray, percentiles: tuple[int, ...] = (50, 95)) -> list[tuple[str, float]]:
    if not values.size:
        return []
    return [(f"p{p} {number(np.percentile(values, p), 0)}", float(np.percentile(values, p))) for p in percentiles]


def _duration_text(step: Any) -> str:
    seconds = step.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n > 1 else ''}" if n > 1 else unit
    return f"{int(seconds)} seconds"
