"""A proxied call as an OTLP request, so it takes the receiver's road into the store.

The span follows OpenInference's conventions (``llm.*`` attributes, a first-token event),
which :mod:`workbench.semconv` reads like any instrumented client's. Request headers are
never copied into it: only the ``X-Workbench-*`` values the caller set for the purpose.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2

from workbench.server.proxy_parse import Call

if TYPE_CHECKING:
    from workbench.server.proxy import Exchange

__all__ = ["call_span", "calls_request"]

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
_SCOPE = "workbench.proxy"


def calls_request(calls: list[tuple[Exchange, Call]], default_project: str = "default") -> bytes:
    """The serialized ``ExportTraceServiceRequest`` holding one span per call, by project: the
    call's ``X-Workbench-Project``, else ``default_project`` (the server's, as for OTLP spans
    whose resource names none; never the proxy's service name)."""
    request = ExportTraceServiceRequest()
    by_project: dict[str, Any] = {}
    for exchange, call in calls:
        project = exchange.headers.get("project", "").strip() or default_project
        scope_spans = by_project.get(project)
        if scope_spans is None:
            resource_spans = request.resource_spans.add()
            resource_spans.resource.attributes.append(_kv("service.name", "workbench-proxy"))
            resource_spans.resource.attributes.append(_kv("openinference.project.name", project))
            scope_spans = by_project[project] = resource_spans.scope_spans.add()
            scope_spans.scope.name = _SCOPE
        scope_spans.spans.append(call_span(exchange, call))
    return request.SerializeToString()


def call_span(exchange: Exchange, call: Call) -> trace_pb2.Span:
    """The exchange's span, in OTLP's protobuf form."""
    headers = exchange.headers
    attributes: dict[str, Any] = {
        "openinference.span.kind": call.kind,
        "llm.provider": exchange.provider,
        "llm.system": exchange.provider,
        "http.request.method": exchange.method,
        "url.path": exchange.path,
        "workbench.proxy": True,
        "input.value": exchange.request_body.decode("utf-8", "replace"),
        "input.mime_type": "application/json",
    }
    if call.model:
        attributes["llm.model_name"] = call.model
        if call.kind == "EMBEDDING":
            attributes["embedding.model_name"] = call.model
    for i, embedding in enumerate(call.embeddings):
        if embedding.get("text") is not None:
            attributes[f"embedding.embeddings.{i}.embedding.text"] = embedding["text"]
        if embedding.get("vector"):
            attributes[f"embedding.embeddings.{i}.embedding.vector"] = embedding["vector"]
    if call.parameters:
        attributes["llm.invocation_parameters"] = json.dumps(call.parameters)
    attributes["llm.is_streaming"] = call.stream
    if exchange.status is not None:
        attributes["http.response.status_code"] = exchange.status
    _messages(attributes, "llm.input_messages", call.input_messages)
    _messages(attributes, "llm.output_messages", call.output_messages)
    output = _output_text(call)
    if output is not None:
        attributes["output.value"] = output
        attributes["output.mime_type"] = "text/plain"
    elif call.output_json is not None:  # a moderation's results
        attributes["output.value"] = json.dumps(call.output_json)
        attributes["output.mime_type"] = "application/json"
    for key, value in (
        ("llm.token_count.prompt", call.prompt_tokens),
        ("llm.token_count.completion", call.completion_tokens),
        ("llm.token_count.total", call.total_tokens),
        ("llm.token_count.prompt_details.cache_read", call.cache_read_tokens),
        ("llm.token_count.prompt_details.cache_write", call.cache_write_tokens),
        ("llm.token_count.completion_details.reasoning", call.reasoning_tokens),
    ):
        if value is not None:
            attributes[key] = value
    if call.finish_reason:
        attributes["llm.finish_reason"] = call.finish_reason
    if headers.get("session"):
        attributes["session.id"] = headers["session"]
    if headers.get("user"):
        attributes["user.id"] = headers["user"]
    if headers.get("tags"):
        attributes["tag.tags"] = [t.strip() for t in headers["tags"].split(",") if t.strip()]
    properties = {k[len("property-"):]: v for k, v in headers.items() if k.startswith("property-")}
    if properties:
        attributes["metadata"] = json.dumps(properties)

    span = trace_pb2.Span(
        trace_id=secrets.token_bytes(16),
        span_id=secrets.token_bytes(8),
        name=f"{exchange.provider} {exchange.path.lstrip('/')}",
        kind=trace_pb2.Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=exchange.start_ns,
        end_time_unix_nano=max(exchange.end_ns, exchange.start_ns),
    )
    parent = _TRACEPARENT.match(headers.get("traceparent", "").strip().lower())
    if parent is not None and parent.group(1) != "0" * 32 and parent.group(2) != "0" * 16:
        span.trace_id = bytes.fromhex(parent.group(1))
        span.parent_span_id = bytes.fromhex(parent.group(2))
    error_type, error_message = _error(exchange, call)
    if error_type is not None:
        attributes["error.type"] = error_type
        span.status.code = trace_pb2.Status.STATUS_CODE_ERROR
        span.status.message = error_message or error_type
    elif exchange.status is not None:
        span.status.code = trace_pb2.Status.STATUS_CODE_OK
    first = exchange.first_token_ns or exchange.first_chunk_ns  # a stream of a shape not known: its first bytes
    if call.stream and first is not None:
        span.events.add(name="First Token Stream Event", time_unix_nano=first)
    span.attributes.extend(_kv(k, v) for k, v in attributes.items())
    return span


def _error(exchange: Exchange, call: Call) -> tuple[str | None, str | None]:
    if exchange.failure is not None:
        return exchange.failure
    if call.error_type is not None:
        return call.error_type, call.error_message
    return None, None


def _output_text(call: Call) -> str | None:
    texts = [str(m["content"]) for m in call.output_messages if isinstance(m.get("content"), str)]
    return "".join(texts) if texts else None


def _messages(attributes: dict[str, Any], prefix: str, messages: list[dict[str, Any]]) -> None:
    for i, message in enumerate(messages):
        base = f"{prefix}.{i}.message"
        if message.get("role"):
            attributes[f"{base}.role"] = str(message["role"])
        if isinstance(message.get("content"), str):
            attributes[f"{base}.content"] = message["content"]
        for j, tool in enumerate(message.get("tool_calls") or []):
            tool_base = f"{base}.tool_calls.{j}.tool_call"
            if tool.get("id"):
                attributes[f"{tool_base}.id"] = str(tool["id"])
            if tool.get("name"):
                attributes[f"{tool_base}.function.name"] = str(tool["name"])
            if tool.get("arguments") is not None:
                attributes[f"{tool_base}.function.arguments"] = str(tool["arguments"])


def _kv(key: str, value: Any) -> KeyValue:
    return KeyValue(key=key, value=_any(value))


def _any(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        out = AnyValue()
        out.array_value.values.extend(_any(v) for v in value)
        return out
    return AnyValue(string_value=str(value))
