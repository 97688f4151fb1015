"""A trace read with only the columns its tree needs: the same tree, without the documents."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import make_span
from workbench.errors import FilterError
from workbench.model import SpanKind, TokenUsage
from workbench.read import Reader


@pytest.fixture
def reader(store):
    spans = [make_span(0, kind=SpanKind.AGENT, duration_ms=900)]
    spans += [make_span(n, parent=0, start_ms=10 * n, duration_ms=5, model_name="gpt-4o-mini", provider="openai",
                        tokens=TokenUsage(prompt=100, completion=20)) for n in range(1, 30)]
    spans += [make_span(30 + n, parent=n, kind=SpanKind.TOOL, start_ms=10 * n + 1, duration_ms=2)
              for n in range(1, 30)]
    store.write(spans)
    return Reader(store, owns_store=False)


def test_a_tree_of_some_columns_matches_the_whole_one(reader):
    trace_id = make_span(0).trace_id
    whole = reader.trace(trace_id)
    light = reader.trace(trace_id, columns=["name", "span_kind"])
    assert list(light.nodes) == list(whole.nodes)
    assert [n.depth for n in light] == [n.depth for n in whole]
    assert [n.self_time_ms for n in light] == [n.self_time_ms for n in whole]
    span = next(iter(light)).span
    assert set(span) == {"trace_id", "span_id", "parent_span_id", "start_time", "end_time", "name", "span_kind"}
    assert next(iter(whole)).span["attributes"]  # the whole read keeps every column
    with pytest.raises(FilterError, match="Unknown column"):
        reader.trace(trace_id, columns=["no_such_column"])


def test_span_costs_bounded_by_the_trace_time_match_the_unbounded_ones(reader):
    from workbench.analysis.cost import span_costs

    trace_id = make_span(0).trace_id
    tree = reader.trace(trace_id, columns=[])
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    starts = [n.start_us for n in tree.nodes.values()]
    window = (epoch + dt.timedelta(microseconds=min(starts)), epoch + dt.timedelta(microseconds=max(starts)))
    bounded = span_costs(reader, trace_id, window=window)
    assert bounded.equals(span_costs(reader, trace_id))
    root = bounded.set_index("span_id").loc[make_span(0).span_id]
    assert root["subtree_tokens"] == 29 * 120 and root["subtree_cost"] > 0
    outside = (window[0] - dt.timedelta(days=2), window[0] - dt.timedelta(days=1))
    assert span_costs(reader, trace_id, window=outside).empty
