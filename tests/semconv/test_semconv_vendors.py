"""Langfuse, MLflow and Vercel AI SDK spans."""

from __future__ import annotations

import json

from workbench.model import Embedding, Message, SpanKind, TokenUsage, ToolCall


def test_langfuse_generation(record):
    span = record(
        "chat-completion",
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.model.name": "gpt-4o",
            "langfuse.observation.model.parameters": json.dumps({"temperature": 0}),
            "langfuse.observation.input": json.dumps([{"role": "user", "content": "Hi"}]),
            "langfuse.observation.output": json.dumps({"role": "assistant", "content": "Hello!"}),
            "langfuse.observation.usage_details": json.dumps(
                {"input": 6, "output": 5, "input_cached_tokens": 4}
            ),
            "langfuse.observation.cost_details": json.dumps(
                {"input": 0.0001, "output": 0.0002, "total": 0.0003}
            ),
            # The SDK JSON-encodes the datetime; 250 ms after the span start.
            "langfuse.observation.completion_start_time": '"2023-11-14T22:13:20.250000Z"',
            "langfuse.observation.prompt.name": "greeting",
            "langfuse.observation.prompt.version": 2,
            "session.id": "lf-session",
            "user.id": "lf-user",
            "langfuse.trace.name": "chat",
            "langfuse.environment": "production",
        },
        scope="langfuse-sdk",
    )
    assert span.conventions == ("langfuse",)
    assert span.span_kind is SpanKind.LLM
    assert span.model_name == "gpt-4o"
    # Langfuse prices each usage kind on its own, so "input" leaves cached input out and
    # the total is the sum of all kinds.
    assert span.tokens == TokenUsage(
        prompt=6, completion=5, total=15, cache_read=4, prompt_includes_cache=False
    )
    assert span.client_cost == 0.0003
    assert span.time_to_first_token_ms == 250.0
    assert span.prompt_template == "greeting"
    assert span.prompt_template_version == "2"
    assert span.session_id == "lf-session" and span.user_id == "lf-user"
    assert span.input_messages == (Message(role="user", content="Hi"),)
    assert span.output_messages == (Message(role="assistant", content="Hello!"),)
    assert span.input_mime_type == "application/json"


def test_langfuse_compat_keys_and_other_types(record):
    span = record(
        "retrieve",
        {
            "langfuse.observation.type": "retriever",
            "langfuse.session.id": "s-compat",
            "langfuse.user.id": "u-compat",
            "langfuse.observation.cost_details": json.dumps({"input": 0.25, "output": 0.5}),
            "langfuse.observation.completion_start_time": 1_700_000_000_100_000_000,
        },
    )
    assert span.span_kind is SpanKind.RETRIEVER
    assert (span.session_id, span.user_id) == ("s-compat", "u-compat")
    assert span.client_cost == 0.75  # no total: the parts are summed
    assert span.time_to_first_token_ms == 100.0
    plain = record("work", {"langfuse.observation.type": "span"})
    assert plain.span_kind is SpanKind.UNKNOWN


def test_mlflow_chat_model_span(record):
    chat = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]
    span = record(
        "Completions",
        {
            "mlflow.traceRequestId": json.dumps("tr-123"),
            "mlflow.spanType": json.dumps("CHAT_MODEL"),
            "mlflow.spanFunctionName": json.dumps("create"),
            "mlflow.spanInputs": json.dumps({"messages": chat[:2], "model": "gpt-4o-mini"}),
            "mlflow.spanOutputs": json.dumps(
                {"choices": [{"index": 0, "message": chat[2], "finish_reason": "stop"}]}
            ),
            "mlflow.chat.messages": json.dumps(chat),
            "mlflow.chat.tokenUsage": json.dumps(
                {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15}
            ),
            "mlflow.llm.model": json.dumps("gpt-4o-mini"),
            "mlflow.llm.provider": json.dumps("openai"),
            "mlflow.llm.cost": json.dumps(
                {"input_cost": 0.1, "output_cost": 0.2, "total_cost": 0.3}
            ),
            "mlflow.trace.session": json.dumps("ml-session"),
            "mlflow.trace.user": json.dumps("ml-user"),
        },
        scope="mlflow.tracing",
    )
    assert span.conventions == ("mlflow",)
    assert span.span_kind is SpanKind.LLM
    assert span.model_name == "gpt-4o-mini"  # MLflow's JSON quoting removed
    assert span.provider == "openai"
    assert span.tokens == TokenUsage(prompt=12, completion=3, total=15, prompt_includes_cache=True)
    assert span.client_cost == 0.3
    assert (span.session_id, span.user_id) == ("ml-session", "ml-user")
    assert span.input_messages == (
        Message(role="system", content="Be brief."),
        Message(role="user", content="Hi"),
    )
    assert span.output_messages == (Message(role="assistant", content="Hello!"),)
    assert span.input_mime_type == "application/json"
    assert json.loads(span.input_value)["model"] == "gpt-4o-mini"


