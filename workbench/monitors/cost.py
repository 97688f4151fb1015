"""Cost rules: spend over a budget, and spend jumping against its trailing baseline.

Cost is computed when the rule runs, from the effective prices, by
:func:`workbench.analysis.cost.cost_by`; calls of a model without a price count only with
their client-sent cost (unknown is never $0). A bucket is an hour or a day, UTC.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench.analysis.cost import DIMENSIONS, cost_by
from workbench.monitors.base import (
    EVERY,
    Context,
    Episode,
    Result,
    Rule,
    bucket_number,
    bucket_start,
)
from workbench.monitors.stats import per_bucket_alpha, poisson_tail, weighted_median
from workbench.monitors.words import both, literal, money, when
from workbench.pricing import CALL_KINDS
from workbench.read import monitors as queries

__all__ = ["CostBudget", "CostJump"]

_CALLS = f"span_kind in {list(CALL_KINDS)!r}"  # the calls (workbench.pricing.calls), as a filter
_FIELDS = {
    "model": "model_name",
    "provider": "provider",
    "project": "project",
    "user": "user_id",
    "session": "session_id",
    "prompt_version": "prompt_template_version",
}
_NONE = "(none)"  # how cost_by labels calls without a value
_FROM_ROOT = ("feature", "user", "session")  # read from the call, else from its trace's root


def feature_filter(value: str, key: str | None) -> str:
    """A filter expression selecting calls (or their traces) of one feature, as
    :func:`workbench.read.spend.feature_sql` reads it."""
    if key is None or not key.strip():
        return f"{literal(value)} in attributes['metadata'] or attributes['feature'] == {literal(value)}"
    key = key.strip()
    options = [f"attributes[{literal(key)}] == {literal(value)}"]
    parts = key.split(".")
    options += [f"{literal(value)} in attributes[{literal('.'.join(parts[:i]))}]" for i in range(1, len(parts))]
    return " or ".join(options)


def cost_group_filter(by: str | None, value: Any, feature_key: str | None) -> str | None:
    """The filter expression selecting one cost group's calls."""
    if by is None:
        return None
    if by == "feature":
        return None if value == _NONE else feature_filter(str(value), feature_key)
    field = _FIELDS[by]
    return f"{field} is None" if value == _NONE else f"{field} == {literal(value)}"


def _label(by: str | None, value: Any) -> str:
    if by is None:
        return "all calls"
    return f"{by.replace('_', ' ')} {value!r}" if value != _NONE else f"calls without a {by.replace('_', ' ')}"


def _per_bucket(every: str) -> str:
    return "per hour" if every == "hour" else "per day"


@dataclass(kw_only=True)
class _CostRule(Rule):
    every: str = "day"
    by: str | None = None
    feature_key: str | None = None

    def validate(self) -> None:
        super().validate()
        self.check_choice("every", list(EVERY))
        if self.by is not None and self.by not in DIMENSIONS:
            self.check_choice("by", [*DIMENSIONS, None])

    def _costs(self, ctx: Context, first: int) -> dict[Any, dict[int, tuple[float, int]]]:
        """Cost and calls per group and bucket number, from bucket ``first`` to the check's time."""
        width = EVERY[self.every]
        frame = cost_by(ctx.reader, both(self.filter), by=self.by, every=self.every,
                        start=bucket_start(first, width), end=ctx.now, project=self.project,
                        feature_key=self.feature_key)
        out: dict[Any, dict[int, tuple[float, int]]] = {}
        if not len(frame):
            return out
        groups = frame[self.by] if self.by else pd.Series([None] * len(frame))
        for group, bucket, cost, calls in zip(groups, frame["bucket"], frame["cost"], frame["calls"], strict=True):
            if pd.isna(cost):
                continue
            number = bucket_number(pd.Timestamp(bucket).to_pydatetime(), width)
            out.setdefault(group, {})[number] = (float(cost), int(calls))
        return out

    def _filter(self, group: Any) -> str | None:
        # A call's feature, user and session may be its trace root's: then the root carries the
        # value, not the call, and the filter must match the root (the trace list shows the trace).
        calls = None if self.by in _FROM_ROOT else _CALLS
        return both(self.filter, calls, cost_group_filter(self.by, group, self.feature_key))


