"""The cost views: by dimension and time, burn rate, top traces and users, per request, trees."""

from __future__ import annotations

import json
import math

import pandas as pd
import pyarrow as pa
import pytest

from tests.helpers import make_span
from workbench.analysis import cost
from workbench.errors import FilterError, WorkbenchError
from workbench.model import SpanKind, TokenUsage

M = 1_000_000
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def _llm(trace: int, n: int, parent: int | None = 0, *, model: str = "gpt-4o-mini", tokens: int = M, **fields):
    # gpt-4o-mini: $0.15 in, $0.60 out, so `tokens` in and out cost 0.75 per million.
    return make_span(n, trace=trace, parent=parent, kind=SpanKind.LLM, model_name=model, provider="openai",
                     tokens=TokenUsage(prompt=tokens, completion=tokens, prompt_includes_cache=True), **fields)


def _root(trace: int, **fields):
    return make_span(0, trace=trace, kind=SpanKind.CHAIN, **fields)


def _meta(**values) -> dict:
    return {"metadata": json.dumps(values)}


@pytest.fixture
def app_spans(store):
    """Two features over three days; the drafts feature's calls get ten times bigger on day 3."""
    spans = []
    for day in range(3):
        for i in range(4):
            trace = day * 10 + i
            feature = "chat" if i < 2 else "drafts"
            size = M if feature == "chat" or day < 2 else 10 * M
            start = day * DAY_MS + i * HOUR_MS
            spans += [
                _root(trace, start_ms=start, user_id=f"user-{i % 3}", session_id=f"s-{trace}",
                      attributes=_meta(feature=feature)),
                _llm(trace, 1, start_ms=start + 10, tokens=size, prompt_template_version=f"v{day}"),
            ]
    store.write(spans)
    return spans


def test_cost_by_feature_per_day_shows_the_jump(reader, app_spans):
    frame = cost.cost_by(reader, by="feature", every="day")
    drafts = frame[frame["feature"] == "drafts"].set_index("bucket")["cost"]
    assert list(drafts) == pytest.approx([1.5, 1.5, 15.0])
    chat = frame[frame["feature"] == "chat"]["cost"]
    assert list(chat) == pytest.approx([1.5, 1.5, 1.5])
    assert str(frame["bucket"].dt.tz) == "UTC" and list(frame["bucket"].dt.hour.unique()) == [0]  # UTC days


def test_every_dimension_groups(reader, app_spans):
    assert list(cost.cost_by(reader, by="model")["model"]) == ["gpt-4o-mini"]
    assert list(cost.cost_by(reader, by="provider")["provider"]) == ["openai"]
    assert list(cost.cost_by(reader, by="project")["project"]) == ["test"]
    versions = cost.cost_by(reader, by="prompt_version").set_index("prompt_version")["cost"]
    assert versions.to_dict() == pytest.approx({"v0": 3.0, "v1": 3.0, "v2": 16.5})
    # user and session are on the root span only: each call takes its trace's.
    users = cost.cost_by(reader, by="user").set_index("user")
    assert set(users.index) == {"user-0", "user-1", "user-2"} and users["calls"].sum() == 12
    sessions = cost.cost_by(reader, by="session")
    assert len(sessions) == 12 and "(none)" not in set(sessions["session"])
    both = cost.cost_by(reader, by=["feature", "user"])
    assert set(both.columns) >= {"feature", "user"} and both["calls"].sum() == 12


def test_hourly_buckets_and_the_busiest_groups(reader, app_spans):
    hourly = cost.cost_by(reader, by=None, every="hour")
    assert len(hourly) == 12 and hourly["calls"].sum() == 12
    top = cost.cost_by(reader, by="session", max_groups=2)
    assert list(top["session"]) == ["s-22", "s-23", "other"]
    assert top["cost"].sum() == pytest.approx(cost.cost_by(reader, by=None)["cost"].sum())


def test_feature_keys(store, reader):
    store.write([
        _llm(0, 0, None, attributes=_meta(feature="from-metadata", team="a")),  # the default: metadata's feature
        _llm(1, 0, None, attributes={"feature": "plain"}),                      # else a feature attribute
        _root(2, attributes=_meta(feature="from-root")), _llm(2, 1),           # else the root's
        _llm(3, 0, None, attributes={"app.feature": "dotted", "context": {"feature": "nested"}},
             resource={"service.feature": "from-resource"}),
        _llm(4, 0, None, attributes={"metadata": "not json"}),                  # no feature, no error
    ])
    default = cost.cost_by(reader, by="feature").set_index("feature")["calls"].to_dict()
    assert default == {"from-metadata": 1, "plain": 1, "from-root": 1, "(none)": 2}
    assert "dotted" in set(cost.cost_by(reader, by="feature", feature_key="app.feature")["feature"])
    assert "nested" in set(cost.cost_by(reader, by="feature", feature_key="context.feature")["feature"])
    assert "from-resource" in set(cost.cost_by(reader, by="feature", feature_key="service.feature")["feature"])
    assert "a" in set(cost.cost_by(reader, by="feature", feature_key="metadata.team")["feature"])
    assert "a" in set(cost.request_costs(reader, by="feature", feature_key="metadata.team")["feature"])


def test_filters_choose_calls(reader, app_spans):
    total = cost.cost_by(reader, by=None)["cost"].iloc[0]
    assert total == pytest.approx(3.0 + 3.0 + 16.5)
    assert cost.cost_by(reader, "prompt_template_version == 'v2'", by=None)["cost"].iloc[0] == pytest.approx(16.5)
    first = app_spans[0].start_time_ns
    since_day_2 = pd.Timestamp(first + 2 * DAY_MS * 1_000_000, tz="UTC")
    assert cost.cost_by(reader, by=None, start=since_day_2)["calls"].iloc[0] == 4
    nothing = cost.cost_by(reader, by=None, project="elsewhere")  # a total over no calls: nothing spent
    assert (nothing["calls"].iloc[0], nothing["cost"].iloc[0]) == (0, 0)
    assert cost.cost_by(reader, by="model", project="elsewhere").empty
    assert isinstance(cost.cost_by(reader, by="model", arrow=True), pa.Table)


