"""What the sampler needs to know about one span: root or not, failed or not, how slow, how costly."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from workbench.collector.sampling import SamplingPolicy
from workbench.model import Span, StatusCode
from workbench.pricing import PriceTable, span_cost
from workbench.semconv.evaluations import evaluations_of

__all__ = ["span_outcome"]


@functools.lru_cache(maxsize=1)
def _prices() -> PriceTable:
    # The shipped table: sampling thresholds are coarse, and a user's price file is applied
    # where costs are shown, at query time.
    return PriceTable.load(None)


def _cost(span: Span) -> float | None:
    day = dt.datetime.fromtimestamp(span.start_time_ns / 1e9, dt.timezone.utc).date()
    return span_cost(_prices(), span.span_kind, span.model_name, span.provider, day, span.tokens, span.client_cost)


def span_outcome(span: Span, policy: SamplingPolicy) -> dict[str, Any]:
    """The keyword arguments of :meth:`TailSampler.offer` for ``span``."""
    failed = False
    if policy.keep_failed_evaluations:
        failed = any(policy.failed(e.score, e.label) for e in evaluations_of(span))
    return {
        "trace_id": span.trace_id,
        "is_root": not span.parent_span_id,
        "error": span.status_code is StatusCode.ERROR,
        "latency_ms": (span.end_time_ns - span.start_time_ns) / 1e6,
        "cost": _cost(span) if policy.cost_usd is not None else None,
        "failed_evaluation": failed,
    }
