"""OpenInference spans, shaped as openinference-instrumentation-* packages emit them."""

from __future__ import annotations

import json

from opentelemetry.trace import SpanKind as OtelKind

from workbench.model import Document, Embedding, Message, SpanKind, TokenUsage, ToolCall

LLM_ATTRIBUTES = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gpt-4o-2024-08-06",
    "llm.provider": "openai",
    "llm.system": "openai",
    "llm.invocation_parameters": json.dumps({"model": "gpt-4o", "temperature": 0.2}),
    "input.value": json.dumps({"messages": [{"role": "user", "content": "Weather in Paris?"}]}),
    "input.mime_type": "application/json",
    "output.value": json.dumps({"id": "chatcmpl-1", "choices": []}),
    "output.mime_type": "application/json",
    "llm.input_messages.0.message.role": "system",
    "llm.input_messages.0.message.content": "You are terse.",
    "llm.input_messages.1.message.role": "user",
    "llm.input_messages.1.message.contents.0.message_content.type": "text",
    "llm.input_messages.1.message.contents.0.message_content.text": "Weather in Paris?",
    "llm.input_messages.1.message.contents.1.message_content.type": "image",
    "llm.input_messages.1.message.contents.1.message_content.image.image.url": "https://x/y.png",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_abc",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"city": "Paris"}',
    "llm.output_messages.0.message.tool_calls.1.tool_call.id": "call_def",
    "llm.output_messages.0.message.tool_calls.1.tool_call.function.name": "get_time",
    "llm.output_messages.0.message.tool_calls.1.tool_call.function.arguments": "{}",
    "llm.token_count.prompt": 1200,
    "llm.token_count.completion": 300,
    "llm.token_count.total": 1500,
    "llm.token_count.prompt_details.cache_read": 1024,
    "llm.token_count.prompt_details.cache_write": 0,
    "llm.token_count.completion_details.reasoning": 128,
    "llm.cost.prompt": 0.0012,
    "llm.cost.completion": 0.003,
    "llm.prompt_template.template": "Weather in {city}?",
    "llm.prompt_template.version": "v3",
    "llm.prompt_template.variables": json.dumps({"city": "Paris"}),
    "session.id": "sess-42",
    "user.id": "user-7",
    "metadata": json.dumps({"team": "search"}),
    "tag.tags": ("prod", "eu"),
}


def test_llm_span_fields(record):
    span = record(
        "ChatCompletion",
        LLM_ATTRIBUTES,
        events=[("First Token Stream Event", {}, 350_000_000)],
        resource={"openinference.project.name": "weather-bot", "service.name": "svc"},
        scope="openinference.instrumentation.openai",
        kind=OtelKind.INTERNAL,
    )
    assert span.conventions == ("openinference",)
    assert span.project == "weather-bot"
    assert span.span_kind is SpanKind.LLM
    assert span.model_name == "gpt-4o-2024-08-06"
    assert span.provider == "openai"
    assert span.input_mime_type == "application/json"
    assert json.loads(span.input_value)["messages"][0]["content"] == "Weather in Paris?"
    assert span.output_mime_type == "application/json"
    assert span.tokens == TokenUsage(
        prompt=1200,
        completion=300,
        total=1500,
        cache_read=1024,
        cache_write=0,
        reasoning=128,
        prompt_includes_cache=True,
    )
    assert span.client_cost == 0.0012 + 0.003
    assert span.time_to_first_token_ms == 350.0
    assert span.session_id == "sess-42"
    assert span.user_id == "user-7"
    assert span.prompt_template == "Weather in {city}?"
    assert span.prompt_template_version == "v3"


def test_llm_span_messages_and_tool_calls(record):
    span = record("ChatCompletion", LLM_ATTRIBUTES)
    assert span.input_messages == (
        Message(role="system", content="You are terse."),
        Message(role="user", content="Weather in Paris?"),
    )
    (answer,) = span.output_messages
    assert answer.role == "assistant"
    assert answer.content is None
    assert answer.tool_calls == (
        ToolCall(id="call_abc", name="get_weather", arguments='{"city": "Paris"}'),
        ToolCall(id="call_def", name="get_time", arguments="{}"),
    )


def test_raw_attributes_kept_whole(record):
    span = record("ChatCompletion", LLM_ATTRIBUTES)
    assert span.attributes["tag.tags"] == ("prod", "eu")
    assert set(span.attributes) == set(LLM_ATTRIBUTES)
    assert span.scope_name == "test.instrumentor"
    assert span.scope_version == "1.2.3"


def test_cost_total_beats_parts(record):
    span = record("llm", {**LLM_ATTRIBUTES, "llm.cost.total": 0.01})
    assert span.client_cost == 0.01


