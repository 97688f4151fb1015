"""The in-process path for OpenTelemetry log records: a ``LogRecordProcessor`` into the sink.

The OTel GenAI instrumentations (``opentelemetry-instrumentation-openai-v2`` ...) emit a
model call's messages as log records through the global ``LoggerProvider``, by default.
:func:`install` gives :func:`workbench.register` the same for logs as for spans: records go
into the same sink (a :class:`workbench.store.Store`, whose ``submit_logs`` merges them into
their spans), or over OTLP to ``/v1/logs`` of a running server.

One process has one global ``LoggerProvider`` and OpenTelemetry refuses to replace it, so
workbench installs its own once and points it at the newest ``register()``'s sink; when the
application has set an SDK ``LoggerProvider`` of its own, workbench adds its processor to it.

Threading contract, as for spans: :meth:`LogCollector.on_emit` runs on the thread that logs;
it appends to a bounded queue and returns, never blocks and never raises. A background
thread converts and submits. A full queue drops records, counted, with one warning.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any, Protocol, runtime_checkable

from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from workbench.collector.logs import redact_records
from workbench.errors import QueueFullError
from workbench.model import LogRecord

__all__ = ["LogCollector", "LogSink", "from_sdk", "install"]

logger = logging.getLogger(__name__)


@runtime_checkable
class LogSink(Protocol):
    """Takes log records; must not block. :class:`workbench.store.Store` is one."""

    def submit_logs(self, records: list[LogRecord]) -> Any:
        """Queue records for storage; returns a future."""
        ...


def _hex(value: Any, width: int) -> str | None:
    if isinstance(value, int) and value:
        return f"{value:0{width}x}"
    return None


def from_sdk(item: Any) -> LogRecord:
    """A workbench :class:`LogRecord` from the SDK's record (``ReadWriteLogRecord``/``LogData``)."""
    record = getattr(item, "log_record", item)
    resource = getattr(item, "resource", None) or getattr(record, "resource", None)
    scope = getattr(item, "instrumentation_scope", None)
    severity = getattr(record, "severity_number", None)
    attributes = getattr(record, "attributes", None)
    return LogRecord(
        time_ns=getattr(record, "timestamp", None) or getattr(record, "observed_timestamp", None) or time.time_ns(),
        trace_id=_hex(getattr(record, "trace_id", None), 32),
        span_id=_hex(getattr(record, "span_id", None), 16),
        event_name=getattr(record, "event_name", None) or None,
        body=getattr(record, "body", None),
        attributes=dict(attributes) if attributes else {},
        resource=dict(resource.attributes) if resource is not None else {},
        severity_number=getattr(severity, "value", severity) or None,
        severity_text=getattr(record, "severity_text", None) or None,
        scope_name=getattr(scope, "name", None) or None,
        scope_version=getattr(scope, "version", None) or None,
    )


class LogCollector(LogRecordProcessor):
    """Collects emitted log records into a :class:`LogSink` from a background thread.

    Args:
        sink: Where records go (its ``submit_logs``).
        pipeline: The ingest pipeline (redaction) applied to records, as to spans.
        max_queue_size: Records that may wait for the background thread.
        schedule_delay: Seconds the thread waits before sending what has queued.
    """

    def __init__(
        self, sink: LogSink, *, pipeline: Any = None, max_queue_size: int = 100_000, schedule_delay: float = 0.5
    ) -> None:
        self.sink = sink
        self._pipeline = pipeline
        self._max = max_queue_size
        self._delay = schedule_delay
        self._queue: deque[Any] = deque()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._stopped = False
        self._warned = False
        self.dropped = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name="workbench-log-collector", daemon=True)
        self._thread.start()

    def on_emit(self, log_record: Any) -> None:
        """Queue a record. Never blocks, never raises."""
        try:
            if self._stopped or len(self._queue) >= self._max:
                self.dropped += 1
                if not self._warned:
                    self._warned = True
                    logger.warning("workbench dropped log records: its queue is full or it is shut down")
                return
            self._queue.append(log_record)
        except Exception:  # noqa: BLE001 - the host program must never see our failure
            pass

    emit = on_emit  # the name older SDKs call

    def _run(self) -> None:
        while True:
            self._wake.wait(self._delay)
            self._wake.clear()
            self._drain()
            if self._stopped and not self._queue:
                return

    def _drain(self) -> None:
        while self._queue:
            with self._idle:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), 512))]
                self._in_flight += len(batch)
            try:
                records = [from_sdk(item) for item in batch]
                if self._pipeline is not None:
                    records = redact_records(self._pipeline, records)
                if records:
                    self.sink.submit_logs(records)
            except QueueFullError:
                self.dropped += len(batch)
            except Exception:
                self.failed += len(batch)
                logger.exception("workbench could not store %d log records", len(batch))
            finally:
                with self._idle:
                    self._in_flight -= len(batch)
                    self._idle.notify_all()

    def sync(self, timeout: float = 30.0) -> bool:
        """Hand over every record emitted so far (before a read in this process)."""
        if threading.current_thread() is self._thread or (not self._queue and not self._in_flight):
            return True
        self._wake.set()
        with self._idle:
            return bool(self._idle.wait_for(lambda: not self._queue and not self._in_flight, timeout))

    def store_everything(self, timeout: float = 30.0) -> str | None:
        """Store every record held (at the end of the program); None, or what went wrong."""
        if threading.current_thread() is self._thread:
            return None
        failed = self.failed
        if not self.force_flush(int(timeout * 1000)):
            return f"log records were not stored within {timeout:.0f} s"
        return f"{self.failed - failed} log records could not be stored" if self.failed > failed else None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Submit everything queued so far, then flush the sink (which merges records into spans)."""
        deadline = time.monotonic() + timeout_millis / 1000
        self._wake.set()
        with self._idle:
            done = self._idle.wait_for(
                lambda: not self._queue and not self._in_flight, max(0.0, deadline - time.monotonic())
            )
        flush = getattr(self.sink, "flush", None)
        if done and flush is not None:
            return bool(flush(max(0.0, deadline - time.monotonic())))
        return bool(done)

    def shutdown(self) -> None:
        """Submit what is queued and stop the thread."""
        if self._stopped:
            return
        self._stopped = True
        self._wake.set()
        self._thread.join(30)


class _Switch(LogRecordProcessor):
    """The processor of workbench's global LoggerProvider: forwards to the newest collector."""

    def __init__(self) -> None:
        self.target: LogRecordProcessor | None = None

    def on_emit(self, log_record: Any) -> None:
        target = self.target
        if target is not None:
            target.on_emit(log_record)

    emit = on_emit

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        target = self.target
        return target.force_flush(timeout_millis) if target is not None else True

    def shutdown(self) -> None:
        target = self.target
        if target is not None:
            target.shutdown()


