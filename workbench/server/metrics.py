"""``GET /metrics``: what the server received, in the Prometheus text format.

The figures are kept up to date as spans arrive (:meth:`Metrics.observe`, called with each
batch the OTLP receiver or the recording proxy hands to the writer), never by scanning the
store when scraped: a scrape then costs the same whether the store holds a thousand spans
or a billion, and counters keep counting when old spans are deleted. Each batch is added
with a handful of numpy operations over its Arrow columns, grouped by label values.

Labels are bounded: ``model``, ``provider``, ``project`` and ``span_kind`` (and ``error_type``
on errors) take at most ``WORKBENCH_METRICS_LABEL_VALUES`` distinct values each; later ones
are counted under ``other``. No session or user id is ever a label.

Costs are priced when spans arrive, with the price table of that moment (the app and the
read API price at query time, so a later price change re-costs those, not these counters).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from tornado.web import RequestHandler

from workbench.pricing import PriceTable
from workbench.pricing.calls import CALL_KINDS
from workbench.pricing.maths import cost_columns
from workbench.store.rows import SpanBatch

__all__ = ["LATENCY_BUCKETS_S", "Metrics", "MetricsHandler"]

logger = logging.getLogger(__name__)

#: Upper bounds, in seconds, of the span duration and time-to-first-token histograms.
LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)
_BOUNDS = [repr(float(b)) for b in LATENCY_BUCKETS_S]
_LABELS = ("model", "provider", "project", "span_kind")
_COLUMNS = ("model_name", "provider", "project", "span_kind")
_TOKENS = (
    ("prompt", "prompt_tokens"),
    ("completion", "completion_tokens"),
    ("cache_read", "cache_read_tokens"),
    ("cache_write", "cache_write_tokens"),
    ("reasoning", "reasoning_tokens"),
)
OTHER = "other"
NONE = "none"


class _Fold:
    """The label values of one dimension: the first ``cap`` seen, then ``other``."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.values: list[str] = [OTHER]
        self.index: dict[str, int] = {OTHER: 0}

    def __call__(self, value: str | None) -> int:
        text = value if value else NONE
        found = self.index.get(text)
        if found is not None:
            return found
        if len(self.values) - 1 >= self.cap:
            return 0
        self.index[text] = len(self.values)
        self.values.append(text)
        return self.index[text]


class _State:
    """Everything counted, one row per combination of label values (a series)."""

    def __init__(self, capacity: int = 64) -> None:
        width = len(LATENCY_BUCKETS_S) + 1
        self.size = 0
        self.spans = np.zeros(capacity, np.int64)
        self.cost = np.zeros(capacity)
        self.tokens = np.zeros((capacity, len(_TOKENS)), np.int64)
        self.latency = np.zeros((capacity, width), np.int64)
        self.latency_sum = np.zeros(capacity)
        self.ttft = np.zeros((capacity, width), np.int64)
        self.ttft_sum = np.zeros(capacity)
        self.errors: list[dict[str, int]] = []

    def add_row(self) -> int:
        if self.size == len(self.spans):
            for name in ("spans", "cost", "tokens", "latency", "latency_sum", "ttft", "ttft_sum"):
                old = getattr(self, name)
                new = np.zeros((2 * len(old), *old.shape[1:]), old.dtype)
                new[: len(old)] = old
                setattr(self, name, new)
        self.errors.append({})
        self.size += 1
        return self.size - 1


