"""Helpers shared by tests: waiting for a condition, and span makers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import time
from collections.abc import Callable
from typing import Any

from workbench.model import Span, SpanKind


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def run_async(coroutine: Any) -> Any:
    """Run a coroutine to its end on a thread of its own: a browser test of the same run may
    leave an event loop running on this one, where asyncio.run refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def make_span(
    n: int = 0,
    *,
    trace: int = 0,
    parent: int | None = None,
    kind: SpanKind = SpanKind.LLM,
    start_ms: float = 0.0,
    duration_ms: float = 100.0,
    base_ns: int = 1_763_884_800_000_000_000,  # 2025-11-23T08:00:00Z
    **fields: Any,
) -> Span:
    """A span with made-up but consistent ids and times (trace ``trace``, span ``n``)."""
    start = base_ns + int(start_ms * 1e6)
    values: dict[str, Any] = {
        "trace_id": f"{trace + 1:032x}",
        "span_id": f"{(trace << 16) + n + 1:016x}",
        "parent_span_id": None if parent is None else f"{(trace << 16) + parent + 1:016x}",
        "name": fields.pop("name", f"span-{n}"),
        "start_time_ns": start,
        "end_time_ns": start + int(duration_ms * 1e6),
        "span_kind": kind,
        "project": "test",
        "attributes": {"openinference.span.kind": kind.value, "custom.key": n},
    }
    values.update(fields)
    return Span(**values)



def agent_runs(traces: int, turns: int, *, words: int = 80, seed: int = 3, first_trace: int = 0,
               **fields: Any) -> list[Span]:
    """Agent runs taking turns, as concurrent users' do: each LLM call's input repeats the
    conversation so far, and the calls of one run lie among the others' (in the order they end).
    ``fields`` go to :func:`make_span` (``base_ns`` to move them in time)."""
    rng = random.Random(seed)
    vocabulary = [f"w{rng.getrandbits(40):x}" for _ in range(5000)]
    spans = []
    for t in range(first_trace, first_trace + traces):
        history: list[str] = []
        for turn in range(turns):
            history.append(" ".join(rng.choices(vocabulary, k=words)))
            spans.append(make_span(turn, trace=t, start_ms=turn * 1000 + t * 10, input_value="\n".join(history),
                                   **fields))
    return sorted(spans, key=lambda s: s.end_time_ns)

def otlp_body(emit: Callable[[Any], None], resource: dict[str, Any] | None = None) -> bytes:
    """The OTLP protobuf request body the SDK's exporter would post for the spans ``emit(tracer)`` makes."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Keep(SpanExporter):
        def __init__(self) -> None:
            self.spans: list[Any] = []

        def export(self, spans: Any) -> SpanExportResult:
            self.spans.extend(spans)
            return SpanExportResult.SUCCESS

    keep = Keep()
    provider = TracerProvider(resource=Resource.create(resource or {}))
    provider.add_span_processor(SimpleSpanProcessor(keep))
    emit(provider.get_tracer("test"))
    provider.shutdown()
    return encode_spans(keep.spans).SerializeToString()
