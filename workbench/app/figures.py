"""Plotly figures of a drift analysis: the point cloud and the centroid distance over time.

Plotly is imported only when a figure is made (it comes with the ``app`` extra). Each point
carries ``customdata = [trace_id, point_id, cluster]``, so a click handler can open the
point's trace::

    from workbench.app.figures import point_cloud
    point_cloud(result.points, color_by="cluster", selected=3).show()
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.app.style import color_of

__all__ = ["COLOR_BY", "SOURCE_COLORS", "point_cloud", "timeline_figure"]

SOURCE_COLORS = {name: color_of(name, "source") for name in ("primary", "reference", "corpus")}
_CLUSTER_COLORS = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626",
                   "#0f766e", "#9333ea", "#ca8a04", "#be123c")
_NOISE_COLOR = "#cbd5e1"
#: What points can be coloured by: a category, or a number of the point's query.
COLOR_BY = {"source": "Source", "cluster": "Cluster", "retrieval_score": "Retrieval score",
            "score_user_feedback": "Feedback", "latency_ms": "Latency (ms)"}


def _plotly() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError as exc:
        raise ImportError("Drift figures need plotly: pip install 'llm-trace-workbench[app]'.") from exc
    return go


def _short(text: Any, limit: int = 120) -> str:
    if not isinstance(text, str):
        return ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _trace(go: Any, part: pd.DataFrame, three: bool, *, name: str, marker: dict[str, Any],
           showlegend: bool = True) -> Any:
    hover = [
        f"<b>{source}</b> &middot; cluster {cluster}<br>{_short(text)}"
        for source, cluster, text in zip(part["source"], part["cluster"], part["text"])
    ]
    custom = np.stack([part["trace_id"].fillna("").astype(str).to_numpy(), part["point_id"].astype(str).to_numpy(),
                       part["cluster"].astype(str).to_numpy()], axis=1) if len(part) else np.zeros((0, 3))
    common = {"mode": "markers", "name": name, "marker": marker, "text": hover, "customdata": custom,
              "hovertemplate": "%{text}<extra></extra>", "showlegend": showlegend}
    if three:
        return go.Scatter3d(x=part["x"], y=part["y"], z=part["z"], **common)
    return go.Scatter(x=part["x"], y=part["y"], **common)


def point_cloud(points: pd.DataFrame, *, color_by: str = "source", selected: int | None = None,
                height: int = 520) -> Any:
    """The projected points, coloured by source, cluster or a metric; ``selected`` stands out.

    Args:
        points: :attr:`workbench.drift.DriftResult.points`.
        color_by: A key of :data:`COLOR_BY` (or any numeric column of ``points``).
        selected: A cluster to highlight; the other points fade.
        height: Pixels.
    """
    go = _plotly()
    three = "z" in points
    size = 4 if three else 6
    fig = go.Figure()
    faded = selected is not None and selected in set(points["cluster"])
    groups: list[tuple[str, pd.DataFrame, dict[str, Any]]] = []
    if color_by == "source":
        for source, color in SOURCE_COLORS.items():
            part = points[points["source"] == source]
            if len(part):
                groups.append((source, part, {"color": color}))
    elif color_by == "cluster":
        for label in sorted(set(points["cluster"])):
            part = points[points["cluster"] == label]
            color = _NOISE_COLOR if label == -1 else _CLUSTER_COLORS[int(label) % len(_CLUSTER_COLORS)]
            groups.append(("noise" if label == -1 else f"cluster {label}", part, {"color": color}))
    else:
        values = points[color_by] if color_by in points else pd.Series(np.nan, index=points.index)
        has = values.notna()
        if (~has).any():
            groups.append(("no value", points[~has], {"color": _NOISE_COLOR}))
        if has.any():
            numbers = values[has].astype(float)
            groups.append((COLOR_BY.get(color_by, color_by), points[has], {
                "color": numbers, "cmin": float(numbers.min()), "cmax": float(numbers.max()),
                "colorscale": "RdYlGn_r" if color_by == "latency_ms" else "RdYlGn",
                "showscale": True, "colorbar": {"title": {"text": COLOR_BY.get(color_by, color_by)}, "thickness": 12},
            }))
    for name, part, marker in groups:
        if not faded:
            fig.add_trace(_trace(go, part, three, name=name, marker={**marker, "size": size, "opacity": 0.85}))
            continue
        # Only the selected cluster keeps its colour, outlined; the rest fades.
        inside = part["cluster"] == selected
        if (~inside).any():
            fig.add_trace(_trace(go, part[~inside], three, name=name, showlegend=not inside.any(),
                                 marker={**_sub(marker, ~inside), "size": size, "opacity": 0.12,
                                         **({"showscale": False} if "showscale" in marker else {})}))
        if inside.any():
            fig.add_trace(_trace(go, part[inside], three, name=name, marker={
                **_sub(marker, inside), "size": size + 1, "opacity": 0.95, "line": {"width": 1, "color": "#0f172a"}}))
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, plot_bgcolor="white", paper_bgcolor="white",
        # Below the points, never over them; a click on an entry hides or shows its points.
        legend={"orientation": "h", "y": 0, "yanchor": "top", "x": 0, "font": {"size": 11},
                "itemclick": "toggle", "itemdoubleclick": "toggleothers"},
        hovermode="closest", autosize=True,
        font={"family": "Inter, system-ui, sans-serif", "size": 12}, uirevision="drift", clickmode="event",
    )
    if three:
        fig.update_scenes(xaxis_visible=False, yaxis_visible=False, zaxis_visible=False)
    else:
        fig.update_xaxes(visible=False)
        # No fixed aspect ratio: a projection's axes have no unit, and a square would fill
        # only part of a wide panel.
        fig.update_yaxes(visible=False)
    return fig


def _sub(marker: dict[str, Any], mask: pd.Series) -> dict[str, Any]:
    """The marker with a per-point colour array cut down to ``mask``."""
    color = marker.get("color")
    if isinstance(color, pd.Series):
        return {**marker, "color": color[mask]}
    return marker


def timeline_figure(timeline: pd.DataFrame, *, value: str = "adjusted", height: int = 220) -> Any:
    """The centroid distance per bucket, one line per source."""
    go = _plotly()
    fig = go.Figure()
    for source in ("reference", "primary"):
        part = timeline[timeline["source"] == source]
        if len(part):
            fig.add_trace(go.Scatter(x=part["time"], y=part[value], mode="lines+markers", name=source,
                                     line={"color": SOURCE_COLORS[source], "width": 2},
                                     customdata=part["count"], hovertemplate="%{y:.3f} (%{customdata} queries)"))
    fig.update_layout(height=height, margin={"l": 40, "r": 10, "t": 10, "b": 30}, plot_bgcolor="white",
                      yaxis_title="distance from reference",
                      legend={"orientation": "h", "y": -0.15, "yanchor": "top", "itemclick": "toggle"})
    return fig
