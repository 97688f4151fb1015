"""Attribute conventions -> the span model.

:func:`make_span` is the one place where a span's attributes, resource and events are
read for meaning. It keeps what was sent whole and fills :class:`~workbench.model.Span`'s
extracted fields from whichever conventions the sender used:

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

The order is encoded in the key tables of :mod:`workbench.semconv.keys` (first key present
wins) and, for structured fields (messages, documents, embeddings), in the order
:func:`make_span` tries the readers. Within one convention the response beats the request
(``gen_ai.response.model`` over ``gen_ai.request.model``). Explicit input/output values
beat values rendered from chat messages. The prompt-cache rule for token counts is in
:mod:`workbench.semconv.usage`.

Everything here is a pure function over dicts, standard library plus
``openinference-semantic-conventions``. Nothing raises on odd input: a value of the wrong
type only leaves its field unset.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.model import Event, Link, Span, SpanKind, StatusCode
from workbench.semconv import fields, keys, openinference
from workbench.semconv.indexed import scan
from workbench.semconv.messages import render_input, render_output
from workbench.semconv.usage import client_cost, token_usage

__all__ = ["make_span"]

_log = logging.getLogger(__name__)
_warned = False

# The order of Span.conventions: vendor namespaces first, the shared gen_ai namespace last.
_CONVENTION_ORDER = (
    "openinference",
    "openllmetry",
    "openlit",
    "langfuse",
    "mlflow",
    "vercel",
    "gen_ai",
)
_EMPTY: Mapping[str, Any] = {}


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
    attributes: Mapping[str, Any] = _EMPTY,
    resource: Mapping[str, Any] = _EMPTY,
    events: Sequence[Event] = (),
    links: Sequence[Link] = (),
    scope_name: str | None = None,
    scope_version: str | None = None,
    default_project: str = "default",
) -> Span:
    """Build a :class:`Span` from an OpenTelemetry span's parts.

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
    events_t = tuple(events)
    try:
        extracted = _extract(
            attributes if isinstance(attributes, Mapping) else _EMPTY,
            resource if isinstance(resource, Mapping) else _EMPTY,
            events_t,
            start_time_ns,
            scope_name,
            default_project,
        )
    except Exception:  # a bug of ours must not cost the host its span
        _warn_once()
        extracted = {"project": default_project}
    return Span(
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
        events=events_t,
        links=tuple(links),
        scope_name=scope_name,
        scope_version=scope_version,
        **extracted,
    )


def _warn_once() -> None:
    global _warned
    if not _warned:
        _warned = True
        _log.warning("workbench could not read a span's attributes; kept it raw", exc_info=True)


def _extract(
    attributes: Mapping[str, Any],
    resource: Mapping[str, Any],
    events: tuple[Event, ...],
    start_time_ns: int,
    scope_name: str | None,
    default_project: str,
) -> dict[str, Any]:
    """Every extracted field, as keyword arguments for :class:`Span`."""
    found, groups = scan(attributes)
    kind = fields.span_kind(attributes)
    provider = fields.provider(attributes)
    model = fields.first_str(attributes, keys.MODEL_NAME)

    input_messages = openinference.messages(groups.get("llm.input_messages."))
    output_messages = openinference.messages(groups.get("llm.output_messages."))

    input_value, input_mime = fields.io_value(attributes, keys.INPUT_VALUE)
    if input_value is None and input_messages:
        input_value, input_mime = render_input(input_messages), "text/plain"
    output_value, output_mime = fields.io_value(attributes, keys.OUTPUT_VALUE)
    if output_value is None and output_messages:
        output_value, output_mime = render_output(output_messages), "text/plain"

    if kind is SpanKind.RERANKER:
        documents = openinference.documents(groups.get("reranker.output_documents."))
    else:
        documents = ()
    if not documents:
        documents = openinference.documents(groups.get("retrieval.documents."))

    ttft = openinference.first_token_ms(events, start_time_ns) if events else None
    if ttft is None:
        ttft = fields.ttft_ms(attributes)

    return {
        "project": fields.project(resource, default_project),
        "span_kind": kind,
        "model_name": model,
        "provider": provider,
        "input_value": input_value,
        "input_mime_type": input_mime if input_value is not None else None,
        "output_value": output_value,
        "output_mime_type": output_mime if output_value is not None else None,
        "tokens": token_usage(attributes, found, provider),
        "client_cost": client_cost(attributes),
        "time_to_first_token_ms": ttft,
        "session_id": fields.first_str(attributes, keys.SESSION_ID),
        "user_id": fields.first_str(attributes, keys.USER_ID),
        "prompt_template": fields.first_str(attributes, keys.PROMPT_TEMPLATE),
        "prompt_template_version": fields.first_str(attributes, keys.PROMPT_TEMPLATE_VERSION),
        "tool_name": fields.first_str(attributes, keys.TOOL_NAME),
        "input_messages": input_messages,
        "output_messages": output_messages,
        "documents": documents,
        "embeddings": openinference.embeddings(
            groups.get("embedding.embeddings."),
            fields.first_str(attributes, keys.EMBEDDING_MODEL) or model,
        ),
        "conventions": tuple(name for name in _CONVENTION_ORDER if name in found),
    }
