"""Getting spans in from the running program: :func:`register`, :func:`traced` and :func:`span`.

``register()`` builds an OpenTelemetry ``TracerProvider`` whose spans go into a local
workbench store (or, given an endpoint, to a running ``workbench serve`` over OTLP), so any
instrumentor works unchanged::

    provider = workbench.register(project_name="support-bot")
    OpenAIInstrumentor().instrument(tracer_provider=provider)

OpenTelemetry log records (the GenAI conventions' message events) emitted through the global
``LoggerProvider`` go to the same place and are merged into their spans
(:mod:`workbench.collector.log_processor`).

``traced`` and ``span`` make OpenInference spans by hand, recording inputs and outputs.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Status
from opentelemetry.trace import StatusCode as OtelStatusCode

from workbench import config
from workbench.errors import ConfigError
from workbench.model import SpanKind
from workbench.streams import traced_async_generator, traced_generator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from workbench.collector.sampling import SamplingPolicy
    from workbench.collector.sink import SpanSink

__all__ = ["SpanRecorder", "register", "span", "traced"]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_TRACER_NAME = "workbench"


def register(
    project_name: str | None = None,
    *,
    db: str | Path | None = None,
    endpoint: str | None = None,
    sink: SpanSink | None = None,
    set_global: bool = True,
    resource_attributes: Mapping[str, Any] | None = None,
    redact: bool | None = None,
    capture_text: bool | None = None,
    max_queue_size: int | None = None,
    sampling: SamplingPolicy | float | None = None,
    token: str | None = None,
) -> TracerProvider:
    """Set up tracing into workbench and return the ``TracerProvider``.

    Args:
        project_name: The project spans belong to (the ``openinference.project.name``
            resource attribute). Default: ``WORKBENCH_PROJECT`` or ``default``.
        db: The DuckDB file to write. Default: the store of the session that
            ``workbench.launch()`` runs in this process, else ``WORKBENCH_DB``. Within one
            process, ``register()``, ``open()`` and ``launch()`` share one open file, and reads
            see what was just recorded. Ignored with ``endpoint``.
        endpoint: Send spans over OTLP/HTTP to a running ``workbench serve`` instead, e.g.
            ``http://127.0.0.1:4318`` (``/v1/traces`` is added when missing).
        sink: Write into this sink instead of a file (an open :class:`workbench.Store`, or
            an in-memory sink in tests).
        set_global: Make it the process's current provider: spans of instrumentors and tracers
            that use the global OpenTelemetry provider go to it, until the next ``register()``
            or ``launch()`` (tracers handed out before follow the switch).
        resource_attributes: More resource attributes (``service.name`` ...).
        redact: Redact personal data before storing (default ``WORKBENCH_REDACT``).
        capture_text: Store prompt and response text (default ``WORKBENCH_CAPTURE_TEXT``).
        max_queue_size: Ended spans that may wait before new ones are dropped.
        sampling: Outcome-based sampling: a :class:`~workbench.collector.sampling.SamplingPolicy`,
            or just the share of healthy traces to keep (default ``WORKBENCH_SAMPLE_RATE``,
            1: keep everything). Traces with errors are always kept.
        token: With ``endpoint``, the server's access token, sent as ``Authorization: Bearer
            <token>`` (default ``WORKBENCH_TOKEN``; without either, the exporter's own
            ``OTEL_EXPORTER_OTLP_HEADERS`` apply).

    Raises:
        StoreLockedError: The file is held by another process (a running ``workbench
            serve``); pass ``endpoint=`` with its URL instead.
        ConfigError: ``endpoint`` is not an http(s) URL with a host and a port from 0 to 65535.
    """
    # Imported here: `import workbench` stays light for what needs no collector (the CLI, serve).
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from workbench.collector.current import CURRENT
    from workbench.collector.log_processor import install as _collect_logs
    from workbench.collector.pipeline import build_pipeline, redaction_config
    from workbench.collector.processor import CollectorProcessor
    from workbench.collector.sampling import sampling_policy
    from workbench.ingest import IngestPipeline

    project = config.get("project", project_name)
    attributes = {"openinference.project.name": project}
    attributes.update(resource_attributes or {})
    attributes.setdefault("service.name", project)
    provider = TracerProvider(resource=Resource.create(attributes))
    if endpoint is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        traces_url = _traces_url(endpoint)
        secret = config.get("token", token)
        headers = {"Authorization": f"Bearer {secret}"} if secret else None
        _collect_logs(provider, endpoint=traces_url, set_global=set_global, headers=headers)
        exporter = OTLPSpanExporter(endpoint=traces_url, headers=headers)
        provider.add_span_processor(BatchSpanProcessor(exporter))
    else:
        owned = sink is None
        if sink is None:
            sink = _store_for(db)
        pipeline = IngestPipeline(
            sink, redaction=redaction_config(redact=redact, capture_text=capture_text),
            sampling=sampling_policy(sampling),
        )
        processor = CollectorProcessor(
            sink,
            pipeline=pipeline,
            max_queue_size=max_queue_size or config.get("queue_spans"),
            default_project=project,
            close_sink=owned,
        )
        logs = _collect_logs(provider, sink=sink, set_global=set_global,
                             pipeline=build_pipeline(redact=redact, capture_text=capture_text))
        add_source = getattr(sink, "add_source", None)
        if add_source is not None:  # reads in this process see what was just recorded
            if logs is not None and hasattr(logs, "store_everything"):
                add_source(logs.sync, logs.store_everything)  # type: ignore[attr-defined]
            add_source(processor.sync, processor.store_everything)
        provider.add_span_processor(processor)
    if set_global:
        CURRENT.install(provider)
    return provider


def _traces_url(endpoint: str) -> str:
    url = config.as_url(endpoint)  # refuses another scheme, no host, or a port outside 0-65535
    return url if url.endswith("/v1/traces") else url + "/v1/traces"


def _store_for(db: str | Path | None) -> SpanSink:
    """The store spans go into: the running session's when no file is named, else that file's."""
    from workbench.errors import StoreLockedError
    from workbench.store import Store  # only the local path needs the store
    from workbench.store.shared import process_store

    current = process_store()
    if db is None and current is not None:
        return current.handle()  # type: ignore[attr-defined]
    try:
        return Store(db)
    except StoreLockedError as exc:
        raise exc.for_register() from None


def _text(value: Any) -> tuple[str, str]:
    """Render an input or output for ``input.value``: text as is, anything else as JSON."""
    if isinstance(value, str):
        return value, "text/plain"
    try:
        return json.dumps(value, default=repr, ensure_ascii=False), "application/json"
    except (TypeError, ValueError):
        return repr(value), "text/plain"


class SpanRecorder:
    """The handle :func:`span` yields: records output and attributes on the open span."""

    def __init__(self, otel_span: trace.Span) -> None:
        self.otel_span = otel_span

    def set_input(self, value: Any) -> None:
        """Record the span's input (text, or anything JSON can encode)."""
        text, mime = _text(value)
        self.otel_span.set_attributes({"input.value": text, "input.mime_type": mime})

    def set_output(self, value: Any) -> None:
        """Record the span's output."""
        text, mime = _text(value)
        self.otel_span.set_attributes({"output.value": text, "output.mime_type": mime})

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Set any attributes (OpenInference keys are understood)."""
        self.otel_span.set_attributes(dict(attributes))


def _set_output(otel_span: trace.Span, value: Any) -> None:
    SpanRecorder(otel_span).set_output(value)


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind | str = SpanKind.CHAIN,
    input: Any = None,
    attributes: Mapping[str, Any] | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Iterator[SpanRecorder]:
    """Open a span of an OpenInference ``kind`` around a block; errors mark it failed.

    Example::

        with workbench.span("retrieve", kind="RETRIEVER", input=question) as s:
            docs = search(question)
            s.set_output([d.text for d in docs])
    """
    tracer = trace.get_tracer(_TRACER_NAME, tracer_provider=tracer_provider)
    with tracer.start_as_current_span(name, record_exception=True, set_status_on_exception=True) as otel_span:
        recorder = SpanRecorder(otel_span)
        otel_span.set_attribute("openinference.span.kind", _runtime_kind(kind).value)
        if input is not None:
            recorder.set_input(input)
        if attributes:
            recorder.set_attributes(attributes)
        yield recorder


def _kind_problem(kind: object) -> str | None:
    """Why ``kind`` names no span kind (a typo such as "TOOLS"), or None when it names one."""
    if SpanKind.parse(kind) is not SpanKind.UNKNOWN:
        return None
    if isinstance(kind, str) and kind.strip().upper() == SpanKind.UNKNOWN.value:
        return None
    return (f"kind={kind!r} is not a span kind; use one of {', '.join(k.value for k in SpanKind)} "
            "(any case), e.g. kind=\"TOOL\"")


_WARNED_KINDS: set[str] = set()


def _runtime_kind(kind: object) -> SpanKind:
    """The kind of a ``span()`` block: a wrong one is warned about once and recorded as UNKNOWN,
    never raised into the running program."""
    problem = _kind_problem(kind)
    if problem is not None and repr(kind) not in _WARNED_KINDS:
        _WARNED_KINDS.add(repr(kind))
        logger.warning("workbench.span(): %s; the span is recorded as UNKNOWN.", problem)
    return SpanKind.parse(kind)


def _call_input(signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if signature is None:
        return {"args": list(args), "kwargs": kwargs}
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return {"args": list(args), "kwargs": kwargs}
    values = {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}
    if len(values) == 1:
        return next(iter(values.values()))
    return values


def traced(
    kind: SpanKind | str | Callable[..., Any] = SpanKind.CHAIN,
    *,
    name: str | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Any:
    """Decorate a function (sync or async) so each call is a span with its input and output.

    A generator function's span lasts until the generator is exhausted or closed, and its
    output is what it yielded (joined, when the items are text).

    Works bare or with arguments::

        @workbench.traced
        def answer(question: str) -> str: ...

        @workbench.traced(kind="TOOL")
        def lookup_invoice(invoice_id: str) -> dict: ...

    Raises:
        ConfigError: ``kind`` names no span kind (a typo such as "TOOLS"), raised where the
            decorator is written, never at a call.
    """
    if callable(kind) and not isinstance(kind, (str, SpanKind)):
        return traced(name=name, tracer_provider=tracer_provider)(kind)
    problem = _kind_problem(kind)
    if problem is not None:  # found where the decorator is written, before any call
        raise ConfigError(f"@workbench.traced: {problem}.")

    def decorate(func: F) -> F:
        span_name = name or func.__qualname__
        try:
            signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            signature = None
        span_kind = SpanKind.parse(kind)
        extra = {"tool.name": func.__name__} if span_kind is SpanKind.TOOL else None

        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            drive = traced_async_generator if inspect.isasyncgenfunction(func) else traced_generator

            @functools.wraps(func)
            def generator_wrapper(*args: Any, **kwargs: Any) -> Any:
                tracer = trace.get_tracer(_TRACER_NAME, tracer_provider=tracer_provider)
                otel_span = tracer.start_span(span_name)  # ends when the generator stops
                recorder = SpanRecorder(otel_span)
                otel_span.set_attribute("openinference.span.kind", span_kind.value)
                recorder.set_input(_call_input(signature, args, kwargs))
                if extra:
                    recorder.set_attributes(extra)
                return drive(func(*args, **kwargs), otel_span, _set_output)

            return generator_wrapper  # type: ignore[return-value]

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with span(span_name, kind=span_kind, input=_call_input(signature, args, kwargs),
                          attributes=extra, tracer_provider=tracer_provider) as s:
                    result = await func(*args, **kwargs)
                    s.set_output(result)
                    s.otel_span.set_status(Status(OtelStatusCode.OK))
                    return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with span(span_name, kind=span_kind, input=_call_input(signature, args, kwargs),
                      attributes=extra, tracer_provider=tracer_provider) as s:
                result = func(*args, **kwargs)
                s.set_output(result)
                s.otel_span.set_status(Status(OtelStatusCode.OK))
                return result

        return wrapper  # type: ignore[return-value]

    return decorate
