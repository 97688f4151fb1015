"""The in-process collector: register() into a file, the manual API, and the host-safety contract."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from openinference.semconv.trace import SpanAttributes
from opentelemetry.sdk.trace import TracerProvider

import workbench
from tests.helpers import wait_for
from workbench.collector.processor import CollectorProcessor
from workbench.collector.sink import InMemorySink
from workbench.errors import QueueFullError


def test_register_writes_openinference_spans_that_open_reads_back(db_path):
    provider = workbench.register("notebook-app", db=db_path, set_global=False)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("agent") as root:
        root.set_attribute(SpanAttributes.OPENINFERENCE_SPAN_KIND, "AGENT")
        with tracer.start_as_current_span("llm") as llm:
            llm.set_attributes({
                SpanAttributes.OPENINFERENCE_SPAN_KIND: "LLM",
                SpanAttributes.LLM_MODEL_NAME: "claude-3-5-sonnet",
                "llm.input_messages.0.message.role": "user",
                "llm.input_messages.0.message.content": "Hi there",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.content": "Hello!",
            })
    provider.shutdown()  # flushes and closes the file the processor opened

    wb = workbench.open(db_path)
    spans = wb.spans()
    assert list(spans["name"]) == ["agent", "llm"] or sorted(spans["name"]) == ["agent", "llm"]
    assert set(spans["project"]) == {"notebook-app"}
    llm = spans[spans["name"] == "llm"].iloc[0]
    assert llm["model_name"] == "claude-3-5-sonnet" and llm["span_kind"] == "LLM"
    assert json.loads(llm["output_messages"]) == [{"role": "assistant", "content": "Hello!"}]
    tree = wb.trace(llm["trace_id"])
    assert [(n.span["name"], n.depth) for n in tree] == [("agent", 0), ("llm", 1)]
    wb.close()


def test_decorator_and_context_manager_record_kind_input_and_output():
    sink = InMemorySink()
    provider = workbench.register("manual", sink=sink, set_global=False)

    @workbench.traced(kind="TOOL", tracer_provider=provider)
    def lookup_invoice(invoice_id: str) -> dict:
        return {"id": invoice_id, "amount": 12.5}

    @workbench.traced(tracer_provider=provider)
    async def answer(question: str) -> str:
        with workbench.span("retrieve", kind="RETRIEVER", input=question, tracer_provider=provider) as s:
            s.set_output(["doc-1"])
        lookup_invoice("inv-7")
        return "42"

    # On a thread of its own: a browser test's event loop may be running on this one.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, answer("what is owed?")).result(30) == "42"
    with pytest.raises(ZeroDivisionError), workbench.span("broken", kind="CHAIN", tracer_provider=provider):
        _ = 1 / 0
    provider.force_flush()
    by_name = {s.name: s for s in sink.spans}
    tool = by_name["test_decorator_and_context_manager_record_kind_input_and_output.<locals>.lookup_invoice"]
    assert tool.span_kind.value == "TOOL" and tool.tool_name == "lookup_invoice"
    assert tool.input_value == "inv-7"
    assert json.loads(tool.output_value) == {"id": "inv-7", "amount": 12.5}
    retrieve = by_name["retrieve"]
    assert retrieve.span_kind.value == "RETRIEVER" and retrieve.input_value == "what is owed?"
    root = next(s for s in sink.spans if s.name.endswith("answer"))
    assert retrieve.parent_span_id == root.span_id and root.output_value == "42"
    broken = by_name["broken"]
    assert broken.status_code.value == "ERROR"
    assert any(e.name == "exception" for e in broken.events)


class _ExplodingSink:
    def submit(self, spans):
        raise RuntimeError("disk on fire")

    def flush(self, timeout=None):
        return True


class _FullSink:
    def submit(self, spans):
        raise QueueFullError("full")

    def flush(self, timeout=None):
        return True


def test_a_failing_sink_never_reaches_the_application(caplog):
    processor = CollectorProcessor(_ExplodingSink(), schedule_delay=0.01)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    with caplog.at_level(logging.ERROR):
        with provider.get_tracer("t").start_as_current_span("fine"):
            pass
        assert processor.force_flush(5000) is True
    assert processor.failed == 1
    assert "disk on fire" in caplog.text
    provider.shutdown()


def test_a_full_queue_drops_counts_and_warns_once(caplog):
    processor = CollectorProcessor(InMemorySink(), max_queue_size=3, schedule_delay=60)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    with caplog.at_level(logging.WARNING):
        for i in range(10):
            with tracer.start_as_current_span(f"s{i}"):
                pass
    assert processor.dropped == 7
    assert caplog.text.count("workbench dropped spans") == 1
    processor.force_flush(5000)
    assert len(processor.sink.spans) == 3
    provider.shutdown()


def test_a_sink_that_refuses_counts_drops():
    processor = CollectorProcessor(_FullSink(), schedule_delay=0.01)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    with provider.get_tracer("t").start_as_current_span("x"):
        pass
    processor.force_flush(5000)
    assert processor.dropped == 1
    provider.shutdown()


def test_on_end_does_not_wait_for_a_slow_sink():
    release = Future()

    class SlowSink(InMemorySink):
        def submit(self, spans):
            release.result(10)  # the background thread waits here, not the app
            return super().submit(spans)

    processor = CollectorProcessor(SlowSink(), batch_size=1, schedule_delay=0.01)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    for i in range(50):
        with tracer.start_as_current_span(f"s{i}"):
            pass
    # All 50 spans ended while the sink was blocked: none was written yet.
    assert processor.sink.spans == []
    release.set_result(None)
    wait_for(lambda: len(processor.sink.spans) == 50)
    provider.shutdown()


def test_register_can_send_to_a_server_instead(server, store):
    provider = workbench.register("remote-app", endpoint=server.url, set_global=False)
    with provider.get_tracer("t").start_as_current_span("over-the-wire"):
        pass
    provider.force_flush()
    provider.shutdown()
    wait_for(lambda: store.counts()["spans"] == 1)
    assert workbench.open(server.url).spans().iloc[0]["project"] == "remote-app"


def test_register_on_a_served_file_explains_the_fix(db_path):
    import subprocess
    import sys
    import textwrap

    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from workbench.store import Store
            s = Store({str(db_path)!r})
            print("held", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(workbench.StoreLockedError, match="in use by another process"):
            workbench.register(db=db_path, set_global=False)
    finally:
        holder.stdin.close()
        holder.wait(10)


def test_register_with_sampling_keeps_failures_and_weights_the_rest(db_path):
    from opentelemetry.trace import Status, StatusCode

    from workbench.collector.sampling import SamplingPolicy, trace_id_fraction

    policy = SamplingPolicy(rate=0.25, decision_wait_s=0)
    provider = workbench.register("sampled", db=db_path, set_global=False, sampling=policy)
    tracer = provider.get_tracer("t")
    for i in range(200):
        with tracer.start_as_current_span(f"request-{i}") as root:
            with tracer.start_as_current_span("llm") as child:
                if i % 20 == 0:
                    child.set_status(Status(StatusCode.ERROR, "boom"))
            root.set_attribute("i", i)
    provider.shutdown()
    wb = workbench.open(db_path)
    roots = wb.spans(root_only=True)
    errors = set(wb.spans("status_code == 'ERROR'")["trace_id"])
    assert len(errors) == 10  # every failing trace was kept
    kept_healthy = roots[~roots["trace_id"].isin(errors)]
    assert all(trace_id_fraction(t) < 0.25 for t in kept_healthy["trace_id"])
    assert set(kept_healthy["sample_weight"]) == {4.0}
    assert set(roots[roots["trace_id"].isin(errors)]["sample_weight"]) == {1.0}
    # Both spans of every kept trace are there.
    assert len(wb.spans()) == 2 * len(roots)
    # Re-weighted, the sample stands for the 200 requests made.
    assert 120 <= roots["sample_weight"].sum() <= 280
    wb.close()
