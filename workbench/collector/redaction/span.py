"""Pure functions that rebuild a :class:`~workbench.model.Span` with its text changed.

Two operations, both returning a new frozen Span (or the same object when nothing changed,
so the common case allocates nothing):

* :func:`redact_span` passes every string in scope through a text function: attribute and
  resource values (inside lists and maps too), event and link attributes, and the extracted
  fields (input and output values, message contents and tool-call arguments, document
  contents and metadata, embedding texts, the status message, the user id).
* :func:`drop_text` removes prompt and response text entirely, in every convention, keeping
  roles, ids, token counts, timings, model names, costs and embedding vectors.

Ids, times and numbers are never passed to the text function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from workbench.collector.redaction.scope import (
    EVENT_TEXT_KEYS,
    FIELD_SOURCES,
    TEXT_KEEP_KEYS,
    TEXT_KEYS,
    KeyMatcher,
    expand_scope,
)
from workbench.model import Document, Embedding, Event, Link, Message, Span, ToolCall

__all__ = ["ScanPlan", "drop_text", "redact_span"]

TextFn = Callable[[str], str]

_STRING_FIELDS = (
    "input_value",
    "output_value",
    "prompt_template",
    "status_message",
    "user_id",
    "session_id",
    "tool_name",
)


@dataclass(frozen=True)
class ScanPlan:
    """Where to look: a key predicate for attributes and the extracted fields to scan.

    Attributes:
        scanned: Whether an attribute key is in scope and not allow-listed.
        fields: Names of Span fields to scan.
        event_text: Whether the message keys of ``gen_ai.*`` events (``content``, ``body``
            ...) are scanned, which they are whenever messages are.
    """

    scanned: Callable[[str], bool]
    fields: frozenset[str]
    event_text: bool = False

    @classmethod
    def build(cls, scope: Iterable[str], allow: Iterable[str]) -> ScanPlan:
        """Make a plan from scope entries (presets or globs) and allow-list globs."""
        scanned = KeyMatcher(expand_scope(scope), allow)
        # A field is scanned if any key it can come from is: a field must never keep a value
        # that its attribute copy lost.
        fields = frozenset(name for name, keys in FIELD_SOURCES.items() if scanned.any(keys))
        event_text = bool({"input_messages", "output_messages"} & fields)
        return cls(scanned, fields, event_text)


def _value(value: Any, text: TextFn) -> Any:
    """Apply ``text`` to every string in ``value``, descending into lists and maps."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, (list, tuple)):
        items = [_value(item, text) for item in value]
        if any(new is not old for new, old in zip(items, value, strict=True)):
            return type(value)(items)
        return value
    if isinstance(value, Mapping):
        return _mapping(value, text, None)
    return value  # numbers, booleans, bytes, None


def _mapping(attributes: Mapping[str, Any], text: TextFn, scanned: Callable[[str], bool] | None) -> Mapping[str, Any]:
    """Apply ``text`` to the values of ``attributes`` whose key is scanned (all if None)."""
    changed: dict[str, Any] | None = None
    for key, value in attributes.items():
        if scanned is not None and not scanned(key):
            continue
        new = _value(value, text)
        if new is not value:
            if changed is None:
                changed = dict(attributes)
            changed[key] = new
    return attributes if changed is None else changed


def _each(items: tuple[Any, ...], change: Callable[[Any], Any]) -> tuple[Any, ...]:
    new = tuple(change(item) for item in items)
    return items if all(a is b for a, b in zip(new, items, strict=True)) else new


def _tool_call(call: ToolCall, text: TextFn) -> ToolCall:
    if not call.arguments:
        return call
    arguments = text(call.arguments)
    return call if arguments is call.arguments else replace(call, arguments=arguments)


def _message(message: Message, text: TextFn) -> Message:
    content = text(message.content) if message.content else message.content
    calls = _each(message.tool_calls, lambda call: _tool_call(call, text))
    if content is message.content and calls is message.tool_calls:
        return message
    return replace(message, content=content, tool_calls=calls)


def _document(document: Document, text: TextFn) -> Document:
    content = text(document.content) if document.content else document.content
    metadata = _mapping(document.metadata, text, None) if document.metadata else document.metadata
    if content is document.content and metadata is document.metadata:
        return document
    return replace(document, content=content, metadata=metadata)


def _embedding(embedding: Embedding, text: TextFn) -> Embedding:
    if not embedding.text:
        return embedding
    new = text(embedding.text)
    return embedding if new is embedding.text else replace(embedding, text=new)


