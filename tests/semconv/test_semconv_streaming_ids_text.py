"""What real instrumentations send beyond the keys read at first: per-chunk streaming events,
user and session ids under vendor keys, plain-text GenAI messages, spans with no operation."""

from __future__ import annotations

import json

import pytest

from workbench.model import Message, SpanKind

MS = 1_000_000


# Time to first token from per-chunk events -------------------------------------------------


@pytest.mark.parametrize(
    "event_name",
    [
        "gen_ai.content.completion.chunk",  # OpenLLMetry
        "llm.content.completion.chunk",  # OpenLLMetry, older releases
        "new_token",  # LangChain
        "ai.stream.firstChunk",  # Vercel AI SDK
        "response.output_text.delta",
        "my_framework.stream_chunk",
    ],
)
def test_first_chunk_event_gives_time_to_first_token(record, event_name):
    span = record(
        "chat",
        {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"},
        events=[(event_name, {"gen_ai.completion.chunk": "Hel"}, 180 * MS),
                (event_name, {"gen_ai.completion.chunk": "lo"}, 240 * MS)],
    )
    assert span.time_to_first_token_ms == pytest.approx(180.0)


def test_earliest_chunk_counts_whatever_the_event_order(record):
    span = record(
        "chat",
        {"gen_ai.request.model": "gpt-4o"},
        events=[("gen_ai.content.completion.chunk", {}, 300 * MS),
                ("gen_ai.content.completion.chunk", {}, 120 * MS)],
    )
    assert span.time_to_first_token_ms == pytest.approx(120.0)


def test_explicit_time_to_first_token_beats_chunk_events(record):
    span = record(
        "chat",
        {"gen_ai.request.model": "gpt-4o", "gen_ai.response.time_to_first_chunk": 0.05},
        events=[("gen_ai.content.completion.chunk", {}, 180 * MS)],
    )
    assert span.time_to_first_token_ms == pytest.approx(50.0)
    first_token = record(
        "chat",
        {"openinference.span.kind": "LLM"},
        events=[("gen_ai.content.completion.chunk", {}, 90 * MS), ("First Token Stream Event", {}, 95 * MS)],
    )
    assert first_token.time_to_first_token_ms == pytest.approx(95.0)


def test_events_that_are_not_chunks_give_no_time_to_first_token(record):
    span = record(
        "chat",
        {"gen_ai.request.model": "gpt-4o"},
        events=[("gen_ai.choice", {"index": 0}, 500 * MS), ("exception", {}, 600 * MS),
                ("chunking.started", {}, 10 * MS)],
    )
    assert span.time_to_first_token_ms is None


# User and session ids ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "user.id",
        "enduser.id",
        "gen_ai.user.id",
        "gen_ai.request.user",
        "llm.user",
        "traceloop.association.properties.user_id",
        "traceloop.association.properties.userId",
        "langfuse.user.id",
        "mlflow.trace.user",
        "ai.telemetry.metadata.userId",
        "ai.telemetry.metadata.user_id",
        "langsmith.metadata.user_id",
    ],
)
def test_user_id_keys(record, key):
    span = record("chat", {"gen_ai.request.model": "gpt-4o", key: "u-7"})
    assert span.user_id == "u-7"


@pytest.mark.parametrize(
    "key",
    [
        "session.id",
        "gen_ai.conversation.id",
        "gen_ai.session.id",
        "traceloop.association.properties.session_id",
        "traceloop.association.properties.sessionId",
        "langfuse.session.id",
        "ai.telemetry.metadata.sessionId",
        "langsmith.trace.session_id",
    ],
)
def test_session_id_keys(record, key):
    span = record("chat", {"gen_ai.request.model": "gpt-4o", key: "s-3"})
    assert span.session_id == "s-3"


