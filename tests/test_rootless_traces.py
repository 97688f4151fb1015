"""Traces whose root span never arrives (a process killed mid-request, a lost export, a root
still running) are listed like any other: under their earliest span, flagged root_missing.
And a trace with several parentless spans is listed once."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import set_span_in_context

import workbench
from tests.helpers import make_span, wait_for
from workbench.analysis import cost
from workbench.model import SpanKind, TokenUsage
from workbench.query import Reader

BASE = dt.datetime(2025, 11, 23, 8, tzinfo=dt.timezone.utc)


def _rootless_and_whole() -> list:
    """Trace 1 lost its root (span 0); its children 1 and 2 arrived. Trace 2 is whole."""
    return [
        make_span(1, trace=0, parent=0, name="retrieve", kind=SpanKind.RETRIEVER, start_ms=50, duration_ms=100),
        make_span(2, trace=0, parent=0, name="answer", start_ms=200, duration_ms=700, model_name="gpt-4o-mini",
                  provider="openai", tokens=TokenUsage(prompt=1000, completion=100), user_id="u-7"),
        make_span(0, trace=1, name="whole", kind=SpanKind.CHAIN, start_ms=10, duration_ms=300),
        make_span(1, trace=1, parent=0, name="step", kind=SpanKind.TOOL, start_ms=20, duration_ms=100),
    ]


def test_a_trace_without_its_root_is_listed_under_its_earliest_span(store):
    store.write(_rootless_and_whole())
    reader = Reader(store)
    traces = reader.traces(limit=None).set_index("trace_id")
    assert len(traces) == 2 and reader.count_traces() == 2
    lost = traces.loc[f"{1:032x}"]
    assert lost["root_missing"] and not traces.loc[f"{2:032x}", "root_missing"]
    assert (lost["name"], lost["span_kind"], lost["span_count"], lost["llm_count"]) == ("retrieve", "RETRIEVER", 2, 1)
    assert lost["start_time"] == BASE + dt.timedelta(milliseconds=50)
    assert lost["end_time"] == BASE + dt.timedelta(milliseconds=900)
    assert lost["latency_ms"] == pytest.approx(850)  # its extent so far, not the first span's own 100 ms
    assert pd.isna(traces.loc[f"{2:032x}", "prompt_tokens"])  # no LLM call: null, not 0
    assert lost["prompt_tokens"] == 1000 and lost["cost"] == pytest.approx((1000 * 0.15 + 100 * 0.6) / 1e6)


def test_filters_sorting_and_paging_find_it(store):
    store.write(_rootless_and_whole())
    reader = Reader(store)
    lost = f"{1:032x}"
    assert list(reader.traces("model_name == 'gpt-4o-mini'")["trace_id"]) == [lost]
    assert reader.count_traces("model_name == 'gpt-4o-mini'") == 1
    # start and end bound the head's start: the earliest span's, 50 ms after BASE.
    assert list(reader.traces(start=BASE + dt.timedelta(milliseconds=40))["trace_id"]) == [lost]
    assert reader.count_traces(start=BASE + dt.timedelta(milliseconds=40)) == 1
    assert reader.traces(start=BASE + dt.timedelta(milliseconds=60)).empty
    assert list(reader.traces(project="test", order_by="latency_ms", limit=1)["trace_id"]) == [lost]
    assert list(reader.traces(order_by="latency_ms", limit=1, offset=1)["trace_id"]) == [f"{2:032x}"]
    assert list(reader.traces(order_by="start_time", descending=False, limit=1)["trace_id"]) == [f"{2:032x}"]
    assert list(reader.traces(order_by="name", limit=1, descending=False)["trace_id"]) == [lost]  # "retrieve"
    assert list(reader.traces(order_by="total_tokens", limit=1)["trace_id"]) == [lost]
    assert list(reader.traces(order_by="root_missing", limit=1)["trace_id"]) == [lost]
    top = cost.top_traces(reader).set_index("trace_id")
    assert top.loc[lost, "name"] == "retrieve"


def test_the_root_arriving_late_makes_it_whole(store):
    store.write(_rootless_and_whole())
    store.write([make_span(0, trace=0, name="rag", kind=SpanKind.CHAIN, duration_ms=1000)])
    row = Reader(store).traces(limit=None).set_index("trace_id").loc[f"{1:032x}"]
    assert (row["name"], bool(row["root_missing"]), row["span_count"], row["latency_ms"]) == ("rag", False, 3, 1000)


def test_a_trace_with_several_parentless_spans_is_listed_once(store):
    store.write([
        make_span(0, trace=0, name="second", start_ms=30),
        make_span(1, trace=0, name="first", start_ms=10),
        make_span(0, trace=1, name="other", start_ms=20),
    ])
    reader = Reader(store)
    traces = reader.traces(limit=None)
    assert sorted(traces["trace_id"]) == [f"{1:032x}", f"{2:032x}"] and reader.count_traces() == 2
    assert traces.set_index("trace_id").loc[f"{1:032x}", "name"] == "first"
    # Paging sees one row per trace: the page after the first has the other trace alone.
    first = reader.traces(order_by="start_time", descending=True, limit=1)
    rest = reader.traces(order_by="start_time", descending=True, limit=5, offset=1)
    assert list(first["trace_id"]) + list(rest["trace_id"]) == [f"{2:032x}", f"{1:032x}"]


def test_an_sdk_trace_whose_root_never_ends_is_listed_by_the_server(server):
    provider = TracerProvider(resource=Resource.create({"service.name": "crashy"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=server.url + "/v1/traces")))
    tracer = provider.get_tracer("test")
    root = tracer.start_span("handle_request")  # the process dies before this ends: never exported
    context = set_span_in_context(root)
    with tracer.start_as_current_span("call_model", context=context) as call:
        call.set_attribute("openinference.span.kind", "LLM")
    with tracer.start_as_current_span("reply", context=context):
        pass
    trace_id = f"{root.get_span_context().trace_id:032x}"
    provider.shutdown()

    def listed() -> list:
        response = requests.get(server.url + "/api/traces", params={"format": "json"}, timeout=10)
        assert response.status_code == 200
        return response.json()

    rows = wait_for(listed, timeout=30)
    assert [(r["trace_id"], r["name"], r["root_missing"], r["span_count"]) for r in rows] == [
        (trace_id, "call_model", True, 2)]
    remote = workbench.open(server.url).traces()
    assert bool(remote["root_missing"].iloc[0]) and remote["name"].iloc[0] == "call_model"
    assert not math.isnan(remote["latency_ms"].iloc[0])