def redact_span(span: Span, text: TextFn, plan: ScanPlan) -> Span:
    """Return ``span`` with ``text`` applied to every string the plan puts in scope.

    Args:
        span: The span as decoded.
        text: Maps a string to its redacted form; returns the same object if unchanged.
        plan: Which attribute keys and fields to scan.
    """
    changes: dict[str, Any] = {}
    for name in ("attributes", "resource"):
        mapping = getattr(span, name)
        new = _mapping(mapping, text, plan.scanned)
        if new is not mapping:
            changes[name] = new

    def event_scanned(key: str) -> bool:
        return key in EVENT_TEXT_KEYS or plan.scanned(key)

    def event(item: Event) -> Event:
        genai = plan.event_text and item.name.startswith("gen_ai.")
        attributes = _mapping(item.attributes, text, event_scanned if genai else plan.scanned)
        return item if attributes is item.attributes else replace(item, attributes=attributes)

    def link(item: Link) -> Link:
        attributes = _mapping(item.attributes, text, plan.scanned)
        return item if attributes is item.attributes else replace(item, attributes=attributes)

    for name in _STRING_FIELDS:
        value = getattr(span, name)
        if value and name in plan.fields:
            new_value = text(value)
            if new_value is not value:
                changes[name] = new_value

    per_item: list[tuple[str, Callable[[Any], Any]]] = [("events", event), ("links", link)]
    if "input_messages" in plan.fields:
        per_item.append(("input_messages", lambda m: _message(m, text)))
    if "output_messages" in plan.fields:
        per_item.append(("output_messages", lambda m: _message(m, text)))
    if "documents" in plan.fields:
        per_item.append(("documents", lambda d: _document(d, text)))
    if "embeddings" in plan.fields:
        per_item.append(("embeddings", lambda e: _embedding(e, text)))
    for name, change in per_item:
        items = getattr(span, name)
        if items:
            new_items = _each(items, change)
            if new_items is not items:
                changes[name] = new_items
    return replace(span, **changes) if changes else span


_IS_TEXT_KEY = KeyMatcher(TEXT_KEYS, TEXT_KEEP_KEYS)


def _without_text(attributes: Mapping[str, Any], is_text: Callable[[str], bool]) -> Mapping[str, Any]:
    if not any(is_text(key) for key in attributes):
        return attributes
    return {key: value for key, value in attributes.items() if not is_text(key)}


def _strip_message(message: Message) -> Message:
    if message.content is None and all(c.arguments is None for c in message.tool_calls):
        return message
    calls = tuple(replace(c, arguments=None) if c.arguments is not None else c for c in message.tool_calls)
    return replace(message, content=None, tool_calls=calls)


def drop_text(span: Span, is_text_key: Callable[[str], bool] = _IS_TEXT_KEY) -> Span:
    """Return ``span`` without prompt or response text.

    Removed: input and output values, message contents and tool-call arguments, prompt
    templates and their variables, document contents, embedding texts, and the attribute
    keys carrying them in every known convention (:data:`TEXT_KEYS`), including the text
    attributes of ``gen_ai.*`` content events. Kept: roles, names, ids, token counts,
    timings, model names, costs, document scores and metadata, embedding vectors, the
    status message and exception events.

    Args:
        span: The span as decoded.
        is_text_key: Whether an attribute key carries text; defaults to the built-in tables.
    """
    changes: dict[str, Any] = {}
    attributes = _without_text(span.attributes, is_text_key)
    if attributes is not span.attributes:
        changes["attributes"] = attributes

    def event(item: Event) -> Event:
        if item.name.startswith("gen_ai."):
            new = _without_text(item.attributes, lambda k: k in EVENT_TEXT_KEYS or is_text_key(k))
        else:
            new = _without_text(item.attributes, is_text_key)
        return item if new is item.attributes else replace(item, attributes=new)

    events = _each(span.events, event)
    if events is not span.events:
        changes["events"] = events
    for name in ("input_value", "output_value", "prompt_template"):
        if getattr(span, name) is not None:
            changes[name] = None
    for name in ("input_messages", "output_messages"):
        messages = _each(getattr(span, name), _strip_message)
        if messages is not getattr(span, name):
            changes[name] = messages
    documents = _each(span.documents, lambda d: d if d.content is None else replace(d, content=None))
    if documents is not span.documents:
        changes["documents"] = documents
    embeddings = _each(span.embeddings, lambda e: e if e.text is None else replace(e, text=None))
    if embeddings is not span.embeddings:
        changes["embeddings"] = embeddings
    return replace(span, **changes) if changes else span
