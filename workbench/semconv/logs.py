"""Log records as span events, and a span rebuilt with the events that arrived apart from it.

The OpenTelemetry GenAI conventions (1.28 on) put a model call's messages in log records by
default: ``gen_ai.system.message``, ``gen_ai.user.message``, ``gen_ai.assistant.message``,
``gen_ai.tool.message``, ``gen_ai.choice`` and ``gen_ai.client.inference.operation.details``,
each carrying the ``trace_id`` and ``span_id`` of the call's span. The message itself is the
record's *body* (``{"content": ...}``, ``{"index", "finish_reason", "message"}``) or, for the
details event, its attributes.

:func:`as_event` turns a record into the span event it stands for (the body's fields merged
over its attributes, the shape span events of the same name have), so that one reader,
:func:`workbench.semconv.genai.event_messages`, understands both. :func:`with_events` rebuilds
a span with such events added, extracting its fields again. Records that are not GenAI events
become events too (named by their event name, or ``log``), so nothing sent is lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from workbench.model import Event, LogRecord, Span
from workbench.semconv import span_from

__all__ = ["EVENT_NAME_KEYS", "LOG_EVENT", "as_event", "body_keys", "event_name", "with_events"]

#: Attribute keys that older senders put an event's name in (before the log record had
#: an ``event_name`` field of its own).
EVENT_NAME_KEYS: tuple[str, ...] = ("event.name",)
#: The span event name of a log record that names no event (a plain log line).
LOG_EVENT = "log"
# Per-message events whose body, when it is plain text, is the message's content.
_MESSAGE_EVENTS = frozenset(
    {
        "gen_ai.system.message",
        "gen_ai.user.message",
        "gen_ai.assistant.message",
        "gen_ai.tool.message",
    }
)


def event_name(record: LogRecord) -> str | None:
    """The record's event name: its own field, else an ``event.name`` attribute."""
    if isinstance(record.event_name, str) and record.event_name:
        return record.event_name
    attributes = record.attributes if isinstance(record.attributes, Mapping) else {}
    for key in EVENT_NAME_KEYS:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def body_keys(record: LogRecord) -> tuple[str, ...]:
    """The keys the record's body occupies in :func:`as_event`'s attributes."""
    body = record.body
    if body is None:
        return ()
    if isinstance(body, Mapping):
        return tuple(str(key) for key in body)
    if isinstance(body, str) and event_name(record) in _MESSAGE_EVENTS:
        return ("content",)
    return ("body",)


def as_event(record: LogRecord) -> Event:
    """The span event a log record stands for.

    Its attributes are the record's, then the body's fields over them (a body that is not a
    map is kept under ``body``, or under ``content`` for a per-message event). A record
    without an event name is named ``log`` and keeps its severity under ``log.severity``.
    """
    name = event_name(record)
    attributes = record.attributes if isinstance(record.attributes, Mapping) else {}
    merged: dict[str, Any] = {k: v for k, v in attributes.items() if k not in EVENT_NAME_KEYS}
    body = record.body
    if isinstance(body, Mapping):
        merged.update({str(key): value for key, value in body.items()})
    elif body is not None:
        merged[body_keys(record)[0]] = body
    if name is None:
        name = LOG_EVENT
        if record.severity_text:
            merged.setdefault("log.severity", record.severity_text)
    return Event(name=name, time_ns=int(record.time_ns or 0), attributes=merged)


def with_events(span: Span, events: Sequence[Event]) -> Span:
    """``span`` with ``events`` added (those it holds already are skipped), in time order,
    and its fields extracted again; the same object when nothing is new."""
    new = [event for event in events if event not in span.events]
    if not new:
        return span
    merged = tuple(sorted((*span.events, *new), key=lambda event: event.time_ns))
    rebuilt = span_from(replace(span.raw, events=merged), default_project=span.project)
    return replace(rebuilt, sample_weight=span.sample_weight)
