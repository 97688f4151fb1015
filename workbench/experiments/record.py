"""A stored experiment, read back: its runs, their scores, and a summary.

A run passes when its task succeeded and every evaluator that scored it passed (the rule of
:func:`workbench.evals.passed`: a known label, else a score of 0.5 or more). An evaluator that
did not apply to an example (exact match without an expected output) does not count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from workbench.errors import NotFoundError
from workbench.evals.outcome import passed
from workbench.experiments.where import opened, store_of
from workbench.read import experiments as q
from workbench.store import experiments as units

__all__ = ["Experiment", "delete_experiment", "list_experiments", "load_experiment"]

_RUN_COLUMNS = ["example_id", "input", "expected", "output", "error", "latency_ms", "prompt_tokens",
                "completion_tokens", "total_tokens", "cost", "trace_id", "span_id", "source_trace_id",
                "source_span_id", "attempts"]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _loads(text: Any) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


@dataclass
class Experiment:
    """One experiment as stored.

    Attributes:
        experiment_id, name, dataset, dataset_version, task, project, created_at: Its row.
        params: What was recorded of the task and the evaluators.
        runs: One row per example run: ``example_id``, ``input``, ``expected``, ``output``,
            ``error``, ``latency_ms``, tokens, ``cost``, ``trace_id``, ``span_id``, the source
            span and trace, ``attempts``; then one column per evaluator (its score) and
            ``passed``.
        scores: The evaluators' annotations, one row per (example, evaluator): ``example_id``,
            ``name``, ``score``, ``label``, ``explanation``, ``passed``.
    """

    experiment_id: str
    name: str
    dataset: str
    dataset_version: int
    task: str
    project: str
    created_at: Any
    params: dict[str, Any]
    runs: pd.DataFrame = field(repr=False)
    scores: pd.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        return (f"Experiment({self.name!r}, dataset={self.dataset!r}@{self.dataset_version}, runs={len(self.runs)}, "
                f"pass_rate={self.pass_rate:.2f})")

    @property
    def evaluators(self) -> list[str]:
        """The names of the evaluators that scored it, in the order they were given."""
        given = [str(n) for n in self.params.get("evaluators", [])]
        return given + sorted(set(self.scores["name"]) - set(given))

    @property
    def pass_rate(self) -> float:
        """The share of runs that passed (0 without runs)."""
        return float(self.runs["passed"].mean()) if len(self.runs) else 0.0

    def summary(self) -> pd.DataFrame:
        """One row per evaluator and a last row ``all``: ``runs``, ``scored``, ``mean_score``,
        ``pass_rate`` (of the scored runs; for ``all``, of every run), ``errors``."""
        rows = []
        errors = int(self.runs["error"].notna().sum()) if len(self.runs) else 0
        for name in self.evaluators:
            mine = self.scores[self.scores["name"] == name]
            verdicts = mine["passed"].dropna()
            rows.append({"evaluator": name, "runs": len(self.runs), "scored": len(mine),
                         "mean_score": float(mine["score"].mean()) if mine["score"].notna().any() else float("nan"),
                         "pass_rate": float(verdicts.astype(float).mean()) if len(verdicts) else float("nan"),
                         "errors": errors})
        rows.append({"evaluator": "all", "runs": len(self.runs), "scored": len(self.runs),
                     "mean_score": float("nan"), "pass_rate": self.pass_rate, "errors": errors})
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        return f"<p><b>{self.name}</b>: {self.dataset} v{self.dataset_version}, {self.task}</p>" + \
            self.summary().to_html(index=False)


def load_experiment(where: Any, name: str) -> Experiment:
    """The experiment of this name (or id).

    Raises:
        NotFoundError: There is none (the message lists some there are).
    """
    with opened(where) as reader:
        row = q.experiment_row(reader, name)
        if row is None:
            known = q.experiment_list(reader).column("name").to_pylist()[:10]
            raise NotFoundError(
                f"There is no experiment {name!r}; "
                + (f"there are {', '.join(known)}." if known else "this store has none yet (run_experiment).")
            )
        runs = q.experiment_runs(reader, str(row["experiment_id"])).to_pylist()
        scores = q.run_scores(reader, str(row["experiment_id"])).to_pandas()
    frame = pd.DataFrame([{
        **{k: r.get(k) for k in _RUN_COLUMNS}, "input": _loads(r.get("input")), "expected": _loads(r.get("expected")),
        "output": _loads(r.get("output")),
    } for r in runs], columns=_RUN_COLUMNS)
    for column in ("input", "expected", "output", "error", "source_trace_id", "source_span_id"):
        frame[column] = pd.Series([None if _missing(v) else v for v in frame[column]], dtype=object)
    if len(scores):
        scores = scores.drop_duplicates(["example_id", "name"], keep="last").reset_index(drop=True)
        scores["passed"] = [passed(s, label) for s, label in zip(scores["score"], scores["label"])]
    else:
        scores = pd.DataFrame(columns=["example_id", "name", "score", "label", "explanation", "annotator", "passed"])
    params = _loads(row.get("params")) or {}
    experiment = Experiment(
        str(row["experiment_id"]), str(row["name"]), str(row["dataset"]), int(str(row["dataset_version"])),
        str(row["task"]),
        str(row["project"]), row["created_at"], params if isinstance(params, dict) else {}, frame, scores,
    )
    for evaluator in experiment.evaluators:
        mine = scores[scores["name"] == evaluator].set_index("example_id")["score"]
        frame[evaluator] = frame["example_id"].map(mine)
    verdicts: dict[str, list[Any]] = {}
    for r in scores.itertuples(index=False):
        verdicts.setdefault(r.example_id, []).append(r.passed)
    frame["passed"] = [
        not isinstance(error, str) and all(v is not False for v in verdicts.get(example_id, []))
        for example_id, error in zip(frame["example_id"], frame["error"])
    ]
    return experiment


def list_experiments(where: Any, dataset: str | None = None) -> pd.DataFrame:
    """Every experiment (of one dataset, when given), newest first, with ``runs``, ``errors``,
    ``mean_latency_ms``, ``total_tokens`` and ``cost``."""
    with opened(where) as reader:
        return q.experiment_list(reader, dataset).to_pandas()


def delete_experiment(where: Any, name: str) -> int:
    """Delete an experiment and its runs (their traces and scores stay); return runs deleted."""
    found = load_experiment(where, name)
    with opened(where, write=True) as reader:
        return int(store_of(reader).execute_write(units.delete_experiment(found.experiment_id)))
