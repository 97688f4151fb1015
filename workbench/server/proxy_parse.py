"""What a proxied model call said, read from its request and response bodies.

The recording proxy (:mod:`workbench.server.proxy`) keeps the bytes it passed through and,
once the caller has its answer, reads them here into a :class:`Call`: the model, messages,
parameters, output, tokens (cached ones included) and the provider's error. Pure functions
over bytes; whatever cannot be read is left empty, never raised.

OpenAI: chat completions, the Responses API, completions, embeddings and moderations, streamed
(SSE) or not. Anthropic: messages, streamed or not. Which calls are recorded at all, and as what
kind of span, is :func:`call_kind`'s answer: a call that runs no model (counting tokens, files,
listing models, batches) is forwarded but not recorded. Anthropic reports cache reads and writes apart from
``input_tokens``; the prompt count recorded here includes them, as OpenInference's does.
"""

from __future__ import annotations

import array
import base64
import binascii
import json
import sys
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Call", "call_kind", "parse_call", "provider_error", "proxy_provider"]

# Request keys that are the call's content rather than its parameters.
_CONTENT_KEYS = frozenset({"model", "messages", "input", "prompt", "system", "stream", "instructions"})


@dataclass
class Call:
    """One model call as the proxy saw it."""

    kind: str = "LLM"
    model: str | None = None
    stream: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)
    input_messages: list[dict[str, Any]] = field(default_factory=list)
    output_messages: list[dict[str, Any]] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    finish_reason: str | None = None
    embeddings: list[dict[str, Any]] = field(default_factory=list)  # {"text": ..., "vector": [...]}
    output_json: Any = None  # a moderation's results


def call_kind(provider: str, path: str) -> str | None:
    """The span kind a ``POST`` to ``path`` is recorded as, or None when it runs no model.

    Generation (OpenAI chat completions, completions and the Responses API; Anthropic messages
    and the legacy complete) is ``LLM``; embeddings ``EMBEDDING``; moderations ``GUARDRAIL``.
    Everything else (Anthropic's ``messages/count_tokens`` and ``messages/batches``, OpenAI's
    files, uploads, batches, a response's ``cancel``, ``responses/input_tokens`` ...) is None.
    """
    route = "/" + path.split("?", 1)[0].strip("/")
    last = route.rsplit("/", 1)[-1]
    if provider == "anthropic":
        return "LLM" if last in ("messages", "complete") else None
    if last in ("completions", "responses"):  # also /chat/completions and Azure's deployment paths
        return "LLM"
    return {"embeddings": "EMBEDDING", "moderations": "GUARDRAIL"}.get(last)


_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error"}


def proxy_provider(path: str) -> str | None:
    """The provider whose proxy ``path`` is under (``openai``, ``anthropic``), or None."""
    for provider in ("openai", "anthropic"):
        if path == f"/proxy/{provider}" or path.startswith(f"/proxy/{provider}/"):
            return provider
    return None


def provider_error(provider: str | None, status: int, message: str, kind: str | None = None) -> dict[str, Any]:
    """An error body in the provider's own format, so its SDK raises its usual error with
    ``message``: Anthropic's ``{"type": "error", "error": {...}}``, else OpenAI's ``{"error": {...}}``."""
    if provider == "anthropic":
        error_type = kind or _ANTHROPIC_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
        return {"type": "error", "error": {"type": error_type, "message": message}}
    error_type = kind or ("invalid_request_error" if status < 500 else "server_error")
    return {"error": {"message": message, "type": error_type, "code": None}}


