"""Outcome-based (tail) sampling: keep every trace that went wrong, and a share of the rest.

A uniform 1% sample can hide a regression that shows only on one kind of input. This
sampler waits until a trace is complete, looks at how it went, and then decides:

* keep every trace with an error span, a failed evaluation, a latency at or above
  ``latency_ms``, or a cost at or above ``cost_usd`` (weight 1);
* keep ``rate`` of the healthy rest, chosen from the trace id so every span of a trace (and
  every process sampling the same trace) decides alike (weight ``1 / rate``);
* drop the others, counting them.

Stored spans carry their weight (``sample_weight``), so counts and rates can be re-weighted:
a healthy trace kept at rate 0.1 stands for ten.

A trace counts as complete ``decision_wait_s`` after its root span arrives, or
``max_wait_s`` after its first span when no root comes. Spans arriving after the decision
follow it. The sampler is a plain object with no thread of its own: callers ``offer`` spans
and collect decided ones with :meth:`TailSampler.take_ready`, which they call regularly.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from workbench import config
from workbench.errors import ConfigError

__all__ = ["SamplingPolicy", "TailSampler", "sampling_policy", "trace_id_fraction"]

T = TypeVar("T")

_FAILED_LABELS = frozenset(
    {"fail", "failed", "failure", "incorrect", "wrong", "hallucinated", "hallucination", "irrelevant",
     "unfaithful", "thumbs_down", "negative", "bad", "toxic"}
)


def trace_id_fraction(trace_id: str) -> float:
    """Where a trace id falls in [0, 1): its lower 64 bits over 2**64, as OTel's ratio sampler."""
    try:
        return int(trace_id[-16:], 16) / 2**64
    except ValueError:
        return 0.0


@dataclass(frozen=True)
class SamplingPolicy:
    """What to keep.

    Attributes:
        rate: The share of healthy traces kept, from 0 to 1.
        keep_errors: Keep every trace with an ERROR span.
        keep_failed_evaluations: Keep every trace with a failed evaluation (a score below
            ``evaluation_pass_score``, or a label such as ``fail`` or ``thumbs_down``).
        evaluation_pass_score: The score an evaluation needs to pass.
        latency_ms: Keep every trace at least this slow (its root span, else its longest span).
        cost_usd: Keep every trace costing at least this much.
        decision_wait_s: Seconds after the root span arrives before deciding.
        max_wait_s: Seconds after the first span before deciding a trace whose root never came.
        max_buffered_spans: Spans held undecided; past it the oldest traces are decided early.
    """

    rate: float = 1.0
    keep_errors: bool = True
    keep_failed_evaluations: bool = True
    evaluation_pass_score: float = 0.5
    latency_ms: float | None = None
    cost_usd: float | None = None
    decision_wait_s: float = 5.0
    max_wait_s: float = 60.0
    max_buffered_spans: int = 200_000
    failed_labels: frozenset[str] = field(default=_FAILED_LABELS)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ConfigError(f"sampling rate={self.rate!r} must be from 0 to 1 (0.1 keeps a tenth of healthy traces).")
        for name in ("latency_ms", "cost_usd"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"sampling {name}={value!r} must not be negative; leave it unset to ignore {name}.")
        if self.decision_wait_s < 0 or self.max_wait_s < self.decision_wait_s:
            raise ConfigError(
                f"sampling waits decision_wait_s={self.decision_wait_s} and max_wait_s={self.max_wait_s} must "
                "satisfy 0 <= decision_wait_s <= max_wait_s."
            )

    @property
    def active(self) -> bool:
        """Whether anything can be dropped at all."""
        return self.rate < 1.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SamplingPolicy:
        """A policy from a config file's ``[sampling]`` table.

        Raises:
            ConfigError: An unknown key or a value out of range.
        """
        known = {f.name for f in cls.__dataclass_fields__.values()}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"sampling has unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}."
            )
        data = dict(values)
        if "failed_labels" in data:
            data["failed_labels"] = frozenset(str(v).lower() for v in data["failed_labels"])
        return cls(**data)

    def failed(self, score: float | None, label: str | None) -> bool:
        """Whether an evaluation with this score and label failed."""
        if score is not None and score < self.evaluation_pass_score:
            return True
        return label is not None and label.strip().lower() in self.failed_labels


@dataclass
class _Trace(Generic[T]):
    first_seen: float
    root_seen: float | None = None
    error: bool = False
    failed_evaluation: bool = False
    latency_ms: float = 0.0
    root_latency_ms: float | None = None
    cost: float = 0.0
    items: list[T] = field(default_factory=list)


