"""What an LLM span asked for, as a request that can be sent again: messages, model, parameters.

Read from a span record (a row of the ``spans`` table, as a dict): the input messages it
recorded (else its input text as one user message), its model, and its invocation
parameters (OpenInference's ``llm.invocation_parameters`` JSON, else the GenAI
``gen_ai.request.*`` attributes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.render.values import is_missing, loads

__all__ = ["ChatRequest", "original_output", "request_from_span"]

# GenAI request attributes and the chat-completions field each one is.
_GENAI_PARAMETERS = {
    "temperature": "temperature", "max_tokens": "max_tokens", "top_p": "top_p", "top_k": "top_k",
    "frequency_penalty": "frequency_penalty", "presence_penalty": "presence_penalty", "seed": "seed",
    "stop_sequences": "stop",
}
_PREFIXES = ("gen_ai.request.", "llm.request.")
# Fields of a recorded message a chat-completions request takes.
_MESSAGE_FIELDS = ("role", "content", "name", "tool_call_id")


@dataclass
class ChatRequest:
    """A chat completion to send.

    Attributes:
        messages: ``{"role", "content"}`` dicts, in order (with ``tool_calls``, ``tool_call_id``
            or ``name`` where the conversation had them).
        model: The model name (empty when the span named none).
        parameters: Other request fields: ``temperature``, ``max_tokens`` ...
    """

    messages: list[dict[str, Any]] = field(default_factory=list)
    model: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


def _tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded tool call as a chat-completions request states it."""
    arguments = call.get("arguments")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
    function = {"name": str(call.get("name") or ""), "arguments": arguments}
    out: dict[str, Any] = {"type": "function", "function": function}
    if call.get("id"):
        out["id"] = str(call["id"])
    return out


def _message(recorded: Mapping[str, Any]) -> dict[str, Any]:
    message = {k: recorded[k] for k in _MESSAGE_FIELDS if not is_missing(recorded.get(k)) and recorded.get(k) != ""}
    message.setdefault("role", "user")
    content = message.get("content")
    calls = [_tool_call(c) for c in recorded.get("tool_calls") or () if isinstance(c, Mapping)]
    if calls:
        message["tool_calls"] = calls
        if content is None or content == "":
            message["content"] = None  # an assistant turn that only called tools
            return message
    if not isinstance(content, str):
        message["content"] = "" if content is None else json.dumps(content, ensure_ascii=False)
    return message


def _parameters(attributes: Mapping[str, Any]) -> dict[str, Any]:
    blob = loads(attributes.get("llm.invocation_parameters"), None)
    if isinstance(blob, dict):
        return {k: v for k, v in blob.items() if k not in ("model", "messages", "stream", "stream_options")}
    found: dict[str, Any] = {}
    for key, value in attributes.items():
        for prefix in _PREFIXES:
            if key.startswith(prefix) and key[len(prefix):] in _GENAI_PARAMETERS:
                found[_GENAI_PARAMETERS[key[len(prefix):]]] = value
    return found


def request_from_span(span: Mapping[str, Any]) -> ChatRequest:
    """The request an LLM span made, ready to edit and send again."""
    attributes = loads(span.get("attributes"), {})
    recorded = loads(span.get("input_messages"), [])
    messages = [_message(m) for m in recorded if isinstance(m, Mapping)]
    if not messages and not is_missing(span.get("input_value")):
        messages = [{"role": "user", "content": str(span["input_value"])}]
    model = span.get("model_name")
    return ChatRequest(messages=messages, model="" if is_missing(model) else str(model),
                       parameters=_parameters(attributes if isinstance(attributes, Mapping) else {}))


def original_output(span: Mapping[str, Any]) -> str:
    """The text the span's model answered: its output messages' text, else its output value."""
    outputs = loads(span.get("output_messages"), [])
    texts = [str(m.get("content")) for m in outputs if isinstance(m, Mapping) and not is_missing(m.get("content"))
             and m.get("content") != ""]
    if texts:
        return "\n\n".join(texts)
    value = span.get("output_value")
    return "" if is_missing(value) else str(value)