def test_burn_rate_fills_quiet_days_and_draws_the_budget(store, reader):
    store.write([_llm(0, 0, None, start_ms=0), _llm(1, 0, None, start_ms=3 * DAY_MS, tokens=4 * M)])
    burn = cost.burn_rate(reader, budget=2.0)
    assert list(burn["cost"]) == pytest.approx([0.75, 0.0, 0.0, 3.0])
    assert list(burn["calls"]) == [1, 0, 0, 1]
    assert list(burn["over_budget"]) == [False, False, False, True]
    assert burn["mean_7d"].iloc[-1] == pytest.approx(3.75 / 4)
    assert (burn["budget"] == 2.0).all()
    assert "budget" not in cost.burn_rate(reader).columns


def test_top_traces_and_users(reader, app_spans):
    top = cost.top_traces(reader, limit=3)
    assert list(top["cost"]) == pytest.approx([7.5, 7.5, 0.75])
    assert list(top["trace_id"][:2]) == [f"{23:032x}", f"{24:032x}"]
    assert set(top["name"]) == {"span-0"} and top["user_id"].notna().all()
    users = cost.top_users(reader, limit=2)
    # user-0 drew a chat and a drafts request each day, the last drafts one ten times the size.
    assert list(users["user"]) == ["user-0", "user-2"]
    assert users["requests"].iloc[0] == 6 and users["cost"].iloc[0] == pytest.approx(0.75 * 5 + 7.5)
    assert users["cost_per_request"].iloc[0] == pytest.approx(11.25 / 6)


def test_cost_per_request(store, reader, app_spans):
    store.write([_llm(99, 0, None, model="unknown-model")])
    overall = cost.cost_per_request(reader)
    assert overall["requests"].iloc[0] == 13 and overall["unknown"].iloc[0] == 1
    assert overall["p50"].iloc[0] == pytest.approx(0.75) and overall["max"].iloc[0] == pytest.approx(7.5)
    per_feature = cost.cost_per_request(reader, by="feature", quantiles=(0.9,)).set_index("feature")
    assert per_feature.loc["drafts", "total"] == pytest.approx(18.0) and "p90" in per_feature.columns
    rows = cost.request_costs(reader)
    assert len(rows) == 13 and rows["trace_id"].is_unique


def test_span_costs_roll_up_to_parents(store, reader):
    store.write([
        _root(0),
        make_span(1, parent=0, kind=SpanKind.AGENT),
        _llm(0, 2, parent=1),                                   # 0.75
        _llm(0, 3, parent=1, model="homegrown"),                # unpriced
        _llm(0, 4, parent=0, tokens=2 * M),                     # 1.50
        make_span(5, parent=0, kind=SpanKind.TOOL),
    ])
    tree = cost.span_costs(reader, f"{1:032x}").set_index("name")
    assert tree.loc["span-0", "subtree_cost"] == pytest.approx(2.25)
    assert tree.loc["span-0", "subtree_unpriced_calls"] == 1
    assert tree.loc["span-1", "subtree_cost"] == pytest.approx(0.75)
    assert math.isnan(tree.loc["span-3", "cost"]) and math.isnan(tree.loc["span-3", "subtree_cost"])
    assert tree.loc["span-5", "subtree_cost"] == 0 and math.isnan(tree.loc["span-5", "cost"])
    assert tree.loc["span-0", "subtree_tokens"] == 2 * M + 2 * M + 4 * M


def test_wrong_arguments_say_what_is_allowed(reader):
    with pytest.raises(FilterError, match="choose one of model, provider"):
        cost.cost_by(reader, by="colour")
    with pytest.raises(FilterError, match="use 'hour' or 'day'"):
        cost.cost_by(reader, every="week")
    with pytest.raises(FilterError, match="there is no field"):
        cost.cost_by(reader, "modle_name == 'x'")
    assert cost.unpriced_models(reader).empty and cost.top_users(reader).empty


def test_cost_change_finds_the_feature_whose_burn_jumped(reader, app_spans):
    change = cost.cost_change(reader).set_index("feature")
    # Three days: day 1 against day 3 (the middle day is left out).
    assert change.loc["drafts", "per_day_before"] == pytest.approx(1.5)
    assert change.loc["drafts", "per_day_after"] == pytest.approx(15.0)
    assert change.loc["drafts", "change"] == pytest.approx(9.0)
    assert change.loc["chat", "change"] == pytest.approx(0.0)
    assert change["share"].sum() == pytest.approx(1.0)
    assert list(change.index) == ["drafts", "chat"]  # costliest first
    with pytest.raises(FilterError, match="one dimension at a time"):
        cost.cost_change(reader, by=None)


def test_a_remote_reader_is_told_where_cost_views_run():
    from workbench.remote import RemoteReader

    with pytest.raises(WorkbenchError, match=r"run SQL over the store.*workbench\.snapshot\(wb, start=\"7d\"\)"):
        cost.cost_by(RemoteReader("http://127.0.0.1:9"))


def test_cost_views_over_a_snapshot_of_a_server(server, reader, app_spans):
    import workbench

    local_answer = cost.cost_by(reader, by="feature", every="day")
    assert len(local_answer) == 6
    with workbench.snapshot(workbench.open(server.url)) as local:
        pd.testing.assert_frame_equal(cost.cost_by(local, by="feature", every="day"), local_answer)
