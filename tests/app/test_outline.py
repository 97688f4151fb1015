"""The Trace page's outline of a trace (workbench.app.outline) says what the tree of dicts says.

Each trace of the app's dataset, read once as a :class:`workbench.tree.Trace` (every column)
and once as an :class:`Outline` (one narrow query): the same rows in the same order, the same
self times, critical path, failed spans below, tokens, costs per span and per subtree, and the
same text for an LLM.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from workbench.analysis.cost import span_costs
from workbench.app.folds import Folds
from workbench.app.outline import Outline
from workbench.app.trace import read_outline, waterfall_rows
from workbench.app.trace_costs import trace_costs
from workbench.errors import NotFoundError

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _close(a, b) -> bool:
    a, b = (None if v is None or v != v else v for v in (a, b))  # NaN is unknown too
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _trace_ids(reader) -> list[str]:
    return list(reader.traces(limit=None)["trace_id"])


def test_every_trace_outlined_gives_the_rows_of_its_tree(reader):
    for trace_id in _trace_ids(reader):
        trace = reader.trace(trace_id)
        outline = read_outline(reader, trace_id)
        costs = trace_costs(reader, outline)
        by_id = {row["span_id"]: row for row in span_costs(reader, trace_id).to_dict(orient="records")}
        said = {k: v for k, v in by_id.items()
                if v["calls"] > 0 or (v["subtree_cost"] != 0) or v["subtree_unpriced_calls"] > 0}
        expected = waterfall_rows(trace, said)
        got = outline.rows(Folds(outline, eager=10**9).shown(), costs)
        assert [r["id"] for r in got] == [r["id"] for r in expected], trace_id
        for old, new in zip(expected, got, strict=True):
            for key in ("parent", "depth", "name", "kind", "status", "critical", "children", "sub_errors", "tokens",
                        "sub_tokens"):
                assert new[key] == old[key], (trace_id, old["id"], key)
            for key in ("offset", "duration", "self", "cost", "sub_cost"):
                assert _close(new[key], old[key]), (trace_id, old["id"], key, new[key], old[key])
            # The browser matches a row's name, kind and id besides its text.
            found = " ".join(str(v) for v in (new["name"], new["kind"], new["id"], new["text"]) if v).lower()
            assert found == old["text"], (trace_id, old["id"])
        assert outline.totals()["spans"] == len(trace.nodes)
        if costs is not None:
            for span_id, row in said.items():
                mine = costs.row(outline.index[span_id])
                assert mine is not None and _close(mine["subtree_cost"], row["subtree_cost"]), span_id
                assert mine["calls"] == row["calls"] and mine["unpriced_calls"] == row["unpriced_calls"]


def test_a_trace_with_a_failed_span_but_no_text_outlines_without_a_search_text(reader):
    # Rows whose model, tool, status message, input and output are all empty still make rows.
    spans = [{"span_id": "a", "start_time": T0, "end_time": T0 + dt.timedelta(seconds=2), "name": "root"},
             {"span_id": "b", "parent_span_id": "a", "start_time": T0 + dt.timedelta(seconds=1),
              "end_time": T0 + dt.timedelta(seconds=3), "status_code": "ERROR", "span_kind": "TOOL",
              "model_name": "", "total_tokens": None, "prompt_tokens": 3}]
    outline = Outline.from_spans("t", spans)
    rows = outline.rows(outline.order)
    assert [r["text"] for r in rows] == ["", ""]
    assert rows[0]["sub_errors"] == 1 and rows[0]["sub_tokens"] == 3 and rows[0]["tokens"] is None
    assert rows[0]["self"] == 1000.0 and rows[1]["duration"] == 2000.0
    assert [outline.ids[i] for i in outline.matching("TOOL")] == ["b"]


def test_the_text_for_an_llm_from_the_outline_is_the_trees(reader):
    for trace_id in _trace_ids(reader)[:5]:
        outline = read_outline(reader, trace_id)
        costs = trace_costs(reader, outline)
        tree = reader.trace(trace_id, columns=("name", "span_kind", "status_code", "status_message", "model_name",
                                                "tool_name", "prompt_tokens", "completion_tokens", "project"))
        text = outline.to_markdown(costs)
        head = text.split("\n", 1)[0]
        assert head == tree.to_markdown().split("\n", 1)[0]
        assert all(f"span `{node.span_id}`" in text for node in list(tree)[:5])


def test_an_unknown_trace_is_not_found(reader):
    with pytest.raises(NotFoundError):
        read_outline(reader, "cd" * 16)


def test_the_trace_page_over_a_servers_reader_outlines_from_its_tree(loaded_store, dataset):
    # A reader that runs no SQL (a running server's) gives the same rows, read as a tree.
    import panel as pn

    from workbench.app import TraceView
    from workbench.query import Reader
    from workbench.remote import RemoteReader
    from workbench.server import Server

    server = Server(loaded_store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    try:
        remote = RemoteReader(server.url)
        view = TraceView(remote, trace_id=dataset.llm_trace)
        pn.panel(view).get_root()
        local = TraceView(Reader(loaded_store, owns_store=False), trace_id=dataset.llm_trace)
        pn.panel(local).get_root()
        keys = ("id", "parent", "depth", "name", "kind", "status", "children", "sub_errors", "tokens", "text")
        assert [[r[k] for k in keys] for r in view._waterfall.rows] == [
            [r[k] for k in keys] for r in local._waterfall.rows]
        answer = next(r for r in view._waterfall.rows if r["name"] == "answer")
        view._waterfall.selected = answer["id"]  # as a click in the browser does
        assert "You are Acme Cloud" in view._detail.html
    finally:
        server.stop()