class Metrics:
    """Counters and histograms over the spans a server receives, and its ingest counters.

    Thread-safe: :meth:`observe` and :meth:`render` may run on any thread.

    Args:
        label_values: The most distinct values each label takes before ``other``.
        ingest_counters: Returns the server's own counters at scrape time (see
            :meth:`workbench.server.server.Server.ingest_counters`).
        prices: The price table costs are computed with; None loads the effective one lazily.
    """

    def __init__(
        self,
        label_values: int = 50,
        ingest_counters: Callable[[], dict[str, Any]] | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        self._folds = [_Fold(label_values) for _ in _LABELS]
        self._errors = _Fold(label_values)
        self._rows: dict[tuple[int, ...], int] = {}  # label ids -> row of the state
        self._keys: list[tuple[int, ...]] = []
        self._row_of_key: dict[int, int] = {}
        self._state = _State()
        self._lock = threading.Lock()
        self._ingest_counters = ingest_counters
        self._prices = prices
        self._price_cache: dict[tuple[str, str, object], tuple[float, ...] | None] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)  # prometheus_client calls collect() on each scrape

    # -- ingest ---------------------------------------------------------------------------

    def observe(self, batch: SpanBatch) -> None:
        """Add a batch of stored (or sampled-in) spans to the counters. Never raises."""
        try:
            self._observe(batch.spans)
        except Exception:
            logger.exception("metrics could not count a batch of spans")

    def _observe(self, spans: pa.Table) -> None:
        n = spans.num_rows
        if not n:
            return
        with self._lock:
            key = np.zeros(n, np.int64)
            for fold, column in zip(self._folds, _COLUMNS):
                encoded = pc.fill_null(spans.column(column), "").combine_chunks().dictionary_encode()
                ids = np.array([fold(v) for v in encoded.dictionary.to_pylist()], np.int64)
                key = key * (fold.cap + 1) + ids[encoded.indices.to_numpy(zero_copy_only=False)]
            groups, inverse = np.unique(key, return_inverse=True)
            inverse = inverse.reshape(-1)
            size = len(groups)
            rows = np.array([self._row(int(g)) for g in groups], np.int64)
            st = self._state

            st.spans[rows] += np.bincount(inverse, minlength=size)
            for k, (_, col) in enumerate(_TOKENS):
                summed = np.bincount(inverse, weights=_numbers(spans, col), minlength=size)
                st.tokens[rows, k] += summed.astype(np.int64)
            st.cost[rows] += np.bincount(inverse, weights=self._costs(spans), minlength=size)
            bounds = np.asarray(LATENCY_BUCKETS_S)
            latency_s = _numbers(spans, "latency_ms") / 1000.0
            st.latency[rows] += _histogram(inverse, latency_s, bounds, size)
            st.latency_sum[rows] += np.bincount(inverse, weights=latency_s, minlength=size)
            has_ttft = pc.is_valid(spans.column("time_to_first_token_ms")).to_numpy(zero_copy_only=False)
            if has_ttft.any():
                ttft_s = _numbers(spans, "time_to_first_token_ms")[has_ttft] / 1000.0
                st.ttft[rows] += _histogram(inverse[has_ttft], ttft_s, bounds, size)
                st.ttft_sum[rows] += np.bincount(inverse[has_ttft], weights=ttft_s, minlength=size)

            failed = np.flatnonzero(pc.equal(spans.column("status_code"), "ERROR").to_numpy(zero_copy_only=False))
            if len(failed):  # rare: the error's type is read from the span's attributes and events
                taken = pa.array(failed)
                attributes = spans.column("attributes").take(taken).to_pylist()
                events = spans.column("events").take(taken).to_pylist()
                for row, attrs, evs in zip(failed, attributes, events):
                    kind = self._errors.values[self._errors(_error_type(attrs, evs))]
                    errors = st.errors[int(rows[inverse[row]])]
                    errors[kind] = errors.get(kind, 0) + 1

    def _row(self, key: int) -> int:
        """The state's row for a combined label key, added when new."""
        found = self._row_of_key.get(key)
        if found is not None:
            return found
        self._row_of_key[key] = row = self._new_row(key)
        return row

    def _new_row(self, key: int) -> int:
        labels = []
        for fold in reversed(self._folds):
            key, value = divmod(key, fold.cap + 1)
            labels.append(int(value))
        name = tuple(reversed(labels))
        row = self._rows.get(name)
        if row is None:
            row = self._rows[name] = self._state.add_row()
            self._keys.append(name)
        return row

    def _costs(self, spans: pa.Table) -> np.ndarray:
        """Each span's cost in USD (0 when not a call or unknown), priced per distinct model."""
        n = spans.num_rows
        calls = pc.is_in(spans.column("span_kind"), value_set=pa.array(CALL_KINDS)).to_numpy(zero_copy_only=False)
        out = np.zeros(n)
        if not calls.any():
            return out
        if self._prices is None:
            from workbench.pricing.effective import effective_table

            self._prices = effective_table()
        rows = np.flatnonzero(calls)
        take = pa.array(rows)
        models = spans.column("model_name").take(take).to_pylist()
        providers = spans.column("provider").take(take).to_pylist()
        days = pc.cast(spans.column("start_time").take(take), pa.date32()).to_pylist()
        prices = np.full((len(rows), 5), np.nan)
        for j, key in enumerate(zip(models, providers, days)):
            price = self._price(*key)
            if price is not None:
                prices[j] = price
        tokens: dict[str, np.ndarray] = {name: _numbers(spans, col)[rows] for name, col in _TOKENS}
        includes = pc.fill_null(spans.column("prompt_includes_cache"), True)  # unknown: true, as cost_columns
        tokens["prompt_includes_cache"] = includes.to_numpy(zero_copy_only=False).astype(bool)[rows]
        names = ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok",
                 "reasoning_per_mtok")
        total = cost_columns(tokens, {name: prices[:, k] for k, name in enumerate(names)})["total_cost"]
        billed = np.zeros(len(rows), bool)
        for name, _col in _TOKENS:
            billed |= tokens[name] > 0
        client = spans.column("client_cost").take(take).to_numpy(zero_copy_only=False).astype(float)
        # call_cost's rule: the priced tokens, else the sender's figure, else unknown (0 here).
        chosen = np.where(billed & ~np.isnan(total), total, np.nan_to_num(client, nan=0.0))
        out[rows] = np.nan_to_num(chosen, nan=0.0)
        return out

    def _price(self, model: str | None, provider: str | None, day: object) -> tuple[float, ...] | None:
        if not model:
            return None
        key = (model, provider or "", day)
        if key not in self._price_cache:
            assert self._prices is not None
            match = self._prices.match(model, provider, day)
            if match is None:
                self._price_cache[key] = None
            else:
                p = match.price
                self._price_cache[key] = (
                    p.input, p.output,
                    np.nan if p.cache_read is None else p.cache_read,
                    np.nan if p.cache_write is None else p.cache_write,
                    np.nan if p.reasoning is None else p.reasoning,
                )
            if len(self._price_cache) > 10_000:  # days go by: keep the cache small
                self._price_cache.clear()
        return self._price_cache.get(key)

    # -- scrape ---------------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        """The metric families (prometheus_client's collector protocol)."""
        with self._lock:
            st = self._state
            n = st.size
            names = [self._names(key) for key in self._keys]
            counts, costs, token_counts = st.spans[:n].tolist(), st.cost[:n].tolist(), st.tokens[:n].tolist()
            lat, lat_sum = np.cumsum(st.latency[:n], axis=1).tolist(), st.latency_sum[:n].tolist()
            ttft_, ttft_sum = np.cumsum(st.ttft[:n], axis=1).tolist(), st.ttft_sum[:n].tolist()
            error_counts = [dict(e) for e in st.errors[:n]]
        spans = CounterMetricFamily("workbench_spans", "Spans received (each LLM span is one model call).",
                                    labels=_LABELS)
        tokens = CounterMetricFamily("workbench_tokens", "Tokens the spans report, by type.",
                                     labels=(*_LABELS, "type"))
        cost = CounterMetricFamily("workbench_cost_usd", "Cost of the model calls in USD, priced on arrival.",
                                   labels=_LABELS)
        errors = CounterMetricFamily("workbench_errors", "Spans whose status is ERROR, by error type.",
                                     labels=(*_LABELS, "error_type"))
        latency = HistogramMetricFamily("workbench_span_duration_seconds", "Span duration in seconds.",
                                        labels=_LABELS)
        ttft = HistogramMetricFamily("workbench_time_to_first_token_seconds",
                                     "Time to first streamed token in seconds.", labels=_LABELS)
        for i, labels in enumerate(names):
            spans.add_metric(labels, counts[i])
            cost.add_metric(labels, costs[i])
            for (name, _), count in zip(_TOKENS, token_counts[i]):
                tokens.add_metric([*labels, name], count)
            for kind, count in error_counts[i].items():
                errors.add_metric([*labels, kind], count)
            latency.add_metric(labels, _buckets(lat[i]), lat_sum[i])
            if ttft_[i][-1]:
                ttft.add_metric(labels, _buckets(ttft_[i]), ttft_sum[i])
        yield from (spans, tokens, cost, errors, latency, ttft)
        if self._ingest_counters is not None:
            yield from _ingest_families(self._ingest_counters())

    def _names(self, key: tuple[int, ...]) -> list[str]:
        return [fold.values[i] for fold, i in zip(self._folds, key)]

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


