"""Comparing experiments, example by example, and against production.

::

    cmp = compare(wb, "answer-v1", "answer-v2")
    cmp.examples        # one row per example: outputs side by side, a diff, score and cost deltas
    cmp.summary()       # one row per experiment: pass rate, mean scores, latency, tokens, cost

The first experiment is the baseline: each ``*_delta[NAME]`` column is NAME's value minus the
baseline's. :data:`PRODUCTION` (``"production"``) in place of an experiment stands for what
production did on the dataset's source spans: their outputs, latencies, their traces' tokens
and costs, and the annotations on them (user feedback ...).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import ConfigError
from workbench.experiments.record import Experiment, load_experiment
from workbench.experiments.where import opened
from workbench.read import experiments as q

__all__ = ["PRODUCTION", "Comparison", "compare", "word_diff"]

#: The name that stands for the production spans a dataset came from.
PRODUCTION = "production"

_MEASURES = ("latency_ms", "total_tokens", "cost")


def word_diff(a: Any, b: Any) -> str:
    """A word diff of two outputs: ``[-removed-]`` and ``{+added+}`` around what changed."""
    def words(value: Any) -> list[str]:
        text = "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return re.findall(r"\S+|\s+", text)

    left, right = words(a), words(b)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=left, b=right, autojunk=False).get_opcodes():
        if op == "equal":
            out.append("".join(left[i1:i2]))
            continue
        if i2 > i1:
            out.append("[-" + "".join(left[i1:i2]).strip() + "-]")
        if j2 > j1:
            out.append("{+" + "".join(right[j1:j2]).strip() + "+}")
    return "".join(out)


@dataclass
class Comparison:
    """Experiments side by side.

    Attributes:
        names: The experiments' names, the baseline first.
        experiments: The experiments (production as a made-up one).
        examples: One row per example of the baseline (see :func:`compare`).
    """

    names: list[str]
    experiments: list[Experiment]
    examples: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """One row per experiment: ``runs``, ``errors``, ``pass_rate``, each evaluator's mean
        score, ``mean_latency_ms``, ``total_tokens``, ``cost``; and, against the baseline,
        ``improved`` and ``regressed`` (examples that turned from fail to pass, and back)."""
        rows = []
        base = self.experiments[0]
        evaluators = _evaluators(self.experiments)
        for exp in self.experiments:
            runs = exp.runs
            row: dict[str, Any] = {"experiment": exp.name, "runs": len(runs),
                                   "errors": int(runs["error"].notna().sum()), "pass_rate": exp.pass_rate}
            for name in evaluators:
                row[name] = float(runs[name].mean()) if name in runs and runs[name].notna().any() else np.nan
            row["mean_latency_ms"] = float(runs["latency_ms"].mean()) if len(runs) else np.nan
            row["total_tokens"] = runs["total_tokens"].sum(min_count=1)
            row["cost"] = runs["cost"].sum(min_count=1)
            if exp is base:
                row["improved"] = row["regressed"] = 0
            else:
                both = base.runs[["example_id", "passed"]].merge(runs[["example_id", "passed"]], on="example_id")
                row["improved"] = int((~both["passed_x"] & both["passed_y"]).sum())
                row["regressed"] = int((both["passed_x"] & ~both["passed_y"]).sum())
            rows.append(row)
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        return self.summary().to_html(index=False) + self.examples.to_html(max_rows=30)


def _evaluators(experiments: list[Experiment]) -> list[str]:
    names: list[str] = []
    for exp in experiments:
        names += [n for n in exp.evaluators if n not in names]
    return names


def _production(where: Any, base: Experiment) -> Experiment:
    """What production did on the source spans of ``base``'s dataset, as an experiment."""
    runs = base.runs
    span_ids = [s for s in runs["source_span_id"] if isinstance(s, str)]
    if not span_ids:
        raise ConfigError(
            f"The examples of {base.name!r} came from no spans (they were given by hand), so there is no "
            "production to compare with; make the dataset with from_spans or from_traces."
        )
    evaluators = base.evaluators
    with opened(where) as reader:
        spans = {r["span_id"]: r for r in q.source_spans(reader, span_ids).to_pylist()}
        trace_ids = sorted({r["trace_id"] for r in spans.values()})
        traces = reader.traces("trace_id in [" + ", ".join(repr(t) for t in trace_ids) + "]", limit=None) \
            if trace_ids else pd.DataFrame(columns=["trace_id", "total_tokens", "cost"])
        notes = reader.annotations(trace_ids=trace_ids) if trace_ids else pd.DataFrame(
            columns=["trace_id", "span_id", "name", "score", "label", "explanation"])
    totals = traces.set_index("trace_id")[["total_tokens", "cost"]].to_dict(orient="index") if len(traces) else {}
    rows = []
    for r in runs.itertuples(index=False):
        span = spans.get(r.source_span_id) or {}
        total = totals.get(span.get("trace_id"), {})
        rows.append({
            "example_id": r.example_id, "input": r.input, "expected": r.expected,
            "output": span.get("output_value"), "error": None, "latency_ms": span.get("latency_ms"),
            "prompt_tokens": None, "completion_tokens": None,
            "total_tokens": None if pd.isna(total.get("total_tokens", np.nan)) else total.get("total_tokens"),
            "cost": total.get("cost"), "trace_id": span.get("trace_id"), "span_id": r.source_span_id,
            "source_trace_id": span.get("trace_id"), "source_span_id": r.source_span_id, "attempts": None,
        })
    frame = pd.DataFrame(rows)
    from workbench.evals.outcome import passed

    scored = []
    by_span = {s["span_id"]: s for s in spans.values()}
    example_of_trace = {by_span[s]["trace_id"]: e for e, s in zip(runs["example_id"], runs["source_span_id"])
                        if s in by_span}
    for n in notes.itertuples(index=False):
        example_id = example_of_trace.get(n.trace_id)
        if example_id is not None:
            scored.append({"example_id": example_id, "name": n.name, "score": n.score, "label": n.label,
                           "explanation": n.explanation, "annotator": getattr(n, "annotator", None)})
    scores = pd.DataFrame(scored, columns=["example_id", "name", "score", "label", "explanation", "annotator"])
    scores = scores.drop_duplicates(["example_id", "name"], keep="last").reset_index(drop=True)
    scores["passed"] = [passed(s, label) for s, label in zip(scores["score"], scores["label"])]
    names = list(dict.fromkeys([*evaluators, *scores["name"]]))
    for name in names:
        frame[name] = frame["example_id"].map(scores[scores["name"] == name].set_index("example_id")["score"])
    verdicts: dict[str, list[Any]] = {}
    for s in scores.itertuples(index=False):
        verdicts.setdefault(s.example_id, []).append(s.passed)
    frame["passed"] = [all(v is not False for v in verdicts.get(e, [])) for e in frame["example_id"]]
    return Experiment("production", PRODUCTION, base.dataset, base.dataset_version, "production", "",
                      None, {"evaluators": names}, frame, scores)


