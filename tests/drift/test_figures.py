"""The plotly figures: every colouring, a highlighted cluster, 3D, and click data to the trace."""

from __future__ import annotations

import pytest

from tests.drift import scenario
from workbench.app.figures import COLOR_BY, point_cloud, timeline_figure
from workbench.drift import DriftParams, PCAProjector, Window, analyze

pytestmark = pytest.mark.skipif(__import__("importlib").util.find_spec("plotly") is None,
                                reason="plotly is not installed")

PRIMARY = Window(start=scenario.PRIMARY_FROM, end=scenario.END)
REFERENCE = Window(start=scenario.START, end=scenario.PRIMARY_FROM)


def test_every_colouring_shows_every_point_once(reader):
    result = analyze(reader, PRIMARY, REFERENCE, projector=PCAProjector())
    for color_by in COLOR_BY:
        for selected in (None, int(result.clusters.iloc[0]["cluster"])):
            fig = point_cloud(result.points, color_by=color_by, selected=selected)
            assert sum(len(t.x) for t in fig.data) == len(result.points), (color_by, selected)
            assert sum(bool(t.marker.showscale) for t in fig.data) <= 1  # one colour bar at most
    top = int(result.clusters.iloc[0]["cluster"])
    highlighted = [t for t in point_cloud(result.points, color_by="source", selected=top).data
                   if t.marker.opacity > 0.5]
    assert sum(len(t.x) for t in highlighted) == int(result.clusters.iloc[0]["size"])
    fig = point_cloud(result.points, color_by="source")
    first = fig.data[0]
    trace_id, point_id, cluster = first.customdata[0]
    row = result.points.set_index("point_id").loc[point_id]
    assert row["trace_id"] == trace_id and str(row["cluster"]) == cluster
    assert [t.name for t in timeline_figure(result.timeline).data] == ["reference", "primary"]


def test_three_dimensions(reader):
    result = analyze(reader, PRIMARY, REFERENCE, projector=PCAProjector(3), params=DriftParams(n_components=3))
    fig = point_cloud(result.points, color_by="cluster", selected=0)
    assert {type(t).__name__ for t in fig.data} == {"Scatter3d"}
