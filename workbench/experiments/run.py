"""Running an experiment: a dataset version through a task, each run traced and scored.

::

    from workbench.experiments import ExactMatch, run_experiment

    exp = run_experiment(wb, "refunds", answer, [ExactMatch()], name="answer-v2")
    exp.summary()

Each example's run is a trace in the same store (project ``experiments`` unless told): a
CHAIN span ``experiment.run`` with the example's input and the task's output, attributes
``workbench.experiment.id``, ``workbench.experiment.name``, ``workbench.dataset.name``,
``workbench.dataset.version`` and ``workbench.example.id``, and a link to the span the
example came from. A prompt task's call is an LLM span under it (model, messages, tokens), so
the cost and latency views see experiments as they see production.

Runs are stored as they finish (``experiment_runs``); the evaluators' scores are annotations on
the run's span. Running the same experiment name again resumes it: examples whose run
succeeded are skipped, failed ones are tried again. An interrupted run (Ctrl-C) keeps what
finished.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TextIO

from opentelemetry.trace import Link, SpanContext, Status, StatusCode, TraceFlags

from workbench.errors import ConfigError
from workbench.evals.judge import JudgeError
from workbench.evals.progress import Progress
from workbench.experiments.datasets import Dataset, as_dataset
from workbench.experiments.evaluators import Evaluator
from workbench.experiments.record import Experiment, load_experiment
from workbench.experiments.tasks import PromptTask, TaskOutput, call_with, describe, estimate_cost
from workbench.experiments.where import opened, store_of
from workbench.pricing.money import usd
from workbench.read import Reader
from workbench.read import experiments as q
from workbench.store import experiments as units

__all__ = ["run_experiment"]

_PROJECT = "experiments"
_STORE_EVERY_S = 0.25  # finished runs are stored in batches at most this far apart


def run_experiment(
    where: Any,
    dataset: Dataset | str,
    task: Callable[..., Any],
    evaluators: Sequence[Evaluator] = (),
    *,
    name: str | None = None,
    project: str = _PROJECT,
    concurrency: int = 4,
    max_retries: int = 2,
    backoff: float = 1.0,
    max_cost: float | None = None,
    params: Mapping[str, Any] | None = None,
    progress: bool = True,
    stream: TextIO | None = None,
) -> Experiment:
    """Run every example of ``dataset`` through ``task``, score it, and store it all.

    Args:
        where: The store (a writable reader, a Store, a path; see :mod:`workbench.experiments.where`).
        dataset: A :class:`Dataset`, or a dataset's name (its latest version) or ``NAME@VERSION``.
        task: A Python callable or a :class:`~workbench.experiments.PromptTask` (see
            :mod:`workbench.experiments.tasks`).
        evaluators: Evaluators scoring each output (see :mod:`workbench.experiments.evaluators`).
        name: The experiment's name; running a name again resumes that experiment. Default:
            the dataset, the task and the time.
        project: The project the runs' traces belong to.
        concurrency: Examples run at once (threads).
        max_retries: Retries of an example whose task raised (after ``backoff`` seconds, doubled
            each time). A prompt task retries its endpoint's rate limits and server errors itself
            (honouring Retry-After), and is not retried again here.
        max_cost: For a prompt task: refuse to start when the estimated cost in USD is higher.
        params: Anything else to record with the experiment (a git commit, a note ...).
        progress: Show a progress bar (and a prompt task's cost estimate) on ``stream``.
        stream: Where to draw the progress bar (default stderr).

    Returns:
        The :class:`Experiment`, with its runs and scores.

    Raises:
        ConfigError: The name belongs to an experiment of another dataset version, the
            estimate is over ``max_cost``, or an argument is wrong.
    """
    if not callable(task):
        raise ConfigError(f"The task must be a function or a PromptTask, not {type(task).__name__}.")
    if concurrency < 1:
        raise ConfigError(f"concurrency={concurrency} must be 1 or more.")
    for evaluator in evaluators:
        if not isinstance(evaluator, Evaluator):
            raise ConfigError(
                f"{evaluator!r} is no evaluator (it needs name, annotator_kind and evaluate()); wrap a "
                "function with workbench.experiments.function."
            )
    names = [e.name for e in evaluators]
    if len(set(names)) != len(names):
        raise ConfigError(f"Two evaluators are named alike ({', '.join(names)}); give each its own name=.")
    out = stream or sys.stderr
    with opened(where, write=True) as reader:
        data = as_dataset(reader, dataset)
        stamp = dt.datetime.now(dt.timezone.utc)
        name = name or f"{data.name}-{describe(task).rsplit(':', 1)[-1]}-{stamp:%Y%m%d-%H%M%S}"
        found = q.experiment_row(reader, name)
        done = set() if found is None or found["name"] != name else {
            r["example_id"] for r in q.experiment_runs(reader, str(found["experiment_id"])).to_pylist()
            if r["error"] is None
        }
        todo = [e for e in data.examples.to_dict(orient="records") if e["example_id"] not in done]
        estimate = None
        if isinstance(task, PromptTask):  # what is left to run: all of it, unless resuming
            estimate = estimate_cost(task, data.examples[~data.examples["example_id"].isin(done)])
            if progress:
                cost = usd(estimate["cost"], missing="unknown (the model has no price)")
                calls = f"{estimate['examples']} call{'' if estimate['examples'] == 1 else 's'}"
                out.write(f"Estimated cost of {calls} to {task.model}: {cost} "
                          f"(about {estimate['prompt_tokens']} prompt and {estimate['completion_tokens']} "
                          "output tokens at most)\n")
            if max_cost is not None and estimate["cost"] is not None and estimate["cost"] > max_cost:
                raise ConfigError(
                    f"The estimated cost, {usd(estimate['cost'])}, is over max_cost={usd(max_cost)}; raise "
                    "max_cost or run a smaller dataset."
                )
        experiment_id = _experiment(reader, name, data, task, evaluators, project, stamp, params, estimate)
        context = _Context(experiment_id, name, data, task, list(evaluators), max_retries, backoff)
        with _tracer(reader, project) as tracer, Progress(len(todo), f"experiment {name}", enabled=progress,
                                                          stream=out) as bar:
            context.tracer = tracer
            _run_all(reader, context, todo, concurrency, bar)
        if not isinstance(task, PromptTask):
            _usage_from_traces(reader, experiment_id)
    return load_experiment(where, experiment_id)


def _usage_from_traces(reader: Reader, experiment_id: str) -> None:
    """A Python task's tokens and cost: its trace's totals, when the model calls it made were
    traced into this store (under the run's span), and the task reported none itself."""
    runs = [r for r in q.experiment_runs(reader, experiment_id).to_pylist()
            if r["total_tokens"] is None and r["cost"] is None and r["trace_id"]]
    if not runs:
        return
    totals: dict[str, dict[str, Any]] = {}
    for begin in range(0, len(runs), 500):
        ids = [r["trace_id"] for r in runs[begin:begin + 500]]
        found = reader.traces("trace_id in [" + ", ".join(repr(i) for i in ids) + "]", limit=None,
                              arrow=True).to_pylist()
        totals.update({t["trace_id"]: t for t in found if t["llm_count"]})
    usage = [{"example_id": r["example_id"], **{k: totals[r["trace_id"]][k] for k in
              ("prompt_tokens", "completion_tokens", "total_tokens", "cost")}}
             for r in runs if r["trace_id"] in totals]
    if usage:
        store_of(reader).execute_write(units.set_run_usage(experiment_id, usage))


def _experiment(reader: Reader, name: str, data: Dataset, task: Any, evaluators: Sequence[Evaluator], project: str,
                stamp: dt.datetime, params: Mapping[str, Any] | None, estimate: Any) -> str:
    found = q.experiment_row(reader, name)
    if found is not None and found["name"] == name:
        if (found["dataset"], found["dataset_version"]) != (data.name, data.version):
            raise ConfigError(
                f"The experiment {name!r} ran on dataset {found['dataset']!r} version {found['dataset_version']}, "
                f"not {data.name!r} version {data.version}; give this run another name."
            )
        return str(found["experiment_id"])
    described = task.describe() if isinstance(task, PromptTask) else {}
    row = {
        "experiment_id": uuid.uuid4().hex, "name": name, "dataset": data.name, "dataset_version": data.version,
        "task": describe(task), "project": project, "created_at": stamp,
        "params": json.dumps({**described, "evaluators": [e.name for e in evaluators], "estimate": estimate,
                              **dict(params or {})}, default=str, ensure_ascii=False),
    }
    return str(store_of(reader).execute_write(units.add_experiment(row)))


class _Context:
    """What every run of one experiment shares."""

    def __init__(self, experiment_id: str, name: str, data: Dataset, task: Any, evaluators: list[Evaluator],
                 max_retries: int, backoff: float) -> None:
        self.experiment_id = experiment_id
        self.name = name
        self.data = data
        self.task = task
        self.evaluators = evaluators
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.tracer: Any = None
        self.stopping = threading.Event()


@contextmanager
def _tracer(reader: Reader, project: str) -> Iterator[Any]:
    from workbench.instrument import register

    provider = register(project_name=project, sink=store_of(reader), set_global=False)
    try:
        yield provider.get_tracer("workbench.experiments")
    finally:
        provider.force_flush()
        provider.shutdown()


def _link(example: Mapping[str, Any]) -> list[Link]:
    trace_id, span_id = example.get("source_trace_id"), example.get("source_span_id")
    try:
        context = SpanContext(int(str(trace_id), 16), int(str(span_id), 16), is_remote=True,
                              trace_flags=TraceFlags(TraceFlags.SAMPLED))
    except (TypeError, ValueError):
        return []
    return [Link(context, {"workbench.link": "dataset example source"})] if context.is_valid else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _run_one(context: _Context, example: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run one example (with retries), score it; the run row and its annotations."""
    tracer = context.tracer
    data = context.data
    attributes = {
        "openinference.span.kind": "CHAIN",
        "input.value": _text(example["input"]),
        "input.mime_type": "text/plain" if isinstance(example["input"], str) else "application/json",
        "workbench.experiment.id": context.experiment_id,
        "workbench.experiment.name": context.name,
        "workbench.dataset.name": data.name,
        "workbench.dataset.version": data.version,
        "workbench.example.id": str(example["example_id"]),
    }
    started = dt.datetime.now(dt.timezone.utc)
    began = time.perf_counter()
    output: Any = None
    error: str | None = None
    attempts = 0
    with tracer.start_as_current_span("experiment.run", attributes=attributes, links=_link(example)) as span:
        while True:
            attempts += 1
            try:
                result = _call(context, example)
                error = None
                break
            except Exception as exc:  # noqa: BLE001 - the user's task: any failure is the run's error
                error = f"{type(exc).__name__}: {exc}"
                result = None
                # A prompt task's endpoint errors were retried already, as far as retrying helps.
                retried = isinstance(exc, JudgeError) and isinstance(context.task, PromptTask)
                if attempts > context.max_retries or context.stopping.is_set() or retried:
                    span.record_exception(exc)
                    break
                time.sleep(context.backoff * 2 ** (attempts - 1))
        latency_ms = (time.perf_counter() - began) * 1000
        usage = result if isinstance(result, TaskOutput) else None
        output = usage.output if usage is not None else result
        if error is None:
            span.set_attribute("output.value", _text(output))
            span.set_attribute("output.mime_type", "text/plain" if isinstance(output, str) else "application/json")
            span.set_status(Status(StatusCode.OK))
        else:
            span.set_status(Status(StatusCode.ERROR, error[:500]))
        context_ids = span.get_span_context()
    trace_id, span_id = f"{context_ids.trace_id:032x}", f"{context_ids.span_id:016x}"
    prompt = usage.prompt_tokens if usage else None
    completion = usage.completion_tokens if usage else None
    run = {
        "example_id": str(example["example_id"]),
        "output": None if error is not None else json.dumps(output, ensure_ascii=False, default=str),
        "error": error, "latency_ms": latency_ms, "prompt_tokens": prompt, "completion_tokens": completion,
        "total_tokens": None if prompt is None and completion is None else (prompt or 0) + (completion or 0),
        "cost": usage.cost if usage else None, "trace_id": trace_id, "span_id": span_id, "started_at": started,
        "attempts": attempts,
    }
    notes = [] if error is not None else _scores(context, example, output, trace_id, span_id)
    return run, notes


def _call(context: _Context, example: dict[str, Any]) -> Any:
    task = context.task
    if not isinstance(task, PromptTask):
        return call_with(task, example)
    with context.tracer.start_as_current_span("llm", attributes={
        "openinference.span.kind": "LLM", "llm.model_name": task.model,
        "llm.invocation_parameters": json.dumps(task.params, default=str),
    }) as llm:
        messages = task.messages(example["input"], example.get("metadata"))
        for n, message in enumerate(messages):
            llm.set_attribute(f"llm.input_messages.{n}.message.role", message["role"])
            llm.set_attribute(f"llm.input_messages.{n}.message.content", message["content"])
        llm.set_attribute("input.value", messages[-1]["content"])
        result = task(example["input"], example.get("metadata"))
        text = result.output if isinstance(result.output, str) else _text(result.output)
        llm.set_attribute("output.value", text)
        llm.set_attribute("llm.output_messages.0.message.role", "assistant")
        llm.set_attribute("llm.output_messages.0.message.content", text)
        if result.provider:
            llm.set_attribute("llm.provider", result.provider)
        for key, value in (("prompt", result.prompt_tokens), ("completion", result.completion_tokens)):
            if value is not None:
                llm.set_attribute(f"llm.token_count.{key}", int(value))
        if result.prompt_tokens is not None or result.completion_tokens is not None:
            total = (result.prompt_tokens or 0) + (result.completion_tokens or 0)
            llm.set_attribute("llm.token_count.total", int(total))
        return result


def _scores(context: _Context, example: Mapping[str, Any], output: Any, trace_id: str,
            span_id: str) -> list[dict[str, Any]]:
    notes = []
    now = dt.datetime.now(dt.timezone.utc)
    for evaluator in context.evaluators:
        try:
            score = evaluator.evaluate(example["input"], output, example.get("expected"),
                                       example.get("metadata") or {})
        except Exception as exc:  # noqa: BLE001 - a user's evaluator or a judge: record, keep going
            score = None
            explanation: str | None = f"the evaluator failed: {type(exc).__name__}: {exc}"
            notes.append(_note(context, evaluator, example, trace_id, span_id, now, None, "error", explanation))
            continue
        if score is None:
            continue
        notes.append(_note(context, evaluator, example, trace_id, span_id, now, score.score, score.label,
                           score.explanation))
    return notes


def _note(context: _Context, evaluator: Evaluator, example: Mapping[str, Any], trace_id: str, span_id: str,
          now: dt.datetime, score: float | None, label: str | None, explanation: str | None) -> dict[str, Any]:
    return {
        "annotation_id": uuid.uuid4().hex, "target": "span", "trace_id": trace_id, "span_id": span_id,
        "name": evaluator.name, "score": score, "label": label, "explanation": explanation,
        "annotator_kind": evaluator.annotator_kind, "annotator": f"experiment:{context.name}", "created_at": now,
        "metadata": json.dumps({"experiment_id": context.experiment_id, "example_id": str(example["example_id"])}),
    }


def _store_runs(reader: Reader, context: _Context, results: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
    if not results:
        return
    store = store_of(reader)
    store.execute_write(units.put_runs(context.experiment_id, [run for run, _ in results]))
    notes = [note for _, mine in results for note in mine]
    if notes:
        store.add_annotations(notes, annotator_kind="CODE")


def _run_all(reader: Reader, context: _Context, todo: list[dict[str, Any]], concurrency: int, bar: Progress) -> None:
    """Run the examples on a pool; store the finished ones at most every ``_STORE_EVERY_S`` (and
    whatever finished when the run ends or is interrupted), so a rerun resumes after them."""
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="workbench-experiment")
    pending: set[Future[Any]] = set()
    queue = iter(todo)
    finished_runs: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    stored_at = time.monotonic()
    try:
        for example in queue:
            pending.add(pool.submit(_run_one, context, example))
            if len(pending) >= concurrency * 2:
                break
        while pending:
            finished, pending = wait(pending, timeout=_STORE_EVERY_S, return_when=FIRST_COMPLETED)
            for future in finished:
                finished_runs.append(future.result())
                bar.update(finished_runs[-1][0]["error"] is None)
                nxt = next(queue, None)
                if nxt is not None:
                    pending.add(pool.submit(_run_one, context, nxt))
            if finished_runs and (not pending or time.monotonic() - stored_at >= _STORE_EVERY_S):
                _store_runs(reader, context, finished_runs)
                finished_runs, stored_at = [], time.monotonic()
    except BaseException:
        context.stopping.set()  # interrupted: what finished is stored; a rerun resumes
        _store_runs(reader, context, finished_runs)
        pool.shutdown(wait=False, cancel_futures=True)  # runs under way finish on their own
        raise
    pool.shutdown(wait=True)