def compare(where: Any, *experiments: str | Experiment) -> Comparison:
    """Experiments side by side, the first as the baseline.

    Args:
        where: The store.
        experiments: Two or more experiments (names, ids or :class:`Experiment`), or one and
            :data:`PRODUCTION` (in any place but the first: production of the others' dataset).

    Returns:
        A :class:`Comparison`. Its ``examples`` has, per example of the baseline:
        ``example_id``, ``input``, ``expected``; per experiment ``output[NAME]``,
        ``error[NAME]``, ``passed[NAME]``, each evaluator's ``SCORE[NAME]``, ``latency_ms[NAME]``,
        ``total_tokens[NAME]``, ``cost[NAME]``; per experiment but the baseline
        ``diff[NAME]`` (a word diff from the baseline's output) and ``*_delta[NAME]``.

    Raises:
        ConfigError: Fewer than two were given, or production stands first.
    """
    if len(experiments) < 2:
        raise ConfigError("compare() needs two or more experiments (or one and workbench.experiments.PRODUCTION).")
    if isinstance(experiments[0], str) and experiments[0] == PRODUCTION:
        experiments = (*experiments[1:2], PRODUCTION, *experiments[2:])
    loaded: list[Experiment] = []
    for item in experiments:
        if isinstance(item, Experiment):
            loaded.append(item)
        elif item == PRODUCTION:
            loaded.append(_production(where, loaded[0]))
        else:
            loaded.append(load_experiment(where, item))
    names = [e.name for e in loaded]
    if len(set(names)) != len(names):
        raise ConfigError(f"An experiment is given twice ({', '.join(names)}); compare different ones.")
    evaluators = _evaluators(loaded)
    base = loaded[0]
    frame = base.runs[["example_id", "input", "expected"]].copy()
    for exp in loaded:
        cols = ["example_id", "output", "error", "passed", *[n for n in evaluators if n in exp.runs], *_MEASURES]
        part = exp.runs[cols].rename(columns={c: f"{c}[{exp.name}]" for c in cols if c != "example_id"})
        frame = frame.merge(part, on="example_id", how="left")
        for name in evaluators:
            if f"{name}[{exp.name}]" not in frame:
                frame[f"{name}[{exp.name}]"] = np.nan
    for exp in loaded[1:]:
        frame[f"diff[{exp.name}]"] = [word_diff(a, b) for a, b in
                                      zip(frame[f"output[{base.name}]"], frame[f"output[{exp.name}]"])]
        for measure in [*evaluators, *_MEASURES]:
            a = pd.to_numeric(frame[f"{measure}[{base.name}]"], errors="coerce")
            b = pd.to_numeric(frame[f"{measure}[{exp.name}]"], errors="coerce")
            frame[f"{measure}_delta[{exp.name}]"] = b - a
    return Comparison(names, loaded, frame)
