"""Vendor namespaces that pack structure into one attribute: Langfuse, MLflow, the Vercel
AI SDK, plus OpenLIT's detection and OpenLLMetry's tool name.

* Langfuse (SDK v3): ``langfuse.observation.usage_details`` and ``cost_details`` are JSON
  objects; ``completion_start_time`` is an ISO time (JSON-quoted) or epoch number;
  ``input``/``output`` are JSON (chat arrays when the observation is a generation).
* MLflow: every attribute is JSON-encoded; ``mlflow.chat.tokenUsage`` and
  ``mlflow.llm.cost`` are objects; ``mlflow.chat.messages`` is the whole chat, the model's
  answer last.
* Vercel AI SDK: ``ai.prompt.messages`` (JSON), ``ai.prompt`` (JSON with system, prompt,
  messages), ``ai.response.text`` and ``ai.response.toolCalls``; embeddings in
  ``ai.value``/``ai.embedding`` and ``ai.values``/``ai.embeddings``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workbench.model import Embedding, Message, ToolCall
from workbench.semconv.build import new_embedding, new_message, new_tool_call
from workbench.semconv.coerce import as_count, as_float, as_json, as_str, time_to_ns, to_text
from workbench.semconv.messages import message_from_dict, messages_from_value
from workbench.semconv.openinference import vector

__all__ = [
    "chat_from_io",
    "is_openlit",
    "langfuse_cost",
    "langfuse_ttft_ms",
    "langfuse_usage",
    "mlflow_cost",
    "mlflow_messages",
    "mlflow_usage",
    "openllmetry_tool_name",
    "vercel_embeddings",
    "vercel_messages",
]

Messages = tuple[Message, ...]

# Keys OpenLIT sets that no other convention uses.
_OPENLIT_MARKERS = (
    "gen_ai.server.time_to_first_token",
    "gen_ai.server.tbt",
    "gen_ai.application_name",
    "gen_ai.sdk.version",
)

# Usage-detail names (Langfuse, MLflow) -> TokenUsage field. Langfuse accepts free-form
# names; these are the ones its SDKs and integrations write.
_USAGE_NAMES: dict[str, str] = {
    "input": "prompt",
    "input_tokens": "prompt",
    "prompt_tokens": "prompt",
    "promptTokens": "prompt",
    "output": "completion",
    "output_tokens": "completion",
    "completion_tokens": "completion",
    "completionTokens": "completion",
    "total": "total",
    "total_tokens": "total",
    "totalTokens": "total",
    "input_cached_tokens": "cache_read",
    "input_cache_read": "cache_read",
    "cache_read_input_tokens": "cache_read",
    "input_cache_creation": "cache_write",
    "cache_creation_input_tokens": "cache_write",
    "output_reasoning_tokens": "reasoning",
    "output_reasoning": "reasoning",
    "reasoning_tokens": "reasoning",
}


def is_openlit(
    attributes: Mapping[str, Any], resource: Mapping[str, Any], scope_name: str | None
) -> bool:
    """Whether the span came from OpenLIT, which writes plain ``gen_ai.*`` keys."""
    if attributes.get("telemetry.sdk.name") == "openlit":
        return True
    if resource.get("telemetry.sdk.name") == "openlit":
        return True
    if isinstance(scope_name, str) and scope_name.startswith("openlit"):
        return True
    return any(key in attributes for key in _OPENLIT_MARKERS)


def openllmetry_tool_name(attributes: Mapping[str, Any]) -> str | None:
    """OpenLLMetry names a ``@tool`` span's tool in ``traceloop.entity.name``."""
    if attributes.get("traceloop.span.kind") == "tool":
        return as_str(attributes.get("traceloop.entity.name"))
    return None


def _usage(details: Any, convention: str) -> dict[str, Any] | None:
    """TokenUsage fields from a usage-details object."""
    parsed = as_json(details)
    if not isinstance(parsed, Mapping):
        return None
    usage: dict[str, Any] = {"convention": convention}
    numbers = []
    for name, value in parsed.items():
        count = as_count(value)
        if count is None:
            continue
        field = _USAGE_NAMES.get(name)
        if field is not None and field not in usage:
            usage[field] = count
        if field != "total":
            numbers.append(count)
    if len(usage) == 1:
        return None
    if "total" not in usage and convention == "langfuse" and numbers:
        usage["total"] = sum(numbers)  # Langfuse's own definition: the sum of all kinds
    return usage


