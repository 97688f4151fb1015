"""Evaluation rule: the pass rate of an evaluation (or of user feedback) dropping.

Reads the ``annotations`` table. An annotation passes when its score is at least
``threshold``; one without a score passes when its label is in ``pass_labels``. It counts at
the time of what it annotates (the span's start, else its trace's), so evaluations run in a
batch a day later still land on the hour the answer was given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from workbench.monitors.base import (
    EVERY,
    Context,
    Episode,
    Result,
    Rule,
    bucket_number,
    bucket_start,
)
from workbench.monitors.stats import binomial_tail, per_bucket_alpha, two_proportion_z, z_for
from workbench.monitors.words import literal, percent, when
from workbench.read import monitors as queries

__all__ = ["PASS_LABELS", "EvalPassRate"]

#: Labels that count as a pass when an annotation has no score (compared without case).
PASS_LABELS: tuple[str, ...] = (
    "pass", "passed", "correct", "relevant", "thumbs_up", "good", "yes", "true", "faithful",
    "grounded", "factual", "helpful", "positive", "accurate", "ok",
)

@dataclass(kw_only=True)
class EvalPassRate(Rule):
    """The pass rate of an evaluation dropping against its trailing baseline (or under a floor).

    A bucket with at least ``min_count`` annotations breaches when its pass rate is
    ``max_drop`` or more below the pooled rate of the ``baseline_days`` before it and the drop
    is more than chance allows (a one-sided two-proportion z-test); or, with
    ``min_pass_rate``, when its passes are too few for that floor (a binomial test). The
    significance is split over the window's buckets, so a healthy evaluation fires anywhere
    in the window less than one time in a hundred.

    Attributes:
        names: Which evaluations (annotation names); empty for each one found.
        threshold: The least score that passes.
        pass_labels: Labels that pass when an annotation has no score.
        max_drop: The fall in pass rate (0 to 1) that is too much.
        min_pass_rate: A floor the pass rate must stay over; ``None`` for none.
        annotator_kind: Only annotations by ``HUMAN``, ``LLM`` or ``CODE``; ``None`` for all.
        every: ``"day"`` or ``"hour"``.
        min_count: The fewest annotations a bucket (and its baseline) needs to be judged.
        baseline_days: The days before a bucket whose pooled pass rate is its baseline.
        filter: Only annotations of traces with a span matching this filter expression.
    """

    kind = "eval_pass_rate"
    warn_param = "min_pass_rate"
    measured = "worst_rate"
    higher_is_worse = False
    summary = "evaluation or feedback pass rate dropping against its baseline"

    names: list[str] = field(default_factory=list)
    threshold: float = 0.5
    pass_labels: Sequence[str] = PASS_LABELS
    max_drop: float = 0.15
    min_pass_rate: float | None = None
    annotator_kind: str | None = None
    every: str = "day"
    min_count: int = 20
    baseline_days: int = 7

    def validate(self) -> None:
        super().validate()
        if isinstance(self.names, str):
            self.names = [self.names]
        if not isinstance(self.names, (list, tuple)) or not all(isinstance(n, str) for n in self.names):
            raise self.fail("names", "names is a list of annotation names", 'write names = ["user_feedback"]')
        if isinstance(self.pass_labels, str) or not all(isinstance(x, str) for x in self.pass_labels):
            raise self.fail("pass_labels", "pass_labels is a list of labels", 'write pass_labels = ["thumbs_up"]')
        self.check_number("threshold")
        self.check_number("max_drop", low=0, high=1, strict_low=True)
        self.check_number("min_pass_rate", low=0, high=1, allow_none=True)
        self.check_number("min_count", low=1)
        self.check_number("baseline_days", low=1, high=90)
        self.check_choice("every", list(EVERY))
        self.check_choice("annotator_kind", [None, "HUMAN", "LLM", "CODE"])

    def lookback(self) -> dt.timedelta:
        return dt.timedelta(days=int(self.baseline_days))

    def _counts(self, ctx: Context, since: object, end: object) -> list[dict]:
        return queries.evaluation_counts(
            ctx.reader, width=EVERY[self.every], since=since, end=end, threshold=float(self.threshold),
            pass_labels=[x.lower() for x in self.pass_labels], names=list(self.names or ()),
            annotator_kind=self.annotator_kind or None,
            traces=self.selection() if self.filter or self.project else None,
        )

    def _filter(self, name: str, scored: bool) -> str:
        term = f"annotations[{literal(name)}]"
        if scored:
            return f"{term}.score < {literal(float(self.threshold))}"
        return f"{term}.label not in {literal(list(self.pass_labels))}"

    def evaluate(self, ctx: Context) -> list[Result]:
        width = EVERY[self.every]
        start, end = ctx.bounds(self)
        first, latest = bucket_number(start, width), bucket_number(end, width)
        lookback = int(self.baseline_days) * int(86_400 / width.total_seconds())
        per_name: dict[str, dict[int, dict]] = {}
        for row in self._counts(ctx, bucket_start(first - lookback, width), end):
            per_name.setdefault(row["name"], {})[row["bucket"]] = row
        alpha = per_bucket_alpha(latest - first + 1)
        z = z_for(alpha)
        results = []
        for name, counts in sorted(per_name.items()):
            breaches: dict[int, dict] = {}
            for number, row in counts.items():
                n, passed = row["n"], row["passed"]
                if number < first or n < self.min_count:
                    continue
                base_n = sum(counts[b]["n"] for b in range(number - lookback, number) if b in counts)
                base_pass = sum(counts[b]["passed"] for b in range(number - lookback, number) if b in counts)
                rate = passed / n
                baseline = base_pass / base_n if base_n else None
                dropped = (baseline is not None and base_n >= self.min_count and baseline - rate >= self.max_drop
                           and two_proportion_z(base_pass, base_n, passed, n) >= z)
                # Too few passes for the floor: as many failures are unlikely at 1 - floor.
                floor = (self.min_pass_rate is not None
                         and binomial_tail(n - passed, n, 1 - self.min_pass_rate) < alpha)
                if dropped or floor:
                    breaches[number] = {"n": n, "passed": passed, "rate": rate, "baseline": baseline,
                                        "dropped": dropped}
            episode = Episode.of(breaches, width, latest)
            if episode is None:
                continue
            worst_at = min(breaches, key=lambda b: (breaches[b]["rate"], -b))
            worst = breaches[worst_at]
            period = (f"on {when(bucket_start(worst_at, width), width)}" if self.every == "day"
                      else f"in the hour from {when(bucket_start(worst_at, width))}")
            if worst["dropped"]:
                bar = f"down from {percent(worst['baseline'])} over the {self.baseline_days} days before"
            else:
                bar = f"under the {percent(self.min_pass_rate or 0)} floor"
            message = (
                f"Pass rate of {name!r} fell to {percent(worst['rate'])} ({worst['passed']} of {worst['n']}) "
                f"{period}, {bar}; low {episode.describe(width)}."
            )
            scored = sum(r["scored"] for r in counts.values()) * 2 >= sum(r["n"] for r in counts.values())
            results.append(self.result(
                ctx, fired=True, message=message, subject=f"evaluation {name!r}", episode=episode,
                filter=self._filter(name, scored),
                values={"name": name, "worst_rate": worst["rate"], "worst_count": worst["n"],
                        "baseline_rate": worst["baseline"], "worst_bucket": bucket_start(worst_at, width),
                        "max_drop": self.max_drop, "min_pass_rate": self.min_pass_rate,
                        "buckets_low": len(breaches)},
            ))
        if results:
            return results
        if not per_name:
            return [self.quiet(ctx, "No evaluations or feedback to judge in the window.")]
        return [self.quiet(ctx, f"Pass rates of {', '.join(repr(n) for n in sorted(per_name))} held "
                                f"within {self.max_drop * 100:.0f} points of their trailing "
                                f"{self.baseline_days}-day rates.")]
