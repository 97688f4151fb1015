"""The process's one current tracer provider, which ``register()``, ``launch()`` and ``stop()`` switch.

OpenTelemetry lets the global tracer provider be set once per process. workbench sets it once
to :data:`CURRENT`, which hands every span to whichever workbench provider is current now: a
later ``register()`` or ``launch()`` makes its own provider current, and stopping a session
lets go of its provider. Tracers handed out earlier (instrumentors keep theirs) follow the
switch, so nothing is silently dropped by a provider that has been shut down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace

__all__ = ["CURRENT", "CurrentProvider"]

logger = logging.getLogger(__name__)


class _FollowingTracer(trace.Tracer):
    """A tracer that starts each span on the tracer of the provider current at that moment."""

    def __init__(self, owner: CurrentProvider, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._owner = owner
        self._args = args
        self._kwargs = kwargs
        self._for: Any = None
        self._tracer: trace.Tracer = trace.NoOpTracer()

    def _now(self) -> trace.Tracer:
        provider = self._owner.provider
        if provider is not self._for:
            self._tracer = trace.NoOpTracer() if provider is None else provider.get_tracer(*self._args, **self._kwargs)
            self._for = provider
        return self._tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._now().start_span(*args, **kwargs)

    # The API declares its own context-manager type; a generator-based one is as good to callers.
    @contextmanager
    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Iterator[trace.Span]:  # type: ignore[override]
        with self._now().start_as_current_span(*args, **kwargs) as span:
            yield span


class CurrentProvider(trace.TracerProvider):
    """The global tracer provider while workbench records: it follows :attr:`provider`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.provider: Any = None

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _FollowingTracer(self, args, kwargs)

    def install(self, provider: Any) -> bool:
        """Make ``provider`` the one that records; False when another global provider was set first."""
        with self._lock:
            self.provider = provider
            if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
                trace.set_tracer_provider(self)
            if trace.get_tracer_provider() is not self:
                logger.warning(
                    "Another OpenTelemetry tracer provider was made global before workbench's, so "
                    "workbench's is not the global one; pass tracer_provider= to instrumentors "
                    "(the provider that workbench.register() returns)."
                )
                return False
            return True

    def release(self, provider: Any) -> None:
        """Stop recording into ``provider`` if it is the current one (a stopped session's)."""
        with self._lock:
            if self.provider is provider:
                self.provider = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the current provider."""
        provider = self.provider
        return True if provider is None else bool(provider.force_flush(timeout_millis))


CURRENT = CurrentProvider()