def test_mlflow_messages_from_inputs_and_outputs_when_no_chat_attribute(record):
    span = record(
        "Completions",
        {
            "mlflow.spanType": json.dumps("LLM"),
            "mlflow.spanInputs": json.dumps({"messages": [{"role": "user", "content": "Hi"}]}),
            "mlflow.spanOutputs": json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": "Yo"}}]}
            ),
        },
    )
    assert span.input_messages == (Message(role="user", content="Hi"),)
    assert span.output_messages == (Message(role="assistant", content="Yo"),)
    retriever = record("search", {"mlflow.spanType": json.dumps("RETRIEVER")})
    assert retriever.span_kind is SpanKind.RETRIEVER


def test_vercel_generate_text_outer_span(record):
    span = record(
        "ai.generateText",
        {
            "operation.name": "ai.generateText trip-bot",
            "ai.operationId": "ai.generateText",
            "ai.telemetry.functionId": "trip-bot",
            "ai.telemetry.metadata.sessionId": "v-session",
            "ai.telemetry.metadata.userId": "v-user",
            "ai.model.id": "gpt-4o",
            "ai.model.provider": "openai.chat",
            "ai.prompt": json.dumps({"system": "Be nice", "prompt": "Hi"}),
            "ai.response.text": "Hello",
            "ai.response.finishReason": "stop",
            "ai.usage.promptTokens": 10,
            "ai.usage.completionTokens": 5,
            "ai.settings.maxRetries": 2,
        },
        scope="ai",
    )
    assert span.conventions == ("vercel",)
    assert span.span_kind is SpanKind.CHAIN
    assert span.model_name == "gpt-4o"
    assert span.provider == "openai"
    assert (span.session_id, span.user_id) == ("v-session", "v-user")
    assert span.tokens == TokenUsage(prompt=10, completion=5, total=15, prompt_includes_cache=True)
    assert span.input_mime_type == "application/json"
    assert span.input_messages == (
        Message(role="system", content="Be nice"),
        Message(role="user", content="Hi"),
    )
    assert (span.output_value, span.output_mime_type) == ("Hello", "text/plain")
    assert span.output_messages == (Message(role="assistant", content="Hello"),)