class TailSampler(Generic[T]):
    """Buffers spans by trace and releases them once their trace is decided.

    Args:
        policy: What to keep.
        clock: Seconds, monotonic (tests pass their own).
        track_dropped: Keep dropped items for :meth:`take_dropped` (to free what holds them).

    Thread-safe: ``offer`` and ``take_ready`` may run on different threads.
    """

    def __init__(
        self,
        policy: SamplingPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        track_dropped: bool = False,
    ) -> None:
        self.policy = policy
        self._track_dropped = track_dropped
        self._dropped_items: list[T] = []
        self._clock = clock
        self._lock = threading.Lock()
        self._traces: OrderedDict[str, _Trace[T]] = OrderedDict()
        self._decided: OrderedDict[str, float | None] = OrderedDict()  # weight, or None if dropped
        self._buffered = 0
        self.kept_traces: Counter[str] = Counter()  # by reason
        self.dropped_traces = 0
        self.kept_spans = 0
        self.dropped_spans = 0
        self._late: list[tuple[T, float]] = []

    @property
    def buffered_spans(self) -> int:
        """Spans waiting for their trace's decision."""
        return self._buffered

    def offer(
        self,
        item: T,
        *,
        trace_id: str,
        is_root: bool,
        error: bool = False,
        latency_ms: float = 0.0,
        cost: float | None = None,
        failed_evaluation: bool = False,
    ) -> None:
        """Hand over one span (``item``) with what the decision needs to know about it."""
        with self._lock:
            if trace_id in self._decided:
                weight = self._decided[trace_id]
                if weight is None:
                    self.dropped_spans += 1
                    if self._track_dropped:
                        self._dropped_items.append(item)
                else:
                    self.kept_spans += 1
                    self._late.append((item, weight))
                return
            trace = self._traces.get(trace_id)
            now = self._clock()
            if trace is None:
                trace = self._traces[trace_id] = _Trace(first_seen=now)
            trace.items.append(item)
            self._buffered += 1
            trace.error = trace.error or error
            trace.failed_evaluation = trace.failed_evaluation or failed_evaluation
            trace.latency_ms = max(trace.latency_ms, latency_ms)
            if cost:
                trace.cost += cost
            if is_root:
                trace.root_seen = now
                trace.root_latency_ms = latency_ms

    def _reason(self, trace: _Trace[T]) -> str | None:
        policy = self.policy
        if policy.keep_errors and trace.error:
            return "error"
        if policy.keep_failed_evaluations and trace.failed_evaluation:
            return "evaluation"
        latency = trace.root_latency_ms if trace.root_latency_ms is not None else trace.latency_ms
        if policy.latency_ms is not None and latency >= policy.latency_ms:
            return "latency"
        if policy.cost_usd is not None and trace.cost >= policy.cost_usd:
            return "cost"
        return None

    def _decide(self, trace_id: str, trace: _Trace[T], out: list[tuple[T, float]]) -> None:
        reason = self._reason(trace)
        weight: float | None
        if reason is not None:
            weight = 1.0
        elif self.policy.rate > 0 and trace_id_fraction(trace_id) < self.policy.rate:
            reason, weight = "sampled", 1.0 / self.policy.rate
        else:
            weight = None
        count = len(trace.items)
        self._buffered -= count
        if weight is None:
            self.dropped_traces += 1
            self.dropped_spans += count
            if self._track_dropped:
                self._dropped_items.extend(trace.items)
        else:
            self.kept_traces[reason or "sampled"] += 1
            self.kept_spans += count
            out.extend((item, weight) for item in trace.items)
        self._decided[trace_id] = weight
        if len(self._decided) > 200_000:  # remember recent decisions for late spans, not forever
            self._decided.popitem(last=False)

    def take_ready(self, *, everything: bool = False) -> list[tuple[T, float]]:
        """The kept spans of every trace that can be decided now, with their weights.

        Args:
            everything: Decide every buffered trace now (on flush or shutdown).
        """
        out: list[tuple[T, float]] = []
        with self._lock:
            if self._late:
                out, self._late = self._late, []
            now = self._clock()
            policy = self.policy
            for trace_id in list(self._traces):
                trace = self._traces[trace_id]
                due = (
                    everything
                    or (trace.root_seen is not None and now - trace.root_seen >= policy.decision_wait_s)
                    or now - trace.first_seen >= policy.max_wait_s
                    or self._buffered > policy.max_buffered_spans
                )
                if due:
                    del self._traces[trace_id]
                    self._decide(trace_id, trace, out)
        return out

    def take_dropped(self) -> list[T]:
        """Items dropped since the last call (with ``track_dropped``)."""
        with self._lock:
            out, self._dropped_items = self._dropped_items, []
        return out

    def stats(self) -> dict[str, Any]:
        """Kept and dropped counts, for the app and ``/api/health``."""
        with self._lock:
            return {
                "rate": self.policy.rate,
                "kept_traces": dict(self.kept_traces),
                "dropped_traces": self.dropped_traces,
                "kept_spans": self.kept_spans,
                "dropped_spans": self.dropped_spans,
                "buffered_spans": self._buffered,
            }


def sampling_policy(value: SamplingPolicy | float | None = None) -> SamplingPolicy | None:
    """A policy from an argument (a policy, or a rate), else the ``sample_rate`` setting.

    Returns None when everything is kept.
    """
    if isinstance(value, SamplingPolicy):
        return value if value.active else None
    rate = config.get("sample_rate", None if value is None else float(value))
    if rate >= 1.0:
        return None
    # The config file's [sampling] table gives thresholds and waits; the rate comes from the
    # argument or the sample_rate setting.
    values = dict(config.file_section("sampling"))
    values["rate"] = rate
    return SamplingPolicy.from_mapping(values)
