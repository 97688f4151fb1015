"""Reading proxied calls from their bodies: shapes the stand-in upstream does not send, and bad bytes."""

from __future__ import annotations

import json

import pytest

from workbench.server.proxy_parse import parse_call


def _sse(*events: dict, names: bool = False) -> bytes:
    out = []
    for event in events:
        if names:
            out.append(f"event: {event['type']}\n")
        out.append(f"data: {json.dumps(event)}\n\n")
    return "".join(out).encode()


def test_openai_streamed_tool_calls_are_put_back_together():
    request = json.dumps({"model": "gpt-4o", "stream": True, "tools": [{"type": "function"}],
                          "messages": [{"role": "user", "content": "weather?"}]}).encode()
    response = _sse(
        {"model": "gpt-4o", "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [
            {"index": 0, "id": "call_1", "function": {"name": "get_weather", "arguments": ""}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
                      "finish_reason": "tool_calls"}]},
    ) + b"data: [DONE]\n\n"
    call = parse_call("openai", "/chat/completions", request, 200, response)
    assert call.output_messages == [{"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'}]}]
    assert call.finish_reason == "tool_calls"
    assert call.parameters == {"tools": [{"type": "function"}]}


def test_the_openai_responses_api_streamed_or_not():
    request = json.dumps({"model": "gpt-5", "instructions": "Be brief.", "input": "Hi", "stream": True}).encode()
    final = {"model": "gpt-5", "output": [
        {"type": "reasoning"},
        {"type": "message", "content": [{"type": "output_text", "text": "Hello."}]},
    ], "usage": {"input_tokens": 30, "output_tokens": 12, "input_tokens_details": {"cached_tokens": 10},
                 "output_tokens_details": {"reasoning_tokens": 8}}}
    streamed = _sse({"type": "response.output_text.delta", "delta": "Hel"},
                    {"type": "response.completed", "response": final}, names=True)
    call = parse_call("openai", "/responses", request, 200, streamed)
    assert call.input_messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert call.output_messages[0]["content"] == "Hello."
    tokens = (call.prompt_tokens, call.completion_tokens, call.cache_read_tokens, call.reasoning_tokens)
    assert tokens == (30, 12, 10, 8)
    plain = parse_call("openai", "/responses", request.replace(b'"stream": true', b'"stream": false'), 200,
                       json.dumps(final).encode())
    assert plain.output_messages[0]["content"] == "Hello." and plain.total_tokens == 42


def test_anthropic_streamed_tool_use_and_an_error_event():
    request = json.dumps({"model": "claude", "max_tokens": 10, "stream": True,
                          "messages": [{"role": "user", "content": [{"type": "text", "text": "weather?"}]}]}).encode()
    response = _sse(
        {"type": "message_start", "message": {"model": "claude-x", "usage": {"input_tokens": 5, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "tu_1",
                                                                       "name": "get_weather", "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"city"'}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": ':"Oslo"}'}},
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        names=True,
    )
    call = parse_call("anthropic", "/v1/messages", request, 200, response)
    assert call.model == "claude-x"
    assert call.input_messages == [{"role": "user", "content": "weather?"}]
    assert call.output_messages[0]["tool_calls"] == [{"id": "tu_1", "name": "get_weather",
                                                      "arguments": '{"city": "Oslo"}'}]
    assert call.error_type == "overloaded_error" and "Overloaded" in (call.error_message or "")
    assert call.prompt_tokens == 5  # no cache: the input tokens alone


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("request_body, response", [
    (b"", b""),
    (b"\xff\xfe not json", b"\x00\x01"),
    (b"[1, 2]", b"data: {broken\n\n"),
    (b'{"model": 5, "messages": "nope", "stream": "yes"}', b'{"choices": [{"message": 3}], "usage": []}'),
    (b'{"model": "m", "messages": [null, 1, {"role": "user", "content": {"odd": true}}]}', b"[]"),
    (b'{"model": "m", "stream": true}', b'data: {"choices": [{"delta": {"tool_calls": [null]}}]}\n\n'),
    (b'{"messages": [{"role": "user", "tool_calls": [{"function": "f"}], "content": [{"type": "tool_use"}]}]}',
     b'{"error": {"type": ["x"], "message": 3}}'),
    (b'{"system": [{"text": 1}], "messages": [{"content": [{"type": "tool_result", "content": 5}]}]}',
     b'data: {"type": "content_block_delta", "index": "a", "delta": null}\n\n'),
])
def test_bodies_of_any_shape_never_raise(provider, request_body, response):
    for status in (200, 400, 503, None):
        call = parse_call(provider, "/v1/messages", request_body, status, response)
        assert call.kind in ("LLM", "EMBEDDING")
    assert parse_call(provider, "/x", request_body, 429, response).error_type in ("http_429",)


def test_an_openai_stream_that_fails_after_its_200_is_an_error():
    request = json.dumps({"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()
    chat = _sse({"model": "gpt-4o", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]},
                {"error": {"message": "The server had an error while processing your request.",
                           "type": "server_error", "code": None}})
    call = parse_call("openai", "/chat/completions", request, 200, chat)
    assert call.error_type == "server_error" and "had an error" in (call.error_message or "")
    assert call.output_messages[0]["content"] == "Hel"  # what came before the error is kept
    responses = json.dumps({"model": "gpt-5", "input": "Hi", "stream": True}).encode()
    failed = _sse({"type": "response.output_text.delta", "delta": "Hel"},
                  {"type": "response.failed", "response": {
                      "model": "gpt-5", "status": "failed", "output": [],
                      "error": {"code": "rate_limit_exceeded", "message": "Slow down."}}}, names=True)
    call = parse_call("openai", "/responses", responses, 200, failed)
    assert call.error_type == "rate_limit_exceeded" and "Slow down." in (call.error_message or "")
    event = _sse({"type": "error", "code": "invalid_prompt", "message": "Bad prompt."}, names=True)
    call = parse_call("openai", "/responses", responses, 200, event)
    assert call.error_type == "invalid_prompt" and "Bad prompt." in (call.error_message or "")
    incomplete = _sse({"type": "response.incomplete", "response": {
        "model": "gpt-5", "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "Hel"}]}],
        "usage": {"input_tokens": 3, "output_tokens": 16}}}, names=True)
    call = parse_call("openai", "/responses", responses, 200, incomplete)
    assert call.error_type == "max_output_tokens" and call.completion_tokens == 16
