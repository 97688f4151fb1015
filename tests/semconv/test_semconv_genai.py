"""OTel GenAI spans (new and old attribute names, span events), OpenLLMetry and OpenLIT."""

from __future__ import annotations

import json

from opentelemetry.trace import SpanKind as OtelKind

from workbench.model import Message, SpanKind, TokenUsage, ToolCall


def test_genai_new_keys_with_json_messages(record):
    span = record(
        "chat gpt-4o",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.response.id": "chatcmpl-9",
            "gen_ai.response.finish_reasons": ("tool_calls",),
            "gen_ai.request.temperature": 0.2,
            "gen_ai.usage.input_tokens": 812,
            "gen_ai.usage.output_tokens": 41,
            "gen_ai.usage.cache_read.input_tokens": 512,
            "gen_ai.usage.cache_creation.input_tokens": 100,
            "gen_ai.usage.reasoning.output_tokens": 12,
            "gen_ai.conversation.id": "conv-1",
            "gen_ai.response.time_to_first_chunk": 0.245,
            "server.address": "api.openai.com",
            "server.port": 443,
            "gen_ai.system_instructions": json.dumps(
                [{"type": "text", "content": "You are a travel agent."}]
            ),
            "gen_ai.input.messages": json.dumps(
                [
                    {"role": "user", "parts": [{"type": "text", "content": "Book Paris"}]},
                    {
                        "role": "assistant",
                        "parts": [
                            {
                                "type": "tool_call",
                                "id": "c1",
                                "name": "search_flights",
                                "arguments": {"to": "CDG"},
                            }
                        ],
                    },
                    {
                        "role": "tool",
                        "parts": [
                            {"type": "tool_call_response", "id": "c1", "response": "3 flights"}
                        ],
                    },
                ]
            ),
            "gen_ai.output.messages": json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [
                            {"type": "reasoning", "content": "hidden thoughts"},
                            {"type": "text", "content": "Found 3 flights."},
                            {
                                "type": "tool_call",
                                "id": "c2",
                                "name": "book",
                                "arguments": {"flight": "AF1"},
                            },
                        ],
                        "finish_reason": "tool_calls",
                    }
                ]
            ),
        },
        kind=OtelKind.CLIENT,
        resource={"service.name": "travel-api"},
    )
    assert span.conventions == ("gen_ai",)
    assert span.project == "travel-api"
    assert span.otel_kind == "CLIENT"
    assert span.span_kind is SpanKind.LLM
    assert span.model_name == "gpt-4o-2024-08-06"  # the response model beats the request's
    assert span.provider == "openai"
    assert span.session_id == "conv-1"
    assert span.time_to_first_token_ms == 245.0
    assert span.tokens == TokenUsage(
        prompt=812,
        completion=41,
        total=853,
        cache_read=512,
        cache_write=100,
        reasoning=12,
        prompt_includes_cache=True,
    )
    assert span.input_messages == (
        Message(role="system", content="You are a travel agent."),
        Message(role="user", content="Book Paris"),
        Message(
            role="assistant",
            tool_calls=(ToolCall(id="c1", name="search_flights", arguments='{"to": "CDG"}'),),
        ),
        Message(role="tool", content="3 flights", tool_call_id="c1"),
    )
    assert span.output_messages == (
        Message(
            role="assistant",
            content="Found 3 flights.",
            tool_calls=(ToolCall(id="c2", name="book", arguments='{"flight": "AF1"}'),),
        ),
    )
    # No input.value was sent: the last user message and the first answer stand in.
    assert (span.input_value, span.input_mime_type) == ("Book Paris", "text/plain")
    assert (span.output_value, span.output_mime_type) == ("Found 3 flights.", "text/plain")


def test_genai_messages_as_kvlist_arrays():
    """Over OTLP a sender may send messages as an array of kvlists, not JSON text."""
    from workbench.semconv import make_span

    span = make_span(
        trace_id="1" * 32,
        span_id="2" * 16,
        parent_span_id=None,
        name="chat",
        start_time_ns=0,
        end_time_ns=1,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": [
                {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
            ],
        },
    )
    assert span.input_messages == (Message(role="user", content="hi"),)


def test_genai_tool_agent_and_embedding_operations(record):
    tool = record(
        "execute_tool get_weather",
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.id": "c1",
            "gen_ai.tool.call.arguments": '{"city": "Paris"}',
            "gen_ai.tool.call.result": "21C",
        },
    )
    assert tool.span_kind is SpanKind.TOOL
    assert tool.tool_name == "get_weather"
    assert (tool.input_value, tool.input_mime_type) == ('{"city": "Paris"}', "application/json")
    assert (tool.output_value, tool.output_mime_type) == ("21C", "text/plain")
    agent = record("invoke_agent planner", {"gen_ai.operation.name": "invoke_agent"})
    assert agent.span_kind is SpanKind.AGENT
    embed = record(
        "embeddings text-embedding-3-small",
        {
            "gen_ai.operation.name": "embeddings",
            "gen_ai.request.model": "text-embedding-3-small",
            "gen_ai.usage.input_tokens": 8,
        },
    )
    assert embed.span_kind is SpanKind.EMBEDDING
    assert embed.model_name == "text-embedding-3-small"
    assert embed.tokens.prompt == 8 and embed.tokens.total is None


