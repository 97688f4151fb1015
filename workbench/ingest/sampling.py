"""Tail sampling of span batches (Arrow rows), the ingest pipeline's stage before the sink.

Both ways in hand this stage the same :class:`~workbench.store.rows.SpanBatch`: the server
the batches its decoding workers made from requests, the in-process collector the batches it
made from ended spans. This holds each batch's rows in a
:class:`~workbench.collector.sampling.TailSampler` by trace, and once traces are decided,
hands the kept rows, weighted, to the sink. In the server, with sampling on, a 200 answer
means the spans were accepted for sampling; they are stored when their trace is decided.

A trace's cost is the sum of its calls' costs by :func:`workbench.pricing.span_cost`, read
from the rows; a failed evaluation is one of the batch's annotation rows, which the
conventions layer extracted once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from workbench.collector.sampling import SamplingPolicy, TailSampler
from workbench.errors import QueueFullError
from workbench.model import TokenUsage
from workbench.pricing import PriceTable, is_call, span_cost
from workbench.store.rows import SpanBatch

__all__ = ["BatchSampler"]

logger = logging.getLogger(__name__)


class BatchSampler:
    """Samples the rows of span batches by trace outcome.

    Threading: any thread may offer and release (the in-process collector's thread offers and
    releases, and a flush on the program's thread releases too); one at a time, under a lock,
    so a batch is handed to ``submit`` once. ``submit`` must not block for long (a store's
    raises QueueFullError instead): it is called under that lock.

    Args:
        policy: What to keep.
        submit: Called with each batch of kept, weighted rows.
    """

    def __init__(self, policy: SamplingPolicy, submit: Callable[[SpanBatch], Any]) -> None:
        self.sampler: TailSampler[tuple[int, int]] = TailSampler(policy, track_dropped=True)
        self.policy = policy
        self._submit = submit
        self._batches: dict[int, SpanBatch] = {}
        self._remaining: dict[int, int] = {}
        self._ids = itertools.count()
        self._prices: PriceTable | None = None
        self._unsent: list[SpanBatch] = []  # kept rows the writer could not take yet
        self._lock = threading.RLock()

    def offer(self, batch: SpanBatch) -> None:
        """Hold a batch's rows until their traces are decided."""
        if not batch.num_spans:
            return
        with self._lock:
            self._offer(batch)

    def _offer(self, batch: SpanBatch) -> None:
        key = next(self._ids)
        self._batches[key] = batch
        self._remaining[key] = batch.num_spans
        spans = batch.spans
        trace_ids = spans.column("trace_id").to_pylist()
        roots = spans.column("parent_span_id").is_null().to_pylist()
        errors = pc.equal(spans.column("status_code"), "ERROR").to_pylist()
        latencies = spans.column("latency_ms").to_pylist()
        costs = self._costs(spans) if self.policy.cost_usd is not None else None
        failed = self._failed_traces(batch) if self.policy.keep_failed_evaluations else set()
        offer = self.sampler.offer
        for row, trace_id in enumerate(trace_ids):
            offer(
                (key, row),
                trace_id=trace_id,
                is_root=roots[row],
                error=bool(errors[row]),
                latency_ms=latencies[row] or 0.0,
                cost=costs[row] if costs is not None else None,
                failed_evaluation=trace_id in failed,
            )

    def _failed_traces(self, batch: SpanBatch) -> set[str]:
        rows = batch.annotations
        if not rows.num_rows:
            return set()
        return {
            trace_id
            for trace_id, score, label in zip(
                rows.column("trace_id").to_pylist(), rows.column("score").to_pylist(), rows.column("label").to_pylist()
            )
            if self.policy.failed(score, label)
        }

    def _costs(self, spans: pa.Table) -> list[float | None]:
        if self._prices is None:
            self._prices = PriceTable.load(None)
        columns = {name: spans.column(name).to_pylist() for name in (
            "span_kind", "model_name", "provider", "start_time", "prompt_tokens", "completion_tokens",
            "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "prompt_includes_cache", "client_cost")}
        out: list[float | None] = []
        for i, kind in enumerate(columns["span_kind"]):
            if not is_call(kind):  # no cost of its own (see workbench.pricing.calls)
                out.append(None)
                continue
            tokens = TokenUsage(
                prompt=columns["prompt_tokens"][i], completion=columns["completion_tokens"][i],
                cache_read=columns["cache_read_tokens"][i], cache_write=columns["cache_write_tokens"][i],
                reasoning=columns["reasoning_tokens"][i], prompt_includes_cache=columns["prompt_includes_cache"][i],
            )
            start: dt.datetime = columns["start_time"][i]
            out.append(span_cost(self._prices, kind, columns["model_name"][i], columns["provider"][i],
                                 start.date(), tokens, columns["client_cost"][i]))
        return out

    def release(self, *, everything: bool = False) -> int:
        """Submit the kept rows of every decided trace; return how many spans were submitted."""
        with self._lock:
            return self._release(everything)

    def _release(self, everything: bool) -> int:
        submitted = self._send_unsent()
        ready = self.sampler.take_ready(everything=everything)
        by_batch: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for (key, row), weight in ready:
            by_batch[key].append((row, weight))
        for key, rows in by_batch.items():
            self._unsent.append(self._batches[key].take([row for row, _ in rows], [w for _, w in rows]))
        for key, _row in self.sampler.take_dropped():
            by_batch.setdefault(key, [])
            self._remaining[key] -= 1
        for key, rows in by_batch.items():
            self._remaining[key] -= len(rows)
            if self._remaining[key] <= 0:  # every row decided: let the batch go
                del self._remaining[key], self._batches[key]
        return submitted + self._send_unsent()

    def _send_unsent(self) -> int:
        sent = 0
        while self._unsent:
            batch = self._unsent[0]
            try:
                self._submit(batch)
            except QueueFullError:
                break  # the writer is behind: try again on the next release
            self._unsent.pop(0)
            sent += batch.num_spans
        return sent

    @property
    def holding(self) -> int:
        """Spans buffered or waiting for the writer."""
        with self._lock:
            return self.sampler.buffered_spans + sum(b.num_spans for b in self._unsent)
