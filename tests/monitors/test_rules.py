"""Each rule fires on the story planted for it and stays quiet on healthy traffic."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.monitors import world
from tests.monitors.world import NOW, ErrorBurst, FeedbackDrop, SlowModel
from workbench import monitors
from workbench.errors import ConfigError
from workbench.monitors import CostBudget, CostJump, ErrorRate, EvalPassRate, LatencySLO

DAY = dt.timedelta(days=1)


def _fired(results, rule):
    return [r for r in results if r.rule == rule and r.fired]


def test_healthy_traffic_fires_nothing(healthy):
    results = monitors.check(healthy, now=NOW)
    assert results.fired == []
    assert {r.rule for r in results} == set(monitors.settings.DEFAULT_KINDS)
    assert all(r.severity == "ok" and r.message for r in results)


def test_healthy_traffic_is_quiet_hour_by_hour_too(healthy):
    rules = [
        monitors.CostJump(every="hour", min_increase=0.0),
        monitors.LatencySLO(every="hour", min_count=5),
        monitors.ErrorRate(every="hour", min_count=5, by=None),
        monitors.EvalPassRate(every="hour", min_count=5),
    ]
    assert monitors.check(healthy, rules, now=NOW).fired == []


# Cost --------------------------------------------------------------------------------------


def test_cost_jump_fires_for_the_feature_that_jumped(world_reader):
    jump = NOW - 3 * DAY - dt.timedelta(hours=5)
    reader = world_reader(cost_jump=world.CostJump("drafts", jump, factor=8))
    [result] = _fired(monitors.check(reader, now=NOW), "cost_jump")
    assert result.subject == "feature 'drafts'"
    assert result.values["ratio"] >= 3
    assert result.since == dt.datetime.combine(jump.date(), dt.time(), dt.timezone.utc)
    assert "feature 'drafts' jumped to" in result.message and "the median of the 7 days before" in result.message
    # The filter finds the feature's requests, and only those.
    traces = reader.traces(result.filter, limit=None)
    assert len(traces) > 0 and set(traces["name"]) == {"drafts"}


def test_cost_jump_fires_on_a_step_whose_first_day_is_only_partly_dearer(world_reader):
    # A prompt change at 08:00 that stays: its first day is only partly dearer, and must not
    # raise the bar (cost per call) that the next, wholly dearer days are measured against.
    jump = dt.datetime.combine((NOW - 4 * DAY).date(), dt.time(8), dt.timezone.utc)
    reader = world_reader(cost_jump=world.CostJump("drafts", jump, factor=3))
    [result] = monitors.check(reader, [CostJump()], now=NOW).fired
    assert result.subject == "feature 'drafts'" and result.values["ratio"] >= 3


def test_cost_jump_by_hour_compares_the_same_hour(world_reader):
    jump = NOW - dt.timedelta(hours=30)
    reader = world_reader(days=10, per_hour=40, cost_jump=world.CostJump("search", jump, factor=10))
    results = monitors.check(reader, [CostJump(every="hour", min_increase=0.0)], now=NOW, window="3d")
    [result] = results.fired  # the other features' hours vary, but not beyond chance
    assert result.subject == "feature 'search'" and jump <= result.since <= jump + dt.timedelta(hours=3)
    assert "in the hour from" in result.message and "of the same hour on the 7 days before" in result.message
    assert result.ongoing


def test_cost_jump_without_a_baseline_stays_quiet(world_reader):
    # A feature new this week has no trailing median: a jump needs one.
    reader = world_reader(days=3)
    assert monitors.check(reader, [CostJump()], now=NOW).fired == []


def test_cost_budget_fires_per_day_over_budget(healthy):
    daily = monitors.check(healthy, [CostBudget(budget=0.0001)], now=NOW)
    [result] = daily.fired
    assert result.severity == "critical"
    assert "over the $0.0001 daily budget" in result.message
    assert result.values["buckets_over"] >= 14
    assert result.ongoing
    assert monitors.check(healthy, [CostBudget(budget=1000)], now=NOW).fired == []


def test_cost_budget_by_feature_names_each_feature(healthy):
    results = monitors.check(healthy, [CostBudget(budget=0.0001, by="feature", every="hour")], now=NOW)
    assert {r.subject for r in results.fired} == {"feature 'search'", "feature 'chat'", "feature 'drafts'"}
    assert all("hourly budget" in r.message for r in results.fired)


# Latency -----------------------------------------------------------------------------------


def test_latency_slo_fires_for_the_slow_model_only(world_reader):
    reader = world_reader(slow_model=SlowModel("claude-3-5-haiku-20241022", NOW - 5 * DAY))
    [result] = _fired(monitors.check(reader, now=NOW), "latency_slo")
    assert result.subject == "model 'claude-3-5-haiku-20241022'"
    assert result.values["peak_ms"] > 10_000
    assert result.since >= NOW - 6 * DAY
    assert result.filter == ("span_kind == 'LLM' and model_name == 'claude-3-5-haiku-20241022' "
                             "and latency_ms > 10000")
    slow = reader.spans(result.filter, start=result.window_start)
    assert len(slow) == result.values["slow_spans"] > 0
    assert (slow["latency_ms"] > 10_000).all()


def test_latency_slo_per_request_and_percentile(world_reader):
    reader = world_reader(slow_model=SlowModel("gpt-4o", NOW - 2 * DAY, share=0.2))
    rule = LatencySLO(name="requests_p95", level="traces", filter=None, by="name", percentile=95, slo_ms=5000)
    results = monitors.check(reader, [rule], now=NOW)
    assert {r.subject for r in results.fired} >= {"name 'search'"}
    assert all(r.message.startswith("p95 latency of name") for r in results.fired)
    assert "requests" in results.fired[0].message


def test_latency_needs_enough_spans_per_bucket(world_reader):
    reader = world_reader(slow_model=SlowModel("gpt-4o", NOW - 2 * DAY, share=0.2))
    assert monitors.check(reader, [LatencySLO(min_count=10_000)], now=NOW).fired == []


# Errors ------------------------------------------------------------------------------------


def test_error_rate_fires_on_a_burst(world_reader):
    start = NOW - 3 * DAY - dt.timedelta(hours=5)  # Friday, 10:00
    reader = world_reader(per_hour=20, error_burst=ErrorBurst("gpt-4o", start, start + dt.timedelta(hours=3)))
    [result] = _fired(monitors.check(reader, now=NOW), "error_rate")
    assert result.subject == "model 'gpt-4o'"
    assert start <= result.since < start + dt.timedelta(hours=3)
    assert result.until <= start + dt.timedelta(hours=4)
    assert not result.ongoing
    assert "over the 5.0% threshold" in result.message
    assert result.filter.endswith("model_name == 'gpt-4o' and status_code == 'ERROR'")
    errors = reader.spans(result.filter, start=start, end=start + dt.timedelta(hours=3))
    assert len(errors) > 10 and (errors["status_code"] == "ERROR").all()


def test_error_rate_jump_against_the_trailing_rate(world_reader):
    start = NOW - dt.timedelta(hours=5)  # Monday, 10:00
    reader = world_reader(per_hour=20, error_burst=ErrorBurst("gpt-4o", start, start + dt.timedelta(hours=4),
                                                             share=0.12))
    # The threshold is out of reach; only the jump over 3x the trailing rate can fire.
    [result] = monitors.check(reader, [ErrorRate(threshold=0.9)], now=NOW).fired
    assert "its trailing 7-day rate" in result.message
    assert result.values["baseline_rate"] < 0.02


def test_error_rate_by_request(world_reader):
    start = NOW - dt.timedelta(hours=8)
    reader = world_reader(per_hour=20, error_burst=ErrorBurst("gpt-4o", start, NOW, share=0.9))
    [result] = monitors.check(reader, [ErrorRate(level="traces", by="project", filter=None)], now=NOW).fired
    assert result.subject == "project 'assistant'"
    assert "requests" in result.message
    assert result.ongoing


def test_error_rate_leaves_not_found_and_deprecation_errors_to_the_deprecation_rule(world_reader):
    start = NOW - 3 * DAY - dt.timedelta(hours=5)
    gone = ErrorBurst("gpt-4o", start, start + dt.timedelta(hours=3), share=0.9, message=world.NOT_FOUND)
    reader = world_reader(per_hour=20, error_burst=gone)
    assert monitors.check(reader, [ErrorRate()], now=NOW).fired == []  # one retired model, one alert
    [counted] = monitors.check(reader, [ErrorRate(leave_deprecation_errors=False)], now=NOW).fired
    assert counted.subject == "model 'gpt-4o'" and "over the 5.0% threshold" in counted.message
    with pytest.raises(ConfigError):
        ErrorRate(leave_deprecation_errors="yes").validate()


# Evaluations -------------------------------------------------------------------------------


def test_eval_pass_rate_drop_fires(world_reader):
    reader = world_reader(feedback_share=0.6, feedback_drop=FeedbackDrop(NOW - 3 * DAY, thumbs_up=0.4))
    [result] = _fired(monitors.check(reader, now=NOW), "eval_pass_rate")
    assert result.subject == "evaluation 'user_feedback'"
    assert result.values["baseline_rate"] > 0.7 and result.values["worst_rate"] < 0.55
    assert result.since >= NOW - 4 * DAY
    assert result.filter == "annotations['user_feedback'].score < 0.5"
    assert reader.count_traces(result.filter) > 0


def test_eval_pass_rate_from_labels_and_a_floor(world_reader, tmp_path):
    reader = world_reader(feedback_share=0.6)
    # Labels only (no scores): a pass is a label in the pass set.
    traces = list(reader.spans(root_only=True, start=NOW - 2 * DAY, columns=["trace_id"])["trace_id"])
    reader.store.add_annotations([{"trace_id": t, "name": "tone", "label": "rude"} for t in traces])
    rule = EvalPassRate(names=["tone"], min_pass_rate=0.9, every="day")
    [result] = monitors.check(reader, [rule], now=NOW).fired
    assert "under the 90% floor" in result.message
    assert result.filter.startswith("annotations['tone'].label not in ['pass'")
    assert reader.count_traces(result.filter) == len(traces) > 50


def test_eval_pass_rate_without_evaluations(healthy):
    [result] = monitors.check(healthy, [EvalPassRate(names=["faithfulness"])], now=NOW)
    assert not result.fired and "No evaluations" in result.message


# Results -----------------------------------------------------------------------------------


def test_results_as_frame_and_json(world_reader):
    reader = world_reader(slow_model=SlowModel("gpt-4o", NOW - 5 * DAY))
    results = monitors.check(reader, now=NOW)
    frame = results.frame()
    assert list(frame.columns[:4]) == ["rule", "kind", "fired", "severity"]
    assert frame["fired"].iloc[0]  # fired first
    assert len(frame) == len(results)
    text = json.dumps(results.to_dicts())
    assert '"window_end": "2026-03-02T15:00:00Z"' in text
    assert "[WARNING] latency_slo" in str(results)
    assert "<table" in results._repr_html_()


def test_a_bad_filter_names_the_rule(healthy):
    with pytest.raises(ConfigError, match=r"The rule 'latency_slo' cannot run: .*latncy_ms"):
        monitors.check(healthy, [LatencySLO(filter="latncy_ms > 3")], now=NOW)


def test_an_empty_store_is_quiet(store):
    from workbench.query import Reader

    results = monitors.check(Reader(store), now=NOW)
    assert results.fired == [] and len(results) == 5
    assert "No calls stored yet." in [r.message for r in results]
