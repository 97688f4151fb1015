"""Readers of the scalar fields.

Each reader takes the attributes and the *hits* :func:`~workbench.semconv.indexed.scan`
found (which attributes fill which field, with their rank in the field's table in
:mod:`workbench.semconv.keys`), and returns the value of the best-ranked attribute whose
value is usable. A junk value at a high rank therefore falls through to the next key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from workbench.model import SpanKind
from workbench.semconv import keys
from workbench.semconv.coerce import as_float, as_str, looks_like_json, to_text
from workbench.semconv.indexed import Hits

__all__ = ["io_value", "pick", "pick_str", "project", "provider", "span_kind", "ttft_ms"]

T = TypeVar("T")

_JSON = "application/json"
_TEXT = "text/plain"
_UNKNOWN = SpanKind.UNKNOWN
# SpanKind.parse builds an enum by value, which is slow; a dict lookup is not.
_KINDS = {kind.value: kind for kind in SpanKind}


def pick(
    attributes: Mapping[str, Any], hits: Hits, field: str, convert: Callable[[Any], T | None]
) -> tuple[T | None, int]:
    """The best-ranked value of ``field`` that ``convert`` accepts, and its rank (-1 if
    none)."""
    hit = hits.get(field)
    if hit is None:
        return None, -1
    rank, key = hit
    value = convert(attributes[key])
    if value is not None:
        return value, rank
    return _fall_through(attributes, field, rank, convert)


def _fall_through(
    attributes: Mapping[str, Any], field: str, rank: int, convert: Callable[[Any], T | None]
) -> tuple[T | None, int]:
    """The best key held an unusable value: try the rest of the field's table in order."""
    table = keys.FIELDS[field]
    for lower in range(rank + 1, len(table)):
        raw = attributes.get(str(table[lower][0]))
        if raw is not None:
            value = convert(raw)
            if value is not None:
                return value, lower
    return None, -1


def pick_str(attributes: Mapping[str, Any], hits: Hits, field: str) -> str | None:
    """The best-ranked usable string of ``field``."""
    return pick(attributes, hits, field, as_str)[0]


def project(resource: Mapping[str, Any], default: str) -> str:
    """The project: OpenInference's resource attribute, else ``service.name``, else
    ``default``. The SDK's stand-in name ``unknown_service...`` counts as unset, so a
    notebook that never named its service lands in the caller's default project."""
    name = as_str(resource.get("openinference.project.name"))
    if name is not None:
        return name
    service = as_str(resource.get("service.name"))
    if service is not None and not service.startswith("unknown_service"):
        return service
    return default


def provider(attributes: Mapping[str, Any], hits: Hits, vercel: bool) -> str | None:
    """The model provider, lower-cased so that "OpenAI" and "openai" group together.

    The Vercel AI SDK names a provider with its API (``openai.chat``,
    ``anthropic.messages``), in ``ai.model.provider`` and in ``gen_ai.system`` alike; on
    its spans (``vercel`` true) only the provider part is kept. Elsewhere a dotted name is
    a real provider name (``aws.bedrock``) and is kept whole.
    """
    text = pick(attributes, hits, "provider", as_str)[0]
    if text is None:
        return None
    text = text.strip().lower()
    if vercel:
        text = text.partition(".")[0]
    return text or None


def span_kind(attributes: Mapping[str, Any], hits: Hits) -> SpanKind:
    """The span kind from the best-ranked kind-bearing key whose value we know."""
    hit = hits.get("kind")
    if hit is None:
        return _UNKNOWN
    first = hit[0]
    for rank in range(first, len(keys.SPAN_KIND)):
        key, values = keys.SPAN_KIND[rank]
        raw = attributes[hit[1]] if rank == first else attributes.get(key)
        text = as_str(raw)  # also unquotes MLflow's JSON-encoded '"LLM"'
        if text is None:
            continue
        if values is None:
            kind = _KINDS.get(text) or _KINDS.get(text.strip().upper(), _UNKNOWN)
        else:
            kind = values.get(text) or values.get(text.strip().lower(), _UNKNOWN)
        if kind is not _UNKNOWN:
            return kind
    return _UNKNOWN


def io_value(
    attributes: Mapping[str, Any], hits: Hits, field: str
) -> tuple[str | None, str | None]:
    """An input or output value (``field`` is ``"input"`` or ``"output"``) and its MIME type.

    Non-string values (a kvlist dict, a list) are rendered as JSON. When the sender gives
    no MIME type, JSON-looking text is labelled ``application/json``, other text
    ``text/plain``.
    """
    hit = hits.get(field)
    if hit is None:
        return None, None
    table = keys.INPUT_VALUE if field == "input" else keys.OUTPUT_VALUE
    for rank in range(hit[0], len(table)):
        key = table[rank][0]
        value = attributes.get(key)
        if value is None:
            continue
        if isinstance(value, str) and len(value) > 1 and value[0] == '"' == value[-1]:
            value = as_str(value)  # a JSON-encoded string (MLflow): show the string
        text = to_text(value)
        if text is None:
            continue
        mime_key = table[rank][1]
        mime = as_str(attributes.get(mime_key)) if mime_key else None
        if mime is None:
            mime = _JSON if not isinstance(value, str) or looks_like_json(text) else _TEXT
        return text, mime
    return None, None


def ttft_ms(attributes: Mapping[str, Any], hits: Hits) -> tuple[float | None, str | None]:
    """Time to first token in milliseconds, from attributes that state it as a duration,
    and the convention that stated it."""
    hit = hits.get("ttft")
    if hit is None:
        return None, None
    for rank in range(hit[0], len(keys.TTFT)):
        key, unit_ms, convention = keys.TTFT[rank]
        number = as_float(attributes.get(key))
        if number is not None and number >= 0:
            return number * unit_ms, convention
    return None, None