@dataclass(kw_only=True)
class CostBudget(_CostRule):
    """Spend per hour or day over a budget, in total or per model, feature, project ...

    Attributes:
        budget: The most a bucket may cost, in USD. Required.
        every: ``"day"`` or ``"hour"`` (UTC).
        by: Give each model, feature, project, user ... its own budget; ``None`` for the total.
        feature_key: The attribute naming a call's feature (for ``by="feature"``).
    """

    kind = "cost_budget"
    warn_param = "budget"
    measured = "peak_cost"
    summary = "spend per hour or day over a budget"

    budget: float | None = None
    severity: str = "critical"

    def validate(self) -> None:
        super().validate()
        if self.budget is None:
            raise self.fail("budget", "a cost budget needs an amount",
                            f"set budget = 50 (USD {_per_bucket(self.every)}) in its [rules.{self.name}] table")
        self.check_number("budget", low=0, strict_low=True)

    def evaluate(self, ctx: Context) -> list[Result]:
        width = EVERY[self.every]
        start, end = ctx.bounds(self)
        first, latest = bucket_number(start, width), bucket_number(end, width)
        budget = float(self.budget or 0)
        results = []
        for group, buckets in sorted(self._costs(ctx, first).items(), key=lambda kv: str(kv[0])):
            costs = {b: cost for b, (cost, _) in buckets.items()}
            over = {b: c for b, c in costs.items() if c > budget}
            episode = Episode.of(over, width, latest)
            if episode is None:
                continue
            peak = max(over, key=lambda b: over[b])
            label = _label(self.by, group)
            period = (f"in the hour from {when(bucket_start(peak, width))}" if self.every == "hour"
                      else f"on {when(bucket_start(peak, width), width)}")
            message = (
                f"Spend of {label} was {money(over[peak])} {period}, over the {money(budget)} "
                f"{'hourly' if self.every == 'hour' else 'daily'} budget; over budget {episode.describe(width)}."
            )
            results.append(self.result(
                ctx, fired=True, message=message, subject="" if self.by is None else label,
                filter=self._filter(group), episode=episode,
                values={"budget": budget, "every": self.every, "peak_cost": over[peak],
                        "peak_bucket": bucket_start(peak, width), "buckets_over": len(over),
                        "window_cost": sum(costs.values()), "group": group},
            ))
        if results:
            return results
        per = "day" if self.every == "day" else "hour"
        scope = f"every {self.by.replace('_', ' ')}" if self.by else "the total"
        return [self.quiet(ctx, f"Spend of {scope} stayed within the {money(budget)} budget per {per}.",
                           values={"budget": budget, "every": self.every})]


