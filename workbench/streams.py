"""Spans around generators: ``@workbench.traced`` on a function that yields.

A generator's work happens while it is iterated, not when it is called, so its span opens at
the call and ends when the generator is exhausted, closed early, or fails. The span is made
current only while the generator's own code runs (between two ``next()`` calls), so the
caller's code between items is never attributed to it. The output is the text of the items
when they are all strings (a streamed answer), else the list of items, keeping the first
:data:`KEPT_ITEMS`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status
from opentelemetry.trace import StatusCode as OtelStatusCode

__all__ = ["KEPT_ITEMS", "traced_async_generator", "traced_generator"]

KEPT_ITEMS = 1_000


class _Items:
    """What a generator yielded, for the span's output: the first KEPT_ITEMS, and a count."""

    def __init__(self) -> None:
        self.kept: list[Any] = []
        self.count = 0

    def add(self, item: Any) -> None:
        self.count += 1
        if len(self.kept) < KEPT_ITEMS:
            self.kept.append(item)

    def output(self) -> Any:
        if self.kept and all(isinstance(item, str) for item in self.kept):
            return "".join(self.kept)
        return self.kept


def _finish(otel_span: trace.Span, items: _Items, set_output: Callable[[trace.Span, Any], None],
            error: BaseException | None) -> None:
    set_output(otel_span, items.output())
    otel_span.set_attribute("workbench.items", items.count)
    if error is None:
        otel_span.set_status(Status(OtelStatusCode.OK))
    else:
        otel_span.record_exception(error)
        otel_span.set_status(Status(OtelStatusCode.ERROR, f"{type(error).__name__}: {error}"))
    otel_span.end()


def traced_generator(gen: Generator[Any, Any, Any], otel_span: trace.Span,
                     set_output: Callable[[trace.Span, Any], None]) -> Generator[Any, Any, Any]:
    """Drive ``gen`` item by item with ``otel_span`` current while its code runs; end the span
    when it stops. ``send()`` and ``throw()`` reach ``gen`` as if it were called directly."""
    ctx = trace.set_span_in_context(otel_span)
    items = _Items()
    error: BaseException | None = None
    step: Callable[[Any], Any] = gen.send
    value: Any = None
    try:
        while True:
            token = otel_context.attach(ctx)
            try:
                item = step(value)
            except StopIteration as stop:
                return stop.value
            finally:
                otel_context.detach(token)
            items.add(item)
            try:
                value, step = (yield item), gen.send
            except GeneratorExit:
                gen.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - thrown in by the caller: hand it to gen
                value, step = exc, gen.throw
    except GeneratorExit:
        raise  # closed early by the caller: the span ends as it stands, not failed
    except BaseException as exc:
        error = exc
        raise
    finally:
        _finish(otel_span, items, set_output, error)


async def traced_async_generator(gen: AsyncGenerator[Any, Any], otel_span: trace.Span,
                                 set_output: Callable[[trace.Span, Any], None]) -> AsyncGenerator[Any, Any]:
    """:func:`traced_generator` for ``async def`` functions that yield."""
    ctx = trace.set_span_in_context(otel_span)
    items = _Items()
    error: BaseException | None = None
    step: Callable[[Any], Any] = gen.asend
    value: Any = None
    try:
        while True:
            token = otel_context.attach(ctx)
            try:
                item = await step(value)
            except StopAsyncIteration:
                return
            finally:
                otel_context.detach(token)
            items.add(item)
            try:
                value, step = (yield item), gen.asend
            except GeneratorExit:
                await gen.aclose()
                raise
            except BaseException as exc:  # noqa: BLE001 - thrown in by the caller: hand it to gen
                value, step = exc, gen.athrow
    except GeneratorExit:
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        _finish(otel_span, items, set_output, error)