def test_vercel_do_generate_span(record):
    span = record(
        "ai.generateText.doGenerate",
        {
            "operation.name": "ai.generateText.doGenerate trip-bot",
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.model.id": "gpt-4o",
            "ai.model.provider": "openai.chat",
            "ai.prompt.messages": json.dumps(
                [
                    {"role": "system", "content": "Be nice"},
                    {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
                    {
                        "role": "assistant",
                        "content": [
                            {
                                "type": "tool-call",
                                "toolCallId": "call_0",
                                "toolName": "weather",
                                "input": {"city": "Rome"},
                            }
                        ],
                    },
                    {
                        "role": "tool",
                        "content": [
                            {
                                "type": "tool-result",
                                "toolCallId": "call_0",
                                "toolName": "weather",
                                "output": {"type": "text", "value": "sunny"},
                            }
                        ],
                    },
                ]
            ),
            "ai.response.text": "It is sunny. Checking Paris too.",
            "ai.response.toolCalls": json.dumps(
                [
                    {
                        "toolCallType": "function",
                        "toolCallId": "call_1",
                        "toolName": "weather",
                        "args": '{"city":"Paris"}',
                    }
                ]
            ),
            "ai.response.model": "gpt-4o-2024-08-06",
            "ai.response.msToFirstChunk": 123.5,
            "ai.usage.inputTokens": 10,
            "ai.usage.outputTokens": 5,
            "ai.usage.totalTokens": 15,
            "ai.usage.cachedInputTokens": 2,
            "ai.usage.reasoningTokens": 1,
            "gen_ai.system": "openai.chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 5,
        },
    )
    assert span.conventions == ("vercel", "gen_ai")
    assert span.span_kind is SpanKind.LLM
    assert span.provider == "openai"
    assert span.model_name == "gpt-4o-2024-08-06"
    assert span.time_to_first_token_ms == 123.5
    assert span.tokens == TokenUsage(
        prompt=10, completion=5, total=15, cache_read=2, reasoning=1, prompt_includes_cache=True
    )
    assert span.input_messages == (
        Message(role="system", content="Be nice"),
        Message(role="user", content="Weather?"),
        Message(
            role="assistant",
            tool_calls=(ToolCall(id="call_0", name="weather", arguments='{"city": "Rome"}'),),
        ),
        Message(role="tool", content='{"type": "text", "value": "sunny"}', tool_call_id="call_0"),
    )
    assert span.output_messages == (
        Message(
            role="assistant",
            content="It is sunny. Checking Paris too.",
            tool_calls=(ToolCall(id="call_1", name="weather", arguments='{"city":"Paris"}'),),
        ),
    )
    assert span.input_value == "Weather?"


def test_vercel_anthropic_input_excludes_cache(record):
    span = record(
        "ai.streamText.doStream",
        {
            "ai.operationId": "ai.streamText.doStream",
            "ai.model.provider": "anthropic.messages",
            "ai.model.id": "claude-sonnet-4",
            "ai.usage.inputTokens": 50,
            "ai.usage.outputTokens": 7,
            "ai.usage.cachedInputTokens": 30,
        },
    )
    assert span.provider == "anthropic"
    assert span.tokens.prompt_includes_cache is False


def test_vercel_tool_call_span(record):
    span = record(
        "ai.toolCall",
        {
            "operation.name": "ai.toolCall",
            "ai.operationId": "ai.toolCall",
            "ai.toolCall.name": "weather",
            "ai.toolCall.id": "call_1",
            "ai.toolCall.args": '{"city":"Paris"}',
            "ai.toolCall.result": json.dumps("sunny"),
        },
    )
    assert span.span_kind is SpanKind.TOOL
    assert span.tool_name == "weather"
    assert span.input_mime_type == "application/json"
    assert (span.output_value, span.output_mime_type) == ("sunny", "text/plain")


def test_vercel_embed_many_span(record):
    span = record(
        "ai.embedMany",
        {
            "ai.operationId": "ai.embedMany",
            "ai.model.id": "text-embedding-3-small",
            "ai.model.provider": "openai.embedding",
            "ai.values": (json.dumps("sunny day"), json.dumps("rainy day")),
            "ai.embeddings": ("[0.1,0.2]", "[0.3,0.4]"),
            "ai.usage.tokens": 6,
        },
    )
    assert span.span_kind is SpanKind.EMBEDDING
    assert span.tokens.total == 6
    assert span.embeddings == (
        Embedding(0, "sunny day", (0.1, 0.2), "text-embedding-3-small"),
        Embedding(1, "rainy day", (0.3, 0.4), "text-embedding-3-small"),
    )
    single = record(
        "ai.embed",
        {
            "ai.operationId": "ai.embed",
            "ai.model.id": "m",
            "ai.value": json.dumps("hi"),
            "ai.embedding": "[1, 2]",
        },
    )
    assert single.embeddings == (Embedding(0, "hi", (1.0, 2.0), "m"),)
    assert single.input_value == "hi"
