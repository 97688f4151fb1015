"""The statistics the rate rules decide with: how likely a count is by chance, and how to
keep a whole window's tests, together, to a small false-alarm chance."""

from __future__ import annotations

import math
import statistics

__all__ = ["FALSE_ALARM", "binomial_tail", "per_bucket_alpha", "poisson_tail", "two_proportion_z", "weighted_median",
           "z_for"]

#: The chance that a healthy group fires anywhere in a window, for the rules that test rates.
FALSE_ALARM = 0.01


def per_bucket_alpha(buckets: int) -> float:
    """The significance each of ``buckets`` tests needs so that all of them together raise a
    false alarm at most :data:`FALSE_ALARM` of the time (Bonferroni)."""
    return FALSE_ALARM / max(1, buckets)


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): how likely ``k`` or more hits are by chance at rate ``p``.

    At or below the mean (``k <= n * p``) it returns 1.0: the tail is then at least about one
    half, and the rules only ask whether it is small.
    """
    if k <= 0 or k <= n * p:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total, i = 0.0, k
    while i <= n:
        term = math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q)
        total += term
        # Past the mode the terms only shrink; stop once they no longer count.
        if i > n * p and term < total * 1e-12:
            break
        i += 1
    return min(1.0, total)


def poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean); 1.0 at or below the mean (see :func:`binomial_tail`)."""
    if k <= 0 or k <= mean:
        return 1.0
    if mean <= 0:
        return 0.0
    total, i, log_mean = 0.0, k, math.log(mean)
    while True:
        term = math.exp(i * log_mean - mean - math.lgamma(i + 1))
        total += term
        if term < total * 1e-12:
            return min(1.0, total)
        i += 1


def z_for(alpha: float) -> float:
    """The one-sided normal quantile for a significance ``alpha``."""
    return statistics.NormalDist().inv_cdf(1 - alpha)


def two_proportion_z(k1: int, n1: int, k2: int, n2: int) -> float:
    """The z statistic of proportion 1 minus proportion 2 (pooled); 0 when undefined."""
    if n1 <= 0 or n2 <= 0:
        return 0.0
    pooled = (k1 + k2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return 0.0
    return (k1 / n1 - k2 / n2) / math.sqrt(variance)


def weighted_median(values: list[tuple[float, float]]) -> float:
    """The median of ``(value, weight)`` pairs: the smallest value with at least half the
    total weight at or below it. 0.0 with no weight."""
    ordered = sorted((v, w) for v, w in values if w > 0)
    half = sum(w for _, w in ordered) / 2
    seen = 0.0
    for value, weight in ordered:
        seen += weight
        if seen >= half:
            return value
    return 0.0

