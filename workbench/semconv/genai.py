"""Chat messages in the OTel GenAI conventions, new and old, and OpenLLMetry's flattening.

Three generations of the same information, newest first:

1. JSON attributes (semconv 1.36+): ``gen_ai.system_instructions``,
   ``gen_ai.input.messages``, ``gen_ai.output.messages``, each a JSON array of
   ``{"role", "parts": [...]}``; the same keys may instead ride on a
   ``gen_ai.client.inference.operation.details`` event.
2. Span events (semconv 1.28-1.35): ``gen_ai.system.message``, ``gen_ai.user.message``,
   ``gen_ai.assistant.message``, ``gen_ai.tool.message`` and ``gen_ai.choice``; and the
   earlier ``gen_ai.content.prompt`` / ``gen_ai.content.completion`` events carrying a
   ``gen_ai.prompt`` / ``gen_ai.completion`` attribute (also OpenLIT's).
3. Flattened attributes (OpenLLMetry): ``gen_ai.prompt.N.role|content|tool_call_id`` and
   ``gen_ai.completion.N.role|content|tool_calls.K.id|name|arguments``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workbench.model import Event, Message, ToolCall
from workbench.semconv.build import new_message, new_tool_call
from workbench.semconv.coerce import as_json, as_str, to_text
from workbench.semconv.indexed import Groups, subgroups
from workbench.semconv.keys import CHUNK_EVENT_NAMES, CHUNK_EVENT_SUFFIXES
from workbench.semconv.messages import content_text, message_from_dict, messages_from_value

__all__ = ["event_messages", "first_chunk_ms", "indexed_messages", "json_messages"]

Messages = tuple[Message, ...]

_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
_CHOICE = "gen_ai.choice"
_DETAILS = "gen_ai.client.inference.operation.details"
_OLD_PROMPT = "gen_ai.content.prompt"
_OLD_COMPLETION = "gen_ai.content.completion"


def json_messages(attributes: Mapping[str, Any]) -> tuple[Messages, Messages]:
    """Input and output messages from the JSON attributes (generation 1).

    System instructions, sent apart from the messages, become a leading system message.
    A span attribute ``gen_ai.prompt`` / ``gen_ai.completion`` holding a JSON array is read
    the same way, since some senders put the old event attributes on the span.
    """
    inputs = _messages_or_text(attributes.get("gen_ai.input.messages"), "user")
    if not inputs:
        inputs = messages_from_value(attributes.get("gen_ai.prompt"))
    outputs = _messages_or_text(attributes.get("gen_ai.output.messages"), "assistant")
    if not outputs:
        outputs = messages_from_value(attributes.get("gen_ai.completion"))
    system = attributes.get("gen_ai.system_instructions")
    if isinstance(system, (str, list, tuple)):
        parsed = as_json(system)  # a JSON array of parts, or plain text
        text = content_text(parsed if parsed is not None else system)[0]
        if text and not (inputs and inputs[0].role == "system"):
            inputs = (new_message(role="system", content=text), *inputs)
    return inputs, outputs


def _messages_or_text(value: Any, role: str) -> Messages:
    """The JSON message list (or one message object sent without its list), or, when the
    sender put plain text where the list belongs (a string that is not JSON, or a list of
    strings), that text as one message of ``role``."""
    found = messages_from_value(value)
    if found or value is None:
        return found
    single = as_json(value)
    if isinstance(single, Mapping) and "role" in single:  # one message sent without its list
        message = message_from_dict(single)
        if message is not None:
            return (message,)
    if isinstance(value, (list, tuple)):
        texts = [text for text in map(as_str, value) if text]
        text = "\n".join(texts) if texts and len(texts) == len(value) else None
    else:
        text = as_str(value)
        if text is not None and text.lstrip()[:1] in ("[", "{"):
            text = None  # JSON (or broken JSON), but no message list we can read: not prose
    return (new_message(role=role, content=text),) if text else ()


def first_chunk_ms(events: Sequence[Event], start_time_ns: int) -> float | None:
    """Time to first token from per-chunk streaming events: the earliest chunk event's time
    minus the span start, in milliseconds (see ``keys.CHUNK_EVENT_NAMES``)."""
    first: int | None = None
    for event in events:
        name = getattr(event, "name", None)
        if not isinstance(name, str):
            continue
        lowered = name.lower()
        if lowered not in CHUNK_EVENT_NAMES and not lowered.endswith(CHUNK_EVENT_SUFFIXES):
            continue
        time_ns = getattr(event, "time_ns", None)
        if type(time_ns) is int and time_ns >= start_time_ns and (first is None or time_ns < first):
            first = time_ns
    return None if first is None else (first - start_time_ns) / 1e6


def event_messages(events: Sequence[Event]) -> tuple[Messages, Messages]:
    """Input and output messages from span events (generations 1 and 2)."""
    inputs: list[Message] = []
    outputs: list[Message] = []
    for event in events:
        name = getattr(event, "name", None)
        if not isinstance(name, str) or not name.startswith("gen_ai."):
            continue
        attributes = getattr(event, "attributes", None)
        if not isinstance(attributes, Mapping):
            attributes = {}
        role = _EVENT_ROLES.get(name)
        if role is not None:
            message = _event_message(attributes, role)
            if message is not None:
                inputs.append(message)
        elif name == _CHOICE:
            message = _event_message(attributes, "assistant")
            if message is not None:
                outputs.append(message)
        elif name == _DETAILS:
            more_in, more_out = json_messages(attributes)
            inputs.extend(more_in)
            outputs.extend(more_out)
        elif name == _OLD_PROMPT:
            inputs.extend(_old_content(attributes.get("gen_ai.prompt"), "user"))
        elif name == _OLD_COMPLETION:
            outputs.extend(_old_content(attributes.get("gen_ai.completion"), "assistant"))
    return tuple(inputs), tuple(outputs)


def _event_message(attributes: Mapping[str, Any], role: str) -> Message | None:
    """One message from a per-message event: its attributes are the message's fields."""
    body: dict[str, Any] = dict(attributes)
    body.setdefault("role", role)
    content = body.get("content")
    if isinstance(content, str) and content[:1] in "[{":
        parsed = as_json(content)
        if parsed is not None:
            body["content"] = parsed
    return message_from_dict(body)


