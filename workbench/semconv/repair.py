"""What the store can hold, and spans brought within it: repaired where that is safe, else refused.

A span is stored as one row of typed columns plus JSON text, so a few values cannot be stored
as they are. :func:`repair_span` returns a copy that can, changing only what it must and
listing each change under the attribute ``workbench.repaired`` (:data:`REPAIRED`):

==========================================  ===============================================
value                                       becomes
==========================================  ===============================================
a lone UTF-16 surrogate in any string       U+FFFD (the replacement character)
an integer outside 64 bits in an attribute  its decimal text
a value nested deeper than 32 levels        the text ``"<nested too deeply>"``
an end time before the start, or unusable   the start time (a zero latency)
an event time outside the range below       the span's start time
a token count that is not a count           unset (the attribute itself is kept)
a non-finite or non-numeric float field     unset
an embedding vector with NaN, infinities    null (the vector is refused, the text is kept)
  or anything but numbers
a document or embedding position past 2^31  that document or embedding left out
a name or other text field that is no text  its ``str()``
==========================================  ===============================================

A span whose start time is not a whole number of nanoseconds between 1970 and 2262 (the
range of a signed 64-bit nanosecond count, all that DataFrames can hold) cannot be placed in
time: :class:`UnstorableSpan` is raised, and the receiver rejects that span alone through
OTLP partial success.

The checks walk every value of a span, so :func:`workbench.store.rows.to_tables` calls this
only for a span that failed its cheap checks, or for every span of a batch that could not be
built as it came. Pure standard library.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

from workbench.model import Document, Embedding, Event, Link, Message, Span, TokenUsage, ToolCall
from workbench.semconv.coerce import MAX_COUNT, MAX_TIME_NS

__all__ = ["MAX_DEPTH", "MAX_TIME_NS", "REPAIRED", "UnstorableSpan", "clean_value", "repair_span", "time_ok"]

#: The attribute that lists what :func:`repair_span` changed in a span.
REPAIRED = "workbench.repaired"
#: How deep arrays and maps may nest inside one attribute value.
MAX_DEPTH = 32
_MAX_POSITION = 2**31 - 1
_INT_RANGE = (-(2**63), 2**64 - 1)  # what JSON text of an attribute keeps as a number
_SURROGATE = re.compile("[\ud800-\udfff]")
_TOO_DEEP = "<nested too deeply>"


class UnstorableSpan(ValueError):
    """A span the store cannot hold even after repair; the message says why."""


def time_ok(ns: Any) -> bool:
    """Whether ``ns`` is an integer time the store can hold."""
    return type(ns) is int and 0 <= ns <= MAX_TIME_NS


class _Notes:
    """What was changed in one span, each kind of change once."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, note: str) -> None:
        if note not in self.items:
            self.items.append(note)


def _text(value: Any, where: str, notes: _Notes) -> str:
    if type(value) is not str:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, str):
            value = str(value)
        else:
            notes.add(f"{where}: not text, stored as its text")
            value = "" if value is None else str(value)
    if value.isascii() or not _SURROGATE.search(value):
        return value
    notes.add(f"{where}: lone surrogate replaced by U+FFFD")
    return _SURROGATE.sub("\ufffd", value)


def _optional_text(value: Any, where: str, notes: _Notes) -> str | None:
    return None if value is None else _text(value, where, notes)