def test_genai_old_keys_and_message_events(record):
    span = record(
        "chat gpt-4o-mini",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.prompt_tokens": 30,
            "gen_ai.usage.completion_tokens": 9,
        },
        events=[
            ("gen_ai.system.message", {"gen_ai.system": "openai", "content": "Be brief."}, 1),
            ("gen_ai.user.message", {"gen_ai.system": "openai", "content": "Hi"}, 2),
            (
                "gen_ai.assistant.message",
                {
                    "gen_ai.system": "openai",
                    "tool_calls": json.dumps(
                        [
                            {
                                "id": "c9",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{}"},
                            }
                        ]
                    ),
                },
                3,
            ),
            ("gen_ai.tool.message", {"gen_ai.system": "openai", "id": "c9", "content": "ok"}, 4),
            (
                "gen_ai.choice",
                {
                    "gen_ai.system": "openai",
                    "index": 0,
                    "finish_reason": "stop",
                    "message": json.dumps({"role": "assistant", "content": "Hello!"}),
                },
                5,
            ),
        ],
    )
    assert span.conventions == ("gen_ai",)
    assert span.provider == "openai"
    assert span.model_name == "gpt-4o-mini"
    assert span.tokens.prompt == 30 and span.tokens.completion == 9 and span.tokens.total == 39
    assert span.tokens.prompt_includes_cache is True
    assert span.input_messages == (
        Message(role="system", content="Be brief."),
        Message(role="user", content="Hi"),
        Message(role="assistant", tool_calls=(ToolCall(id="c9", name="f", arguments="{}"),)),
        Message(role="tool", content="ok", tool_call_id="c9"),
    )
    assert span.output_messages == (Message(role="assistant", content="Hello!"),)
    assert span.input_value == "Hi"
    assert span.output_value == "Hello!"


def test_genai_new_name_beats_old_name(record):
    span = record(
        "chat",
        {
            "gen_ai.provider.name": "anthropic",
            "gen_ai.system": "openai",
            "gen_ai.usage.input_tokens": 11,
            "gen_ai.usage.prompt_tokens": 99,
        },
    )
    assert span.provider == "anthropic"
    assert span.tokens.prompt == 11


def test_openllmetry_chat_span_with_tool_calls(record):
    span = record(
        "openai.chat",
        {
            "llm.request.type": "chat",
            "gen_ai.system": "OpenAI",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "llm.is_streaming": False,
            "gen_ai.openai.api_base": "https://api.openai.com/v1/",
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "You plan trips.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "Weather in Paris?",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.finish_reason": "tool_calls",
            "gen_ai.completion.0.tool_calls.0.id": "call_1",
            "gen_ai.completion.0.tool_calls.0.name": "get_weather",
            "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Paris"}',
            "gen_ai.usage.prompt_tokens": 1500,
            "gen_ai.usage.completion_tokens": 20,
            "llm.usage.total_tokens": 1520,
            "gen_ai.usage.cache_read_input_tokens": 1024,
            "traceloop.association.properties.session_id": "trip-9",
            "traceloop.association.properties.user_id": "ana",
            "traceloop.workflow.name": "plan_trip",
        },
        kind=OtelKind.CLIENT,
        scope="opentelemetry.instrumentation.openai.v1",
    )
    assert span.conventions == ("openllmetry", "gen_ai")
    assert span.span_kind is SpanKind.LLM
    assert span.provider == "openai"  # lower-cased
    assert span.model_name == "gpt-4o-mini-2024-07-18"
    assert span.session_id == "trip-9" and span.user_id == "ana"
    assert span.tokens == TokenUsage(
        prompt=1500, completion=20, total=1520, cache_read=1024, prompt_includes_cache=True
    )
    assert span.input_messages == (
        Message(role="system", content="You plan trips."),
        Message(role="user", content="Weather in Paris?"),
    )
    assert span.output_messages == (
        Message(
            role="assistant",
            tool_calls=(ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}'),),
        ),
    )
    assert span.output_value == 'get_weather({"city": "Paris"})'