def test_tool_message_answers_a_call(record):
    span = record(
        "ChatCompletion",
        {
            "openinference.span.kind": "LLM",
            "llm.input_messages.0.message.role": "tool",
            "llm.input_messages.0.message.tool_call_id": "call_abc",
            "llm.input_messages.0.message.name": "get_weather",
            "llm.input_messages.0.message.content": '{"temp": 21}',
        },
    )
    assert span.input_messages == (
        Message(role="tool", content='{"temp": 21}', name="get_weather", tool_call_id="call_abc"),
    )
    # No input.value came, so the input is rendered from the last message.
    assert span.input_value == '{"temp": 21}'


def test_retriever_span(record):
    span = record(
        "retrieve",
        {
            "openinference.span.kind": "RETRIEVER",
            "input.value": "what is a kvlist?",
            "retrieval.documents.0.document.id": "doc-1",
            "retrieval.documents.0.document.content": "A kvlist is a list of key-values.",
            "retrieval.documents.0.document.score": 0.91,
            "retrieval.documents.0.document.metadata": json.dumps({"source": "otlp.md"}),
            "retrieval.documents.1.document.id": "doc-2",
            "retrieval.documents.1.document.content": "Second.",
            "retrieval.documents.1.document.score": 0.5,
            "retrieval.documents.1.document.metadata": "not json at all",
            "retrieval.documents.10.document.content": "Eleventh, sorted numerically.",
        },
    )
    assert span.span_kind is SpanKind.RETRIEVER
    assert span.input_value == "what is a kvlist?"
    assert span.input_mime_type == "text/plain"
    assert span.documents == (
        Document(0, "doc-1", "A kvlist is a list of key-values.", 0.91, {"source": "otlp.md"}),
        Document(1, "doc-2", "Second.", 0.5, {"value": "not json at all"}),
        Document(10, None, "Eleventh, sorted numerically.", None, None),
    )


def test_reranker_span_uses_output_documents(record):
    span = record(
        "rerank",
        {
            "openinference.span.kind": "RERANKER",
            "reranker.query": "kvlist",
            "reranker.model_name": "cross-encoder/ms-marco",
            "reranker.top_k": 1,
            "reranker.input_documents.0.document.id": "doc-2",
            "reranker.input_documents.0.document.score": 0.5,
            "reranker.input_documents.1.document.id": "doc-1",
            "reranker.input_documents.1.document.score": 0.4,
            "reranker.output_documents.0.document.id": "doc-1",
            "reranker.output_documents.0.document.score": 0.98,
        },
    )
    assert span.span_kind is SpanKind.RERANKER
    assert span.model_name == "cross-encoder/ms-marco"
    assert span.documents == (Document(position=0, id="doc-1", score=0.98),)


def test_embedding_span(record):
    span = record(
        "CreateEmbeddings",
        {
            "openinference.span.kind": "EMBEDDING",
            "embedding.model_name": "text-embedding-3-small",
            "embedding.embeddings.0.embedding.text": "hello",
            "embedding.embeddings.0.embedding.vector": (0.1, 0.2, 0.3),
            "embedding.embeddings.1.embedding.text": "world",
            "embedding.embeddings.1.embedding.vector": (1, 2, 3),
            "llm.token_count.prompt": 2,
            "llm.token_count.total": 2,
        },
    )
    assert span.span_kind is SpanKind.EMBEDDING
    assert span.model_name == "text-embedding-3-small"
    assert span.embeddings == (
        Embedding(0, "hello", (0.1, 0.2, 0.3), "text-embedding-3-small"),
        Embedding(1, "world", (1.0, 2.0, 3.0), "text-embedding-3-small"),
    )
    assert isinstance(span.embeddings[1].vector[0], float)
    assert span.tokens.prompt == 2 and span.tokens.completion is None and span.tokens.total == 2


def test_tool_span(record):
    span = record(
        "get_weather",
        {
            "openinference.span.kind": "TOOL",
            "tool.name": "get_weather",
            "tool.description": "Weather for a city",
            "tool.parameters": json.dumps({"type": "object"}),
            "input.value": '{"city": "Paris"}',
            "output.value": "21C and sunny",
        },
    )
    assert span.span_kind is SpanKind.TOOL
    assert span.tool_name == "get_weather"
    assert span.input_mime_type == "application/json"
    assert span.output_value == "21C and sunny"
    assert span.output_mime_type == "text/plain"
    assert span.tokens == TokenUsage()


def test_first_token_event_before_start_is_ignored(record):
    span = record("llm", {"openinference.span.kind": "LLM"}, events=[("first_token", {}, -5)])
    assert span.time_to_first_token_ms is None


def test_error_status_kept_and_exception_event_does_not_invent_one(record):
    failed = record("llm", {"openinference.span.kind": "LLM"}, error=True)
    assert failed.status_code.value == "ERROR" and failed.status_message == "boom"
    unset = record("llm", {"openinference.span.kind": "LLM"}, events=[("exception", {}, 1)])
    assert unset.status_code.value == "UNSET"
    assert unset.events[0].name == "exception"


def test_project_falls_back_to_service_then_default(record):
    assert record("x", {}, resource={"service.name": "api"}).project == "api"
    # The SDK's stand-in "unknown_service" means nobody named the service.
    assert record("x", {}, default_project="nb").project == "nb"
