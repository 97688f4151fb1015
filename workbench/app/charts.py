"""Bokeh figures for the pages: lines over time, histograms and horizontal bars, in one style."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from bokeh.core.properties import value as fixed
from bokeh.models import ColumnDataSource, HoverTool, NumeralTickFormatter, Span, TapTool
from bokeh.plotting import figure

from workbench.app.style import FONT, PALETTE, color_of, kind_color

__all__ = ["PALETTE", "bars", "histogram", "legend_outside", "lines_over_time"]



def _style(fig: Any) -> Any:
    fig.toolbar.logo = None
    fig.outline_line_color = None
    fig.background_fill_color = "white"
    fig.border_fill_color = "white"
    fig.grid.grid_line_color = "#eef2f7"
    for axis in (fig.xaxis, fig.yaxis):
        axis.axis_line_color = "#cbd5e1"
        axis.major_tick_line_color = "#cbd5e1"
        axis.minor_tick_line_color = None
        axis.major_label_text_color = "#475569"
        axis.major_label_text_font = FONT
        axis.axis_label_text_font = FONT
        axis.axis_label_text_font_style = "normal"
        axis.axis_label_text_color = "#64748b"
    if fig.title is not None:
        fig.title.text_font = FONT
        fig.title.text_font_size = "13px"
        fig.title.text_color = "#0f172a"
    if fig.legend:
        fig.legend.label_text_font = FONT
    return fig


def legend_outside(fig: Any, *, clickable: bool = True) -> Any:
    """Put the figure's legend below the plot, where it covers no data; a click on an entry
    hides (and a second click shows) its lines."""
    if not fig.legend:
        return fig
    legend = fig.legend[0]
    fig.center = [item for item in fig.center if item is not legend]
    if legend not in fig.below:
        fig.add_layout(legend, "below")
    count = len(legend.items)
    legend.orientation = "horizontal"
    legend.ncols = min(count, 6) if count else "auto"
    legend.location = "top_left"
    legend.background_fill_alpha = 0
    legend.border_line_color = None
    legend.label_text_font_size = "11px"
    legend.label_text_font = FONT
    legend.spacing = 6
    legend.padding = 2
    legend.margin = 4
    if clickable:
        legend.click_policy = "hide"
    return fig


def _naive(times: pd.Series) -> pd.Series:
    """UTC times without a zone (Bokeh plots naive times as they are; the axis says UTC)."""
    return times.dt.tz_convert(None) if getattr(times.dt, "tz", None) is not None else times


def lines_over_time(
    frame: pd.DataFrame,
    *,
    value: str,
    title: str,
    y_label: str = "ms",
    on_tap: Callable[[dict[str, Any]], Any] | None = None,
    height: int = 280,
    dimension: str = "",
) -> Any:
    """One line with markers per ``group`` over ``bucket``; tapping a marker calls ``on_tap(row)``.

    Each group's colour is :func:`~workbench.app.style.color_of` its value of ``dimension``.
    """
    fig = figure(x_axis_type="datetime", height=height, sizing_mode="stretch_width", title=title,
                 tools="pan,box_zoom,reset", toolbar_location="above")
    fig.yaxis.axis_label = y_label
    fig.xaxis.axis_label = "UTC"  # buckets are UTC hours and days, whatever zone the tables show
    groups = list(dict.fromkeys(frame["group"])) if len(frame) else []
    if dimension != "percentile" and len(groups) > 1:
        # The legend reads slowest first, and "other" last.
        peak = frame.groupby("group")[value].max()
        groups.sort(key=lambda g: (g == "other", -float(peak.get(g, 0) or 0)))
    renderers = []
    for group in groups:
        part = frame[frame["group"] == group]
        # Plain arrays: a Series would be indexed by its labels, not by the position a tap gives.
        source = ColumnDataSource({
            "bucket": _naive(part["bucket"]).to_numpy(),
            "bucket_end": part["bucket_end"].astype(str).tolist(),
            "value": part[value].astype(float).to_numpy(),
            "count": part["count"].to_numpy(),
            "group": part["group"].astype(str).tolist(),
            "start": part["bucket"].astype(str).tolist(),
        })
        color = color_of(group, dimension)
        fig.line("bucket", "value", source=source, color=color, line_width=2, legend_label=str(group))
        marks = fig.scatter("bucket", "value", source=source, color=color, size=7, legend_label=str(group),
                            selection_color="#0f172a", nonselection_fill_alpha=0.8)
        renderers.append(marks)
        if on_tap is not None:
            def tapped(attr: str, old: Any, new: Any, source: Any = source) -> None:
                if not new:
                    return
                index = new[0]
                row = {key: source.data[key][index] for key in ("start", "bucket_end", "group", "value", "count")}
                source.selected.indices = []
                on_tap(row)

            source.selected.on_change("indices", tapped)
    fig.add_tools(HoverTool(renderers=renderers, tooltips=[
        ("group", "@group"), ("from", "@bucket{%F %T}"), (value, "@value{0,0} ms"), ("count", "@count")],
        formatters={"@bucket": "datetime"}))
    if on_tap is not None:
        fig.add_tools(TapTool(renderers=renderers))
    fig.yaxis.formatter = NumeralTickFormatter(format="0,0")
    legend_outside(fig)
    return _style(fig)


def histogram(
    values: Sequence[float] | np.ndarray,
    *,
    title: str,
    x_label: str,
    color: str = "#7c3aed",
    marks: Sequence[tuple[str, float]] = (),
    bins: int = 40,
    height: int = 220,
) -> Any:
    """A histogram of ``values`` (clipped at the 99.5th percentile) with labelled vertical marks."""
    data = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    fig = figure(height=height, sizing_mode="stretch_width", title=title, tools="", toolbar_location=None)
    fig.xaxis.axis_label = x_label
    fig.yaxis.axis_label = "count"
    if data.size:
        top = float(np.percentile(data, 99.5)) if data.size > 20 else float(data.max())
        counts, edges = np.histogram(np.clip(data, None, top), bins=bins)
        source = ColumnDataSource({"left": edges[:-1], "right": edges[1:], "count": counts})
        bars_ = fig.quad(left="left", right="right", top="count", bottom=0, source=source, fill_color=color,
                         line_color="white", fill_alpha=0.85)
        fig.add_tools(HoverTool(renderers=[bars_], tooltips=[("from", "@left{0,0.0}"), ("to", "@right{0,0.0}"),
                                                             ("count", "@count")]))
        for i, (label, x) in enumerate(marks):
            if x is None or not np.isfinite(x):
                continue
            fig.add_layout(Span(location=x, dimension="height", line_color="#0f172a", line_dash="dashed",
                                line_width=1))
            fig.text(x=[x], y=[counts.max() * (0.95 - 0.12 * i)], text=[f" {label}"], text_font_size="11px",
                     text_color="#0f172a", text_font=fixed(FONT))
        fig.y_range.start = 0
    return _style(fig)


def bars(labels: Sequence[str], values: Sequence[float], *, title: str, x_label: str,
         texts: Sequence[str] | None = None, colors: Sequence[str] | None = None, height: int | None = None) -> Any:
    """Horizontal bars, largest on top."""
    labels = [str(label) for label in labels]
    height = height or max(140, 44 + 28 * len(labels))
    fig = figure(y_range=list(reversed(labels)), height=height, sizing_mode="stretch_width", title=title,
                 tools="", toolbar_location=None)
    colors = list(colors) if colors is not None else [kind_color(label) for label in labels]
    source = ColumnDataSource({"label": labels, "value": list(values), "color": colors,
                               "text": list(texts) if texts is not None else [""] * len(labels)})
    renderer = fig.hbar(y="label", right="value", height=0.7, source=source, fill_color="color", line_color=None)
    fig.text(x="value", y="label", text="text", source=source, text_font_size="11px", text_baseline="middle",
             text_color="#334155", x_offset=4, text_font=fixed(FONT))
    fig.add_tools(HoverTool(renderers=[renderer], tooltips=[("", "@label"), ("", "@text")]))
    fig.xaxis.axis_label = x_label
    fig.x_range.start = 0
    if len(values):
        fig.x_range.end = max(values) * 1.3 or 1
    fig.ygrid.grid_line_color = None
    return _style(fig)