def langfuse_usage(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Token counts from ``langfuse.observation.usage_details``."""
    return _usage(attributes.get("langfuse.observation.usage_details"), "langfuse")


def mlflow_usage(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Token counts from ``mlflow.chat.tokenUsage``."""
    return _usage(attributes.get("mlflow.chat.tokenUsage"), "mlflow")


def _cost(details: Any, total_names: tuple[str, ...]) -> float | None:
    """A total from a cost-details object: its total entry, else the sum of its parts."""
    parsed = as_json(details)
    if isinstance(parsed, Mapping):
        for name in total_names:
            total = as_float(parsed.get(name))
            if total is not None:
                return total
        parts = [as_float(value) for value in parsed.values()]
        present = [part for part in parts if part is not None]
        return sum(present) if present else None
    return as_float(details)


def langfuse_cost(attributes: Mapping[str, Any]) -> float | None:
    """Cost from ``langfuse.observation.cost_details``."""
    return _cost(attributes.get("langfuse.observation.cost_details"), ("total",))


def mlflow_cost(attributes: Mapping[str, Any]) -> float | None:
    """Cost from ``mlflow.llm.cost``."""
    return _cost(attributes.get("mlflow.llm.cost"), ("total_cost", "total"))


def langfuse_ttft_ms(attributes: Mapping[str, Any], start_time_ns: int) -> float | None:
    """Time to first token: Langfuse's completion start time minus the span start."""
    value = attributes.get("langfuse.observation.completion_start_time")
    if value is None:
        return None
    moment = time_to_ns(value)
    if moment is None or moment < start_time_ns:
        return None
    return (moment - start_time_ns) / 1e6


def chat_from_io(value: Any) -> Messages:
    """Messages from a JSON input or output value, when it holds a chat.

    Accepts an array of messages, ``{"messages": [...]}``, a single message object, and
    an OpenAI-style response with ``choices``. Anything else gives ``()``.
    """
    parsed = as_json(value)
    if isinstance(parsed, (list, tuple)):
        return messages_from_value(parsed)
    if not isinstance(parsed, Mapping):
        return ()
    if isinstance(parsed.get("messages"), (list, tuple)):
        return messages_from_value(parsed["messages"])
    choices = parsed.get("choices")
    if isinstance(choices, (list, tuple)):
        return messages_from_value(
            [choice.get("message") for choice in choices if isinstance(choice, Mapping)]
        )
    if "role" in parsed:
        message = message_from_dict(parsed)
        return (message,) if message is not None else ()
    return ()


def mlflow_messages(attributes: Mapping[str, Any]) -> tuple[Messages, Messages]:
    """Input and output messages of an MLflow chat span.

    ``mlflow.chat.messages`` holds the request's messages followed by the answer; a
    trailing assistant message is taken as the output. Without it, the span's inputs and
    outputs are read as a chat request and response.
    """
    chat = messages_from_value(attributes.get("mlflow.chat.messages"))
    if chat:
        if len(chat) > 1 and chat[-1].role == "assistant":
            return chat[:-1], chat[-1:]
        return chat, ()
    return (
        chat_from_io(attributes.get("mlflow.spanInputs")),
        chat_from_io(attributes.get("mlflow.spanOutputs")),
    )


def vercel_messages(attributes: Mapping[str, Any]) -> tuple[Messages, Messages]:
    """Input and output messages of a Vercel AI SDK span."""
    inputs = messages_from_value(attributes.get("ai.prompt.messages"))
    if not inputs:
        inputs = _vercel_prompt(attributes.get("ai.prompt"))
    text = as_str(attributes.get("ai.response.text"))
    calls = _vercel_tool_calls(attributes.get("ai.response.toolCalls"))
    if not text and not calls:
        return inputs, ()
    return inputs, (new_message(role="assistant", content=text, tool_calls=calls),)


def _vercel_prompt(value: Any) -> Messages:
    """``ai.prompt``: ``{"system": ..., "prompt": ...}`` or ``{"system": ..., "messages":
    [...]}``."""
    parsed = as_json(value)
    if not isinstance(parsed, Mapping):
        return ()
    found: list[Message] = []
    system = as_str(parsed.get("system"))
    if system is not None:
        found.append(new_message(role="system", content=system))
    prompt = parsed.get("prompt")
    if isinstance(prompt, str):
        found.append(new_message(role="user", content=prompt))
    else:
        found.extend(messages_from_value(parsed.get("messages") or prompt))
    return tuple(found)


def _vercel_tool_calls(value: Any) -> tuple[ToolCall, ...]:
    parsed = as_json(value)
    if not isinstance(parsed, (list, tuple)):
        return ()
    calls = []
    for call in parsed:
        if isinstance(call, Mapping):
            arguments = call.get("args", call.get("input"))
            calls.append(
                new_tool_call(
                    id=as_str(call.get("toolCallId")),
                    name=as_str(call.get("toolName")),
                    arguments=arguments if isinstance(arguments, str) else to_text(arguments),
                )
            )
    return tuple(calls)


def vercel_embeddings(attributes: Mapping[str, Any], model: str | None) -> tuple[Embedding, ...]:
    """Embeddings of ``ai.embed`` (``ai.value``, ``ai.embedding``) and ``ai.embedMany``
    (``ai.values``, ``ai.embeddings``) spans. Values are JSON-encoded texts."""
    vectors = attributes.get("ai.embeddings")
    if isinstance(vectors, Sequence) and not isinstance(vectors, (str, bytes)):
        texts = attributes.get("ai.values")
        texts = texts if isinstance(texts, Sequence) and not isinstance(texts, str) else ()
        return tuple(
            new_embedding(
                position=i,
                text=as_str(texts[i]) if i < len(texts) else None,
                vector=vector(raw),
                model=model,
            )
            for i, raw in enumerate(vectors)
        )
    single = attributes.get("ai.embedding")
    if single is None:
        return ()
    return (new_embedding(0, as_str(attributes.get("ai.value")), vector(single), model),)
