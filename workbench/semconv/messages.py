"""Chat messages from the shapes conventions use, and their rendering as plain text.

One reader, :func:`message_from_dict`, accepts every message dict we meet, because the
shapes overlap and senders mix them:

* OpenAI chat: ``{"role", "content": str | [parts], "tool_calls": [{"id", "function":
  {"name", "arguments"}}], "tool_call_id", "name"}`` (MLflow, Langfuse, old GenAI events);
* OTel GenAI (new): ``{"role", "parts": [{"type": "text", "content"}, {"type": "tool_call",
  "id", "name", "arguments"}, {"type": "tool_call_response", "id", "response"}]}``;
* Vercel AI SDK: content parts ``{"type": "tool-call", "toolCallId", "toolName", "args"}``
  and ``{"type": "tool-result", ...}``;
* Anthropic blocks passed through by instrumentors: ``tool_use`` and ``tool_result``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from workbench.model import Message, ToolCall
from workbench.semconv.build import new_message, new_tool_call
from workbench.semconv.coerce import as_json, as_str, to_text

__all__ = [
    "content_text",
    "message_from_dict",
    "messages_from_value",
    "render_input",
    "render_output",
]

_CALL_TYPES = frozenset({"tool_call", "tool-call", "tool_use", "function_call", "function"})
_RESULT_TYPES = frozenset({"tool_call_response", "tool-result", "tool_result", "function_response"})
_HIDDEN_TYPES = frozenset({"reasoning", "thinking", "redacted_thinking"})


def _first(obj: Mapping[str, Any], *names: str) -> Any:
    """The first of ``names`` that ``obj`` holds with a value other than ``None``."""
    for name in names:
        value = obj.get(name)
        if value is not None:
            return value
    return None


def _arguments(value: Any) -> str | None:
    """Tool-call arguments as JSON text, whether sent as text or as an object."""
    return value if isinstance(value, str) else to_text(value)


def _tool_call(obj: Mapping[str, Any]) -> ToolCall:
    """A tool call from any of the shapes above (OpenAI nests name and arguments)."""
    function = obj.get("function")
    inner = function if isinstance(function, Mapping) else obj
    return new_tool_call(
        id=as_str(_first(obj, "id", "toolCallId", "tool_call_id")),
        name=as_str(_first(inner, "name", "toolName")),
        arguments=_arguments(_first(inner, "arguments", "args", "input")),
    )


def content_text(
    content: Any, calls: list[ToolCall] | None = None
) -> tuple[str | None, str | None]:
    """Return the visible text of ``content`` and the tool-call id it answers, if any.

    ``content`` may be a string, a JSON string of parts, or a list of parts. Tool calls
    found among the parts are appended to ``calls``; hidden reasoning is left out.
    """
    # Exact type checks first: JSON gives plain str/list/dict, and the abstract
    # Mapping check is slow on the hot path.
    shape = type(content)
    if shape is str:
        if content[:1] != "[":
            return content, None
        parsed = as_json(content)
        if type(parsed) is not list:
            return content, None
        content = parsed  # OpenLLMetry sends Anthropic content blocks as JSON text
    elif shape is not list and shape is not tuple:
        if isinstance(content, Mapping):
            content = [content]
        elif not isinstance(content, (list, tuple)):
            return to_text(content), None
    texts: list[str] = []
    answered: str | None = None
    for part in content:
        if type(part) is str:
            texts.append(part)
            continue
        if type(part) is not dict and not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind == "text":
            text = part.get("content")
            if text is None:
                text = part.get("text")
            if type(text) is str:
                texts.append(text)
        elif kind in _CALL_TYPES or (kind is None and "function_call" in part):
            call = part.get("function_call") if kind is None else part
            if calls is not None and isinstance(call, Mapping):
                calls.append(_tool_call(call))
        elif kind in _RESULT_TYPES:
            answered = as_str(_first(part, "id", "toolCallId", "tool_use_id", "tool_call_id"))
            result = _first(part, "response", "result", "output", "content")
            text = content_text(result)[0] if isinstance(result, (list, str)) else to_text(result)
            if text:
                texts.append(text)
        elif kind not in _HIDDEN_TYPES:
            text = _first(part, "content", "text")
            if isinstance(text, str):
                texts.append(text)
    return ("\n".join(texts) if texts else None), answered


def message_from_dict(obj: Any) -> Message | None:
    """Return a :class:`Message` from a message dict of any known shape, or ``None``."""
    if type(obj) is not dict and not isinstance(obj, Mapping):
        return None
    get = obj.get
    inner = get("message")
    if inner is not None and "content" not in obj and "parts" not in obj:
        # GenAI "choice" events and OpenAI choices wrap the message (once); the wrapper
        # may carry the role when the message does not.
        if isinstance(inner, str):
            inner = as_json(inner)
        if isinstance(inner, Mapping):
            if "role" not in inner and "role" in obj:
                inner = {**inner, "role": obj["role"]}
            obj = inner
            get = obj.get
    calls: list[ToolCall] = []
    content = get("parts")
    if content is None:
        content = get("content")
    text, answered = content_text(content, calls) if content is not None else (None, None)
    raw_calls = get("tool_calls")
    if raw_calls is not None:
        if isinstance(raw_calls, str):
            raw_calls = as_json(raw_calls)
        if isinstance(raw_calls, (list, tuple)):
            calls.extend(_tool_call(call) for call in raw_calls if isinstance(call, Mapping))
    legacy = get("function_call")
    if legacy is not None and isinstance(legacy, Mapping):
        calls.append(_tool_call(legacy))
    role = get("role")
    if type(role) is not str or not role:
        role = as_str(role)
    if role is None and text is None and not calls:
        return None
    call_id = get("tool_call_id")
    call_id = answered if call_id is None else as_str(call_id) or answered
    if call_id is None and role == "tool":
        call_id = as_str(_first(obj, "toolCallId", "id"))  # GenAI tool-message events
    name = get("name")
    return new_message(
        role=role,
        content=text,
        name=None if name is None else as_str(name),
        tool_call_id=call_id,
        tool_calls=tuple(calls) if calls else (),
    )


def messages_from_value(value: Any) -> tuple[Message, ...]:
    """Messages from a JSON array (text or list) of message dicts; ``()`` if it is not one."""
    parsed = as_json(value)
    if type(parsed) is not list:
        if isinstance(parsed, Mapping):
            parsed = parsed.get("messages")  # {"messages": [...]} request bodies
        if not isinstance(parsed, (list, tuple)):
            return ()
    found = [message_from_dict(item) for item in parsed]
    return tuple(cast("list[Message]", found)) if None not in found else tuple(m for m in found if m is not None)


def _readable(message: Message) -> str | None:
    """A message's text, or its tool calls written as ``name(arguments)``."""
    if message.content:
        return message.content
    calls = [f"{call.name or 'tool'}({call.arguments or ''})" for call in message.tool_calls]
    return "\n".join(calls) or None


def render_input(messages: Iterable[Message]) -> str | None:
    """The text of the last user message (what a person asked), else of the last message."""
    last: Message | None = None
    last_user: Message | None = None
    for message in messages:
        last = message
        if message.role == "user":
            last_user = message
    chosen = last_user or last
    return _readable(chosen) if chosen is not None else None


def render_output(messages: Iterable[Message]) -> str | None:
    """The text of the first output message."""
    for message in messages:
        return _readable(message)
    return None
