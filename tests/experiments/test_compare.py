"""Comparing experiments example by example, and an experiment against production."""

from __future__ import annotations

import pytest

from tests.experiments.conftest import root
from workbench.errors import ConfigError
from workbench.experiments import (
    PRODUCTION,
    Contains,
    ExactMatch,
    TaskOutput,
    assert_pass_rate,
    compare,
    from_spans,
    run_experiment,
    word_diff,
)


def test_two_experiments_side_by_side_with_diffs_and_deltas(wb):
    from_spans(wb, "qa", [root(0), root(1), root(2)], expected_from=("correction", "user_feedback"))

    def v1(input):
        return TaskOutput("Please contact sales.", prompt_tokens=100, completion_tokens=10, cost=0.002)

    def v2(input):
        answer = {"How do refunds work?": "Refunds for annual plans are prorated to the day.",
                  "How do I reset my password?": "Open Settings, then Security, then Reset password."}
        return TaskOutput(answer.get(input, "Paris"), prompt_tokens=120, completion_tokens=30, cost=0.003)

    run_experiment(wb, "qa", v1, [ExactMatch()], name="v1", progress=False)
    run_experiment(wb, "qa", v2, [ExactMatch()], name="v2", progress=False)
    cmp = compare(wb, "v1", "v2")
    rows = cmp.examples.set_index("example_id")
    assert list(rows.index) == [root(0), root(1), root(2)]
    assert rows.loc[root(1), "output[v1]"] == "Please contact sales."
    assert rows.loc[root(1), "output[v2]"] == "Open Settings, then Security, then Reset password."
    assert rows.loc[root(0), "exact_match[v1]"] == 0 and rows.loc[root(0), "exact_match[v2]"] == 1
    assert rows.loc[root(0), "exact_match_delta[v2]"] == 1
    assert rows.loc[root(0), "total_tokens_delta[v2]"] == 40
    assert rows.loc[root(0), "cost_delta[v2]"] == pytest.approx(0.001)
    assert rows.loc[root(2), "diff[v2]"] == "[-Please contact sales.-]{+Paris+}"
    summary = cmp.summary().set_index("experiment")
    assert summary.loc["v1", "pass_rate"] == pytest.approx(1 / 3)  # no expected output for trace 2: not scored
    assert summary.loc["v2", "pass_rate"] == 1
    assert summary.loc["v2", "improved"] == 2 and summary.loc["v2", "regressed"] == 0
    assert summary.loc["v2", "cost"] == pytest.approx(0.009)


def test_an_experiment_against_the_production_spans_its_dataset_came_from(wb):
    from_spans(wb, "qa", [root(0), root(1)])
    run_experiment(wb, "qa", lambda input: "I do not know.", [Contains("know")], name="candidate", progress=False)
    cmp = compare(wb, "candidate", PRODUCTION)
    rows = cmp.examples.set_index("example_id")
    assert rows.loc[root(1), "output[production]"] == "Contact sales."
    assert rows.loc[root(1), "latency_ms[production]"] == pytest.approx(900)
    assert rows.loc[root(1), "total_tokens[production]"] == 120  # the whole trace's tokens
    assert rows.loc[root(1), "cost[production]"] > 0
    assert rows.loc[root(1), "user_feedback[production]"] == 0  # production's own annotations
    assert not rows.loc[root(1), "passed[production]"] and rows.loc[root(0), "passed[production]"]
    assert cmp.names == ["candidate", "production"]
    by_hand = compare(wb, PRODUCTION, "candidate")  # production first: still the experiment's dataset
    assert by_hand.names == ["candidate", "production"]


def test_comparing_needs_two_different_experiments_and_production_needs_traced_examples(store):
    from workbench.experiments import create_dataset

    create_dataset(store, "qa", ["q"])
    run_experiment(store, "qa", lambda input: "a", name="one", progress=False)
    with pytest.raises(ConfigError, match="two or more"):
        compare(store, "one")
    with pytest.raises(ConfigError, match="given twice"):
        compare(store, "one", "one")
    with pytest.raises(ConfigError, match="came from no spans"):
        compare(store, "one", PRODUCTION)


def test_assert_pass_rate_fails_with_the_summary_and_the_failing_examples(store):
    from workbench.experiments import create_dataset

    create_dataset(store, "sums", [{"input": "1+1", "expected": "2", "example_id": "one"},
                                   {"input": "2+2", "expected": "4", "example_id": "two"}])
    exp = run_experiment(store, "sums", lambda input: "2", [ExactMatch()], name="twos", progress=False)
    assert assert_pass_rate(exp, 0.5) == 0.5
    with pytest.raises(AssertionError) as failed:
        assert_pass_rate(exp, 0.8)
    message = str(failed.value)
    assert "pass rate 50% is under 80%" in message and "exact_match" in message
    assert "two: '2+2' -> '2' (exact_match: differs from the expected output)" in message
    with pytest.raises(ConfigError, match="No evaluator 'contains'"):
        assert_pass_rate(exp, 0.5, evaluator="contains")


def test_word_diff_marks_what_changed():
    assert word_diff("the cat sat", "the dog sat") == "the [-cat-]{+dog+} sat"
    assert word_diff(None, {"a": 1}) == '{+{"a": 1}+}'
