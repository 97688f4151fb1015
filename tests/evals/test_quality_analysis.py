"""The quality read functions: pass rates by prompt version, model and feature, over time;
score distributions; feedback rate; worst traces."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from tests.helpers import make_span
from workbench.analysis.quality import (
    annotation_names,
    feedback_rate,
    pass_rates,
    quality_facts,
    quality_over_time,
    quality_summary,
    score_distribution,
    trace_annotations,
    worst_traces,
)
from workbench.errors import FilterError
from workbench.evals import log_annotations
from workbench.model import SpanKind
from workbench.query import Reader

DAY_MS = 86_400_000


@pytest.fixture
def story(store):
    """Twelve traces over four days: v1 of the prompt on days 0-1, v2 on days 2-3. Thumbs up on
    every v1 trace with feedback, down on three of four v2 ones; faithfulness scores on roots;
    one feature, 'billing', has its own model; trace 11 gets no feedback."""
    spans, feedback, faithfulness = [], [], []
    for t in range(12):
        day = t // 3
        version = "v1" if day < 2 else "v2"
        feature = "billing" if t % 3 == 2 else "chat"
        spans.append(make_span(0, trace=t, kind=SpanKind.CHAIN, name=feature, start_ms=day * DAY_MS + t,
                               input_value=f"question {t}", attributes={"metadata": json.dumps({"feature": feature})}))
        spans.append(make_span(1, trace=t, parent=0, kind=SpanKind.LLM, name="llm", start_ms=day * DAY_MS + t + 1,
                               model_name="small" if feature == "billing" else "large",
                               prompt_template_version=version))
        trace_id = f"{t + 1:032x}"
        if t != 11:
            up = version == "v1" or t == 6
            feedback.append({"trace_id": trace_id, "label": "thumbs_up" if up else "thumbs_down",
                             "score": 1.0 if up else 0.0, "explanation": None if up else f"bad answer {t}"})
        faithfulness.append({"span_id": f"{(t << 16) + 1:016x}", "trace_id": trace_id,
                             "score": 0.9 if version == "v1" else 0.3 + t / 100})
    store.write(spans)
    log_annotations(store, feedback, name="user_feedback")
    log_annotations(store, faithfulness, name="faithfulness", annotator_kind="LLM", annotator="llm:judge")
    return Reader(store)


def test_facts_carry_what_each_annotation_is_about(story):
    facts = quality_facts(story, "user_feedback").set_index("trace_id")
    first = facts.loc[f"{1:032x}"]
    grouped_by = (first["model"], first["prompt_version"], first["feature"], first["project"])
    assert grouped_by == ("large", "v1", "chat", "test")
    assert first["passed"] is True and first["time"] == pd.Timestamp("2025-11-23T08:00:00.000Z")
    assert facts.loc[f"{3:032x}", "model"] == "small" and facts.loc[f"{3:032x}", "feature"] == "billing"
    assert len(quality_facts(story, filter="model_name == 'small'")) == 7  # 4 billing traces, 3 with feedback


def test_pass_rates_by_prompt_version_tell_the_story(story):
    rates = pass_rates(story, "user_feedback").set_index("group")
    assert rates.loc["v1", "pass_rate"] == 1.0 and rates.loc["v2", "pass_rate"] == 0.2
    assert list(rates["count"]) == [6, 5] and list(rates["judged"]) == [6, 5]
    by_model = pass_rates(story, "faithfulness", by="model", threshold=0.5).set_index("group")
    assert by_model.loc["small", "count"] == 4 and by_model.loc["small", "pass_rate"] == 0.5
    assert pass_rates(story, "user_feedback", by="none")["pass_rate"].iloc[0] == pytest.approx(7 / 11)
    with pytest.raises(FilterError, match="Cannot group quality by 'colour'"):
        pass_rates(story, "user_feedback", by="colour")


def test_quality_over_time_shows_the_day_it_changed(story):
    daily = quality_over_time(story, "user_feedback", width=dt.timedelta(days=1))
    assert list(daily["pass_rate"]) == [1.0, 1.0, pytest.approx(1 / 3), 0.0]
    assert list(daily["bucket"].dt.day) == [23, 24, 25, 26]
    split = quality_over_time(story, "faithfulness", by="prompt_version", width=dt.timedelta(days=1))
    assert list(zip(split["group"], split["mean_score"].round(3))) == [("v1", 0.9), ("v1", 0.9), ("v2", 0.37),
                                                                       ("v2", 0.4)]


def test_score_distribution(story):
    bins = score_distribution(story, "faithfulness", bins=5)
    assert list(bins["bin_start"].round(2)) == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert list(bins["count"]) == [0, 5, 1, 0, 6]
    by_version = score_distribution(story, "faithfulness", bins=2, by="prompt_version")
    assert list(zip(by_version["group"], by_version["count"])) == [("v1", 0), ("v1", 6), ("v2", 6), ("v2", 0)]


def test_feedback_rate_by_feature(story):
    rates = feedback_rate(story, by="feature").set_index("group")
    assert (rates.loc["billing", "traces"], rates.loc["billing", "with_feedback"]) == (4, 3)
    assert rates.loc["chat", "feedback_rate"] == 1.0 and rates.loc["chat", "positive_rate"] == 5 / 8
    overall = feedback_rate(story).iloc[0]
    assert (overall["traces"], overall["with_feedback"], overall["positive"]) == (12, 11, 7)


def test_worst_traces_come_first_with_why(story):
    worst = worst_traces(story, limit=3)
    assert list(worst["failed"]) == [2, 2, 2]
    assert list(worst["mean_score"].round(3)) == [0.185, 0.19, 0.195]  # trace 7: (0 + 0.37) / 2 ...
    first = worst.iloc[0]
    assert first["worst"] == "user_feedback: thumbs_down" and first["explanation"] == "bad answer 7"
    assert first["input"] == "question 7" and first["prompt_version"] == "v2"


def test_summary_and_names(story):
    summary = quality_summary(story).set_index("name")
    assert summary.loc["faithfulness", "count"] == 12
    assert summary.loc["user_feedback", "pass_rate"] == pytest.approx(7 / 11)
    names = annotation_names(story)
    assert list(names["name"]) == ["faithfulness", "user_feedback"] and list(names["kinds"].iloc[0]) == ["LLM"]


def test_trace_annotations_summarise_a_page_of_traces(story):
    rows = trace_annotations(story, [f"{1:032x}", f"{8:032x}", f"{12:032x}", "ff" * 16]).set_index("trace_id")
    assert list(rows.index) == [f"{1:032x}", f"{8:032x}", f"{12:032x}"]
    assert rows.loc[f"{8:032x}", "feedback"] == "thumbs_down" and rows.loc[f"{8:032x}", "failed"] == 2
    assert pd.isna(rows.loc[f"{12:032x}", "feedback"]) and rows.loc[f"{12:032x}", "annotations"] == 1
    assert rows.loc[f"{1:032x}", "scores"] == {"faithfulness": 0.9, "user_feedback": 1.0}