@dataclass(kw_only=True)
class CostJump(_CostRule):
    """Spend per hour or day jumping against its trailing baseline.

    A bucket breaches when its cost is at least ``factor`` times the median cost of the same
    bucket on each of the ``baseline_days`` days before (the same hour for hourly buckets, so
    a daily rhythm is no jump), at least ``min_increase`` USD above it, and made of at least
    ``min_calls`` calls. The jump must also be more than chance: either the cost per call rose
    ``factor`` times over those days' (their median, weighted by calls, so the first, partly
    dearer day of a change that stays does not raise the bar; longer prompts, a dearer model),
    or there were more calls than the mean count of those days explains (a Poisson test with
    a 1% false-alarm chance over the window), so thirteen calls in an hour that usually has
    five do not fire. A group with no
    spend in most of those days has no baseline and cannot jump (a budget watches new spend),
    nor can any bucket whose baseline days reach back before the first span stored.

    Attributes:
        factor: How many times the baseline counts as a jump.
        every: ``"day"`` or ``"hour"`` (UTC).
        by: Watch each feature, model, project ... apart; ``None`` for the total.
        baseline_days: Days before a bucket whose median is its baseline.
        min_increase: The least rise over the baseline, in USD, worth an alert.
        min_calls: The fewest calls a bucket needs to be judged.
        feature_key: The attribute naming a call's feature (for ``by="feature"``).
    """

    kind = "cost_jump"
    warn_param = "factor"
    measured = "ratio"
    summary = "spend per hour or day jumping against its trailing 7-day median"

    factor: float = 3.0
    every: str = "day"
    by: str | None = "feature"
    baseline_days: int = 7
    min_increase: float = 0.05
    min_calls: int = 10

    def validate(self) -> None:
        super().validate()
        self.check_number("factor", low=1, strict_low=True)
        self.check_number("min_increase", low=0)
        self.check_number("min_calls", low=1)
        days = self.baseline_days
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 90:
            raise self.fail("baseline_days", "baseline_days must be a whole number of days from 1 to 90",
                            "write e.g. baseline_days = 7")

    def lookback(self) -> dt.timedelta:
        return dt.timedelta(days=int(self.baseline_days))

    def evaluate(self, ctx: Context) -> list[Result]:
        width = EVERY[self.every]
        step = int(dt.timedelta(days=1) / width)
        start, end = ctx.bounds(self)
        first, latest = bucket_number(start, width), bucket_number(end, width)
        alpha = per_bucket_alpha(latest - first + 1)
        # Days before the first span stored are no baseline: a store a few days old has none yet.
        stored_from = queries.first_span_start(ctx.reader)
        if stored_from is None:
            return [self.quiet(ctx, "No calls stored yet.")]
        earliest = bucket_number(stored_from, width) + 1  # its first bucket is likely partial
        results = []
        for group, buckets in sorted(self._costs(ctx, first - self.baseline_days * step).items(),
                                     key=lambda kv: str(kv[0])):
            breaches: dict[int, tuple[float, float]] = {}
            for number in range(first, latest + 1):
                cost, calls = buckets.get(number, (0.0, 0))
                if calls < self.min_calls or number - self.baseline_days * step < earliest:
                    continue
                before = [buckets.get(number - k * step, (0.0, 0)) for k in range(1, self.baseline_days + 1)]
                baseline = statistics.median(c for c, _ in before)
                if baseline <= 0 or cost < self.factor * baseline or cost - baseline < self.min_increase:
                    continue
                # The calls-weighted median of the days' cost per call: a few cheap calls in one
                # day do not set the bar, nor do the first dear days of a change under way.
                base_calls = sum(n for _, n in before)
                per_call = weighted_median([(c / n, n) for c, n in before if n])
                more_calls = poisson_tail(calls, base_calls / len(before)) < alpha
                if more_calls or cost / calls >= self.factor * per_call:
                    breaches[number] = (cost, baseline)
            episode = Episode.of(breaches, width, latest)
            if episode is None:
                continue
            peak = max(breaches, key=lambda b: breaches[b][0] / breaches[b][1])
            cost, baseline = breaches[peak]
            label = _label(self.by, group)
            same = "of the same hour on" if self.every == "hour" else "of"
            period = (f"in the hour from {when(bucket_start(peak, width))}" if self.every == "hour"
                      else f"on {when(bucket_start(peak, width), width)}")
            message = (
                f"Cost of {label} jumped to {money(cost)} {period}, {cost / baseline:.1f}x the median "
                f"{same} the {self.baseline_days} days before ({money(baseline)}); over {literal(self.factor)}x "
                f"{episode.describe(width)}."
            )
            results.append(self.result(
                ctx, fired=True, message=message, subject="" if self.by is None else label,
                filter=self._filter(group), episode=episode,
                values={"peak_cost": cost, "baseline": baseline, "ratio": cost / baseline, "factor": self.factor,
                        "peak_bucket": bucket_start(peak, width), "every": self.every,
                        "buckets_over": len(breaches), "group": group},
            ))
        if results:
            return results
        scope = f"every {self.by.replace('_', ' ')}" if self.by else "the total"
        return [self.quiet(
            ctx, f"Cost {_per_bucket(self.every)} of {scope} stayed under {literal(self.factor)}x its "
                 f"trailing {self.baseline_days}-day median.",
            values={"factor": self.factor, "every": self.every},
        )]