class _Bridge(SpanProcessor):
    """Added to the TracerProvider before its span collector, so that flushing or shutting
    down the provider first delivers the log records of the same calls."""

    def __init__(self, collector: LogRecordProcessor) -> None:
        self.collector = collector

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.collector.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self.collector.force_flush(30_000)
        self.collector.shutdown()


_lock = threading.Lock()
_switch: _Switch | None = None


def _route_globally(collector: LogRecordProcessor, resource: Any) -> None:
    """Make ``collector`` receive what the global LoggerProvider (and event logger) emits."""
    global _switch
    from opentelemetry import _logs

    with _lock:
        if _switch is None:
            current = _logs.get_logger_provider()
            _switch = _Switch()
            if isinstance(current, LoggerProvider):  # the application's own SDK provider
                current.add_log_record_processor(_switch)
            else:
                provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
                provider.add_log_record_processor(_switch)
                _logs.set_logger_provider(provider)
                _set_event_logger_provider(provider)
        _switch.target = collector


def _set_event_logger_provider(provider: LoggerProvider) -> None:
    # The Events API (older GenAI instrumentations) exists in some OTel releases only.
    try:
        from opentelemetry._events import set_event_logger_provider
        from opentelemetry.sdk._events import EventLoggerProvider
    except ImportError:
        return
    set_event_logger_provider(EventLoggerProvider(logger_provider=provider))


def install(
    tracer_provider: TracerProvider,
    *,
    sink: Any = None,
    endpoint: str | None = None,
    pipeline: Any = None,
    set_global: bool = True,
    headers: dict[str, str] | None = None,
) -> LogRecordProcessor | None:
    """Route OpenTelemetry log records next to ``tracer_provider``'s spans.

    Call it before adding the span collector to ``tracer_provider``: flushing or shutting
    down the provider then delivers the log records first.

    Args:
        tracer_provider: The provider :func:`workbench.register` builds.
        sink: The span sink; records go to it when it has ``submit_logs``.
        endpoint: A server's URL (``http://127.0.0.1:4318``, with or without ``/v1/traces``);
            records go to its ``/v1/logs`` instead.
        pipeline: Redaction applied to records before the sink.
        set_global: Route the global LoggerProvider's records here; without it nothing is
            installed.
        headers: HTTP headers for the server (its access token), with ``endpoint``.

    Returns:
        The log record processor, or None when nothing was installed.
    """
    collector: LogRecordProcessor
    if not set_global:  # records reach workbench through the global LoggerProvider only
        return None
    if endpoint is not None:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        url = endpoint.strip().rstrip("/").removesuffix("/v1/traces")
        if "://" not in url:
            url = "http://" + url
        url += "/v1/logs"
        collector = BatchLogRecordProcessor(OTLPLogExporter(endpoint=url, headers=headers))
    elif isinstance(sink, LogSink):
        collector = LogCollector(sink, pipeline=pipeline)
    else:
        return None
    tracer_provider.add_span_processor(_Bridge(collector))
    _route_globally(collector, tracer_provider.resource)
    return collector
