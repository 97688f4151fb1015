"""The analyses behind the Latency and Sessions pages, checked against the data they were made from."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from tests.helpers import make_span
from workbench.analysis import (
    bucket_width,
    count_sessions,
    facets,
    latency_over_time,
    latency_summary,
    llm_timing_summary,
    llm_timings,
    self_time_by_kind,
    session_turns,
    sessions,
    slowest_traces,
)
from workbench.errors import FilterError
from workbench.model import SpanKind
from workbench.query import Reader


def test_summary_percentiles_match_numpy(reader, dataset):
    roots = [s for s in dataset.spans if s.parent_span_id is None]
    summary = latency_summary(reader)
    latencies = np.array([s.latency_ms for s in roots])
    assert summary["count"] == len(roots)
    assert summary["p50"] == pytest.approx(np.percentile(latencies, 50), rel=1e-6)
    assert summary["p99"] == pytest.approx(np.percentile(latencies, 99), rel=1e-6)
    assert summary["max"] == pytest.approx(latencies.max())
    llm = latency_summary(reader, "span_kind == 'LLM'", level="spans")
    assert llm["count"] == sum(1 for s in dataset.spans if s.span_kind is SpanKind.LLM)


def test_trace_errors_count_traces_with_any_failed_span(reader, dataset):
    assert latency_summary(reader)["errors"] == len(set(dataset.errors))
    assert latency_summary(reader, level="spans")["errors"] == len(dataset.errors)


def test_latency_over_time_buckets_and_groups(reader, dataset):
    frame = latency_over_time(reader, by="kind", level="spans", width=dt.timedelta(hours=1))
    assert set(frame.columns) >= {"bucket", "bucket_end", "group", "count", "p50", "p95", "p99", "max"}
    assert frame["count"].sum() == len(dataset.spans)
    assert set(frame["group"]) == {s.span_kind.value for s in dataset.spans}
    assert ((frame["bucket_end"] - frame["bucket"]) == dt.timedelta(hours=1)).all()
    assert (frame["p50"] <= frame["p95"]).all() and (frame["p95"] <= frame["p99"]).all()


def test_latency_groups_beyond_the_busiest_fold_into_other(reader):
    frame = latency_over_time(reader, by="name", level="spans", max_groups=2)
    assert len(set(frame["group"]) - {"other"}) == 2 and "other" in set(frame["group"])


def test_latency_rejects_unknown_groups_and_levels(reader):
    with pytest.raises(FilterError, match="group latency by 'colour'"):
        latency_over_time(reader, by="colour")
    with pytest.raises(FilterError, match="level='roots'"):
        latency_summary(reader, level="roots")


def test_bucket_width_gives_at_most_sixty_buckets():
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert bucket_width(start, start + dt.timedelta(minutes=30)) == dt.timedelta(minutes=1)
    assert bucket_width(start, start + dt.timedelta(hours=6)) == dt.timedelta(minutes=15)
    assert bucket_width(start, start + dt.timedelta(days=30)) == dt.timedelta(days=1)
    assert bucket_width(None, None) == dt.timedelta(minutes=1)


def test_llm_timings_compute_tokens_per_second_after_the_first_token(reader, dataset):
    frame = llm_timings(reader)
    llm = {s.span_id: s for s in dataset.spans if s.span_kind is SpanKind.LLM}
    assert len(frame) == len(llm)
    row = frame.dropna(subset=["ttft_ms"]).iloc[0]
    span = llm[row["span_id"]]
    expected = span.tokens.completion * 1000 / (span.latency_ms - span.time_to_first_token_ms)
    assert row["output_tokens_per_s"] == pytest.approx(expected)
    sampled = llm_timings(reader, limit=10)
    assert len(sampled) == 10


def test_llm_timing_summary_is_per_model(reader, dataset):
    frame = llm_timing_summary(reader)
    calls = defaultdict(int)
    for s in dataset.spans:
        if s.span_kind is SpanKind.LLM:
            calls[s.model_name] += 1
    assert dict(zip(frame["model_name"], frame["calls"])) == dict(calls)


def test_self_time_by_kind_agrees_with_the_trees(reader, dataset):
    expected: dict[str, float] = defaultdict(float)
    for trace_id in dataset.trace_ids:
        for node in reader.trace(trace_id):
            expected[node.span["span_kind"]] += node.self_time_ms
    frame = self_time_by_kind(reader)
    got = dict(zip(frame["span_kind"], frame["self_ms"]))
    assert got.keys() == expected.keys()
    for kind, ms in expected.items():
        assert got[kind] == pytest.approx(ms, rel=1e-6, abs=0.01)
    assert frame["share"].sum() == pytest.approx(1.0)


def test_self_time_counts_overlapping_children_once(store):
    # A parent of 1000 ms with two children overlapping over 100-600 and 400-900 ms:
    # covered 100-900, so the parent's own time is 200 ms.
    store.write([
        make_span(0, kind=SpanKind.CHAIN, duration_ms=1000),
        make_span(1, parent=0, kind=SpanKind.TOOL, start_ms=100, duration_ms=500),
        make_span(2, parent=0, kind=SpanKind.TOOL, start_ms=400, duration_ms=500),
    ])
    frame = self_time_by_kind(Reader(store))
    got = dict(zip(frame["span_kind"], frame["self_ms"]))
    assert got == pytest.approx({"CHAIN": 200.0, "TOOL": 1000.0})


def test_slowest_traces_lead_with_the_planted_tail(reader, dataset):
    frame = slowest_traces(reader, limit=len(dataset.slow))
    assert set(frame["trace_id"]) == set(dataset.slow)
    assert list(frame["latency_ms"]) == sorted(frame["latency_ms"], reverse=True)


def test_sessions_list_turns_and_totals(reader, dataset):
    frame = sessions(reader, limit=None)
    assert count_sessions(reader) == len(dataset.sessions) == len(frame)
    turns = dict(zip(frame["session_id"], frame["turns"]))
    assert turns == {sid: len(traces) for sid, traces in dataset.sessions.items()}
    assert list(frame["last_end"]) == sorted(frame["last_end"], reverse=True)
    session_id = frame["session_id"].iloc[0]
    mine = [s for s in dataset.spans if s.trace_id in dataset.sessions[session_id] and s.span_kind is SpanKind.LLM]
    assert frame["total_tokens"].iloc[0] == sum(s.tokens.total for s in mine)


def test_sessions_search_and_sort(reader, dataset):
    some = next(iter(dataset.sessions))
    assert list(sessions(reader, search=some)["session_id"]) == [some]
    assert count_sessions(reader, search="no-such-session") == 0
    by_turns = sessions(reader, order_by="turns", limit=None)
    assert list(by_turns["turns"]) == sorted(by_turns["turns"], reverse=True)
    with pytest.raises(FilterError, match="Cannot sort sessions by 'first_input'"):
        sessions(reader, order_by="first_input")


def test_session_turns_are_in_order(reader, dataset):
    session_id, traces = max(dataset.sessions.items(), key=lambda kv: len(kv[1]))
    frame = session_turns(reader, session_id)
    assert list(frame["trace_id"]) == traces
    assert list(frame["turn"]) == list(range(1, len(traces) + 1))


def test_facets_list_what_is_stored(reader, dataset):
    values = facets(reader)
    assert set(values["models"]) == {s.model_name for s in dataset.spans if s.model_name}
    assert set(values["projects"]) == {"support-bot", "billing-agent"}
    assert "LLM" in values["kinds"] and "support_chat" in values["names"]


def test_read_api_frames_hold_numbers_not_decimals(reader, dataset):
    import decimal

    from workbench.analysis import cost, quality

    session = next(s.session_id for s in dataset.spans if s.session_id)
    frames = {
        "traces": reader.traces(limit=None), "spans": reader.spans(), "sessions": sessions(reader),
        "session_turns": session_turns(reader, session), "llm_timing_summary": llm_timing_summary(reader),
        "llm_timings": llm_timings(reader), "slowest_traces": slowest_traces(reader),
        "latency_over_time": latency_over_time(reader), "self_time_by_kind": self_time_by_kind(reader),
        "cost_by": cost.cost_by(reader), "burn_rate": cost.burn_rate(reader), "top_traces": cost.top_traces(reader),
        "top_users": cost.top_users(reader), "request_costs": cost.request_costs(reader),
        "cost_per_request": cost.cost_per_request(reader), "unpriced_models": cost.unpriced_models(reader),
        "cost_change": cost.cost_change(reader, by="model"), "quality_facts": quality.quality_facts(reader),
        "span_costs": cost.span_costs(reader, dataset.spans[0].trace_id),
    }
    for name, frame in frames.items():
        for column in frame.columns:
            values = frame[column].dropna()
            assert not any(isinstance(v, decimal.Decimal) for v in values), (name, column)
            counts = column.endswith(("_tokens", "_count", "_calls")) or column in ("calls", "turns", "requests")
            if counts and name != "spans":  # spans hold what senders reported, nulls as NaN
                assert str(frame[column].dtype) in ("int64", "Int64"), (name, column, frame[column].dtype)
    traces = frames["traces"]
    assert str(traces["total_tokens"].dtype) == "Int64"
    with_llm = traces[traces["llm_count"] > 0]
    by_trace = defaultdict(int)
    for span in dataset.spans:
        if span.span_kind is SpanKind.LLM and span.tokens.total is not None:
            by_trace[span.trace_id] += span.tokens.total
    assert {t: int(v) for t, v in zip(with_llm["trace_id"], with_llm["total_tokens"]) if not pd.isna(v)} == {
        t: v for t, v in by_trace.items() if t in set(with_llm["trace_id"])}
