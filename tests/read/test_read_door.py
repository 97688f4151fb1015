"""The read door: a selection means the same to every read, and a capability a source lacks is
refused in one sentence."""

from __future__ import annotations

import pytest

from tests.helpers import make_span
from workbench.errors import CapabilityError, FilterError, RemoteReaderError
from workbench.model import SpanKind, StatusCode
from workbench.read import CAPABILITIES, Reader, Selection, Source, SqlSource, require, supports
from workbench.read.costs import with_trace_costs
from workbench.remote import RemoteReader


@pytest.fixture
def two_projects(store):
    """Two traces of three spans each, an hour apart, in projects a and b; one LLM span fails."""
    spans = []
    for trace, project in ((0, "a"), (1, "b")):
        base = 1_763_884_800_000_000_000 + trace * 3_600 * 10**9
        spans += [
            make_span(0, trace=trace, kind=SpanKind.CHAIN, name="root", duration_ms=900, base_ns=base,
                      project=project),
            make_span(1, trace=trace, parent=0, kind=SpanKind.LLM, name="llm", start_ms=10, duration_ms=300,
                      base_ns=base, project=project, model_name="gpt-4o",
                      status_code=StatusCode.ERROR if trace else StatusCode.OK),
            make_span(2, trace=trace, parent=0, kind=SpanKind.TOOL, name="tool", start_ms=400, duration_ms=50,
                      base_ns=base, project=project),
        ]
    store.write(spans)
    return Reader(store, owns_store=False)


@pytest.mark.parametrize("selection", [
    Selection(),
    Selection("span_kind == 'LLM'"),
    Selection(project="b"),
    Selection(project=["a", "b"], filter="latency_ms > 100"),
    Selection(start="2025-11-23T08:30:00Z"),
    Selection(end="2025-11-23T08:30:00Z", filter="name != 'tool'"),
])
def test_a_selection_selects_what_the_reads_select(two_projects, selection):
    reader = two_projects
    where = selection.where("s")
    in_sql = reader.rows(f"SELECT count(*) FROM spans s WHERE {where.sql}", where.params)[0][0]
    fields = dict(filter=selection.filter, start=selection.start, end=selection.end, project=selection.project)
    assert in_sql == reader.count(**fields) == len(reader.spans(**fields))
    traces = selection.trace_where("r", "m")
    heads = reader.rows(f"SELECT count(*) FROM spans r WHERE r.parent_span_id IS NULL AND {traces.sql}",
                        traces.params)[0][0]
    assert heads == reader.count_traces(**fields) == len(reader.traces(**fields))


def test_a_trace_is_selected_by_any_of_its_spans_and_bounded_by_its_head(two_projects):
    failed = Selection("status_code == 'ERROR'")
    assert two_projects.traces(failed.filter)["project"].tolist() == ["b"]
    where = failed.trace_where("r", "m")
    projects = two_projects.rows(
        f"SELECT r.project FROM spans r WHERE r.parent_span_id IS NULL AND {where.sql}", where.params)
    assert projects == [("b",)]


def test_a_selection_is_a_value_and_says_what_is_wrong():
    base = Selection("span_kind == 'LLM'", start="24h")
    assert base.but(filter=None) == Selection(start="24h")
    assert base.time_only == Selection(None, "24h")
    assert Selection.of(base, project="a").project == "a" and base.project is None
    assert hash(Selection("x == 1")) == hash(Selection("x == 1"))
    with pytest.raises(FilterError, match="is not a time"):
        Selection(start="yesterday").where()
    with pytest.raises(FilterError, match="not text"):
        Selection(project=[1]).where()
    with pytest.raises(FilterError):
        Selection("no_such_column == 1").where()


def test_a_local_reader_has_every_capability(two_projects):
    reader = two_projects
    assert isinstance(reader, Source) and isinstance(reader, SqlSource)
    assert all(supports(reader, name) for name in CAPABILITIES)
    assert require(reader, "sql") is reader
    assert reader.table("spans").num_rows == 6
    overview = reader.overview()
    assert overview["spans"] == 6 and overview["path"] == reader.store.path


def test_costs_are_joined_through_the_reader(two_projects):
    rows = two_projects.query("SELECT DISTINCT trace_id FROM spans ORDER BY trace_id")
    priced = with_trace_costs(two_projects, rows)
    assert priced.column_names == ["trace_id", "cost", "client_cost", "unpriced", "unpriced_calls"]
    assert priced.num_rows == 2


def test_a_servers_reader_refuses_sql_in_one_sentence(server, store, rag_spans):
    store.write(rag_spans)
    remote = RemoteReader(server.url)
    assert isinstance(remote, Source)
    assert supports(remote, "annotate") and not supports(remote, "sql") and not supports(remote, "store")
    for attempt in (lambda: require(remote, "sql"), lambda: remote.query("SELECT 1"),
                    lambda: remote.rows("SELECT 1"), lambda: remote.registered()):
        with pytest.raises(RemoteReaderError) as refused:
            attempt()
        message = str(refused.value)
        assert server.url in message and message.count(". ") == 0 and message.endswith(".")
        assert 'workbench.snapshot(wb, start="7d")' in message
    with pytest.raises(CapabilityError, match="keeps its store to itself"):
        require(remote, "store")
    assert not hasattr(remote, "store") and not hasattr(remote, "_where") and not hasattr(remote, "db")
    # What it can do, it does: the same reads as the local reader.
    assert remote.table("spans").num_rows == 4
    assert len(remote.spans()) == Reader(store, owns_store=False).count()


def test_capabilities_are_named_from_a_fixed_list(two_projects):
    with pytest.raises(ValueError, match="no reader capability"):
        supports(two_projects, "write")
    with pytest.raises(CapabilityError, match="not a workbench reader"):
        require(object(), "sql")


def test_every_read_takes_one_selection_in_place_of_its_four_arguments(two_projects, server, store):
    from workbench import analysis
    from workbench.analysis import cost

    reader = two_projects
    args = dict(start="2025-11-23T08:30:00Z", project=["a", "b"])
    selection = Selection("span_kind == 'LLM'", **args)
    assert reader.count(selection) == reader.count("span_kind == 'LLM'", **args) == 1
    assert reader.count_traces(selection) == reader.count_traces("span_kind == 'LLM'", **args) == 1
    spans = reader.spans("span_kind == 'LLM'", **args)
    assert reader.spans(selection)["span_id"].tolist() == spans["span_id"].tolist()
    traces = reader.traces("span_kind == 'LLM'", **args)
    assert reader.traces(selection)["trace_id"].tolist() == traces["trace_id"].tolist()
    # Arguments given beside a selection take the place of its own.
    assert reader.count(selection, start="2000-01-01") == 2
    assert analysis.latency_summary(reader, selection) == analysis.latency_summary(reader, "span_kind == 'LLM'", **args)
    assert analysis.count_sessions(reader, selection) == 0
    by_model = cost.cost_by(reader, "span_kind == 'LLM'", by="model", **args)
    pd_equal = cost.cost_by(reader, selection, by="model").equals(by_model)
    assert pd_equal
    remote = RemoteReader(server.url)
    assert remote.spans(selection)["span_id"].tolist() == reader.spans(selection)["span_id"].tolist()
    assert remote.traces(selection)["trace_id"].tolist() == reader.traces(selection)["trace_id"].tolist()
    with pytest.raises(FilterError, match="give a filter expression as text, or a Selection"):
        reader.spans(42)
