"""Prompt tasks against a real HTTP server that speaks the OpenAI chat-completions API."""

from __future__ import annotations

import io
import json

import pytest

from workbench.errors import ConfigError
from workbench.experiments import Contains, PromptTask, create_dataset, estimate_cost, run_experiment
from workbench.read import Reader

QUESTIONS = [
    {"example_id": "refund", "input": {"question": "How do refunds work?", "tone": "brief"}, "expected": "refunds"},
    {"example_id": "reset", "input": {"question": "How do I reset my password?", "tone": "kind"},
     "expected": "password"},
]


def _task(standin, **kwargs):
    return PromptTask("Be {tone}. {question}", "gpt-4o-mini", system="You answer for {product}.",
                      base_url=standin.url, params={"temperature": 0.2, "max_tokens": 50}, backoff=0.01, **kwargs)


def _dataset(store):
    return create_dataset(store, "qa", [{**q, "metadata": {"product": "Lumen"}} for q in QUESTIONS])


@pytest.mark.parametrize("stream", [False, True])
def test_a_prompt_task_fills_the_template_records_an_llm_span_and_prices_the_call(store, standin, stream):
    _dataset(store)
    exp = run_experiment(store, "qa", _task(standin, stream=stream), [Contains()], name="prompt", progress=False)
    sent = standin.requests[0]
    assert sent["messages"] == [{"role": "system", "content": "You answer for Lumen."},
                                {"role": "user", "content": sent["messages"][1]["content"]}]
    assert {r["messages"][1]["content"] for r in standin.requests} == {
        "Be brief. How do refunds work?", "Be kind. How do I reset my password?"}
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 50 and sent.get("stream", False) is stream
    runs = exp.runs.set_index("example_id")
    assert runs.loc["refund", "output"] == "Answer: Be brief. How do refunds work?"
    assert exp.pass_rate == 1
    assert (runs["prompt_tokens"] > 0).all() and (runs["completion_tokens"] == 7).any()
    assert (runs["cost"] > 0).all()  # gpt-4o-mini is in the shipped price table
    reader = Reader(store, owns_store=False)
    llm = reader.spans("span_kind == 'LLM' and project == 'experiments'")
    assert len(llm) == 2 and set(llm["model_name"]) == {"gpt-4o-mini"}
    assert set(llm["trace_id"]) == set(exp.runs["trace_id"])
    assert (llm["prompt_tokens"] > 0).all() and (llm["cost"] > 0).all()
    messages = json.loads(llm["input_messages"][0])
    assert messages[0]["role"] == "system"
    params = json.loads(reader.sql("SELECT params FROM experiments")["params"][0])
    assert params["template"] == "Be {tone}. {question}" and params["model"] == "gpt-4o-mini"
    assert params["estimate"]["examples"] == 2


def test_rate_limits_and_server_errors_are_retried_honouring_retry_after(store, standin):
    _dataset(store)
    standin.script = ["429:0", "500"]
    exp = run_experiment(store, "qa", _task(standin), [Contains()], name="retried", concurrency=1, progress=False)
    assert exp.pass_rate == 1 and len(standin.requests) == 4
    assert exp.runs["error"].isna().all()


def test_a_refused_key_fails_the_runs_with_the_endpoints_message_and_a_rerun_completes(store, standin):
    _dataset(store)
    standin.script = ["401", "401"]
    failed = run_experiment(store, "qa", _task(standin), name="key", concurrency=1, progress=False)
    assert failed.runs["error"].str.contains("task endpoint .* answered 401: Incorrect API key provided").all()
    assert len(standin.requests) == 2  # a refused key is not worth a retry
    done = run_experiment(store, "qa", _task(standin), name="key", progress=False)
    assert done.runs["error"].isna().all()


def test_the_cost_is_estimated_before_anything_is_sent_and_max_cost_stops_the_run(store, standin):
    data = _dataset(store)
    estimate = estimate_cost(_task(standin), data.examples)
    assert estimate["examples"] == 2 and estimate["completion_tokens"] == 100 and estimate["cost"] > 0
    out = io.StringIO()
    with pytest.raises(ConfigError, match="over max_cost"):
        run_experiment(store, "qa", _task(standin), name="costly", max_cost=1e-9, stream=out)
    assert "Estimated cost of 2 calls to gpt-4o-mini: $" in out.getvalue()
    assert standin.requests == []
    unpriced = PromptTask("{question}", "my-local-model", base_url=standin.url)
    assert estimate_cost(unpriced, data.examples)["cost"] is None


def test_a_template_naming_a_missing_field_is_refused_before_anything_is_sent(store, standin):
    _dataset(store)
    task = PromptTask("{question} {colour}", "m", base_url=standin.url)
    with pytest.raises(ConfigError, match=r"\{colour\} is not a field of the example \(it has input, product"):
        run_experiment(store, "qa", task, name="missing", progress=False)
    assert standin.requests == []
    with pytest.raises(ConfigError, match="literal brace"):
        PromptTask("{question", "m", base_url=standin.url)
