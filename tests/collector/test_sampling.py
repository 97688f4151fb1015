"""Outcome-based tail sampling: what is kept, with what weight, and when it is decided."""

from __future__ import annotations

import pytest

from workbench.collector.sampling import SamplingPolicy, TailSampler, trace_id_fraction
from workbench.errors import ConfigError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _trace_ids(n: int) -> list[str]:
    return [f"{i * 0x9E3779B97F4A7C15 % 2**128:032x}" for i in range(1, n + 1)]


def _offer_trace(sampler, trace_id, *, error=False, latency=100.0, cost=None, failed=False, spans=3):
    for i in range(spans):
        root = i == spans - 1  # children end first; the root arrives last
        sampler.offer((trace_id, i), trace_id=trace_id, is_root=root, error=error and i == 0,
                      latency_ms=latency if root else latency / 2, cost=cost if i == 0 else None,
                      failed_evaluation=failed and i == 1)


def test_every_failing_trace_is_kept_and_a_share_of_healthy_ones():
    clock = Clock()
    sampler = TailSampler(SamplingPolicy(rate=0.1, latency_ms=5000, cost_usd=0.5, decision_wait_s=2), clock=clock)
    ids = _trace_ids(2000)
    special = {ids[0]: dict(error=True), ids[1]: dict(latency=9000.0), ids[2]: dict(cost=0.8),
               ids[3]: dict(failed=True)}
    for trace_id in ids:
        _offer_trace(sampler, trace_id, **special.get(trace_id, {}))
    assert sampler.take_ready() == []  # roots just arrived: not yet decided
    clock.now = 2.0
    kept = sampler.take_ready()
    kept_traces = {item[0] for item, _ in kept}
    assert set(special) <= kept_traces
    weights = {item[0]: w for item, w in kept}
    assert all(weights[t] == 1.0 for t in special)
    healthy = kept_traces - set(special)
    assert 150 <= len(healthy) <= 250  # about a tenth of 1996
    assert all(weights[t] == pytest.approx(10.0) for t in healthy)
    assert all(trace_id_fraction(t) < 0.1 for t in healthy)
    stats = sampler.stats()
    assert stats["kept_traces"] == {"error": 1, "latency": 1, "cost": 1, "evaluation": 1, "sampled": len(healthy)}
    assert stats["dropped_traces"] == 2000 - 4 - len(healthy)
    assert stats["kept_spans"] + stats["dropped_spans"] == 6000 and stats["buffered_spans"] == 0
    # The weights re-weight the sample back to the real traffic.
    assert sum(weights.values()) == pytest.approx(2000, rel=0.15)


def test_all_spans_of_a_trace_share_its_fate_even_when_late():
    clock = Clock()
    sampler = TailSampler(SamplingPolicy(rate=0.0, decision_wait_s=1), clock=clock)
    _offer_trace(sampler, "a" * 32, error=True)
    _offer_trace(sampler, "b" * 32)
    clock.now = 1.0
    assert {item for item, _ in sampler.take_ready()} == {("a" * 32, 0), ("a" * 32, 1), ("a" * 32, 2)}
    sampler.offer(("a" * 32, 9), trace_id="a" * 32, is_root=False)
    sampler.offer(("b" * 32, 9), trace_id="b" * 32, is_root=False)
    assert sampler.take_ready() == [(("a" * 32, 9), 1.0)]
    assert sampler.stats()["dropped_spans"] == 4


def test_a_trace_without_its_root_is_decided_after_max_wait():
    clock = Clock()
    sampler = TailSampler(SamplingPolicy(rate=1.0, decision_wait_s=1, max_wait_s=10), clock=clock)
    sampler.offer("orphan", trace_id="c" * 32, is_root=False)
    clock.now = 9.0
    assert sampler.take_ready() == []
    clock.now = 10.0
    assert sampler.take_ready() == [("orphan", 1.0)]


def test_a_full_buffer_decides_the_oldest_early_and_flush_decides_all():
    clock = Clock()
    sampler = TailSampler(SamplingPolicy(rate=1.0, max_buffered_spans=5), clock=clock)
    for trace_id in _trace_ids(3):
        _offer_trace(sampler, trace_id)  # 9 spans > 5
    first = sampler.take_ready()
    assert len(first) == 6 and sampler.buffered_spans == 3
    assert len(sampler.take_ready(everything=True)) == 3


def test_the_decision_is_the_same_for_the_same_trace_id():
    ids = _trace_ids(500)
    a, b = (TailSampler(SamplingPolicy(rate=0.3, decision_wait_s=0)) for _ in range(2))
    for sampler in (a, b):
        for trace_id in ids:
            sampler.offer(trace_id, trace_id=trace_id, is_root=True)
    assert {i for i, _ in a.take_ready()} == {i for i, _ in b.take_ready()}


def test_bad_policies_are_explained():
    with pytest.raises(ConfigError, match="from 0 to 1"):
        SamplingPolicy(rate=1.5)
    with pytest.raises(ConfigError, match="unknown key"):
        SamplingPolicy.from_mapping({"rat": 0.5})
    policy = SamplingPolicy.from_mapping({"rate": 0.25, "failed_labels": ["Nope"]})
    assert policy.failed(None, "nope") and policy.failed(0.2, None) and not policy.failed(0.9, "ok")
