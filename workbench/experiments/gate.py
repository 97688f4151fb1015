"""The bar an experiment must clear: in CI (``workbench experiment run --fail-under``) and in a
pytest suite beside the unit tests (:func:`assert_pass_rate`)."""

from __future__ import annotations

import math

from workbench.errors import ConfigError
from workbench.experiments.record import Experiment

__all__ = ["assert_pass_rate", "pass_rate", "summary_table"]


def pass_rate(experiment: Experiment, evaluator: str | None = None) -> float:
    """The share of runs that passed (every evaluator), or of the runs ``evaluator`` scored that
    it passed.

    Raises:
        ConfigError: No evaluator of that name scored the experiment.
    """
    if evaluator is None:
        return experiment.pass_rate
    if evaluator not in experiment.evaluators:
        raise ConfigError(f"No evaluator {evaluator!r} scored {experiment.name!r}; it has "
                          f"{', '.join(experiment.evaluators) or 'none'}.")
    verdicts = experiment.scores[experiment.scores["name"] == evaluator]["passed"].dropna()
    return float(verdicts.astype(float).mean()) if len(verdicts) else 0.0


def summary_table(experiment: Experiment) -> str:
    """The experiment's summary as a plain-text table (what the command line prints)."""
    rows = [("evaluator", "scored", "mean score", "pass rate")]
    for r in experiment.summary().itertuples(index=False):
        mean = "-" if r.mean_score is None or math.isnan(r.mean_score) else f"{r.mean_score:.2f}"
        rate = "-" if r.pass_rate is None or math.isnan(r.pass_rate) else f"{r.pass_rate:.0%}"
        rows.append((str(r.evaluator), str(r.scored), mean, rate))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _failures(experiment: Experiment, limit: int = 5) -> list[str]:
    out = []
    for r in experiment.runs[~experiment.runs["passed"]].head(limit).itertuples(index=False):
        scores = experiment.scores
        failed = scores[(scores["example_id"] == r.example_id) & scores["passed"].eq(False)]
        why = r.error or "; ".join(
            f"{s.name}: {s.explanation or s.label or s.score}" for s in failed.itertuples(index=False)
        )
        out.append(f"  {r.example_id}: {str(r.input)[:60]!r} -> {str(r.output)[:60]!r} ({why})")
    return out


def assert_pass_rate(experiment: Experiment, minimum: float, *, evaluator: str | None = None) -> float:
    """Fail (AssertionError, as pytest reports it) when the pass rate is under ``minimum``;
    return the pass rate. The message has the summary table and the first failing examples.

    Args:
        experiment: What :func:`~workbench.experiments.run_experiment` returned.
        minimum: The bar, from 0 to 1.
        evaluator: Judge by this evaluator alone (default: a run passes when every evaluator
            passed it and the task did not fail).
    """
    if not 0 <= minimum <= 1:
        raise ConfigError(f"minimum={minimum} is not a share; give a number from 0 to 1, e.g. 0.8.")
    rate = pass_rate(experiment, evaluator)
    if rate < minimum:
        what = f"{evaluator!r} pass rate" if evaluator else "pass rate"
        raise AssertionError("\n".join([
            f"Experiment {experiment.name!r}: {what} {rate:.0%} is under {minimum:.0%}.",
            summary_table(experiment), "Failing examples:", *_failures(experiment),
        ]))
    return rate
