"""Running evaluators over stored spans and writing what the judges say as annotations.

:func:`run_evals` chooses traces with the usual filter (a trace is in when any of its spans
matches, as in :meth:`Reader.traces`, newest first, at most ``limit``), lets each evaluator
pick its spans in them (retrievers, roots ... see :mod:`workbench.evals.evaluators`), asks the
judge, and writes one annotation per verdict, in batches as it goes, so an interrupted run
keeps what it finished. Spans a judge of the same name has already annotated are skipped
unless ``skip_existing=False``, so a nightly run judges only what is new.

A task that fails (the endpoint gave up after its retries, or answered nonsense) is counted
and the run goes on; if the first five tasks all fail, or every task of a smaller run fails,
the run stops with the judge's error, since nothing will work (a wrong URL, key or model).
A run where some tasks fail returns normally with :attr:`EvalRun.failed` counted.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from workbench.errors import ConfigError
from workbench.evals.annotate import open_sink
from workbench.evals.evaluators import Evaluator, Target
from workbench.evals.judge import JudgeError, Task, Verdict
from workbench.evals.outcome import passed
from workbench.evals.progress import Progress
from workbench.evals.records import build_records, corpus_vectors

__all__ = ["EvalRun", "run_evals"]

_FAIL_FAST = 5
_RESULT_COLUMNS = [
    "evaluator", "name", "target", "trace_id", "span_id", "document_position", "score", "label", "explanation",
    "annotator_kind", "annotator", "metadata",
]


@dataclass
class EvalRun:
    """What a run did.

    Attributes:
        annotations: One row per verdict: the annotation written (or, with ``write=False``,
            that would have been), with the evaluator's class name.
        skipped: Evaluator annotation name -> reason -> spans skipped for it.
        failed: Tasks the judge could not answer.
        errors: The distinct failure messages (the first ten).
        written: Annotations written to the store.
    """

    annotations: pd.DataFrame
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    written: int = 0

    @property
    def complete(self) -> bool:
        """True when every planned evaluation got a verdict (no judge call failed)."""
        return self.failed == 0

    def summary(self, threshold: float = 0.5) -> pd.DataFrame:
        """Per annotation name: verdicts, mean score, pass rate, spans skipped."""
        rows = []
        names = list(dict.fromkeys(list(self.annotations.get("name", pd.Series(dtype=str))) + list(self.skipped)))
        for name in names:
            mine = self.annotations[self.annotations["name"] == name] if len(self.annotations) else self.annotations
            outcomes = [passed(s, lab, threshold) for s, lab in zip(mine.get("score", []), mine.get("label", []))]
            known = [o for o in outcomes if o is not None]
            rows.append({
                "name": name,
                "verdicts": len(mine),
                "mean_score": float(mine["score"].mean()) if len(mine) and mine["score"].notna().any() else None,
                "pass_rate": sum(known) / len(known) if known else None,
                "skipped": sum(self.skipped.get(name, {}).values()),
            })
        return pd.DataFrame(rows, columns=["name", "verdicts", "mean_score", "pass_rate", "skipped"])

    def __repr__(self) -> str:
        return (f"EvalRun({len(self.annotations)} verdicts, {self.written} written, {self.failed} failed, "
                f"skipped={ {k: dict(v) for k, v in self.skipped.items()} })")


def _trace_ids(reader: Any, filter: str | None, start: Any, end: Any, project: Any, limit: int | None) -> list[str]:
    traces = reader.traces(filter, start=start, end=end, project=project, limit=limit)
    return list(traces["trace_id"])


def _chunks(items: Sequence[str], size: int = 200) -> list[list[str]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _judged_spans(reader: Any, evaluator: Evaluator, span_ids: list[str]) -> set[str]:
    """Spans that already carry this annotation from this judge."""
    name = getattr(evaluator.judge, "name", "")
    family = name.split(":", 1)[0] + ":" if name.startswith("similarity:") else None
    done: set[str] = set()
    for ids in _chunks(span_ids, 500):
        frame = reader.annotations(evaluator.name, span_ids=ids)
        if len(frame):
            annotators = frame["annotator"].fillna("")
            same = annotators == name if family is None else annotators.str.startswith(family)
            done.update(frame.loc[same, "span_id"].dropna())
    return done


def _plan(reader: Any, evaluators: Sequence[Evaluator], trace_ids: list[str], skip_existing: bool,
          max_contexts: int, skipped: dict[str, Counter[str]]) -> list[tuple[Evaluator, Target, Task]]:
    planned: list[tuple[Evaluator, Target, Task]] = []
    corpus: dict[str, list[float]] | None = None
    for evaluator in evaluators:
        frames = [reader.spans(evaluator.spans, trace_ids=ids, columns=["trace_id", "span_id"])
                  for ids in _chunks(trace_ids)]
        spans = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["trace_id", "span_id"])
        counter = skipped.setdefault(evaluator.name, Counter())
        if skip_existing and len(spans):
            done = _judged_spans(reader, evaluator, list(spans["span_id"]))
            if done:
                counter["already judged"] += int(spans["span_id"].isin(done).sum())
                spans = spans[~spans["span_id"].isin(done)]
        if evaluator.needs_vectors and corpus is None:
            corpus = corpus_vectors(reader)
        records = build_records(reader, spans, attributes=evaluator.needs_attributes,
                                vectors=evaluator.needs_vectors, corpus=corpus, max_contexts=max_contexts)
        for record in records:
            tasks = evaluator.tasks(record)
            if isinstance(tasks, str):
                counter[tasks] += 1
                continue
            planned.extend((evaluator, target, task) for target, task in tasks)
    return planned


def _row(evaluator: Evaluator, target: Target, verdict: Verdict) -> dict[str, Any]:
    judge = evaluator.judge
    metadata = dict(verdict.metadata)
    annotator = metadata.pop("annotator", None) or getattr(judge, "name", type(judge).__name__)
    metadata["evaluator"] = type(evaluator).__name__
    return {
        "evaluator": type(evaluator).__name__, "name": evaluator.name, "target": target["target"],
        "trace_id": target.get("trace_id"), "span_id": target.get("span_id"),
        "document_position": target.get("document_position"), "score": verdict.score, "label": verdict.label,
        "explanation": verdict.explanation, "annotator_kind": getattr(judge, "annotator_kind", "CODE"),
        "annotator": annotator, "metadata": metadata,
    }


def run_evals(
    source: Any,
    evaluators: Evaluator | Sequence[Evaluator],
    filter: str | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: str | Sequence[str] | None = None,
    limit: int | None = None,
    skip_existing: bool = True,
    write: bool = True,
    concurrency: int = 4,
    progress: bool = True,
    batch_size: int = 50,
    max_contexts: int = 8,
) -> EvalRun:
    """Judge spans with ``evaluators`` and write the verdicts as annotations.

    Args:
        source: Where spans are read and annotations written: a Store, a reader (a writable
            file, or a server URL's), a path or a URL (see :func:`workbench.evals.annotate`).
        evaluators: One evaluator or several, e.g. ``[Faithfulness(judge), ContextRelevance(judge)]``.
        filter: Which traces: those with any span matching (default: all).
        start: Traces from this time (datetime, ISO text, or ``"24h"`` back); ``end`` until.
        project: Only these projects.
        limit: At most this many traces, the newest first.
        skip_existing: Skip spans this judge already annotated under the evaluator's name.
        write: False to judge without writing (see the returned ``annotations``).
        concurrency: Judge calls in flight at once (similarity judges run one at a time).
        progress: Show a progress bar on stderr.
        batch_size: Annotations written per batch.
        max_contexts: The most retrieved documents given as context.

    Returns:
        An :class:`EvalRun`: the verdicts, what was skipped and why, failures.

    Raises:
        JudgeError: The first five tasks all failed, or every task did (the message is the
            judge's first error).
        ConfigError: No evaluators, or an unusable source.
    """
    chosen = [evaluators] if isinstance(evaluators, Evaluator) else list(evaluators)
    if not chosen:
        raise ConfigError("run_evals needs at least one evaluator, e.g. [Faithfulness(LLMJudge(model=...))].")
    skipped: dict[str, Counter[str]] = {}
    rows: list[dict[str, Any]] = []
    errors: Counter[str] = Counter()
    with open_sink(source) as (write_rows, reader):
        trace_ids = _trace_ids(reader, filter, start, end, project, limit)
        planned = _plan(reader, chosen, trace_ids, skip_existing, max_contexts, skipped)
        pending: list[dict[str, Any]] = []
        written = 0
        lock = threading.Lock()

        def flush() -> None:
            nonlocal written, pending
            if write and pending:
                batch, pending = pending, []
                written += write_rows([_jsonable(r) for r in batch])

        workers = 1 if all(getattr(e.judge, "annotator_kind", "") == "CODE" for e in chosen) else max(1, concurrency)
        with Progress(len(planned), "judging", enabled=progress) as bar, ThreadPoolExecutor(workers) as pool:
            queue = iter(planned)
            running: dict[Future[Verdict], tuple[Evaluator, Target]] = {}

            def submit() -> bool:
                item = next(queue, None)
                if item is None:
                    return False
                evaluator, target, task = item
                running[pool.submit(evaluator.judge.judge, task)] = (evaluator, target)
                return True

            for _ in range(workers * 2):
                if not submit():
                    break
            while running:
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    evaluator, target = running.pop(future)
                    try:
                        verdict = future.result()
                    except Exception as exc:  # noqa: BLE001 - one task's failure must not end the run
                        message = str(exc) if isinstance(exc, JudgeError) else f"{type(exc).__name__}: {exc}"
                        errors[message] += 1
                        bar.update(ok=False)
                        failures = sum(errors.values())
                        if not rows and (failures >= _FAIL_FAST or failures == len(planned)):
                            for other in running:
                                other.cancel()
                            which = (f"All {failures} evaluations" if failures == len(planned)
                                     else f"The first {failures} evaluations all")
                            raise JudgeError(f"{which} failed; the first error: {next(iter(errors))}") from None
                        continue
                    row = _row(evaluator, target, verdict)
                    with lock:
                        rows.append(row)
                        pending.append(row)
                    bar.update()
                    if len(pending) >= batch_size:
                        flush()
                    submit()
                while len(running) < workers * 2 and submit():
                    pass
        flush()
    frame = pd.DataFrame(rows, columns=_RESULT_COLUMNS)
    return EvalRun(
        annotations=frame,
        skipped={name: dict(counter) for name, counter in skipped.items() if counter},
        failed=sum(errors.values()),
        errors=list(errors)[:10],
        written=written,
    )


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "evaluator"}