def _old_content(value: Any, role: str) -> Messages:
    """The old ``gen_ai.prompt``/``gen_ai.completion`` value: a JSON array of messages, or
    plain text (OpenLIT sends the prompt as text)."""
    found = messages_from_value(value)
    if found:
        return found
    text = as_str(value)
    return (new_message(role=role, content=text),) if text is not None else ()


def indexed_messages(groups: Groups | None) -> Messages:
    """Messages from OpenLLMetry's ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*`` groups."""
    if not groups:
        return ()
    found = []
    for index in sorted(groups):
        item = groups[index]
        calls = subgroups(item, "tool_calls.")
        tool_calls = tuple(
            new_tool_call(
                id=as_str(calls[k].get("id")),
                name=as_str(calls[k].get("name")),
                arguments=_text(calls[k].get("arguments")),
            )
            for k in sorted(calls)
        )
        content = item.get("content")
        # Anthropic content blocks arrive as JSON text: keep what a reader would see, and
        # any tool_use blocks among them as tool calls.
        block_calls: list[ToolCall] = []
        text = content_text(content, block_calls)[0] if content is not None else None
        tool_calls += tuple(block_calls)
        found.append(
            new_message(
                role=as_str(item.get("role")),
                content=text,
                name=as_str(item.get("name")),
                tool_call_id=as_str(item.get("tool_call_id")),
                tool_calls=tool_calls,
            )
        )
    return tuple(found)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else to_text(value)