def parse_call(provider: str, path: str, request: bytes, status: int | None, response: bytes) -> Call:
    """Read a call from its bodies.

    Args:
        provider: ``openai`` or ``anthropic``.
        path: The provider's path (``/chat/completions``, ``/v1/messages`` ...).
        request: The request body as the client sent it.
        status: The upstream's HTTP status; None when no answer came.
        response: The response body as passed through (SSE text when streamed).
    """
    call = Call(kind=call_kind(provider, path) or "LLM")
    try:
        body = _json(request)
        if isinstance(body, dict):
            _read_request(call, provider, path, body)
    except (TypeError, ValueError, AttributeError, KeyError):
        pass  # a request of a shape not known here: what was read so far stays
    if status is not None and status >= 400:
        _read_error(call, provider, status, response)
        return call
    try:
        events = _sse_events(response) if call.stream or response.lstrip().startswith((b"data:", b"event:")) else None
        if provider == "anthropic":
            if events is not None:
                _anthropic_stream(call, events)
            else:
                _anthropic_message(call, _json(response))
        elif events is not None:
            _openai_stream(call, events)
        else:
            _openai_response(call, _json(response))
    except (TypeError, ValueError, AttributeError, KeyError):
        pass  # an answer of a shape not known here: what was read so far stays
    if call.total_tokens is None and call.prompt_tokens is not None and call.completion_tokens is not None:
        call.total_tokens = call.prompt_tokens + call.completion_tokens
    return call