def _ingest_families(c: dict[str, Any]) -> Iterator[Metric]:
    yield CounterMetricFamily("workbench_ingest_spans_accepted", "Spans the server accepted.",
                              value=c.get("accepted_spans", 0))
    yield CounterMetricFamily("workbench_ingest_spans_rejected", "Spans refused for their data (partial success).",
                              value=c.get("rejected_spans", 0))
    yield CounterMetricFamily("workbench_ingest_requests_refused",
                              "OTLP requests refused while the server was busy, full or out of disk (503).",
                              value=c.get("refused_requests", 0))
    yield GaugeMetricFamily("workbench_ingest_queued_spans", "Spans waiting for the writer.",
                            value=c.get("queued_spans", 0))
    yield CounterMetricFamily("workbench_ingest_sampling_dropped_spans", "Spans dropped by tail sampling.",
                              value=c.get("sampling_dropped_spans", 0))
    redactions = CounterMetricFamily("workbench_ingest_redactions", "Values redacted on the way in, by detector.",
                                     labels=("detector",))
    for kind, count in sorted(c.get("redacted", {}).items()):
        redactions.add_metric([kind], count)
    yield redactions
    proxied = CounterMetricFamily("workbench_proxy_requests", "Calls forwarded by the recording proxy.",
                                  labels=("provider", "status"))
    for (provider, status), count in sorted(c.get("proxy_requests", {}).items()):
        proxied.add_metric([provider, status], count)
    yield proxied


