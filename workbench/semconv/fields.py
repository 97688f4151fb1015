"""Readers of the scalar fields, each a pure function over the attribute dict and a table
from :mod:`workbench.semconv.keys`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.model import SpanKind
from workbench.semconv import keys
from workbench.semconv.coerce import as_float, as_str, looks_like_json, to_text

__all__ = [
    "first_count",
    "first_str",
    "io_value",
    "project",
    "provider",
    "span_kind",
    "ttft_ms",
]

_JSON = "application/json"
_TEXT = "text/plain"


def first_str(attributes: Mapping[str, Any], table: keys.KeyTable) -> str | None:
    """The first usable string among the table's keys."""
    for key, _ in table:
        value = attributes.get(key)
        if value is not None:
            text = as_str(value)
            if text is not None:
                return text
    return None


def first_count(
    attributes: Mapping[str, Any], table: keys.KeyTable, convert: Any
) -> tuple[Any, str | None]:
    """The first value among the table's keys that ``convert`` accepts, and its convention."""
    for key, convention in table:
        value = attributes.get(key)
        if value is not None:
            converted = convert(value)
            if converted is not None:
                return converted, convention
    return None, None


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


def provider(attributes: Mapping[str, Any]) -> str | None:
    """The model provider, lower-cased so that "OpenAI" and "openai" group together.

    The Vercel AI SDK names a provider with its API (``openai.chat``,
    ``anthropic.messages``); only the provider part is kept.
    """
    for key, convention in keys.PROVIDER:
        text = as_str(attributes.get(key))
        if text is not None:
            text = text.strip().lower()
            if convention == "vercel":
                text = text.partition(".")[0]
            return text or None
    return None


def span_kind(attributes: Mapping[str, Any]) -> SpanKind:
    """The span kind from the first kind-bearing key whose value we know."""
    for key, values in keys.SPAN_KIND:
        raw = attributes.get(key)
        if raw is None:
            continue
        text = as_str(raw)  # also unquotes MLflow's JSON-encoded '"LLM"'
        if text is None:
            continue
        if values is None:
            kind = SpanKind.parse(text)
        else:
            kind = values.get(text.strip().lower(), SpanKind.UNKNOWN)
        if kind is not SpanKind.UNKNOWN:
            return kind
    return SpanKind.UNKNOWN


def io_value(
    attributes: Mapping[str, Any], table: tuple[tuple[str, str, str], ...]
) -> tuple[str | None, str | None]:
    """An input or output value and its MIME type.

    Non-string values (a kvlist dict, a list) are rendered as JSON. When the sender gives
    no MIME type, JSON-looking text is labelled ``application/json``, other text
    ``text/plain``.
    """
    for key, mime_key, _ in table:
        value = attributes.get(key)
        if value is None:
            continue
        text = to_text(value)
        if text is None:
            continue
        mime = as_str(attributes.get(mime_key)) if mime_key else None
        if mime is None:
            mime = _JSON if not isinstance(value, str) or looks_like_json(text) else _TEXT
        return text, mime
    return None, None


def ttft_ms(attributes: Mapping[str, Any]) -> float | None:
    """Time to first token in milliseconds, from attributes that state it as a duration."""
    for key, unit_ms, _ in keys.TTFT:
        value = attributes.get(key)
        if value is not None:
            number = as_float(value)
            if number is not None and number >= 0:
                return number * unit_ms
    return None
