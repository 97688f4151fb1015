"""Experiments over Python tasks: traced runs, scores as annotations, retries, resuming."""

from __future__ import annotations

import json
import threading

import pytest

from tests.helpers import wait_for
from workbench.errors import ConfigError
from workbench.experiments import (
    Contains,
    ExactMatch,
    JsonSchema,
    Regex,
    create_dataset,
    function,
    load_experiment,
    run_experiment,
)
from workbench.read import Reader

SUMS = [{"example_id": f"e{n}", "input": f"{n}+{n}", "expected": str(2 * n)} for n in range(6)]


def add(input):
    a, b = input.split("+")
    return str(int(a) + int(b))


def test_each_run_is_a_trace_with_its_scores_as_annotations_on_its_span(store):
    create_dataset(store, "sums", SUMS, description="small sums")

    def sloppy(input):
        return "0" if input == "5+5" else add(input)

    exp = run_experiment(store, "sums", sloppy, [ExactMatch(), Regex(r"^\d+$")], name="sloppy", progress=False)
    assert exp.pass_rate == pytest.approx(5 / 6)
    assert list(exp.runs["exact_match"]) == [1, 1, 1, 1, 1, 0] and exp.runs["regex"].eq(1).all()
    summary = exp.summary().set_index("evaluator")
    assert summary.loc["exact_match", "pass_rate"] == pytest.approx(5 / 6) and summary.loc["regex", "pass_rate"] == 1
    reader = Reader(store, owns_store=False)
    spans = reader.spans("name == 'experiment.run'")
    assert len(spans) == 6 and set(spans["project"]) == {"experiments"}
    attributes = json.loads(spans["attributes"][0])
    assert attributes["workbench.experiment.name"] == "sloppy"
    assert attributes["workbench.dataset.name"] == "sums" and attributes["workbench.dataset.version"] == 1
    assert set(spans["trace_id"]) == set(exp.runs["trace_id"])
    notes = reader.annotations("exact_match")
    assert len(notes) == 6 and set(notes["span_id"]) == set(exp.runs["span_id"])
    assert set(notes["annotator"]) == {"experiment:sloppy"} and set(notes["annotator_kind"]) == {"CODE"}
    failed = notes[notes["score"] == 0]
    assert failed["explanation"].tolist() == ["differs from the expected output"]


def test_a_failing_task_is_retried_then_recorded_as_the_run_error(store):
    create_dataset(store, "sums", SUMS[:3])
    calls: dict[str, int] = {}
    lock = threading.Lock()

    def flaky(input):
        with lock:
            calls[input] = calls.get(input, 0) + 1
            n = calls[input]
        if input == "1+1" and n < 2:
            raise TimeoutError("slow upstream")
        if input == "2+2":
            raise ValueError("cannot add")
        return add(input)

    exp = run_experiment(store, "sums", flaky, [ExactMatch()], name="flaky", max_retries=2, backoff=0.01,
                         progress=False)
    runs = exp.runs.set_index("example_id")
    assert runs.loc["e1", "error"] is None and runs.loc["e1", "attempts"] == 2
    assert runs.loc["e2", "error"] == "ValueError: cannot add" and runs.loc["e2", "attempts"] == 3
    assert exp.pass_rate == pytest.approx(2 / 3) and exp.summary().set_index("evaluator").loc["all", "errors"] == 1
    errors = Reader(store, owns_store=False).spans("name == 'experiment.run' and status_code == 'ERROR'")
    assert len(errors) == 1 and "cannot add" in errors["status_message"][0]


def test_rerunning_the_same_name_resumes_after_an_interruption(store):
    create_dataset(store, "sums", SUMS)
    seen: list[str] = []
    gate = threading.Event()

    def interrupted(input):
        seen.append(input)
        if input == "3+3":
            gate.wait(10)
            raise KeyboardInterrupt  # as Ctrl-C arrives in the middle of a run
        return add(input)

    with pytest.raises(KeyboardInterrupt):
        threading.Timer(0.5, gate.set).start()
        run_experiment(store, "sums", interrupted, [ExactMatch()], name="resumable", concurrency=1, progress=False)
    kept = load_experiment(store, "resumable")
    stored = set(kept.runs["example_id"])
    assert {"e0", "e1", "e2"} <= stored and "e3" not in stored  # what finished was stored

    again: list[str] = []

    def counting(input):
        again.append(input)
        return add(input)

    done = run_experiment(store, "sums", counting, [ExactMatch()], name="resumable", progress=False)
    assert sorted(again) == sorted(e["input"] for e in SUMS if e["example_id"] not in stored)  # only the rest
    assert len(done.runs) == 6 and done.pass_rate == 1 and done.experiment_id == kept.experiment_id


def test_failed_runs_are_tried_again_on_resume_and_another_dataset_version_needs_another_name(store):
    data = create_dataset(store, "sums", SUMS[:2])
    first = run_experiment(store, data, lambda input: 1 / 0, name="x", max_retries=0, progress=False)
    assert first.runs["error"].notna().all() and first.pass_rate == 0
    second = run_experiment(store, data, add, name="x", progress=False)
    assert second.runs["error"].isna().all() and second.pass_rate == 1
    data.add([{"input": "9+9"}])
    with pytest.raises(ConfigError, match="ran on dataset 'sums' version 1, not 'sums' version 2"):
        run_experiment(store, "sums", add, name="x", progress=False)
    assert len(run_experiment(store, "sums@1", add, name="x", progress=False).runs) == 2


