"""The Quality page: pass rates and scores of evaluations and feedback over time and by prompt
version, model or feature; the feedback rate; the worst traces, each one click from review.

:class:`FeedbackWidget` is the thumbs up/down and note on one trace or span, with the
annotations it already has; the page shows it for the trace under review, and any page can
mount it (the Trace page, for the selected span)::

    FeedbackWidget(reader, trace_id="...", span_id="...")

Everything shown comes from :mod:`workbench.analysis.quality`; feedback is written with
:func:`workbench.evals.annotate`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool, NumeralTickFormatter
from bokeh.plotting import figure
from panel.viewable import Viewer

from workbench.analysis.quality import (
    GROUPS,
    feedback_rate,
    pass_rates,
    quality_over_time,
    quality_summary,
    score_distribution,
    worst_traces,
)
from workbench.app.charts import bars, legend_outside
from workbench.app.js_components import LinkedHTML
from workbench.app.markup import esc, fmt_count, fmt_time, href, is_missing, short, zone_label
from workbench.app.page import PageView, status_line
from workbench.app.style import CSS, FONT, color_of
from workbench.app.tables import Column, table
from workbench.app.to_dataset import AddToDataset, Examples
from workbench.errors import FilterError, WorkbenchError
from workbench.evals import annotate

__all__ = ["FeedbackWidget", "QualityView", "annotations_html"]

_BY_LABELS = {
    "Prompt version": "prompt_version", "Model": "model", "Feature": "feature", "Project": "project",
    "Annotator": "annotator", "Annotator kind": "annotator_kind", "Nothing": "none",
}
_FEEDBACK = "user_feedback"


def _percent(value: Any) -> str:
    return "&ndash;" if is_missing(value) else f"{float(value):.0%}"


def _value_html(score: Any, label: Any) -> str:
    parts = []
    if not is_missing(label):
        color = {"thumbs_up": "#059669", "thumbs_down": "#dc2626"}.get(str(label))
        style = f" style='color:{color}'" if color else ""
        parts.append(f"<b{style}>{esc(label)}</b>")
    if not is_missing(score):
        parts.append(f"{float(score):.2f}")
    return " &middot; ".join(parts)


def annotations_html(frame: pd.DataFrame, *, empty: str = "No annotations yet.") -> str:
    """Annotations as a list: name, score and label, who (kind and annotator), when, why."""
    if frame is None or frame.empty:
        return f"<div class='wb-muted'>{esc(empty)}</div>"
    def name(r: Any) -> str:
        where = r.target if r.target != "document" else f"document {int(r.document_position)}"
        return f"<b>{esc(r.name)}</b><div class='wb-muted'>{esc(where)}</div>"

    def who(r: Any) -> str:
        return " ".join(x for x in (esc(r.annotator_kind) if not is_missing(r.annotator_kind) else "",
                                    esc(r.annotator) if not is_missing(r.annotator) else "") if x)

    return table(frame.sort_values("created_at", ascending=False).itertuples(index=False), [
        Column("Name", name),
        Column("Result", lambda r: _value_html(r.score, r.label)),
        Column("By", who),
        Column("When", lambda r: esc(fmt_time(r.created_at)), nowrap=True, head=f"When ({esc(zone_label())})"),
        Column("Why", lambda r: esc(short(r.explanation, 300)) if not is_missing(r.explanation) else ""),
    ], css="wb-annotations")


class FeedbackWidget(Viewer):
    """Thumbs up or down, with a note, on a trace (or one of its spans); and its annotations.

    Args:
        reader: A reader over a writable store (the app's), or a server's.
        trace_id: The trace annotated.
        span_id: A span of it to annotate instead of the whole trace (empty: the trace).
        annotation: The annotation name written (default ``user_feedback``).
        annotator: Who the feedback is recorded as.
    """

    trace_id = param.String(default="", doc="The trace annotated.")
    span_id = param.String(default="", doc="The span annotated; empty for the whole trace.")
    annotation = param.String(default=_FEEDBACK, doc="The annotation name written.")
    annotator = param.String(default="workbench app", doc="Who the feedback is recorded as.")

    def __init__(self, reader: Any, **params: Any) -> None:
        super().__init__(**params)
        self.reader = reader
        self._title = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(4, 8, 0, 8))
        self._note = pn.widgets.TextAreaInput(placeholder="A note (optional): what was right or wrong",
                                              height=64, sizing_mode="stretch_width", margin=(4, 8),
                                              css_classes=["wb-feedback-note"])
        self._up = pn.widgets.Button(label="Thumbs up", color="success", width=120, margin=(4, 8),
                                     css_classes=["wb-thumbs-up"])
        self._down = pn.widgets.Button(label="Thumbs down", color="danger", width=120, margin=(4, 4),
                                       css_classes=["wb-thumbs-down"])
        self._status = pn.pane.HTML("", stylesheets=[CSS], margin=(10, 8), css_classes=["wb-feedback-status"])
        self._list = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(4, 8),
                                  css_classes=["wb-feedback-list"])
        self._up.on_click(self._on_up)
        self._down.on_click(self._on_down)
        self.param.watch(lambda *_: self.refresh(), ["trace_id", "span_id"])
        self._layout = pn.Column(self._title, self._note, pn.Row(self._up, self._down, self._status, margin=0),
                                 self._list, sizing_mode="stretch_width", margin=0)
        self.refresh()

    def __panel__(self) -> Any:
        return self._layout

    def _on_up(self, _: Any) -> None:
        self.give(True)

    def _on_down(self, _: Any) -> None:
        self.give(False)

    def give(self, good: bool) -> str | None:
        """Record thumbs up (``good``) or down, with the note; return the annotation id."""
        if not self.trace_id:
            self._status.object = "<span class='wb-error-text'>Choose a trace first.</span>"
            return None
        note = (self._note.value or "").strip() or None
        try:
            annotation_id = annotate(self.reader, name=self.annotation, label="thumbs_up" if good else "thumbs_down",
                                     score=1.0 if good else 0.0, explanation=note, annotator_kind="HUMAN",
                                     annotator=self.annotator, trace_id=self.trace_id, span_id=self.span_id or None)
        except WorkbenchError as exc:
            self._status.object = f"<span class='wb-error-text'>{esc(exc)}</span>"
            return None
        self._note.value = ""
        self._status.object = (f"<span class='wb-muted'>Saved: thumbs {'up' if good else 'down'}"
                               f"{', with your note' if note else ''}.</span>")
        self._load_list()
        return annotation_id

    def refresh(self) -> None:
        """Show the target and its annotations again."""
        what = (f"span <span class='wb-mono'>{esc(self.span_id)}</span>" if self.span_id
                else f"trace <span class='wb-mono'>{esc(self.trace_id)}</span>")
        self._title.object = (f"<h3 class='wb-h'>Feedback on this {what}</h3>" if self.trace_id
                              else "<div class='wb-muted'>Choose a trace to give feedback on.</div>")
        self._status.object = ""
        self._up.disabled = self._down.disabled = not self.trace_id
        self._load_list()

    def _load_list(self) -> None:
        if not self.trace_id:
            self._list.object = ""
            return
        try:
            frame = self.reader.annotations(trace_ids=[self.trace_id])
        except WorkbenchError as exc:
            self._list.object = f"<div class='wb-error-text'>{esc(exc)}</div>"
            return
        if self.span_id and len(frame):
            frame = frame[(frame["target"] == "trace") | (frame["span_id"] == self.span_id)]
        self._list.object = annotations_html(frame)


def rate_lines(frame: pd.DataFrame, *, title: str, height: int = 280, dimension: str = "") -> Any:
    """Pass rate (0-100%) per ``bucket`` and ``group``, one line with markers per group, each
    group in its one colour (:func:`~workbench.app.style.color_of` of ``dimension``)."""
    fig = figure(x_axis_type="datetime", height=height, sizing_mode="stretch_width", title=title,
                 tools="pan,box_zoom,reset", toolbar_location="above", x_axis_label="UTC")
    renderers = []
    for group in dict.fromkeys(frame["group"]) if len(frame) else []:
        part = frame[(frame["group"] == group) & frame["pass_rate"].notna()]
        source = ColumnDataSource({
            "bucket": part["bucket"].dt.tz_convert(None), "rate": part["pass_rate"].astype(float),
            "count": part["judged"].astype(int), "group": part["group"].astype(str),
            "score": part["mean_score"].astype(float),
        })
        color = color_of(group, dimension)
        fig.line("bucket", "rate", source=source, color=color, line_width=2, legend_label=str(group))
        renderers.append(fig.scatter("bucket", "rate", source=source, color=color, size=6, legend_label=str(group)))
    fig.add_tools(HoverTool(renderers=renderers, tooltips=[
        ("group", "@group"), ("from", "@bucket{%F %H:%M}"), ("pass rate", "@rate{0%}"), ("judged", "@count"),
        ("mean score", "@score{0.00}")], formatters={"@bucket": "datetime"}))
    fig.yaxis.formatter = NumeralTickFormatter(format="0%")
    fig.y_range.start, fig.y_range.end = 0, 1.05
    fig.toolbar.logo = None
    fig.outline_line_color = None
    fig.grid.grid_line_color = "#eef2f7"
    fig.title.text_font = FONT
    fig.title.text_font_size = "13px"
    return legend_outside(fig)


def _histogram(frame: pd.DataFrame, *, title: str, height: int = 240, dimension: str = "") -> Any:
    fig = figure(height=height, sizing_mode="stretch_width", title=title, tools="", toolbar_location=None)
    groups = list(dict.fromkeys(frame["group"])) if len(frame) else []
    width = len(groups) or 1
    for i, group in enumerate(groups):  # side by side within each bin
        part = frame[frame["group"] == group]
        step = (part["bin_end"] - part["bin_start"]) / width
        source = ColumnDataSource({"left": part["bin_start"] + step * i, "right": part["bin_start"] + step * (i + 1),
                                   "count": part["count"], "group": part["group"].astype(str),
                                   "from": part["bin_start"], "to": part["bin_end"]})
        quads = fig.quad(left="left", right="right", top="count", bottom=0, source=source,
                         fill_color=color_of(group, dimension), line_color="white", legend_label=str(group))
        fig.add_tools(HoverTool(renderers=[quads], tooltips=[("group", "@group"), ("score", "@from{0.00}-@to{0.00}"),
                                                             ("count", "@count")]))
    fig.xaxis.axis_label = "score"
    fig.yaxis.axis_label = "count"
    fig.y_range.start = 0
    fig.toolbar.logo = None
    fig.outline_line_color = None
    fig.grid.grid_line_color = "#eef2f7"
    fig.title.text_font = FONT
    fig.title.text_font_size = "13px"
    return legend_outside(fig)


def _names_html(summary: pd.DataFrame, selected: str) -> str:
    if summary.empty:
        return ("<div class='wb-empty'>No evaluations or feedback yet. Send feedback with "
                "<span class='wb-mono'>POST /api/annotations</span>, judge spans with "
                "<span class='wb-mono'>workbench eval</span>, or give a thumbs up below.</div>")
    return table(summary.itertuples(index=False), [
        Column("Evaluation", lambda r: f"<a href='{esc(href('quality', evaluation=r.name))}'><b>{esc(r.name)}</b></a>"),
        Column("Count", lambda r: fmt_count(r.count), numeric=True),
        Column("Pass rate", lambda r: _percent(r.pass_rate), numeric=True),
        Column("Mean score", lambda r: _score(r.mean_score), numeric=True),
    ], css="wb-names", row_attrs=lambda r: " style='background:#e0ecff'" if r.name == selected else "")


def _score(value: Any) -> str:
    return "" if is_missing(value) else f"{value:.2f}"


def _worst_html(frame: pd.DataFrame, reviewing: str) -> str:
    if frame.empty:
        return "<div class='wb-muted'>No failing evaluations or negative feedback.</div>"
    def worst(r: Any) -> str:
        why = esc(short(r.explanation, 90)) if not is_missing(r.explanation) else ""
        return f"{esc(r.worst)}<div class='wb-muted'>{why}</div>"

    def links(r: Any) -> str:
        return (f"<a class='wb-review' href='{esc(href('quality', review=r.trace_id))}'>review</a>"
                f" &middot; <a href='{esc(href('trace', trace_id=r.trace_id))}'>trace &rarr;</a>")

    return table(frame.itertuples(index=False), [
        Column("Failed", lambda r: f"<b>{fmt_count(r.failed)}</b>/{fmt_count(r.annotations)}", numeric=True),
        Column("Worst", worst),
        Column("Input", lambda r: esc(short(r.input, 90))),
        Column("Feature", lambda r: esc(r.feature)),
        Column("Prompt", lambda r: esc(r.prompt_version)),
        Column("When", lambda r: esc(fmt_time(r.time)), nowrap=True, head=f"When ({esc(zone_label())})"),
        Column("", links, nowrap=True),
    ], css="wb-worst", row_attrs=lambda r: " style='background:#e0ecff'" if r.trace_id == reviewing else "")


def _rates_html(frame: pd.DataFrame, label: str) -> str:
    if frame.empty:
        return ""
    return table(frame.itertuples(index=False), [
        Column(label.capitalize(), lambda r: esc(r.group)),
        Column("Count", lambda r: fmt_count(r.count), numeric=True),
        Column("Pass rate", lambda r: _percent(r.pass_rate), numeric=True),
        Column("Mean score", lambda r: _score(r.mean_score), numeric=True),
    ], css="wb-rates")


def _feedback_html(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<div class='wb-muted'>No traces.</div>"
    return table(frame.itertuples(index=False), [
        Column("Feature", lambda r: esc(r.group)),
        Column("Traces", lambda r: fmt_count(r.traces), numeric=True),
        Column("With feedback", lambda r: fmt_count(r.with_feedback), numeric=True),
        Column("Feedback rate", lambda r: _percent(r.feedback_rate), numeric=True),
        Column("Positive", lambda r: _percent(r.positive_rate), numeric=True),
    ], css="wb-feedback-rate")


class QualityView(PageView):
    """Pass rates and scores over time and by group, the feedback rate, and the worst traces.

    Args:
        reader: Where the spans and annotations come from.
        evaluation: The annotation name shown (default: ``user_feedback`` when there is
            any, else the most used name).
        by: Group by ``prompt_version``, ``model``, ``feature``, ``project``, ``annotator``,
            ``annotator_kind`` or ``none``.
        review: A trace under review (shown with its annotations and the feedback widget).
    """

    evaluation = param.String(default="", doc="The annotation name shown (evaluation or feedback).")
    by = param.Selector(default="prompt_version", objects=list(GROUPS), doc="Group by.")
    review = param.String(default="", doc="The trace under review.")

    url_params: ClassVar[tuple[str, ...]] = ("evaluation", "by", "review")

    def _build(self) -> Any:
        self._by = pn.widgets.Select.from_param(self.param.by, name="", options=_BY_LABELS, width=150, margin=(5, 5))
        self._status = pn.pane.HTML(status_line(), stylesheets=[CSS], min_height=20, margin=(0, 10),
                                    sizing_mode="stretch_width")
        self._cards = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(4, 10), min_height=62)
        self._names = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10))
        self._over_time = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=290, margin=(4, 10))
        self._by_group = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=240, margin=(4, 6))
        self._rates = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(4, 10))
        self._scores = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=240, margin=(4, 6))
        self._feedback = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(4, 10))
        self._worst = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10))
        self._add = AddToDataset(self.reader, self._worst_examples, label="Add these worst traces",
                                 on_link=self._follow)
        self._feedback_widget = FeedbackWidget(self.reader, trace_id=self.review)
        self._review_note = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10))
        self.watch(self.refresh, ["evaluation", "by"])
        self.watch(self._show_review, "review")
        self.watch(self.refresh, self.scope.url_params, on=self.scope)

        def heading(text: str, note: str = "") -> Any:
            extra = f" <span class='wb-muted' style='font-weight:400'>{note}</span>" if note else ""
            return pn.pane.HTML(f"<h3 class='wb-h'>{text}{extra}</h3>", stylesheets=[CSS],
                                sizing_mode="stretch_width", margin=(6, 10, 0, 10))

        self.refresh()
        self._show_review()
        body = pn.Column(
            self._cards,
            pn.Row(
                pn.Column(heading("Evaluations and feedback", "choose one"), self._names, width=420, margin=0),
                pn.Column(heading("Pass rate over time", "when the judged answers happened"), self._over_time,
                          sizing_mode="stretch_width", margin=0),
                sizing_mode="stretch_width", margin=0,
            ),
            pn.Row(
                pn.Column(heading("Pass rate by group"), self._by_group, self._rates, sizing_mode="stretch_width",
                          margin=0),
                pn.Column(heading("Score distribution"), self._scores, sizing_mode="stretch_width", margin=0),
                sizing_mode="stretch_width", margin=(0, 4),
            ),
            heading("Feedback rate by feature", "traces with user feedback, and how much of it was positive"),
            self._feedback,
            heading("Worst traces",
                    "most failing first, by the evaluation chosen; review one to see why and add feedback"),
            pn.Row(self._add, margin=(0, 5)),
            self._worst,
            heading("Review"),
            self._review_note,
            self._feedback_widget,
            sizing_mode="stretch_both", scroll=True, margin=0,
        )
        scope_row = pn.Row(*self.scope.widgets(self.reader, filter_width=360),
                           pn.pane.HTML("<span class='wb-muted'>group by</span>", stylesheets=[CSS],
                                        margin=(12, 2, 0, 10)),
                           self._by, sizing_mode="stretch_width", margin=(4, 5, 0, 5))
        return pn.Column(scope_row, self._status, body, sizing_mode="stretch_both", margin=0)

    def _follow(self, page: str, params: dict[str, str]) -> None:
        if page == "quality":
            self.param.update(**{k: v for k, v in params.items() if k in self.url_params})
            return
        self.link(page, **params)

    def _worst_examples(self) -> Examples:
        """What "Add to dataset" adds: the worst traces listed."""
        frame = getattr(self, "_worst_frame", None)
        if frame is None or frame.empty:
            raise ValueError("No worst traces are listed; choose an evaluation with failures.")
        return "traces", list(frame["trace_id"])

    def _pick_name(self, summary: pd.DataFrame) -> str:
        names = list(summary["name"]) if len(summary) else []
        if self.evaluation in names:
            return self.evaluation
        return _FEEDBACK if _FEEDBACK in names else (names[0] if names else "")

    def refresh(self) -> None:
        """Query every figure again."""
        if not hasattr(self, "_cards"):
            return
        start, end = self.scope.bounds()
        scope = {"filter": self.scope.filter or None, "start": start, "end": end, "project": self.scope.projects}
        try:
            summary = quality_summary(self.reader, **scope)
            name = self._pick_name(summary)
            if name != self.evaluation:
                with param.discard_events(self):
                    self.evaluation = name
            self._names.html = _names_html(summary, name)
            if not name:
                self._status.object = status_line("No annotations in this range.")
                self._cards.object = ""
                for pane in (self._over_time, self._by_group, self._scores):
                    pane.object = None
                self._feedback.object = self._rates.object = self._worst.html = ""
                self._worst_frame = None
                return
            rates = pass_rates(self.reader, name, by=self.by, **scope)
            over_time = quality_over_time(self.reader, name, by=self.by, **scope)
            scores = score_distribution(self.reader, name, by=self.by if self.by != "none" else "none", **scope)
            feedback = feedback_rate(self.reader, by="feature", **scope)
            worst = worst_traces(self.reader, name, limit=15, **scope)
        except (FilterError, WorkbenchError) as exc:
            self._status.object = status_line(esc(exc), error=True)
            return
        row = summary[summary["name"] == name].iloc[0]
        overall = feedback[["traces", "with_feedback"]].sum() if len(feedback) else None
        by_label = {v: k for k, v in _BY_LABELS.items()}[self.by].lower()
        self._status.object = status_line(
            f"<b>{esc(name)}</b>: {fmt_count(row['count'])} annotations"
            + (f" matching <span class='wb-mono'>{esc(self.scope.filter)}</span>" if self.scope.filter else ""))
        cards = [
            (fmt_count(row["count"]), "annotations"),
            (_percent(row["pass_rate"]), "pass rate"),
            ("&ndash;" if is_missing(row["mean_score"]) else f"{row['mean_score']:.2f}", "mean score"),
            (_percent(overall["with_feedback"] / overall["traces"]) if overall is not None and overall["traces"]
             else "&ndash;", "traces with feedback"),
        ]
        self._cards.object = "<div class='wb-cards'>" + "".join(
            f"<div class='wb-card'><div class='v'>{v}</div><div class='l'>{esc(label)}</div></div>"
            for v, label in cards) + "</div>"
        self._over_time.object = rate_lines(over_time, title=f"{name}: pass rate by {by_label}", dimension=self.by)
        judged = rates[rates["judged"] > 0]
        self._by_group.object = bars(
            [str(g) for g in judged["group"]], [float(v) for v in judged["pass_rate"]],
            title=f"{name}: pass rate by {by_label}", x_label="pass rate",
            texts=[f"{p:.0%} of {int(n):,}" for p, n in zip(judged["pass_rate"], judged["judged"])],
            colors=[color_of(g, self.by) for g in judged["group"]],
        )
        self._rates.object = _rates_html(rates, by_label)
        self._scores.object = _histogram(scores, title=f"{name}: scores by {by_label}", dimension=self.by)
        self._feedback.object = _feedback_html(feedback)
        self._worst.html = _worst_html(worst, self.review)
        self._worst_frame = worst

    def _show_review(self) -> None:
        self._feedback_widget.param.update(trace_id=self.review, span_id="")
        if not self.review:
            self._review_note.html = "<div class='wb-muted'>Choose <b>review</b> on one of the worst traces.</div>"
            return
        try:
            roots = self.reader.spans(trace_ids=[self.review], root_only=True,
                                      columns=["trace_id", "name", "input_value", "output_value", "start_time"])
        except WorkbenchError as exc:
            self._review_note.html = f"<div class='wb-error-text'>{esc(exc)}</div>"
            return
        if roots.empty:
            self._review_note.html = f"<div class='wb-muted'>No trace {esc(self.review)}.</div>"
            return
        root = roots.iloc[0]
        self._review_note.html = (
            f"<div class='wb-review-trace'><b>{esc(root['name'])}</b> "
            f"<span class='wb-muted'>{esc(fmt_time(root['start_time']))} {esc(zone_label())}"
            f" &middot; <a href='{esc(href('trace', trace_id=self.review))}'>open trace &rarr;</a></span>"
            f"<div class='wb-muted'>input</div><div>{esc(short(root['input_value'], 600))}</div>"
            f"<div class='wb-muted'>output</div><div>{esc(short(root['output_value'], 1200))}</div></div>"
        )
        frame = getattr(self, "_worst_frame", None)
        if frame is not None:
            self._worst.html = _worst_html(frame, self.review)
