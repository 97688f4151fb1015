"""Where collected spans go: a small protocol, and an in-memory twin for tests.

The collector knows storage only through :class:`SpanSink`. :class:`workbench.store.Store`
is the real one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Protocol, runtime_checkable

from workbench.model import LogRecord, Span

__all__ = ["InMemorySink", "SpanSink"]


@runtime_checkable
class SpanSink(Protocol):
    """Takes spans; must not block the caller.

    ``submit`` returns a future that completes when the spans are durable, and raises
    :class:`workbench.errors.QueueFullError` when it cannot take more now.
    """

    def submit(self, spans: Sequence[Span]) -> Future[int]:
        """Queue spans for storage."""
        ...

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted is stored."""
        ...


class InMemorySink:
    """A sink that keeps spans in a list (for tests and notebooks without a file)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[Span] = []
        self._logs: list[LogRecord] = []

    def submit(self, spans: Sequence[Span]) -> Future[int]:
        """Keep the spans."""
        with self._lock:
            self._spans.extend(spans)
        future: Future[int] = Future()
        future.set_result(len(spans))
        return future

    def submit_logs(self, records: Sequence[LogRecord]) -> Future[int]:
        """Keep OpenTelemetry log records (not merged into spans: see ``logs``)."""
        with self._lock:
            self._logs.extend(records)
        future: Future[int] = Future()
        future.set_result(len(records))
        return future

    @property
    def logs(self) -> list[LogRecord]:
        """A copy of the log records received so far."""
        with self._lock:
            return list(self._logs)

    def flush(self, timeout: float | None = None) -> bool:
        """Nothing is pending."""
        return True

    @property
    def spans(self) -> list[Span]:
        """A copy of the spans received so far."""
        with self._lock:
            return list(self._spans)