def test_evaluators_contains_json_schema_and_a_users_function(store):
    create_dataset(store, "json", [
        {"example_id": "ok", "input": "Paris", "expected": "paris"},
        {"example_id": "bad", "input": "Lyon", "expected": "paris"},
    ])

    def task(input):
        return json.dumps({"city": input, "population": 2_100_000 if input == "Paris" else "many"})

    @function
    def mentions_expected(output, expected):
        return {"score": float(expected in output.lower()), "explanation": "case-blind match"}

    schema = {"type": "object", "required": ["city", "population"],
              "properties": {"city": {"type": "string"}, "population": {"type": "integer"}}}
    exp = run_experiment(store, "json", task, [Contains(), JsonSchema(schema), mentions_expected,
                                               function(lambda output: len(output) < 10, name="short")],
                         name="cities", progress=False)
    runs = exp.runs.set_index("example_id")
    assert runs.loc["ok", "contains"] == 1 and runs.loc["bad", "contains"] == 0
    assert runs.loc["ok", "json_schema"] == 1 and runs.loc["bad", "json_schema"] == 0
    assert runs.loc["ok", "mentions_expected"] == 1 and runs.loc["ok", "short"] == 0
    why = exp.scores.set_index(["example_id", "name"]).loc[("bad", "json_schema"), "explanation"]
    assert "population" in why and "integer" in why


def test_an_evaluator_that_raises_is_recorded_and_the_others_still_score(store):
    create_dataset(store, "sums", SUMS[:2])

    def broken(output):
        raise RuntimeError("evaluator bug")

    exp = run_experiment(store, "sums", add, [function(broken), ExactMatch()], name="b", progress=False)
    scores = exp.scores.set_index(["example_id", "name"])
    assert scores.loc[("e0", "broken"), "label"] == "error"
    assert "RuntimeError: evaluator bug" in scores.loc[("e0", "broken"), "explanation"]
    assert scores.loc[("e0", "exact_match"), "score"] == 1


def test_wrong_arguments_get_clear_errors(store):
    create_dataset(store, "sums", SUMS[:1])
    with pytest.raises(ConfigError, match="no evaluator"):
        run_experiment(store, "sums", add, [lambda output: True], progress=False)
    with pytest.raises(ConfigError, match="named alike"):
        run_experiment(store, "sums", add, [ExactMatch(), ExactMatch()], progress=False)
    with pytest.raises(ConfigError, match="must be a function"):
        run_experiment(store, "sums", "add", progress=False)
    with pytest.raises(ConfigError, match="NAME@VERSION"):
        run_experiment(store, "sums@latest", add, progress=False)
    with pytest.raises(ConfigError, match="invalid"):
        Regex("(")
    with pytest.raises(ConfigError, match="repetition number is too large"):
        Regex("a{99999999999}")  # re raises OverflowError for it, not re.error


def test_the_progress_bar_counts_runs_and_failures(store, capsys):
    import io

    create_dataset(store, "sums", SUMS[:3])
    out = io.StringIO()
    run_experiment(store, "sums", lambda input: 1 / 0 if input == "1+1" else add(input), name="p", max_retries=0,
                   stream=out)
    wait_for(lambda: "3/3" in out.getvalue() or "3/3" in capsys.readouterr().err, timeout=5)


def test_a_python_tasks_traced_model_calls_give_its_runs_tokens_and_cost(store):
    import workbench

    provider = workbench.register(project_name="app", sink=store, set_global=False)

    def with_a_model_call(input):
        with workbench.span("llm", kind="LLM", tracer_provider=provider) as call:
            call.set_attributes({"llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": 1000,
                                 "llm.token_count.completion": 100})
        return add(input)

    create_dataset(store, "sums", SUMS[:2])
    exp = run_experiment(store, "sums", with_a_model_call, [ExactMatch()], name="nested", progress=False)
    provider.shutdown()
    assert exp.runs["error"].isna().all()
    assert list(exp.runs["total_tokens"]) == [1100, 1100] and list(exp.runs["prompt_tokens"]) == [1000, 1000]
    assert (exp.runs["cost"] > 0).all()
    llm = Reader(store, owns_store=False).spans("name == 'llm'", columns=["trace_id", "parent_span_id"])
    assert set(llm["trace_id"]) == set(exp.runs["trace_id"])  # nested under the run's span
    assert set(llm["parent_span_id"]) == set(exp.runs["span_id"])
    plain = run_experiment(store, "sums", add, name="plain", progress=False)
    assert plain.runs["total_tokens"].isna().all() and plain.runs["cost"].isna().all()


def test_an_async_task_is_awaited_and_gets_what_its_parameters_name(store):
    import asyncio

    create_dataset(store, "sums", [{**e, "metadata": {"offset": 1}} for e in SUMS[:3]])

    async def later(input, metadata):
        await asyncio.sleep(0.01)
        return str(int(add(input)) + metadata["offset"] - 1)

    exp = run_experiment(store, "sums", later, [ExactMatch()], name="async", progress=False)
    assert exp.runs["error"].isna().all() and exp.pass_rate == 1


def test_a_threshold_decides_a_numeric_evaluators_pass(store):
    create_dataset(store, "words", [{"input": "one two three", "example_id": "three"},
                                    {"input": "one two three four five six seven eight", "example_id": "eight"}])

    def length(output):
        return len(output.split()) / 10

    exp = run_experiment(store, "words", lambda input: input,
                         [function(length, name="default_bar"), function(length, name="high_bar", threshold=0.9)],
                         name="bars", progress=False)
    scores = exp.scores.set_index(["example_id", "name"])
    assert scores.loc[("eight", "default_bar"), "passed"] and not scores.loc[("eight", "high_bar"), "passed"]
    assert scores.loc[("eight", "high_bar"), "label"] == "fail"
    assert scores.loc[("eight", "high_bar"), "score"] == pytest.approx(0.8)
    assert not scores.loc[("three", "default_bar"), "passed"]
