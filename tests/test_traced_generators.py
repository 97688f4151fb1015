"""``@workbench.traced`` on functions that yield: the span lasts while the generator runs."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import workbench
from tests.helpers import run_async
from workbench.streams import KEPT_ITEMS


@pytest.fixture
def sdk():
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def _by_name(memory: InMemorySpanExporter) -> dict:
    return {s.name.rsplit(".", 1)[-1]: s for s in memory.get_finished_spans()}


def test_a_generators_span_covers_its_iteration_and_holds_what_it_yielded(sdk):
    provider, memory = sdk
    tracer = provider.get_tracer("test")

    @workbench.traced(kind="LLM", tracer_provider=provider)
    def stream(question: str):
        for word in ("The ", "answer ", "is 42."):
            with tracer.start_as_current_span("inside"):
                pass
            yield word

    with tracer.start_as_current_span("outer"):
        chunks = stream("what is it?")
        assert memory.get_finished_spans() == ()  # nothing ends at the call
        for _ in chunks:
            with tracer.start_as_current_span("caller-between-items"):
                pass
    spans = _by_name(memory)
    generator = spans["stream"]
    assert generator.attributes["output.value"] == "The answer is 42."
    assert generator.attributes["input.value"] == "what is it?"
    assert generator.attributes["openinference.span.kind"] == "LLM"
    assert generator.status.status_code is StatusCode.OK
    assert generator.parent.span_id == spans["outer"].context.span_id
    inside = [s for s in memory.get_finished_spans() if s.name == "inside"]
    assert len(inside) == 3 and all(s.parent.span_id == generator.context.span_id for s in inside)
    # The caller's own work between two items is not the generator's.
    assert spans["caller-between-items"].parent.span_id == spans["outer"].context.span_id
    assert generator.end_time >= max(s.end_time for s in inside)


def test_a_generator_closed_early_ends_its_span_unfailed_with_what_came_so_far(sdk):
    provider, memory = sdk
    cleaned = []

    @workbench.traced(tracer_provider=provider)
    def numbers():
        try:
            yield from range(100)
        finally:
            cleaned.append(True)

    for n in numbers():
        if n == 2:
            break
    span = _by_name(memory)["numbers"]
    assert cleaned == [True]
    assert span.attributes["output.value"] == "[0, 1, 2]"
    assert span.attributes["workbench.items"] == 3
    assert span.status.status_code is not StatusCode.ERROR


def test_a_generator_that_fails_marks_its_span_failed_and_the_caller_sees_the_error(sdk):
    provider, memory = sdk

    @workbench.traced(kind="TOOL", tracer_provider=provider)
    def flaky():
        yield "first"
        raise TimeoutError("the upstream stalled")

    with pytest.raises(TimeoutError, match="stalled"):
        list(flaky())
    span = _by_name(memory)["flaky"]
    assert span.status.status_code is StatusCode.ERROR
    assert "the upstream stalled" in span.status.description
    assert [e.name for e in span.events] == ["exception"]
    assert span.attributes["output.value"] == "first"


def test_send_throw_and_the_return_value_reach_the_generator_as_if_undecorated(sdk):
    provider, memory = sdk

    @workbench.traced(tracer_provider=provider)
    def accumulate():
        total = 0
        while True:
            try:
                value = yield total
            except ValueError:
                value = -1
            if value is None:
                return total
            total += value

    gen = accumulate()
    assert next(gen) == 0
    assert gen.send(5) == 5
    assert gen.throw(ValueError("take one off")) == 4
    with pytest.raises(StopIteration) as stop:
        gen.send(None)
    assert stop.value.value == 4
    assert _by_name(memory)["accumulate"].attributes["workbench.items"] == 3


def test_only_the_first_items_are_kept_for_the_output_but_all_are_counted(sdk):
    provider, memory = sdk

    @workbench.traced(tracer_provider=provider)
    def many():
        yield from range(KEPT_ITEMS + 500)

    assert sum(1 for _ in many()) == KEPT_ITEMS + 500
    span = _by_name(memory)["many"]
    assert span.attributes["workbench.items"] == KEPT_ITEMS + 500
    assert span.attributes["output.value"].count(",") == KEPT_ITEMS - 1


def test_an_async_generator_is_traced_the_same_way(sdk):
    provider, memory = sdk
    tracer = provider.get_tracer("test")

    @workbench.traced(kind="LLM", tracer_provider=provider)
    async def stream():
        for word in ("streamed ", "text"):
            await asyncio.sleep(0)
            with tracer.start_as_current_span("inside"):
                pass
            yield word

    @workbench.traced(tracer_provider=provider)
    async def broken():
        yield 1
        raise RuntimeError("no more")

    async def main():
        got = [w async for w in stream()]
        with pytest.raises(RuntimeError):
            async for _ in broken():
                pass
        assert trace.get_current_span() is trace.INVALID_SPAN  # no context left attached
        return got

    assert run_async(main()) == ["streamed ", "text"]
    spans = _by_name(memory)
    assert spans["stream"].attributes["output.value"] == "streamed text"
    inside = [s for s in memory.get_finished_spans() if s.name == "inside"]
    assert all(s.parent.span_id == spans["stream"].context.span_id for s in inside)
    assert spans["broken"].status.status_code is StatusCode.ERROR


def test_a_traced_generator_lands_in_the_store_with_its_output(db_path):
    provider = workbench.register("gen", db=db_path)

    @workbench.traced
    def words():
        yield "hello "
        yield "world"

    assert "".join(words()) == "hello world"
    spans = workbench.open(db_path).spans()
    row = spans[spans["name"].str.endswith("words")].iloc[0]
    assert row["output_value"] == "hello world" and row["status_code"] == "OK"
    provider.shutdown()