def _json(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except (ValueError, UnicodeDecodeError):
        return None


def _read_request(call: Call, provider: str, path: str, body: dict[str, Any]) -> None:
    call.model = body.get("model") if isinstance(body.get("model"), str) else None
    call.stream = body.get("stream") is True
    call.parameters = {k: v for k, v in body.items() if k not in _CONTENT_KEYS}
    if call.kind == "EMBEDDING":
        texts = body.get("input")
        for text in texts if isinstance(texts, list) else [texts]:
            call.embeddings.append({"text": text if isinstance(text, str) else None})
        return
    messages: list[dict[str, Any]] = []
    system = body.get("system") if provider == "anthropic" else body.get("instructions")
    if system is not None:
        messages.append({"role": "system", "content": _text(system)})
    raw = body.get("messages")
    if isinstance(raw, list):
        for m in raw:
            if isinstance(m, dict):
                messages.append(_message(m))
    elif isinstance(body.get("input"), list) and call.kind == "LLM":  # Responses API items
        for item in body["input"]:
            if isinstance(item, dict) and "role" in item:
                messages.append(_message(item))
    elif isinstance(body.get("input"), str) or isinstance(body.get("prompt"), str):
        messages.append({"role": "user", "content": body.get("input") or body.get("prompt")})
    elif call.kind == "GUARDRAIL" and isinstance(body.get("input"), list):  # moderations of many texts
        messages.extend({"role": "user", "content": _text([t])} for t in body["input"])
    call.input_messages = messages


def _message(m: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.get("role"), "content": _text(m.get("content"))}
    calls = []
    for tc in m.get("tool_calls") or []:
        if isinstance(tc, dict):
            fn = tc.get("function") or {}
            calls.append({"id": tc.get("id"), "name": fn.get("name"), "arguments": fn.get("arguments")})
    content = m.get("content")
    if isinstance(content, list):  # Anthropic tool_use blocks
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                calls.append({"id": block.get("id"), "name": block.get("name"),
                              "arguments": json.dumps(block.get("input"))})
    if calls:
        out["tool_calls"] = calls
    return out


def _text(content: Any) -> str | None:
    """Message content as text: a string, or the text parts of a list of blocks."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict):
                text = block.get("text")
                if isinstance(text, str):
                    parts.append(text)
                elif block.get("type") == "tool_result":
                    parts.append(_text(block.get("content")) or "")
        return "\n".join(parts)
    return json.dumps(content)


def _read_error(call: Call, provider: str, status: int, response: bytes) -> None:
    body = _json(response)
    error = body.get("error") if isinstance(body, dict) else None
    kind = message = None
    if isinstance(error, dict):
        kind = error.get("type") or error.get("code")
        message = error.get("message")
        kind = kind if isinstance(kind, (str, int)) else None
    elif isinstance(error, str):
        message = error
    call.error_type = str(kind) if kind else f"http_{status}"
    text = message if isinstance(message, str) and message else response[:500].decode("utf-8", "replace")
    call.error_message = f"{provider} answered {status}: {text}".strip()


def _sse_events(data: bytes) -> list[tuple[str | None, Any]]:
    """Server-sent events as (event name, parsed data); ``[DONE]`` and bad lines are left out."""
    events: list[tuple[str | None, Any]] = []
    name: str | None = None
    lines: list[str] = []
    for raw in [*data.decode("utf-8", "replace").splitlines(), ""]:
        if not raw.strip():
            if lines:
                text = "\n".join(lines)
                if text.strip() != "[DONE]":
                    try:
                        events.append((name, json.loads(text)))
                    except ValueError:
                        pass
            name, lines = None, []
        elif raw.startswith("event:"):
            name = raw[6:].strip()
        elif raw.startswith("data:"):
            lines.append(raw[5:].lstrip())
    return events


def _openai_usage(call: Call, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    call.prompt_tokens = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
    call.completion_tokens = _int(usage.get("completion_tokens", usage.get("output_tokens")))
    call.total_tokens = _int(usage.get("total_tokens"))
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    call.cache_read_tokens = _int(details.get("cached_tokens"))
    out = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    call.reasoning_tokens = _int(out.get("reasoning_tokens"))


def _openai_response(call: Call, body: Any) -> None:
    if not isinstance(body, dict):
        return
    call.model = body.get("model") or call.model
    _openai_usage(call, body.get("usage"))
    if call.kind == "EMBEDDING":
        _openai_embeddings(call, body.get("data"))
        return
    if call.kind == "GUARDRAIL":
        call.output_json = body.get("results")
        return
    for choice in body.get("choices") or []:
        message = choice.get("message")
        if isinstance(message, dict):
            call.output_messages.append(_message(message))
        elif isinstance(choice.get("text"), str):  # completions
            call.output_messages.append({"role": "assistant", "content": choice["text"]})
        call.finish_reason = choice.get("finish_reason") or call.finish_reason
    if isinstance(body.get("output"), list):  # Responses API
        texts, calls = [], []
        for item in body["output"]:
            if item.get("type") == "message":
                texts.append(_text(item.get("content")) or "")
            elif item.get("type") == "function_call":
                calls.append({"id": item.get("call_id"), "name": item.get("name"), "arguments": item.get("arguments")})
        reply: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
        if calls:
            reply["tool_calls"] = calls
        call.output_messages.append(reply)


def _openai_embeddings(call: Call, data: Any) -> None:
    """The vectors of an embeddings answer, beside the texts the request sent (by ``index``)."""
    if not isinstance(data, list):
        return
    for position, item in enumerate(data):
        if not isinstance(item, dict):
            continue
        index = item.get("index", position)
        if not isinstance(index, int) or not 0 <= index < 100_000:
            continue
        while len(call.embeddings) <= index:
            call.embeddings.append({"text": None})
        vector = _vector(item.get("embedding"))
        if vector is not None:
            call.embeddings[index]["vector"] = vector


def _vector(value: Any) -> list[float] | None:
    """A vector as floats: a JSON list, or the base64 float32 form the openai SDK asks for."""
    if isinstance(value, list):
        if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return [float(v) for v in value]
        return None
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (ValueError, binascii.Error):
            return None
        if raw and len(raw) % 4 == 0:
            floats = array.array("f")
            floats.frombytes(raw)
            if sys.byteorder != "little":
                floats.byteswap()
            return floats.tolist()
    return None


def _openai_stream(call: Call, events: list[tuple[str | None, Any]]) -> None:
    content: dict[int, list[str]] = {}
    roles: dict[int, str] = {}
    tools: dict[int, dict[int, dict[str, Any]]] = {}
    for _name, data in events:
        if not isinstance(data, dict):
            continue
        kind = data.get("type")
        if kind == "response.completed":  # Responses API: the whole response at the end
            _openai_response(call, data.get("response"))
            return
        if kind in ("response.failed", "response.incomplete"):  # the Responses API's end when it failed
            response: dict[str, Any] = data["response"] if isinstance(data.get("response"), dict) else {}
            _openai_response(call, response)
            _stream_error(call, response.get("error") or response.get("incomplete_details"), kind)
            return
        if "error" in data or kind == "error":  # an error sent mid-stream, after a 200
            _stream_error(call, data.get("error") if "error" in data else data, "stream_error")
            continue
        call.model = data.get("model") or call.model
        if data.get("usage"):
            _openai_usage(call, data["usage"])
        for choice in data.get("choices") or []:
            index = choice.get("index", 0)
            delta = choice.get("delta") or {}
            if delta.get("role"):
                roles[index] = delta["role"]
            if isinstance(delta.get("content"), str):
                content.setdefault(index, []).append(delta["content"])
            elif isinstance(choice.get("text"), str):
                content.setdefault(index, []).append(choice["text"])
            for tc in delta.get("tool_calls") or []:
                slot = tools.setdefault(index, {}).setdefault(tc.get("index", 0), {"arguments": ""})
                fn = tc.get("function") or {}
                if tc.get("id"):
                    slot["id"] = tc["id"]
                if fn.get("name"):
                    slot["name"] = fn["name"]
                slot["arguments"] += fn.get("arguments") or ""
            call.finish_reason = choice.get("finish_reason") or call.finish_reason
    for index in sorted(set(content) | set(roles) | set(tools)):
        out: dict[str, Any] = {"role": roles.get(index, "assistant"), "content": "".join(content.get(index, []))}
        if index in tools:
            out["tool_calls"] = [tools[index][k] for k in sorted(tools[index])]
        call.output_messages.append(out)


def _stream_error(call: Call, error: Any, default: str) -> None:
    """Record an error an OpenAI stream reported after its 200 (the SDK raises it to the caller)."""
    error = error if isinstance(error, dict) else {"message": error} if isinstance(error, str) else {}
    kind = error.get("type") if error.get("type") != "error" else None  # a Responses API error event
    kind = kind or error.get("code") or error.get("reason") or default
    message = error.get("message") or error.get("reason") or default
    call.error_type = str(kind) if isinstance(kind, (str, int)) else default
    call.error_message = f"openai stream error: {message}" if isinstance(message, str) else f"openai {default}"


def _anthropic_usage(call: Call, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    if "input_tokens" in usage or "cache_read_input_tokens" in usage:
        read = _int(usage.get("cache_read_input_tokens"))
        write = _int(usage.get("cache_creation_input_tokens"))
        plain = _int(usage.get("input_tokens"))
        if read is not None:
            call.cache_read_tokens = read
        if write is not None:
            call.cache_write_tokens = write
        if plain is not None:
            call.prompt_tokens = plain + (call.cache_read_tokens or 0) + (call.cache_write_tokens or 0)
    if "output_tokens" in usage:
        call.completion_tokens = _int(usage.get("output_tokens"))


def _anthropic_message(call: Call, body: Any) -> None:
    if not isinstance(body, dict):
        return
    call.model = body.get("model") or call.model
    _anthropic_usage(call, body.get("usage"))
    call.finish_reason = body.get("stop_reason")
    call.output_messages.append(_message({"role": body.get("role", "assistant"), "content": body.get("content")}))


def _anthropic_stream(call: Call, events: list[tuple[str | None, Any]]) -> None:
    blocks: dict[int, dict[str, Any]] = {}
    for _name, data in events:
        if not isinstance(data, dict):
            continue
        kind = data.get("type")
        if kind == "message_start":
            message = data.get("message") or {}
            call.model = message.get("model") or call.model
            _anthropic_usage(call, message.get("usage"))
        elif kind == "content_block_start":
            block = dict(data.get("content_block") or {})
            if block.get("type") == "tool_use":
                block["partial"] = ""
            blocks[data.get("index", len(blocks))] = block
        elif kind == "content_block_delta":
            block = blocks.setdefault(data.get("index", 0), {"type": "text", "text": ""})
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                block["text"] = block.get("text", "") + delta.get("text", "")
            elif delta.get("type") == "input_json_delta":
                block["partial"] = block.get("partial", "") + delta.get("partial_json", "")
        elif kind == "message_delta":
            _anthropic_usage(call, data.get("usage"))
            call.finish_reason = (data.get("delta") or {}).get("stop_reason") or call.finish_reason
        elif kind == "error":
            error = data.get("error") or {}
            call.error_type = error.get("type") or "stream_error"
            call.error_message = f"anthropic stream error: {error.get('message', '')}".strip()
    content = []
    for index in sorted(blocks):
        block = blocks[index]
        if block.get("type") == "tool_use":
            block["input"] = _json(block.pop("partial", "").encode()) or {}
        content.append(block)
    call.output_messages.append(_message({"role": "assistant", "content": content}))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
