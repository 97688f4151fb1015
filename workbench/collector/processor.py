"""The in-process collector: an OpenTelemetry ``SpanProcessor`` that feeds a span sink.

Threading contract (the one that matters to the host program): :meth:`on_end` runs on the
thread that ends a span. It appends the span to a bounded queue and returns; it takes no
lock that a slow write could hold, does no conversion or I/O, and never raises. A
background thread converts queued spans to workbench spans (the conventions) and hands them
to the ingest pipeline (:class:`workbench.ingest.IngestPipeline`: redaction, Arrow rows,
sampling, the sink), the same pipeline the OTLP receiver runs. When the queue is full, new
spans are dropped, counted in :attr:`dropped`, and one warning is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace import Span as SdkSpan

from workbench.collector.readable import from_readable
from workbench.collector.sink import SpanSink
from workbench.errors import QueueFullError
from workbench.model import Span

__all__ = ["CollectorProcessor", "Stages"]

logger = logging.getLogger(__name__)


class Admission(Protocol):
    """What the stages made of one batch (see :class:`workbench.ingest.Admitted`)."""

    future: Future[int] | None
    spans: int
    rejected: int
    dropped: int


class Stages(Protocol):
    """The ingest pipeline as the collector sees it (:class:`workbench.ingest.IngestPipeline`)."""

    on_stored: Callable[[Future[int]], None] | None

    def __call__(self, spans: list[Span]) -> Admission:
        """Run every stage over converted spans; raise QueueFullError when the sink is full."""
        ...

    def release(self, *, everything: bool = False) -> int:
        """Hand the sink what sampling has decided to keep."""
        ...

    @property
    def holding(self) -> int:
        """Spans the stages hold (sampling)."""
        ...


class _Direct:
    """No stages: spans straight to the sink (a processor built by hand, without a pipeline)."""

    on_stored: Callable[[Future[int]], None] | None = None

    def __init__(self, sink: SpanSink) -> None:
        self.sink = sink

    def __call__(self, spans: list[Span]) -> _Handed:
        future = self.sink.submit(spans)
        if callable(self.on_stored):
            future.add_done_callback(self.on_stored)
        return _Handed(future, len(spans))

    def release(self, *, everything: bool = False) -> int:
        return 0

    @property
    def holding(self) -> int:
        return 0


class _Handed:
    __slots__ = ("dropped", "future", "rejected", "spans")

    def __init__(self, future: Future[int] | None, spans: int) -> None:
        self.future, self.spans, self.rejected, self.dropped = future, spans, 0, 0


class CollectorProcessor(SpanProcessor):
    """Collects ended spans into a :class:`SpanSink` from a background thread.

    Args:
        sink: Where spans go (a :class:`workbench.store.Store`, or an in-memory sink).
        pipeline: The ingest pipeline that takes each converted batch to ``sink``
            (:class:`workbench.ingest.IngestPipeline`: redaction, rows, sampling); None hands
            the spans to the sink as they are.
        max_queue_size: Ended spans that may wait for the background thread.
        batch_size: Spans converted and submitted together.
        schedule_delay: Seconds the thread waits for a batch to fill before sending less.
        default_project: Project of spans whose resource names none.
        close_sink: Close the sink on shutdown (when the processor opened it).
    """

    def __init__(
        self,
        sink: SpanSink,
        *,
        pipeline: Stages | None = None,
        max_queue_size: int = 100_000,
        batch_size: int = 512,
        schedule_delay: float = 0.5,
        default_project: str = "default",
        close_sink: bool = False,
    ) -> None:
        self.sink = sink
        self.pipeline: Stages = pipeline if pipeline is not None else _Direct(sink)
        self.pipeline.on_stored = self._on_stored
        self._max = max_queue_size
        self._batch = batch_size
        self._delay = schedule_delay
        self._project = default_project
        self._close_sink = close_sink
        self._queue: deque[ReadableSpan] = deque()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._pending: list[Future[int]] = []
        self._stopped = False
        self._warned = False
        self.dropped = 0
        self.failed = 0
        self.last_error: str | None = None
        self.exported = 0
        self._thread = threading.Thread(target=self._run, name="workbench-collector", daemon=True)
        self._thread.start()

    # Called on the application's threads ---------------------------------------------

    def on_start(self, span: SdkSpan, parent_context: Context | None = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        """Queue an ended span. Never blocks, never raises."""
        try:
            queue = self._queue
            if self._stopped or len(queue) >= self._max:
                self._drop(1)
                return
            queue.append(span)
            if len(queue) >= self._batch:
                self._wake.set()
        except Exception:  # noqa: BLE001 - the host program must never see our failure
            pass

    def _drop(self, count: int) -> None:
        self.dropped += count
        if not self._warned:
            self._warned = True
            logger.warning(
                "workbench dropped spans: the collector queue is full (max_queue_size=%d) or "
                "the collector is shut down; later drops are counted, not logged.",
                self._max,
            )

    # The background thread -------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self._delay)
            self._wake.clear()
            self._drain()
            self._release(everything=self._stopped)
            if self._stopped and not self._queue:
                return

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            batch: list[ReadableSpan] = []
            with self._idle:
                while queue and len(batch) < self._batch:
                    batch.append(queue.popleft())
                self._in_flight += len(batch)
            try:
                self._export(batch)
            finally:
                with self._idle:
                    self._in_flight -= len(batch)
                    self._idle.notify_all()

    def _export(self, batch: list[ReadableSpan]) -> None:
        spans: list[Span] = []
        for readable in batch:
            try:
                spans.append(from_readable(readable, default_project=self._project))
            except Exception:
                self.failed += 1
                logger.exception("workbench could not convert span %r", getattr(readable, "name", "?"))
        if not spans:
            return
        try:
            admitted = self.pipeline(spans)
        except QueueFullError:
            self._drop(len(spans))
            return
        except Exception:
            self.failed += len(spans)
            logger.exception("workbench could not store %d spans", len(spans))
            return
        # Spans the store cannot hold (a start time past 2262 ...) cost only themselves.
        self.failed += admitted.rejected + admitted.dropped
        self.exported += admitted.spans

    def _release(self, everything: bool = False) -> None:
        """Hand the sink the spans of traces sampling has decided to keep."""
        try:
            self.pipeline.release(everything=everything)
        except Exception:
            logger.exception("workbench could not store sampled spans")

    def _on_stored(self, future: Future[int]) -> None:
        error = future.exception()
        if error is not None:
            self.failed += 1
            self.last_error = str(error)
            logger.error("workbench could not store a batch of spans: %s", error)
            return
        # Spans the store could not hold cost only themselves; the writer logged why.
        self.failed += getattr(future.result(), "rejected", 0)

    # Flush and shutdown ----------------------------------------------------------------

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Convert and store everything queued so far; wait up to ``timeout_millis``."""
        deadline = time.monotonic() + timeout_millis / 1000
        self._wake.set()
        with self._idle:
            done = self._idle.wait_for(
                lambda: not self._queue and not self._in_flight, max(0.0, deadline - time.monotonic())
            )
        if not done:
            return False
        if self.pipeline.holding:
            # A flush asks for everything ended so far to be stored: decide every trace now.
            with self._idle:
                self._release(everything=True)
        return bool(self.sink.flush(max(0.0, deadline - time.monotonic())))

    def sync(self, timeout: float = 30.0) -> bool:
        """Hand over to the sink every span ended so far, without deciding open traces.

        Readers in this process call it before reading (see ``Store.add_source``), so what
        was just recorded is read. Sampling decisions still wait for their traces to end.
        Called from the collector's own thread it returns at once, as there is nothing to wait for.
        """
        if threading.current_thread() is self._thread or (not self._queue and not self._in_flight):
            return True
        self._wake.set()
        with self._idle:
            return bool(self._idle.wait_for(lambda: not self._queue and not self._in_flight, timeout))

    def store_everything(self, timeout: float = 30.0) -> str | None:
        """Store everything held, deciding every open trace: for the end of the program.

        Returns:
            None when everything was stored, else what went wrong, in a few words.
        """
        if threading.current_thread() is self._thread:
            return None
        failed = self.failed
        if not self.force_flush(int(timeout * 1000)):
            return f"they were not stored within {timeout:.0f} s"
        if self.failed > failed:
            return f"the store refused them ({self.last_error})"
        return None

    def shutdown(self) -> None:
        """Store what is queued, stop the thread, and close the sink if this processor owns it."""
        if self._stopped:
            return
        self._stopped = True
        self._wake.set()
        self._thread.join(30)
        self.sink.flush(30)
        if self._close_sink:
            close = getattr(self.sink, "close", None)
            if close is not None:
                close()
