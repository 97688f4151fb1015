"""Trace trees: order, depth, self time and the critical path."""

from __future__ import annotations

from workbench.tree import Trace


def _span(span_id, parent, start, end, name=None):
    return {"span_id": span_id, "parent_span_id": parent, "start_time": start * 1000, "end_time": end * 1000,
            "name": name or span_id}


def test_self_time_subtracts_the_union_of_children():
    trace = Trace("t", [
        _span("root", None, 0, 1000),
        _span("a", "root", 100, 400),
        _span("b", "root", 300, 600),  # overlaps a: 100..600 is covered once
        _span("c", "root", 900, 1200),  # runs past the root's end: only 900..1000 counts
    ])
    nodes = {n.span_id: n for n in trace}
    assert nodes["root"].self_time_ms == 1000 - 500 - 100
    assert nodes["a"].self_time_ms == 300


def test_order_depth_and_orphans():
    trace = Trace("t", [
        _span("late", "root", 500, 600),
        _span("root", None, 0, 1000),
        _span("early", "root", 100, 200),
        _span("child", "early", 120, 150),
        _span("orphan", "missing-parent", 50, 60),
    ])
    assert [(n.span_id, n.depth) for n in trace] == [
        ("root", 0), ("early", 1), ("child", 2), ("late", 1), ("orphan", 0),
    ]
    assert trace.duration_ms == 1000


def test_the_critical_path_follows_what_each_parent_waited_on():
    trace = Trace("t", [
        _span("root", None, 0, 1000),
        _span("fast", "root", 0, 100),
        _span("embed", "root", 100, 200),
        _span("llm", "root", 200, 990),
        _span("stream", "llm", 250, 980),
        _span("log", "llm", 210, 240),
    ])
    assert [n.span_id for n in trace.critical_path] == ["root", "llm", "stream"]
    rows = trace.rows()
    assert rows[0]["offset_ms"] == 0 and rows[0]["child_count"] == 3