def clean_value(value: Any, where: str, notes: _Notes, depth: int = 0) -> Any:
    """``value`` with every part the store's JSON text cannot hold replaced (see the table)."""
    kind = type(value)
    if kind is str:
        return _text(value, where, notes)
    if kind is bool or value is None:
        return value
    if kind is int:
        if _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            return value
        notes.add(f"{where}: integer outside 64 bits stored as text")
        return str(value)
    if kind is float or isinstance(value, (bytes, bytearray, memoryview)):
        return value  # NaN and infinities are written as JSON null
    if getattr(getattr(value, "dtype", None), "kind", "") in ("f", "i", "u", "b"):
        return value  # a numpy array of numbers (a decoded vector): nothing in it to repair
    if depth >= MAX_DEPTH:
        notes.add(f"{where}: nested more than {MAX_DEPTH} levels, replaced")
        return _TOO_DEEP
    if isinstance(value, Mapping):
        return {_key(k, where, notes): clean_value(v, where, notes, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [clean_value(v, where, notes, depth + 1) for v in value]
    if hasattr(value, "tolist"):  # a numpy array or scalar
        try:
            return clean_value(value.tolist(), where, notes, depth)
        except Exception:  # noqa: BLE001 - an odd object is kept as its text
            pass
    notes.add(f"{where}: {kind.__name__} stored as its text")
    return _text(repr(value) if not isinstance(value, str) else value, where, notes)


def _key(key: Any, where: str, notes: _Notes) -> Any:
    """A map key JSON text can hold: text (cleaned), or a number, bool or None as they are."""
    if key is None or type(key) in (float, bool) or (type(key) is int and _INT_RANGE[0] <= key <= _INT_RANGE[1]):
        return key
    return _text(key, where, notes)


def _attributes(value: Any, where: str, notes: _Notes) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        notes.add(f"{where}: not a map, left out")
        return {}
    cleaned = clean_value(value, where, notes)
    return cleaned if isinstance(cleaned, dict) else {}


def _count(value: Any, where: str, notes: _Notes) -> int | None:
    if value is None or (type(value) is int and 0 <= value <= MAX_COUNT):
        return value
    notes.add(f"{where}: not a token count, left unset")
    return None


def _number(value: Any, where: str, notes: _Notes) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return number
    notes.add(f"{where}: not a finite number, left unset")
    return None


def _vector(value: Any, where: str, notes: _Notes) -> Any:
    if value is None:
        return None
    try:
        import numpy as np  # present wherever spans are stored; imported only here, on the rare path

        with np.errstate(over="ignore", invalid="ignore"):
            array = np.asarray(value, dtype=np.float32)
        if array.ndim == 1 and bool(np.isfinite(array).all()):
            return value
    except (TypeError, ValueError, OverflowError, ImportError):
        pass
    notes.add(f"{where}: vector with NaN, infinity or non-numbers, stored as null")
    return None


def _time(value: Any, fallback: int, where: str, notes: _Notes) -> int:
    if time_ok(value):
        return value
    notes.add(f"{where}: not a time between 1970 and 2262, set to the span's start")
    return fallback


def _message(m: Message, notes: _Notes) -> Message:
    return Message(
        role=_optional_text(m.role, "messages", notes),
        content=_optional_text(m.content, "messages", notes),
        name=_optional_text(m.name, "messages", notes),
        tool_call_id=_optional_text(m.tool_call_id, "messages", notes),
        tool_calls=tuple(
            ToolCall(_optional_text(c.id, "messages", notes), _optional_text(c.name, "messages", notes),
                     _optional_text(c.arguments, "messages", notes))
            for c in m.tool_calls
        ),
    )


def _position_ok(position: Any, where: str, notes: _Notes) -> bool:
    if type(position) is int and 0 <= position <= _MAX_POSITION:
        return True
    notes.add(f"{where}: position {position!r} out of range, left out")
    return False


def repair_span(span: Span) -> Span:
    """A copy of ``span`` that the store can hold, with its changes listed under :data:`REPAIRED`.

    Returns ``span`` itself when nothing needs changing.

    Raises:
        UnstorableSpan: The start time cannot be stored (see the module docstring).
    """
    start = span.start_time_ns
    if type(start) is not int or not time_ok(start):
        raise UnstorableSpan(
            f"span {_text(span.name, 'name', _Notes())!r} has start time {start!r}, which is not a whole "
            "number of nanoseconds since the Unix epoch between 1970 and 2262; it was not stored"
        )
    notes = _Notes()
    end = span.end_time_ns
    if not time_ok(end):
        notes.add("end_time: not a time between 1970 and 2262, set to the start (latency 0)")
        end = start
    elif end < start:
        notes.add("end_time: before start_time, set to the start (latency 0)")
        end = start
    t = span.tokens
    tokens = TokenUsage(
        prompt=_count(t.prompt, "prompt_tokens", notes),
        completion=_count(t.completion, "completion_tokens", notes),
        total=_count(t.total, "total_tokens", notes),
        cache_read=_count(t.cache_read, "cache_read_tokens", notes),
        cache_write=_count(t.cache_write, "cache_write_tokens", notes),
        reasoning=_count(t.reasoning, "reasoning_tokens", notes),
        prompt_includes_cache=t.prompt_includes_cache if isinstance(t.prompt_includes_cache, bool) else None,
    )
    documents = tuple(
        Document(
            position=d.position,
            id=_optional_text(d.id, "documents", notes),
            content=_optional_text(d.content, "documents", notes),
            score=_number(d.score, "documents.score", notes),
            metadata=_attributes(d.metadata, "documents.metadata", notes) if d.metadata is not None else None,
        )
        for d in span.documents
        if _position_ok(d.position, "documents", notes)
    )
    embeddings = tuple(
        Embedding(
            position=e.position,
            text=_optional_text(e.text, "embeddings", notes),
            vector=_vector(e.vector, "embeddings", notes),
            model=_optional_text(e.model, "embeddings", notes),
        )
        for e in span.embeddings
        if _position_ok(e.position, "embeddings", notes)
    )
    text_fields: dict[str, Any] = {
        name: _optional_text(getattr(span, name), name, notes)
        for name in ("model_name", "provider", "input_value", "input_mime_type", "output_value", "output_mime_type",
                     "session_id", "user_id", "prompt_template", "prompt_template_version", "tool_name",
                     "scope_name", "scope_version")
    }
    attributes = _attributes(span.attributes, "attributes", notes)
    repaired = dataclasses.replace(
        span,
        evaluations=None,  # read again from the repaired attributes
        trace_id=_text(span.trace_id, "trace_id", notes),
        span_id=_text(span.span_id, "span_id", notes),
        parent_span_id=_optional_text(span.parent_span_id, "parent_span_id", notes) or None,
        name=_text(span.name, "name", notes),
        end_time_ns=end,
        status_message=_text(span.status_message or "", "status_message", notes),
        otel_kind=_text(span.otel_kind, "otel_kind", notes),
        project=_text(span.project, "project", notes),
        resource=_attributes(span.resource, "resource", notes),
        events=tuple(
            Event(_text(e.name, "events", notes), _time(e.time_ns, start, "events.time", notes),
                  _attributes(e.attributes, "events", notes))
            for e in span.events
        ),
        links=tuple(
            Link(_text(k.trace_id, "links", notes), _text(k.span_id, "links", notes),
                 _attributes(k.attributes, "links", notes))
            for k in span.links
        ),
        tokens=tokens,
        client_cost=_number(span.client_cost, "client_cost", notes),
        time_to_first_token_ms=_number(span.time_to_first_token_ms, "time_to_first_token_ms", notes),
        sample_weight=_number(span.sample_weight, "sample_weight", notes),
        input_messages=tuple(_message(m, notes) for m in span.input_messages),
        output_messages=tuple(_message(m, notes) for m in span.output_messages),
        documents=documents,
        embeddings=embeddings,
        conventions=tuple(_text(c, "conventions", notes) for c in span.conventions),
        **text_fields,
    )
    if not notes.items:
        return span
    earlier = attributes.get(REPAIRED)
    attributes[REPAIRED] = [*(earlier if isinstance(earlier, list) else []), *notes.items]
    return dataclasses.replace(repaired, attributes=attributes)
