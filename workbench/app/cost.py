"""The Cost page: spend and tokens over time by feature, model, user ..., the daily burn
against a budget, the costliest traces and users, cost per request, the models waiting for a
price (with a form to add one), and the price table itself, editable.

Costs are computed when the page asks, from the current prices, so a price added here
re-costs everything on the page at once. Figures come from :mod:`workbench.analysis.cost`;
prices are read and written through :class:`workbench.pricing.prices.Prices`.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool, NumeralTickFormatter, Span
from bokeh.plotting import figure

from workbench.analysis.cost import (
    DIMENSIONS,
    burn_rate,
    cost_by,
    cost_change,
    request_costs,
    top_traces,
    top_users,
    unpriced_models,
)
from workbench.app.charts import legend_outside
from workbench.app.js_components import LinkedHTML
from workbench.app.markup import esc, fmt_count, fmt_time, fmt_usd, href, is_missing, zone_label
from workbench.app.page import PageView, status_line
from workbench.app.style import CSS, FONT, color_of
from workbench.app.tables import Column, table
from workbench.errors import FilterError, WorkbenchError
from workbench.pricing.money import AXIS_FORMAT, rate
from workbench.pricing.prices import Prices

__all__ = ["CostView", "fmt_usd"]

_BY_LABELS = {
    "Feature": "feature", "Model": "model", "Provider": "provider", "Project": "project", "User": "user",
    "Session": "session", "Prompt version": "prompt_version",
}
_EDITABLE = ("pattern", "provider", "model", "input", "output", "cache_read", "cache_write", "reasoning",
             "valid_from", "source")
_PRICE_COLUMNS = ("input", "output", "cache_read", "cache_write", "reasoning")
_MAX_LINES = 8


def _tokens(value: Any) -> str:
    if is_missing(value):
        return ""
    value = float(value)
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}"


def _change(value: Any) -> str:
    if is_missing(value) or math.isinf(value):
        return ""
    css = "wb-up" if value > 0.5 else ("wb-down" if value < -0.3 else "wb-muted")
    return f"<span class='{css}'>{value:+.0%}</span>"


_PAGE_CSS = CSS + """
.wb-up { color: #b91c1c; font-weight: 600; }
.wb-down { color: #15803d; }
.wb-unpriced { color: #b45309; font-weight: 600; }
"""


def _lines(frame: pd.DataFrame, *, group: str, value: str, money: bool, title: str, height: int = 300) -> Any:
    """One line with markers per group over ``bucket``."""
    fig = figure(x_axis_type="datetime", height=height, sizing_mode="stretch_width", title=title,
                 tools="pan,box_zoom,reset", toolbar_location="above")
    renderers = []
    groups = list(dict.fromkeys(frame[group])) if len(frame) else []
    for name in groups:
        part = frame[frame[group] == name].sort_values("bucket")
        source = ColumnDataSource({
            "bucket": part["bucket"].dt.tz_convert(None), "value": part[value].astype(float),
            "calls": part["calls"], "group": part[group].astype(str),
            "text": [fmt_usd(v) if money else _tokens(v) for v in part[value]],
        })
        color = color_of(name, group)
        fig.line("bucket", "value", source=source, color=color, line_width=2, legend_label=str(name))
        renderers.append(fig.scatter("bucket", "value", source=source, color=color, size=6, legend_label=str(name)))
    fig.add_tools(HoverTool(renderers=renderers, tooltips=[
        ("", "@group"), ("from", "@bucket{%F %H:%M}"), (value, "@text"), ("calls", "@calls")],
        formatters={"@bucket": "datetime"}))
    fig.yaxis.formatter = NumeralTickFormatter(format=AXIS_FORMAT if money else "0.[0]a")
    fig.yaxis.axis_label = "USD" if money else "tokens"
    fig.xaxis.axis_label = "UTC"
    legend_outside(fig)
    return _style(fig)


def _burn(frame: pd.DataFrame, budget: float | None, height: int = 240) -> Any:
    """Spend per day as bars, the trailing 7-day mean as a line, and the budget as a dashed rule."""
    fig = figure(x_axis_type="datetime", height=height, sizing_mode="stretch_width", title="Spend per day",
                 tools="", toolbar_location=None, x_axis_label="UTC days")
    if len(frame):
        over = frame["over_budget"] if "over_budget" in frame else pd.Series(False, index=frame.index)
        source = ColumnDataSource({
            "day": frame["day"].dt.tz_convert(None), "cost": frame["cost"].fillna(0).astype(float),
            "mean": frame["mean_7d"].astype(float), "text": [fmt_usd(v) for v in frame["cost"]],
            "calls": frame["calls"], "color": ["#dc2626" if o else "#2563eb" for o in over],
        })
        bars = fig.vbar(x="day", top="cost", width=0.8 * 86_400_000, source=source, fill_color="color",
                        line_color=None, fill_alpha=0.8)
        fig.line("day", "mean", source=source, color="#0f172a", line_width=1.5, legend_label="7-day mean")
        fig.add_tools(HoverTool(renderers=[bars], tooltips=[("day", "@day{%F}"), ("spent", "@text"),
                                                            ("calls", "@calls")], formatters={"@day": "datetime"}))
        legend_outside(fig)
    if budget:
        fig.add_layout(Span(location=budget, dimension="width", line_color="#dc2626", line_dash="dashed",
                            line_width=1.5))
        fig.y_range.end = max(budget * 1.2, float(frame["cost"].max()) * 1.1 if len(frame) else 0)
    fig.y_range.start = 0
    fig.yaxis.formatter = NumeralTickFormatter(format=AXIS_FORMAT)
    return _style(fig)


def _histogram(values: np.ndarray, height: int = 240) -> Any:
    fig = figure(height=height, sizing_mode="stretch_width", title="Cost per request", tools="", toolbar_location=None)
    if values.size:
        top = float(np.percentile(values, 99.5)) if values.size > 20 else float(values.max())
        counts, edges = np.histogram(np.clip(values, None, top), bins=40)
        source = ColumnDataSource({"left": edges[:-1], "right": edges[1:], "count": counts,
                                   "range": [f"{fmt_usd(a)} to {fmt_usd(b)}" for a, b in itertools.pairwise(edges)]})
        quads = fig.quad(left="left", right="right", top="count", bottom=0, source=source, fill_color="#7c3aed",
                         line_color="white", fill_alpha=0.85)
        fig.add_tools(HoverTool(renderers=[quads], tooltips=[("cost", "@range"), ("requests", "@count")]))
        for label, q in (("p50", 50), ("p95", 95)):
            x = float(np.percentile(values, q))
            fig.add_layout(Span(location=x, dimension="height", line_color="#0f172a", line_dash="dashed"))
            fig.text(x=[x], y=[counts.max() * (0.95 if q == 50 else 0.8)], text=[f" {label} {fmt_usd(x)}"],
                     text_font_size="11px", text_color="#0f172a")
        fig.y_range.start = 0
    fig.xaxis.formatter = NumeralTickFormatter(format=AXIS_FORMAT)
    fig.xaxis.axis_label = "USD per request (trace)"
    fig.yaxis.axis_label = "requests"
    return _style(fig)


def _style(fig: Any) -> Any:
    fig.toolbar.logo = None
    fig.outline_line_color = None
    fig.grid.grid_line_color = "#eef2f7"
    fig.title.text_font = FONT
    fig.title.text_font_size = "13px"
    for axis in (fig.xaxis, fig.yaxis):
        axis.major_label_text_font = FONT
        axis.axis_label_text_font = FONT
        axis.axis_label_text_font_style = "normal"
        axis.axis_label_text_color = "#64748b"
    return fig


def _cards(totals: pd.Series, per_request: pd.Series, burn: pd.DataFrame) -> str:
    last = burn.iloc[-1] if len(burn) else None
    cards = [
        (fmt_usd(totals["cost"]), "spent"),
        (fmt_count(totals["calls"]), "model calls"),
        (_tokens(totals["total_tokens"]), "tokens"),
        (fmt_usd(per_request.median()) if len(per_request.dropna()) else "&ndash;", "per request (median)"),
        (fmt_usd(last["mean_7d"]) if last is not None else "&ndash;", "per day (7-day mean)"),
        (fmt_count(totals["unpriced_calls"]), "unpriced calls"),
    ]
    if totals.get("no_usage_calls"):  # failed calls, mostly: unknown, and not counted as $0
        cards.append((fmt_count(totals["no_usage_calls"]), "calls without tokens"))
    return "<div class='wb-cards wb-cost-cards'>" + "".join(
        f"<div class='wb-card'><div class='v'>{v}</div><div class='l'>{esc(label)}</div></div>"
        for v, label in cards) + "</div>"


def _groups_html(frame: pd.DataFrame, by: str, label: str) -> str:
    if frame.empty:
        return "<div class='wb-muted'>No model calls in this range.</div>"
    return table(frame.itertuples(index=False), [
        Column(label, lambda r: esc(getattr(r, by))),
        Column("Calls", lambda r: fmt_count(r.calls), numeric=True),
        Column("Tokens", lambda r: _tokens(r.total_tokens), numeric=True),
        Column("Cost", lambda r: f"<b>{fmt_usd(r.cost)}</b>", numeric=True),
        Column("Share", lambda r: "" if is_missing(r.share) else f"{r.share:.0%}", numeric=True),
        Column("Per day, first half \u2192 second half",
               lambda r: f"{fmt_usd(r.per_day_before)} &rarr; {fmt_usd(r.per_day_after)}", numeric=True),
        Column("Change", lambda r: _change(r.change), numeric=True),
    ], css="wb-cost-groups")


def _traces_html(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<div class='wb-muted'>No traces.</div>"

    def cost(r: Any) -> str:
        flag = f" <span class='wb-unpriced' title='calls without a price'>+{r.unpriced_calls} unpriced</span>" \
            if r.unpriced_calls else ""
        return f"<a href='{esc(href('trace', trace_id=r.trace_id))}'><b>{fmt_usd(r.cost)}</b></a>{flag}"

    return table(frame.itertuples(index=False), [
        Column("Cost", cost, numeric=True),
        Column("Trace", lambda r: f"<a href='{esc(href('trace', trace_id=r.trace_id))}'>{esc(r.name)}</a>"),
        Column("User", lambda r: esc(r.user_id)),
        Column("Calls", lambda r: fmt_count(r.calls), numeric=True),
        Column("Tokens", lambda r: _tokens(r.total_tokens), numeric=True),
        Column("Start", lambda r: esc(fmt_time(r.start_time)), nowrap=True, head=f"Start ({esc(zone_label())})"),
    ], css="wb-top-traces")


def _users_html(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<div class='wb-muted'>No users.</div>"

    def user(r: Any) -> str:
        if r.user == "(none)":
            return esc(r.user)
        return f"<a href='{esc(href('traces', filter=f'user_id == {r.user!r}'))}'>{esc(r.user)}</a>"

    return table(frame.itertuples(index=False), [
        Column("User", user),
        Column("Cost", lambda r: f"<b>{fmt_usd(r.cost)}</b>", numeric=True),
        Column("Requests", lambda r: fmt_count(r.requests), numeric=True),
        Column("Per request", lambda r: fmt_usd(r.cost_per_request), numeric=True),
        Column("Tokens", lambda r: _tokens(r.total_tokens), numeric=True),
    ], css="wb-top-users")


def _unpriced_html(frame: pd.DataFrame) -> str:
    waiting = frame[frame["unpriced_calls"] > 0] if len(frame) else frame
    free = frame[frame["unpriced_calls"] == 0] if len(frame) else frame
    if waiting.empty:
        html = ("<div class='wb-muted wb-unpriced-none'>Every model called has a price (or its calls a cost "
                "of their own).</div>")
    else:
        html = table(waiting.itertuples(index=False), [
            Column("Model", lambda r: f"<b>{'(no model name)' if is_missing(r.model_name) else esc(r.model_name)}</b>"),
            Column("Provider", lambda r: esc(r.provider)),
            Column("Unpriced calls", lambda r: fmt_count(r.unpriced_calls), numeric=True),
            Column("Input tokens", lambda r: _tokens(r.prompt_tokens), numeric=True),
            Column("Output tokens", lambda r: _tokens(r.completion_tokens), numeric=True),
            Column("Sent cost", lambda r: "" if is_missing(r.client_cost) else fmt_usd(r.client_cost),
                   numeric=True),
            Column("Why", lambda r: f"<span class='wb-muted'>{esc(r.reason)}</span>"),
        ], css="wb-unpriced-models")
    if len(free):
        names = ", ".join(f"{esc(m)} ({fmt_count(n)} calls)" for m, n in zip(free["model_name"], free["calls"]))
        html += (f"<div class='wb-muted' style='margin-top:6px'>No price either, but their senders report what "
                 f"each call cost, which is used: {names}.</div>")
    return html


def _pattern_for(model: str) -> str:
    return "".join("\\" + ch if ch in ".+*?()[]{}|^$\\" else ch for ch in model)


class CostView(PageView):
    """Spend and tokens over time by a dimension, burn rate, top traces and users, and prices.

    Args:
        reader: Where the spans come from.
        by: Group by ``feature`` (default), ``model``, ``provider``, ``project``, ``user``,
            ``session`` or ``prompt_version``.
        every: ``day`` or ``hour`` buckets.
        show: Plot ``cost`` or ``tokens``.
        budget: A daily budget in USD, drawn on the burn chart (None: none).
        feature_key: The attribute naming a call's feature (empty: ``metadata``'s ``feature``,
            else a ``feature`` attribute).
        prices: The prices to show and edit (default: the configured price file).
    """

    by = param.Selector(default="feature", objects=list(DIMENSIONS), doc="Group by.")
    every = param.Selector(default="day", objects=["day", "hour"], doc="The bucket of the chart.")
    show = param.Selector(default="cost", objects=["cost", "tokens"], doc="What the chart shows.")
    budget = param.Number(default=None, allow_None=True, bounds=(0, None), doc="Daily budget in USD; None for none.")
    feature_key = param.String(default="", doc="The attribute naming a call's feature.")

    url_params: ClassVar[tuple[str, ...]] = ("by", "every", "show", "budget", "feature_key")

    def __init__(self, reader: Any, *, prices: Prices | None = None, **params: Any) -> None:
        super().__init__(reader, **params)
        self.prices = prices or Prices()

    # Layout -----------------------------------------------------------------------------

    def _build(self) -> Any:
        self._by = pn.widgets.Select.from_param(self.param.by, name="", options=_BY_LABELS, width=140, margin=(5, 5))
        self._every = pn.widgets.RadioButtonGroup.from_param(
            self.param.every, name="", options={"Per day": "day", "Per hour": "hour"}, color="light", width=150,
            margin=(5, 5))
        self._show = pn.widgets.RadioButtonGroup.from_param(
            self.param.show, name="", options={"Cost": "cost", "Tokens": "tokens"}, color="light", width=130,
            margin=(5, 5))
        self._feature_key = pn.widgets.TextInput.from_param(
            self.param.feature_key, name="", placeholder="feature attribute (default: metadata.feature)", width=260,
            margin=(5, 5), visible=self.by == "feature")
        self._budget = pn.widgets.FloatInput.from_param(self.param.budget, name="", placeholder="daily budget, USD",
                                                        start=0, width=150, margin=(5, 5))
        self._status = pn.pane.HTML(status_line(), stylesheets=[CSS], min_height=20, margin=(0, 10),
                                    sizing_mode="stretch_width")
        self._cards = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(4, 10), min_height=62)
        self._over_time = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=310, margin=(4, 10))
        self._groups = pn.pane.HTML("", stylesheets=[_PAGE_CSS], sizing_mode="stretch_width", margin=(4, 10))
        self._burn = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=250, margin=(4, 6))
        self._per_request = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=250, margin=(4, 6))
        self._traces = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10))
        self._users = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10))
        self._unpriced = pn.pane.HTML("", stylesheets=[_PAGE_CSS], sizing_mode="stretch_width", margin=(4, 10))
        self._price_form = self._build_price_form()
        self._price_tables = self._build_price_tables()
        self.watch(self.refresh, ["by", "every", "show", "budget", "feature_key"])
        self.watch(self.refresh, self.scope.url_params, on=self.scope)

        def heading(text: str, note: str = "") -> Any:
            extra = f" <span class='wb-muted' style='font-weight:400'>{note}</span>" if note else ""
            return pn.pane.HTML(f"<h3 class='wb-h'>{text}{extra}</h3>", stylesheets=[CSS],
                                sizing_mode="stretch_width", margin=(6, 10, 0, 10))

        self.refresh()
        body = pn.Column(
            self._cards,
            heading("Spend over time", "computed now from the current prices; click a legend entry to hide it"),
            self._over_time,
            self._groups,
            pn.Row(
                pn.Column(heading("Burn rate", "daily spend, its 7-day mean, and your daily budget"), self._burn,
                          sizing_mode="stretch_width", margin=0),
                pn.Column(heading("Cost per request"), self._per_request, sizing_mode="stretch_width", margin=0),
                sizing_mode="stretch_width", margin=(0, 4),
            ),
            pn.Row(
                pn.Column(heading("Costliest traces"), self._traces, sizing_mode="stretch_width", margin=0),
                pn.Column(heading("Costliest users"), self._users, sizing_mode="stretch_width", margin=0),
                sizing_mode="stretch_width", margin=(0, 4),
            ),
            heading("Models without a price", "their calls' cost is unknown, never $0: add a price"),
            self._unpriced,
            self._price_form,
            heading("Prices", "USD per million tokens; your rows beat the shipped ones"),
            self._price_tables,
            sizing_mode="stretch_both", scroll=True, margin=0,
        )
        scope_row = pn.Row(*self.scope.widgets(self.reader, filter_width=340), sizing_mode="stretch_width",
                           margin=(4, 5, 0, 5))
        controls = pn.Row(
            pn.pane.HTML("<span class='wb-muted'>Cost by</span>", stylesheets=[CSS], margin=(12, 2, 0, 10)),
            self._by, self._feature_key, self._every, self._show,
            pn.pane.HTML("<span class='wb-muted'>budget</span>", stylesheets=[CSS], margin=(12, 2, 0, 10)),
            self._budget, sizing_mode="stretch_width", margin=(0, 5),
        )
        return pn.Column(scope_row, controls, self._status, body, sizing_mode="stretch_both", margin=0)

    def _build_price_form(self) -> Any:
        number = {"width": 110, "margin": (5, 5), "placeholder": "USD"}
        self._form_model = pn.widgets.Select(label="Model", options=[], width=240, margin=(5, 5))
        self._form_pattern = pn.widgets.TextInput(label="Pattern (regular expression)", width=240, margin=(5, 5),
                                                  css_classes=["wb-form-pattern"])
        self._form_provider = pn.widgets.TextInput(label="Provider (empty: any)", width=140, margin=(5, 5))
        self._form_input = pn.widgets.FloatInput(label="Input $/M", css_classes=["wb-form-input"], **number)
        self._form_output = pn.widgets.FloatInput(label="Output $/M", css_classes=["wb-form-output"], **number)
        self._form_cache_read = pn.widgets.FloatInput(label="Cache read $/M", **number)
        self._form_cache_write = pn.widgets.FloatInput(label="Cache write $/M", **number)
        self._form_from = pn.widgets.TextInput(label="From (YYYY-MM-DD)", placeholder="always", width=130,
                                               margin=(5, 5))
        self._form_add = pn.widgets.Button(label="Add price", color="primary", width=110, margin=(24, 5, 5, 5),
                                           css_classes=["wb-form-add"])
        self._form_status = pn.pane.HTML("", stylesheets=[_PAGE_CSS], margin=(6, 10), sizing_mode="stretch_width",
                                         css_classes=["wb-form-status"])
        self._form_model.param.watch(lambda e: self._pick_model(e.new), "value")
        self._form_add.on_click(lambda _: self.add_price())
        return pn.Column(
            pn.Row(self._form_model, self._form_pattern, self._form_provider, self._form_from, margin=(0, 5)),
            pn.Row(self._form_input, self._form_output, self._form_cache_read, self._form_cache_write,
                   self._form_add, margin=(0, 5)),
            self._form_status, sizing_mode="stretch_width", margin=0, css_classes=["wb-price-form"],
        )

    def _build_price_tables(self) -> Any:
        self._test_name = pn.widgets.TextInput(
            placeholder="test a model name, e.g. us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            width=420, margin=(5, 5), css_classes=["wb-test-name"],
        )
        self._test_provider = pn.widgets.TextInput(placeholder="provider (optional)", width=150, margin=(5, 5))
        self._test_button = pn.widgets.Button(label="Which price?", color="light", width=110, margin=(5, 5),
                                              css_classes=["wb-test-button"])
        self._test_result = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(0, 10),
                                         css_classes=["wb-test-result"])
        self._test_button.on_click(lambda _: self.test_price())
        self._test_name.param.watch(lambda _: self.test_price(), "enter_pressed")
        editors: dict[str, Any] = {c: {"type": "number", "min": 0} for c in _PRICE_COLUMNS}
        editors |= {"pattern": "input", "provider": "input", "model": "input", "valid_from": "input", "source": "input"}
        self._user_table = pn.widgets.Tabulator(
            pd.DataFrame(columns=list(_EDITABLE)), show_index=False, editors=editors, selectable="checkbox",
            layout="fit_data_table", theme="simple", sizing_mode="stretch_width", height=180, margin=(4, 10),
            css_classes=["wb-user-prices"],
        )
        self._user_table.on_edit(lambda _: self.save_user_table())
        self._delete = pn.widgets.Button(label="Remove selected", color="light", width=140, margin=(4, 10),
                                         css_classes=["wb-remove-prices"])
        self._delete.on_click(lambda _: self.remove_selected())
        self._prices_status = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(8, 10),
                                           css_classes=["wb-prices-status"])
        self._shipped_table = pn.widgets.Tabulator(
            pd.DataFrame(), show_index=False, disabled=True, selectable=False, layout="fit_data_table",
            theme="simple", sizing_mode="stretch_width", height=320, pagination="local", page_size=12,
            header_filters={"provider": {"type": "input", "func": "like", "placeholder": "provider"},
                            "model": {"type": "input", "func": "like", "placeholder": "model"}},
            margin=(4, 10),
        )
        self._shipped_card = pn.Card(self._shipped_table, title="Shipped prices", collapsed=True,
                                     sizing_mode="stretch_width", margin=(4, 10))
        self._load_prices()
        return pn.Column(
            pn.Row(self._test_name, self._test_provider, self._test_button, margin=(0, 5)),
            self._test_result,
            pn.pane.HTML("<div class='wb-muted'>Your prices: edit a cell to change it; every change re-costs "
                         "history.</div>", stylesheets=[CSS], margin=(4, 10)),
            self._user_table,
            pn.Row(self._delete, self._prices_status, sizing_mode="stretch_width", margin=0),
            self._shipped_card,
            sizing_mode="stretch_width", margin=0,
        )

    # Data -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Query every figure again, with the current prices."""
        if not hasattr(self, "_cards"):
            return
        self._feature_key.visible = self.by == "feature"
        selection = self.scope.selection()
        expression = selection.filter
        key = self.feature_key.strip() or None
        try:
            table = self.prices.table()
            over_time = cost_by(self.reader, selection, by=self.by, every=self.every, feature_key=key,
                                max_groups=_MAX_LINES, prices=table)
            groups = cost_change(self.reader, selection, by=self.by, feature_key=key, prices=table)
            totals = cost_by(self.reader, selection, by=None, prices=table).iloc[0]
            burn = burn_rate(self.reader, selection, budget=self.budget or None, prices=table)
            per_request = request_costs(self.reader, selection, prices=table)["cost"]
            traces = top_traces(self.reader, selection, limit=12, prices=table)
            users = top_users(self.reader, selection, limit=12, prices=table)
            unpriced = unpriced_models(self.reader, selection, prices=table)
        except (FilterError, WorkbenchError) as exc:
            self._status.object = status_line(esc(exc), error=True)
            return
        label = {v: k for k, v in _BY_LABELS.items()}[self.by]
        self._status.object = status_line(
            f"{fmt_count(totals['calls'])} model calls" +
            (f" matching <span class='wb-mono'>{esc(expression)}</span>" if expression else "") +
            f", priced now with {len(table)} price rows ({sum(r.origin == 'user' for r in table.rows)} yours)")
        self._cards.object = _cards(totals, per_request, burn)
        value = "cost" if self.show == "cost" else "total_tokens"
        what = "Spend" if self.show == "cost" else "Tokens"
        self._over_time.object = _lines(over_time, group=self.by, value=value, money=self.show == "cost",
                                        title=f"{what} per {self.every} by {label.lower()}")
        self._groups.object = _groups_html(groups, self.by, label)
        self._burn.object = _burn(burn, self.budget or None)
        self._per_request.object = _histogram(per_request.dropna().to_numpy(dtype=float))
        self._traces.html = _traces_html(traces)
        self._users.html = _users_html(users)
        self._unpriced.object = _unpriced_html(unpriced)
        waiting = [m for m, n in zip(unpriced["model_name"], unpriced["unpriced_calls"]) if not is_missing(m) and n]
        self._unpriced_frame = unpriced
        self._form_model.options = waiting
        if waiting and not self._form_pattern.value:
            self._pick_model(waiting[0])

    def _follow(self, page: str, params: dict[str, str]) -> None:
        self.link(page, **params)

    def _pick_model(self, model: Any) -> None:
        if is_missing(model) or not model:
            return
        self._form_pattern.value = _pattern_for(str(model))
        frame = getattr(self, "_unpriced_frame", None)
        if frame is not None:
            match = frame[frame["model_name"] == model]
            provider = match["provider"].iloc[0] if len(match) else None
            self._form_provider.value = "" if is_missing(provider) else str(provider)

    def _load_prices(self) -> None:
        try:
            rows = self.prices.list()
        except WorkbenchError as exc:
            self._prices_status.object = f"<span class='wb-error-text'>{esc(exc)}</span>"
            return
        user = rows[rows["origin"] == "user"][list(_EDITABLE)].copy()
        user["valid_from"] = user["valid_from"].map(lambda d: "" if is_missing(d) else str(d))
        self._user_table.value = user.reset_index(drop=True).astype(object).where(user.notna().to_numpy(), None) \
            if len(user) else pd.DataFrame(columns=list(_EDITABLE))
        shipped = rows[rows["origin"] == "shipped"][["provider", "model", "input", "output", "cache_read",
                                                     "cache_write", "reasoning", "valid_from", "pattern", "source"]]
        self._shipped_table.value = shipped.reset_index(drop=True)
        self._shipped_card.title = f"Shipped prices ({len(shipped)} rows, version {self.prices.table().version})"

    # Actions ----------------------------------------------------------------------------

    def add_price(self) -> bool:
        """Add the price in the form to the user's file; refresh everything on success."""
        pattern = self._form_pattern.value.strip()
        if not pattern or self._form_input.value is None or self._form_output.value is None:
            self._form_status.object = ("<span class='wb-error-text'>Give a pattern and the input and output "
                                        "prices (USD per million tokens).</span>")
            return False
        try:
            row = self.prices.set(
                pattern, input=float(self._form_input.value), output=float(self._form_output.value),
                cache_read=self._form_cache_read.value, cache_write=self._form_cache_write.value,
                provider=self._form_provider.value.strip() or None,
                valid_from=self._form_from.value.strip() or None, source="added in the workbench app",
            )
        except WorkbenchError as exc:
            self._form_status.object = f"<span class='wb-error-text'>{esc(exc)}</span>"
            return False
        self._form_status.object = (f"<span class='wb-muted'>Added <b>{esc(row.pattern)}</b>: "
                                    f"{rate(row.input)} in, {rate(row.output)} out per million tokens. "
                                    "History is re-costed.</span>")
        self._form_pattern.value = ""
        self._form_input.value = self._form_output.value = None
        self._form_cache_read.value = self._form_cache_write.value = None
        self._load_prices()
        self.refresh()
        return True

    def save_user_table(self) -> bool:
        """Write the edited user rows; on a rule broken, say which and show the file as it is."""
        frame = self._user_table.value
        records = [{k: v for k, v in r.items() if not (isinstance(v, str) and not v.strip())}
                   for r in frame.to_dict("records")]
        try:
            self.prices.save(records)
        except WorkbenchError as exc:
            self._prices_status.object = f"<span class='wb-error-text'>{esc(exc)} Nothing was saved.</span>"
            self._load_prices()
            return False
        self._prices_status.object = "<span class='wb-muted'>Saved; history is re-costed.</span>"
        self._load_prices()
        self.refresh()
        return True

    def remove_selected(self) -> int:
        """Remove the selected user rows."""
        chosen = set(self._user_table.selection)
        if not chosen:
            self._prices_status.object = "<span class='wb-muted'>Select rows to remove first.</span>"
            return 0
        frame = self._user_table.value
        kept = frame[[i not in chosen for i in range(len(frame))]]
        self._user_table.value = kept.reset_index(drop=True)
        self._user_table.selection = []
        if self.save_user_table():
            self._prices_status.object = f"<span class='wb-muted'>Removed {len(chosen)} row(s).</span>"
        return len(chosen)

    def test_price(self) -> str:
        """Explain which row prices the model name typed, and why."""
        name = self._test_name.value.strip()
        if not name:
            self._test_result.object = ""
            return ""
        try:
            text = self.prices.test(name, self._test_provider.value.strip() or None)
        except WorkbenchError as exc:
            text = str(exc)
        self._test_result.object = f"<pre class='wb-pre'>{esc(text)}</pre>"
        return text