def test_user_id_priority_follows_the_table(record):
    both = {"gen_ai.request.user": "from-request", "traceloop.association.properties.user_id": "from-props"}
    assert record("chat", both).user_id == "from-request"
    assert record("chat", {**both, "enduser.id": "end"}).user_id == "end"
    assert record("chat", {**both, "enduser.id": "end", "user.id": "oi"}).user_id == "oi"
    # A blank value at a better rank falls through to the next key.
    assert record("chat", {**both, "user.id": " "}).user_id == "from-request"


# Plain-text messages and a kind without an operation ----------------------------------------


def test_plain_text_genai_messages_are_kept_as_input_and_output(record):
    span = record(
        "generate",
        {
            "gen_ai.request.model": "llama3",
            "gen_ai.system_instructions": "Answer in one word.",
            "gen_ai.input.messages": "What colour is the sky?",
            "gen_ai.output.messages": "Blue.",
        },
    )
    assert span.input_value == "What colour is the sky?"
    assert span.output_value == "Blue."
    assert span.input_messages == (
        Message(role="system", content="Answer in one word."),
        Message(role="user", content="What colour is the sky?"),
    )
    assert span.output_messages == (Message(role="assistant", content="Blue."),)
    assert span.span_kind is SpanKind.LLM


def test_a_list_of_strings_is_read_as_text(record):
    span = record("generate", {"gen_ai.input.messages": ("first line", "second line")})
    assert span.input_value == "first line\nsecond line"
    assert span.span_kind is SpanKind.LLM


def test_json_message_lists_still_win_over_the_text_reading(record):
    messages = [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]
    span = record("chat", {"gen_ai.input.messages": json.dumps(messages)})
    assert span.input_messages == (Message(role="user", content="Hi"),)


@pytest.mark.parametrize("value", [
    json.dumps({"role": "user", "parts": [{"type": "text", "content": "Hi there"}]}),
    {"role": "user", "content": "Hi there"},
])
def test_one_message_object_sent_without_its_list_is_read_as_one_message(record, value):
    span = record("chat", {"gen_ai.request.model": "m", "gen_ai.input.messages": value,
                           "gen_ai.output.messages": json.dumps({"role": "assistant", "parts": [
                               {"type": "text", "content": "Hello"}], "finish_reason": "stop"})})
    assert span.input_messages == (Message(role="user", content="Hi there"),)
    assert span.output_messages[0].content == "Hello"
    assert (span.input_value, span.output_value) == ("Hi there", "Hello")


@pytest.mark.parametrize(
    ("attributes", "kind"),
    [
        ({"gen_ai.request.model": "gpt-4o"}, SpanKind.LLM),
        ({"gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 2}, SpanKind.LLM),
        ({"gen_ai.operation.name": "some_new_operation", "gen_ai.response.model": "m"}, SpanKind.LLM),
        ({"gen_ai.tool.name": "search", "gen_ai.tool.call.id": "c1"}, SpanKind.TOOL),
        ({"gen_ai.agent.name": "planner"}, SpanKind.AGENT),
        ({"gen_ai.request.model": "text-embedding-3-small", "gen_ai.embeddings.dimension.count": 1536},
         SpanKind.EMBEDDING),
        ({"gen_ai.data_source.id": "kb-7", "gen_ai.request.model": "m"}, SpanKind.RETRIEVER),
        ({"llm.usage.total_tokens": 9}, SpanKind.LLM),  # OpenLLMetry without llm.request.type
        ({"gen_ai.system": "openai"}, SpanKind.UNKNOWN),  # a provider alone is no evidence
        ({"http.method": "GET", "user.id": "u"}, SpanKind.UNKNOWN),
    ],
)
def test_kind_from_evidence_when_no_operation_names_one(record, attributes, kind):
    assert record("work", attributes).span_kind is kind


def test_a_named_kind_is_never_overridden_by_evidence(record):
    span = record("retrieve", {"openinference.span.kind": "CHAIN", "llm.model_name": "gpt-4o"})
    assert span.span_kind is SpanKind.CHAIN
