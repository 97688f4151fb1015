"""Latency rule: a percentile of span latency over a service-level objective."""

from __future__ import annotations

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
from workbench.monitors.words import both, literal, millis, when
from workbench.read import monitors as queries

__all__ = ["LatencySLO"]


@dataclass(kw_only=True)
class LatencySLO(Rule):
    """p95 or p99 latency over an objective, per model, span name, provider or kind.

    A bucket (an hour or a day, UTC) breaches when it holds at least ``min_count`` spans and
    their ``percentile`` latency is over ``slo_ms``; fewer spans say too little about a tail.

    Attributes:
        slo_ms: The objective, in milliseconds.
        percentile: The percentile held to it, from 50 to 99.9 (95 and 99 are usual).
        by: ``"model"``, ``"name"``, ``"provider"``, ``"kind"``, ``"project"`` or ``None``.
        every: ``"day"`` or ``"hour"``.
        min_count: The fewest spans a bucket needs to be judged.
        level: ``"spans"`` measures the spans matching ``filter``; ``"traces"`` whole
            requests (root spans of traces with a matching span).
        filter: Which spans; by default LLM calls.
    """

    kind = "latency_slo"
    warn_param = "slo_ms"
    measured = "peak_ms"
    summary = "p95/p99 latency over an objective, per model or span name"

    filter: str | None = "span_kind == 'LLM'"
    slo_ms: float = 10_000.0
    percentile: float = 99.0
    by: str | None = "model"
    every: str = "day"
    min_count: int = 20
    level: str = "spans"

    def validate(self) -> None:
        super().validate()
        self.check_number("slo_ms", low=0, strict_low=True)
        self.check_number("percentile", low=50, high=99.9)
        self.check_number("min_count", low=1)
        self.check_choice("every", list(EVERY))
        self.check_choice("level", ["spans", "traces"])
        check_group(self)

    def evaluate(self, ctx: Context) -> list[Result]:
        width = EVERY[self.every]
        start, end = ctx.bounds(self)
        first, latest = bucket_number(start, width), bucket_number(end, width)
        rows = queries.latency_percentiles(
            ctx.reader, self.selection(bucket_start(first, width), end), group=group_field(self.by), width=width,
            level=self.level, quantile=self.percentile / 100, slo_ms=float(self.slo_ms),
        )
        per_group: dict[object, list[dict]] = {}
        for row in rows:
            per_group.setdefault(row["grp"], []).append(row)
        name = f"p{literal(self.percentile)}"
        results = []
        for group, buckets in sorted(per_group.items(), key=lambda kv: str(kv[0])):
            over = {r["bucket"]: r for r in buckets if r["n"] >= self.min_count and r["pct"] > self.slo_ms}
            episode = Episode.of(over, width, latest)
            if episode is None:
                continue
            peak = over[max(over, key=lambda b: over[b]["pct"])]
            judged = sum(1 for r in buckets if r["n"] >= self.min_count)
            unit = "day" if self.every == "day" else "hour"
            period = (f"on {when(bucket_start(peak['bucket'], width), width)}" if self.every == "day"
                      else f"in the hour from {when(bucket_start(peak['bucket'], width))}")
            what = subject(self.by, group) or "all spans"
            level = "requests" if self.level == "traces" else "spans"
            message = (
                f"{name} latency of {what} was {millis(peak['pct'])} {period} ({peak['n']} {level}), over the "
                f"{millis(self.slo_ms)} objective; over on {len(over)} of {judged} {unit}s judged, "
                f"{episode.describe(width)}."
            )
            slow = sum(r["slow"] for r in buckets if r["bucket"] >= first)
            results.append(self.result(
                ctx, fired=True, message=message, subject=subject(self.by, group), episode=episode,
                filter=both(self.filter, group_filter(self.by, group), f"latency_ms > {literal(float(self.slo_ms))}"),
                values={"percentile": self.percentile, "slo_ms": self.slo_ms, "peak_ms": peak["pct"],
                        "peak_count": peak["n"], "peak_bucket": bucket_start(peak["bucket"], width),
                        "worst_ms": max(r["worst"] for r in over.values()), "buckets_over": len(over),
                        "buckets_judged": judged, "slow_spans": slow, "group": group},
            ))
        if results:
            return results
        scope = f"every {self.by}" if self.by else "all spans"
        return [self.quiet(ctx, f"{name} latency of {scope} stayed within {millis(self.slo_ms)} "
                                f"(buckets of at least {self.min_count} spans).",
                           values={"percentile": self.percentile, "slo_ms": self.slo_ms})]
