"""Attribute conventions -> the span model.

:func:`span_from` is the one place where a span's attributes, resource and events are
read for meaning: every way in decodes a span into one :class:`~workbench.model.RawSpan`
record and hands it here (:func:`make_span` is the same by keywords). It keeps what was sent
whole and fills :class:`~workbench.model.Span`'s extracted fields from whichever conventions the sender used:

==============  ===================================================================
convention      recognised by
==============  ===================================================================
openinference   ``openinference.*``, ``input.*``, ``output.*``, ``retrieval.*``,
                ``reranker.*``, ``embedding.*``, OpenInference's ``llm.*`` keys
gen_ai          any ``gen_ai.*`` key (OTel GenAI conventions, new and old names)
openllmetry     ``traceloop.*`` and OpenLLMetry's ``llm.*`` keys (``llm.request.type``,
                ``llm.usage.*`` ...)
openlit         ``telemetry.sdk.name = "openlit"`` (span or resource), an ``openlit``
                scope, or OpenLIT-only keys such as ``gen_ai.server.time_to_first_token``
langfuse        ``langfuse.*``
mlflow          ``mlflow.*``
vercel          ``ai.*`` (Vercel AI SDK telemetry)
==============  ===================================================================

``Span.conventions`` lists those recognised, vendor namespaces first and ``gen_ai`` last
(vendors often send ``gen_ai.*`` keys alongside their own), e.g. ``("openllmetry",
"gen_ai")``.

Priority, when two conventions disagree about a field::

    OpenInference > OTel GenAI new names > GenAI old names > OpenLLMetry (traceloop)
        > OpenLIT > Langfuse > MLflow > Vercel AI SDK

The order is encoded in the key tables of :mod:`workbench.semconv.keys` (the best-ranked
key whose value is usable wins; a junk value falls through to the next key) and, for
structured fields (messages, documents, embeddings), in the order :func:`make_span` tries
the readers. Inputs and outputs are settled separately. Within one convention the response
beats the request (``gen_ai.response.model`` over ``gen_ai.request.model``). Explicit
input/output values beat text rendered from chat messages (the last user message, the
first output message). The prompt-cache rule for token counts is in
:mod:`workbench.semconv.usage`.

Time to first token comes from a first-token event, else an attribute stating it, else the
first per-chunk streaming event (``keys.CHUNK_EVENT_NAMES``). A span whose kind no key names
gets one from what it carries (``keys.KIND_EVIDENCE``): a model, tokens or messages make it
LLM. Log records (the GenAI conventions' message events sent as logs) become span events
through :mod:`workbench.semconv.logs`.

``project`` is the resource's ``openinference.project.name``, else its ``service.name``,
else ``default_project``; the SDK's stand-in ``unknown_service...`` counts as unset.
The status is kept as sent: an ``exception`` event does not turn UNSET into ERROR.

Modules: ``extract`` (the readers, in order), ``keys`` (the tables), ``logs`` (log records
as span events), ``indexed`` (the one
walk over the attributes), ``fields`` and ``usage`` (scalar readers), ``openinference``,
``genai``, ``messages`` and ``vendors`` (structured readers), ``coerce`` (lenient
conversions), ``build`` (quick constructors for the frozen model classes), ``repair``
(what the store can hold, and spans brought within it).

Everything here is a pure function over dicts, standard library plus
``openinference-semantic-conventions``. Nothing raises on odd input: a value of the wrong
type only leaves its field unset.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from workbench.model import RAW_FIELDS, Event, Link, RawSpan, Span, StatusCode
from workbench.semconv.build import new_raw_span, new_span
from workbench.semconv.extract import build_span

__all__ = ["make_span", "span_from"]

_log = logging.getLogger(__name__)
_warned = False

# The default for attributes and resource; each span gets its own fresh dict instead, so
# that no two spans share one mutable default.
_UNSET: Mapping[str, Any] = MappingProxyType({})


def span_from(raw: RawSpan, *, default_project: str = "default") -> Span:
    """The :class:`Span` of a span as sent: its raw fields kept, its extracted fields filled.

    The one conversion every way in uses: the OTLP decoders and the in-process collector make
    a :class:`RawSpan` at the edge and hand it here.

    Args:
        raw: The span as sent (``events`` and ``links`` as tuples).
        default_project: The project when the resource names none.
    """
    try:
        return build_span(raw, default_project)
    except Exception:  # noqa: BLE001 - a bug of ours must not cost the host its span
        _warn_once()
        return new_span(**{name: getattr(raw, name) for name in RAW_FIELDS}, project=default_project)


def make_span(
    *,
    trace_id: str,
    span_id: str,
    parent_span_id: str | None,
    name: str,
    start_time_ns: int,
    end_time_ns: int,
    status_code: StatusCode = StatusCode.UNSET,
    status_message: str = "",
    otel_kind: str = "INTERNAL",
    attributes: Mapping[str, Any] = _UNSET,
    resource: Mapping[str, Any] = _UNSET,
    events: Sequence[Event] = (),
    links: Sequence[Link] = (),
    scope_name: str | None = None,
    scope_version: str | None = None,
    default_project: str = "default",
) -> Span:
    """Build a :class:`Span` from an OpenTelemetry span's parts (:func:`span_from` by keywords).

    The raw fields are exactly what was passed (``attributes`` is kept as the same
    mapping, unknown keys included); the extracted fields are filled from the attributes,
    resource and events by the conventions described in this module.

    Args:
        trace_id: 32 lowercase hex characters.
        span_id: 16 lowercase hex characters.
        parent_span_id: The parent's span id, or ``None`` for a root span.
        name: The span name.
        start_time_ns: Start, in nanoseconds since the Unix epoch.
        end_time_ns: End, in nanoseconds since the Unix epoch.
        status_code: The OpenTelemetry status, kept as given (an exception event does
            not turn an unset status into an error).
        status_message: The status description.
        otel_kind: INTERNAL, SERVER, CLIENT, PRODUCER or CONSUMER.
        attributes: The span attributes, as Python values.
        resource: The resource attributes.
        events: The span events.
        links: The span links.
        scope_name: The instrumentation scope's name.
        scope_version: The instrumentation scope's version.
        default_project: The project when the resource names none.

    Returns:
        The span, with its extracted fields filled.
    """
    if attributes is _UNSET:
        attributes = {}
    if resource is _UNSET:
        resource = {}
    if type(events) is not tuple:
        events = _as_tuple(events)
    if type(links) is not tuple:
        links = _as_tuple(links)
    raw = new_raw_span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_span_id,
        name=name,
        start_time_ns=start_time_ns,
        end_time_ns=end_time_ns,
        status_code=status_code,
        status_message=status_message,
        otel_kind=otel_kind,
        attributes=attributes,
        resource=resource,
        events=events,
        links=links,
        scope_name=scope_name,
        scope_version=scope_version,
    )
    return span_from(raw, default_project=default_project)


def _as_tuple(items: Any) -> tuple[Any, ...]:
    """``items`` as a tuple, or ``()`` when it is not a collection (``None``, a number)."""
    if isinstance(items, (str, bytes, Mapping)):
        return ()
    try:
        return tuple(items)
    except TypeError:
        return ()


def _warn_once() -> None:
    """Log the first reader failure with its traceback; later ones would only repeat it."""
    global _warned
    if not _warned:
        _warned = True
        _log.warning("workbench could not read a span's attributes; kept it raw", exc_info=True)
