"""Error rate rule: the share of spans (or requests) that failed, over a threshold or jumping."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from workbench.monitors.base import (
    EVERY,
    Context,
    Episode,
    Result,
    Rule,
    bucket_number,
    bucket_start,
    check_group,
    group_field,
    group_filter,
    subject,
)
from workbench.monitors.deprecation import deprecation_regex
from workbench.monitors.stats import binomial_tail, per_bucket_alpha
from workbench.monitors.words import both, percent, when
from workbench.pricing import CALL_KINDS
from workbench.read import monitors as queries

__all__ = ["ErrorRate"]


@dataclass(kw_only=True)
class ErrorRate(Rule):
    """The share of spans with status ERROR, per bucket, over a threshold or jumping.

    A bucket (an hour or a day, UTC) with at least ``min_count`` spans breaches when its error
    rate is over ``threshold``, or over ``factor`` times the rate of the ``baseline_days``
    before it (and over ``min_rate``), by more than chance allows: a one-sided binomial test
    against the bar, at a significance split over the window's buckets, so that a healthy
    group fires anywhere in the window less than one time in a hundred. One failure among ten
    calls trips nothing; a real outage trips it within the hour.

    Attributes:
        threshold: The error rate that is too high, from 0 to 1.
        factor: How many times the trailing rate counts as a jump; 0 turns jumps off.
        min_rate: The least rate a jump must reach.
        by: ``"model"``, ``"name"``, ``"provider"``, ``"kind"``, ``"project"`` or ``None``.
        every: ``"hour"`` or ``"day"``.
        min_count: The fewest spans a bucket needs to be judged.
        baseline_days: The days before a bucket whose pooled rate is its baseline.
        level: ``"spans"`` counts the spans matching ``filter``; ``"traces"`` counts requests
            (root spans of traces with a matching span) by their root's status.
        filter: Which spans; by default model calls.
        leave_deprecation_errors: Leave out calls that failed with not-found or deprecation
            errors (the patterns of ``model_deprecation``): that rule reports them, with the
            model that replaced the one gone, and one retired model is one alert, not two.
    """

    kind = "error_rate"
    warn_param = "threshold"
    measured = "peak_rate"
    summary = "share of failed calls over a threshold or jumping"

    filter: str | None = f"span_kind in {list(CALL_KINDS)!r}"  # the calls (workbench.pricing.calls)
    threshold: float = 0.05
    factor: float = 3.0
    min_rate: float = 0.01
    by: str | None = "model"
    every: str = "hour"
    min_count: int = 10
    baseline_days: int = 7
    level: str = "spans"
    leave_deprecation_errors: bool = True

    def validate(self) -> None:
        super().validate()
        self.check_number("threshold", low=0, high=1, strict_low=True)
        self.check_number("factor", low=0)
        self.check_number("min_rate", low=0, high=1)
        self.check_number("min_count", low=1)
        self.check_number("baseline_days", low=1, high=90)
        self.check_choice("every", list(EVERY))
        self.check_choice("level", ["spans", "traces"])
        self.check_choice("leave_deprecation_errors", [True, False])
        check_group(self)

    def lookback(self) -> dt.timedelta:
        return dt.timedelta(days=int(self.baseline_days))

    def evaluate(self, ctx: Context) -> list[Result]:
        width = EVERY[self.every]
        start, end = ctx.bounds(self)
        first, latest = bucket_number(start, width), bucket_number(end, width)
        per_day = int(86_400 / width.total_seconds())
        lookback = int(self.baseline_days) * per_day
        rows = queries.error_counts(
            ctx.reader, self.selection(bucket_start(first - lookback, width), end), group=group_field(self.by),
            width=width, level=self.level,
            leave_matching=deprecation_regex() if self.leave_deprecation_errors else None,
        )
        per_group: dict[object, dict[int, tuple[int, int]]] = {}
        for row in rows:
            per_group.setdefault(row["grp"], {})[row["bucket"]] = (row["n"], row["errors"])
        alpha = per_bucket_alpha(latest - first + 1)
        results = []
        for group, counts in sorted(per_group.items(), key=lambda kv: str(kv[0])):
            breaches: dict[int, dict] = {}
            for number, (n, errors) in counts.items():
                if number < first or n < self.min_count:
                    continue
                base_n = base_err = 0
                for b in range(number - lookback, number):
                    bn, be = counts.get(b, (0, 0))
                    base_n, base_err = base_n + bn, base_err + be
                baseline = base_err / base_n if base_n >= self.min_count else None
                over = binomial_tail(errors, n, self.threshold) < alpha
                jumped = (self.factor > 0 and baseline is not None
                          and binomial_tail(errors, n, max(self.min_rate, self.factor * baseline)) < alpha)
                if over or jumped:
                    breaches[number] = {"n": n, "errors": errors, "rate": errors / n, "baseline": baseline,
                                        "over": over}
            episode = Episode.of(breaches, width, latest)
            if episode is None:
                continue
            peak_at = max(breaches, key=lambda b: (breaches[b]["rate"], breaches[b]["n"], b))
            peak = breaches[peak_at]
            period = (f"on {when(bucket_start(peak_at, width), width)}" if self.every == "day"
                      else f"in the hour from {when(bucket_start(peak_at, width))}")
            what = subject(self.by, group) or ("all requests" if self.level == "traces" else "all spans")
            unit = "requests" if self.level == "traces" else "calls"
            if peak["over"]:
                bar = f"over the {percent(self.threshold)} threshold"
            else:
                bar = (f"{peak['rate'] / max(peak['baseline'], 1e-9):.0f}x its trailing {self.baseline_days}-day "
                       f"rate of {percent(peak['baseline'])}")
                if peak["baseline"] == 0:
                    bar = f"up from none in the {self.baseline_days} days before"
            message = (
                f"Error rate of {what} was {percent(peak['rate'])} ({peak['errors']} of {peak['n']} {unit}) "
                f"{period}, {bar}; too high {episode.describe(width)}."
            )
            errors_in_window = sum(e for b, (_, e) in counts.items() if b >= first)
            results.append(self.result(
                ctx, fired=True, message=message, subject=subject(self.by, group), episode=episode,
                filter=both(self.filter, group_filter(self.by, group), "status_code == 'ERROR'"),
                values={"peak_rate": peak["rate"], "peak_errors": peak["errors"], "peak_count": peak["n"],
                        "peak_bucket": bucket_start(peak_at, width), "baseline_rate": peak["baseline"],
                        "threshold": self.threshold, "factor": self.factor, "buckets_over": len(breaches),
                        "errors_in_window": errors_in_window, "group": group},
            ))
        if results:
            return results
        scope = f"every {self.by}" if self.by else "all"
        return [self.quiet(ctx, f"Error rate of {scope} stayed under {percent(self.threshold)} and near its "
                                f"trailing rate (buckets of at least {self.min_count}).",
                           values={"threshold": self.threshold, "factor": self.factor})]

