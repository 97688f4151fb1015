"""Latency grouped by model, span name or tool: groups ranked by the tail the chart shows, the
slowest never folded into "other", traces grouped by the models and tools they used."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import make_span
from workbench.analysis.latency import group_latency, latency_over_time
from workbench.errors import FilterError
from workbench.model import SpanKind, StatusCode

FAST = ["fast-a", "fast-b", "fast-c", "fast-d"]


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """Busy fast models and tools, and one rare model and one rare tool with a 10 s tail."""
    from workbench.query import Reader
    from workbench.store import Store

    spans = []
    for t in range(120):
        slow = t % 20 == 0  # six traces of 120
        model = "slow-model" if slow else FAST[t % len(FAST)]
        tool = "slow_tool" if slow else ("search" if t % 2 else "lookup")
        spans += [
            make_span(0, trace=t, kind=SpanKind.CHAIN, name="agent", start_ms=t * 60_000,
                      duration_ms=11_000 if slow else 900),
            make_span(1, trace=t, parent=0, kind=SpanKind.LLM, name="chat", model_name=model,
                      start_ms=t * 60_000, duration_ms=600 if not slow else 800),
            make_span(2, trace=t, parent=0, kind=SpanKind.TOOL, name=f"execute_tool {tool}", tool_name=tool,
                      start_ms=t * 60_000 + 600, duration_ms=10_000 if slow else 80,
                      status_code=StatusCode.ERROR if t == 41 else StatusCode.OK),
        ]
    store = Store(tmp_path_factory.mktemp("latency") / "groups.duckdb")
    store.write(spans)
    yield Reader(store)
    store.close()


def test_the_slowest_group_is_kept_even_when_it_is_the_rarest(reader):
    frame = latency_over_time(reader, by="tool", level="spans", max_groups=1)
    assert set(frame["group"]) == {"slow_tool", "other"}
    by_count = latency_over_time(reader, by="tool", level="spans", max_groups=1, rank="count")
    assert "slow_tool" not in set(by_count["group"])  # what the busiest-first ranking used to hide


def test_traces_by_model_are_grouped_by_the_models_they_called(reader):
    frame = latency_over_time(reader, by="model", level="traces", width=dt.timedelta(days=1))
    assert set(frame["group"]) == {*FAST, "slow-model"}  # no "(no model)" from the root spans
    slow = frame[frame["group"] == "slow-model"]
    assert slow["count"].sum() == 6 and slow["p50"].min() == pytest.approx(11_000)


def test_spans_by_model_leave_out_spans_without_a_model(reader):
    frame = latency_over_time(reader, by="model", level="spans", width=dt.timedelta(days=1))
    assert frame["count"].sum() == 120 and "(no model)" not in set(frame["group"])


def test_group_latency_ranks_tools_by_their_tail(reader):
    tools = group_latency(reader, by="tool")
    assert tools["group"].iloc[0] == "slow_tool"
    assert tools.loc[0, "p99"] == pytest.approx(10_000)
    assert int(tools.set_index("group").loc["search", "errors"]) == 1
    models = group_latency(reader, by="model", level="traces", limit=2)
    assert list(models["group"]) == ["slow-model", models["group"][1]] and len(models) == 2


def test_an_unknown_rank_is_refused_with_the_choices(reader):
    with pytest.raises(FilterError, match=r"rank latency groups by 'speed'.*p95"):
        latency_over_time(reader, by="model", rank="speed")
