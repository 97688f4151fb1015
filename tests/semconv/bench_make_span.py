"""Time ``make_span`` on typical LLM spans: ``python tests/semconv/bench_make_span.py``.

Not collected by pytest (timings on shared machines are too noisy to assert on). Prints
the best per-span CPU time over several runs, for a 20-attribute OpenInference LLM span
and a 20-attribute OTel GenAI span carrying JSON messages.
"""

from __future__ import annotations

import json
import time
import timeit

from workbench.semconv import make_span

OPENINFERENCE = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gpt-4o-mini",
    "llm.provider": "openai",
    "llm.system": "openai",
    "llm.invocation_parameters": '{"temperature": 0}',
    "input.value": '{"messages": [{"role": "user", "content": "hi"}]}',
    "input.mime_type": "application/json",
    "output.value": '{"choices": []}',
    "output.mime_type": "application/json",
    "llm.input_messages.0.message.role": "system",
    "llm.input_messages.0.message.content": "Be brief.",
    "llm.input_messages.1.message.role": "user",
    "llm.input_messages.1.message.content": "hi",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.content": "hello",
    "llm.token_count.prompt": 20,
    "llm.token_count.completion": 5,
    "llm.token_count.total": 25,
    "session.id": "s1",
    "user.id": "u1",
}

GENAI = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.response.id": "chatcmpl-1",
    "gen_ai.response.finish_reasons": ("stop",),
    "gen_ai.usage.input_tokens": 100,
    "gen_ai.usage.output_tokens": 20,
    "gen_ai.conversation.id": "c1",
    "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief"}]),
    "gen_ai.input.messages": json.dumps(
        [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
    ),
    "gen_ai.output.messages": json.dumps(
        [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": "hello"}],
                "finish_reason": "stop",
            }
        ]
    ),
    "gen_ai.request.temperature": 0.2,
    "gen_ai.request.max_tokens": 100,
    "server.address": "api.openai.com",
    "server.port": 443,
    "http.status": 200,
    "app.a": 1,
    "app.b": 2,
    "app.c": 3,
}

RESOURCE = {"service.name": "bench"}


def per_span_us(attributes: dict[str, object], number: int = 20_000) -> float:
    """Best CPU microseconds per ``make_span`` call over nine runs."""

    def once() -> None:
        make_span(
            trace_id="0" * 32,
            span_id="0" * 16,
            parent_span_id=None,
            name="chat",
            start_time_ns=1,
            end_time_ns=2,
            attributes=attributes,
            resource=RESOURCE,
        )

    runs = timeit.repeat(once, number=number, repeat=9, timer=time.process_time)
    return min(runs) / number * 1e6


if __name__ == "__main__":
    for label, attributes in (("OpenInference", OPENINFERENCE), ("OTel GenAI", GENAI)):
        print(f"{label}, {len(attributes)} attributes: {per_span_us(attributes):.1f} us/span")