def _numbers(spans: pa.Table, column: str) -> np.ndarray:
    return pc.fill_null(spans.column(column), 0).to_numpy().astype(np.float64)


def _histogram(inverse: np.ndarray, values: np.ndarray, bounds: np.ndarray, size: int) -> np.ndarray:
    """Per group, how many values fall in each bucket (the last: above every bound)."""
    width = len(bounds) + 1
    bucket = np.searchsorted(bounds, values, side="left")
    flat = np.bincount(inverse * width + bucket, minlength=size * width)
    return flat.reshape(size, width)


def _buckets(cumulative: list[int]) -> list[tuple[str, float]]:
    out = [(_BOUNDS[i], float(c)) for i, c in enumerate(cumulative[:-1])]
    out.append(("+Inf", float(cumulative[-1])))
    return out


def _error_type(attributes: Any, events: Any) -> str:
    """The error's type: ``error.type``, else an exception event's ``exception.type``, else ``error``."""
    attrs = _loads(attributes)
    if isinstance(attrs, dict):
        for key in ("error.type", "exception.type"):
            value = attrs.get(key)
            if isinstance(value, str) and value:
                return value[:100]
    evs = _loads(events)
    if isinstance(evs, list):
        for event in evs:
            if isinstance(event, dict) and event.get("name") == "exception":
                value = (event.get("attributes") or {}).get("exception.type")
                if isinstance(value, str) and value:
                    return value[:100]
    return "error"


def _loads(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


class MetricsHandler(RequestHandler):
    """``GET /metrics``, rendered on a reader thread so the event loop goes on serving."""

    def initialize(self, metrics: Metrics, executor: Executor) -> None:  # tornado's hook
        self.metrics = metrics
        self.executor = executor

    async def get(self) -> None:
        text = await asyncio.get_running_loop().run_in_executor(self.executor, self.metrics.render)
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(text)

    def write_error(self, status_code: int, **kwargs: Any) -> None:  # tornado's hook
        """Errors as one JSON sentence (a 405 for another method included), never an HTML page."""
        if status_code == 405:
            self.set_header("Allow", "GET")
            message = f"/metrics answers GET only (not {self.request.method}); scrape it with GET."
        else:
            message = "The metrics could not be rendered; see the server's log, and scrape again."
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message}))