def test_openllmetry_anthropic_content_blocks_and_cache_rule(record):
    span = record(
        "anthropic.chat",
        {
            "llm.request.type": "chat",
            "gen_ai.system": "Anthropic",
            "gen_ai.request.model": "claude-3-5-sonnet-20241022",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": json.dumps([{"type": "text", "text": "Summarise this."}]),
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "A summary.",
            # This instrumentor adds cache reads and writes into the prompt count.
            "gen_ai.usage.prompt_tokens": 2100,
            "gen_ai.usage.completion_tokens": 50,
            "gen_ai.usage.cache_read_input_tokens": 1800,
            "gen_ai.usage.cache_creation_input_tokens": 200,
        },
    )
    assert span.provider == "anthropic"
    assert span.input_messages == (Message(role="user", content="Summarise this."),)
    assert span.tokens.cache_read == 1800 and span.tokens.cache_write == 200
    assert span.tokens.prompt_includes_cache is True
    # Older releases sent Anthropic's own input_tokens (cache excluded): a prompt count
    # smaller than the cache reads cannot include them.
    older = record(
        "anthropic.chat",
        {
            "llm.request.type": "chat",
            "gen_ai.system": "Anthropic",
            "gen_ai.usage.prompt_tokens": 100,
            "gen_ai.usage.cache_read_input_tokens": 1800,
        },
    )
    assert older.tokens.prompt_includes_cache is False


def test_openllmetry_workflow_task_and_tool_spans(record):
    workflow = record(
        "plan_trip.workflow",
        {
            "traceloop.span.kind": "workflow",
            "traceloop.workflow.name": "plan_trip",
            "traceloop.entity.name": "plan_trip",
            "traceloop.entity.input": json.dumps({"args": [], "kwargs": {"city": "Paris"}}),
            "traceloop.entity.output": json.dumps("done"),
            "traceloop.prompt.key": "trip-planner",
            "traceloop.prompt.version": 3,
            "traceloop.prompt.template": "Plan a trip to {{city}}",
        },
    )
    assert workflow.conventions == ("openllmetry",)
    assert workflow.span_kind is SpanKind.CHAIN
    assert workflow.input_mime_type == "application/json"
    assert json.loads(workflow.input_value)["kwargs"] == {"city": "Paris"}
    assert workflow.output_value == "done"  # a JSON-encoded string is shown as the string
    assert workflow.prompt_template == "Plan a trip to {{city}}"
    assert workflow.prompt_template_version == "3"
    assert workflow.tool_name is None
    task = record("fetch.task", {"traceloop.span.kind": "task"})
    assert task.span_kind is SpanKind.CHAIN
    tool = record(
        "search_flights.tool",
        {"traceloop.span.kind": "tool", "traceloop.entity.name": "search_flights"},
    )
    assert tool.span_kind is SpanKind.TOOL
    assert tool.tool_name == "search_flights"
    agent = record("planner.agent", {"traceloop.span.kind": "agent"})
    assert agent.span_kind is SpanKind.AGENT


def test_openlit_anthropic_span(record):
    span = record(
        "chat claude-3-5-sonnet",
        {
            "telemetry.sdk.name": "openlit",
            "gen_ai.system": "anthropic",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "claude-3-5-sonnet-latest",
            "gen_ai.response.model": "claude-3-5-sonnet-20241022",
            "gen_ai.usage.input_tokens": 40,
            "gen_ai.usage.output_tokens": 100,
            "gen_ai.usage.cache_read_input_tokens": 30,
            "gen_ai.client.token.usage": 140,
            "gen_ai.usage.cost": 0.0021,
            "gen_ai.server.time_to_first_token": 0.42,
            "gen_ai.server.tbt": 0.01,
            "gen_ai.request.is_stream": True,
        },
        events=[
            ("gen_ai.content.prompt", {"gen_ai.prompt": "user: Hello"}, 1),
            ("gen_ai.content.completion", {"gen_ai.completion": "Hi there"}, 2),
        ],
        resource={"service.name": "default", "telemetry.sdk.name": "openlit"},
        scope="openlit.otel.tracing",
        kind=OtelKind.CLIENT,
    )
    assert span.conventions == ("openlit", "gen_ai")
    assert span.span_kind is SpanKind.LLM
    assert span.model_name == "claude-3-5-sonnet-20241022"
    assert span.client_cost == 0.0021
    assert span.time_to_first_token_ms == 420.0
    # OpenLIT copies Anthropic's own input count, which leaves the cache out.
    assert span.tokens == TokenUsage(
        prompt=40, completion=100, total=140, cache_read=30, prompt_includes_cache=False
    )
    assert span.input_messages == (Message(role="user", content="user: Hello"),)
    assert span.output_messages == (Message(role="assistant", content="Hi there"),)


def test_openlit_openai_span_includes_cache(record):
    span = record(
        "chat gpt-4o",
        {
            "gen_ai.system": "openai",
            "gen_ai.operation.name": "chat",
            "gen_ai.usage.input_tokens": 900,
            "gen_ai.usage.cache_read_input_tokens": 512,
            "gen_ai.server.time_to_first_token": 0.1,
        },
    )
    assert "openlit" in span.conventions  # recognised by its own keys alone
    assert span.tokens.prompt_includes_cache is True
