"""The extraction itself: one walk over the attributes, then each field's reader.

:func:`build_span` is :func:`workbench.semconv.make_span` without its safety net; the
readers it calls live in the sibling modules, and the priority they follow is documented
in :mod:`workbench.semconv`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from workbench.model import (
    Document,
    Embedding,
    Event,
    Message,
    RawSpan,
    Span,
    SpanKind,
    TokenUsage,
)
from workbench.semconv import fields, genai, keys, openinference, vendors
from workbench.semconv.build import new_span, with_evaluations
from workbench.semconv.evaluations import read_evaluations
from workbench.semconv.indexed import Groups, Hits, scan
from workbench.semconv.messages import render_input, render_output
from workbench.semconv.usage import client_cost, token_usage

__all__ = ["build_span"]

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
_CONVENTION_RANK = {name: rank for rank, name in enumerate(_CONVENTION_ORDER)}
_EMPTY: Mapping[str, Any] = MappingProxyType({})  # read-only: never handed to a Span
_NONE2: tuple[None, None] = (None, None)
_NO_TOKENS = TokenUsage()

Messages = tuple[Message, ...]


def build_span(raw: RawSpan, default_project: str) -> Span:
    """The span of ``raw``, its extracted fields read from its attributes, resource and events."""
    attributes = raw.attributes
    resource = raw.resource
    events = raw.events
    start_time_ns = raw.start_time_ns
    scope_name = raw.scope_name
    # Keep the raw values as given, but read only what is a mapping.
    attrs = attributes if type(attributes) is dict or isinstance(attributes, Mapping) else _EMPTY
    res = resource if type(resource) is dict or isinstance(resource, Mapping) else _EMPTY
    found, groups, hits = scan(attrs)
    if "gen_ai" in found and vendors.is_openlit(attrs, res, scope_name):
        found.add("openlit")
    # Each reader is skipped when the walk saw nothing for it: most spans are plain spans
    # with few attributes, and this runs for every span ingested.
    kind = fields.span_kind(attrs, hits) if "kind" in hits else SpanKind.UNKNOWN
    provider = fields.provider(attrs, hits, "vercel" in found) if "provider" in hits else None
    model = fields.pick_str(attrs, hits, "model") if "model" in hits else None
    if found or events:
        input_messages, output_messages = _messages(attrs, events, found, groups)
    else:
        input_messages = output_messages = ()

    input_value, input_mime = fields.io_value(attrs, hits, "input") if "input" in hits else _NONE2
    if input_value is None and input_messages:
        input_value, input_mime = render_input(input_messages), "text/plain"
    output_value, output_mime = (
        fields.io_value(attrs, hits, "output") if "output" in hits else _NONE2
    )
    if output_value is None and output_messages:
        output_value, output_mime = render_output(output_messages), "text/plain"

    documents: tuple[Document, ...] = ()
    embeddings: tuple[Embedding, ...] = ()
    if groups:
        if kind is SpanKind.RERANKER:
            documents = openinference.documents(groups.get("reranker.output_documents."))
        if not documents:
            documents = openinference.documents(groups.get("retrieval.documents."))
        embedding_model = fields.pick_str(attrs, hits, "embedding_model") or model
        embeddings = openinference.embeddings(groups.get("embedding.embeddings."), embedding_model)
    if not embeddings and "vercel" in found:
        embeddings = vendors.vercel_embeddings(attrs, model)

    usage_details = None
    cost_details = None
    if "langfuse" in found:
        usage_details = vendors.langfuse_usage(attrs)
        cost_details = vendors.langfuse_cost(attrs)
    if "mlflow" in found:
        usage_details = usage_details or vendors.mlflow_usage(attrs)
        cost_details = cost_details if cost_details is not None else vendors.mlflow_cost(attrs)

    tool_name = fields.pick_str(attrs, hits, "tool") if "tool" in hits else None
    if tool_name is None and "openllmetry" in found:
        tool_name = vendors.openllmetry_tool_name(attrs)
    if tool_name is None and "vercel" in found:
        tool_name = fields.pick_str(attrs, hits, "tool_late")

    tokens = token_usage(attrs, hits, found, provider, usage_details) if hits else _NO_TOKENS
    if kind is SpanKind.UNKNOWN and found:
        kind = _inferred_kind(
            attrs,
            tool=tool_name is not None,
            embeddings=bool(embeddings),
            documents=bool(documents),
            llm=bool(
                model or input_messages or output_messages
                or tokens.prompt is not None or tokens.completion is not None
                or tokens.total is not None
            ),
        )

    span = new_span(
        trace_id=raw.trace_id,
        span_id=raw.span_id,
        parent_span_id=raw.parent_span_id,
        name=raw.name,
        start_time_ns=start_time_ns,
        end_time_ns=raw.end_time_ns,
        status_code=raw.status_code,
        status_message=raw.status_message,
        otel_kind=raw.otel_kind,
        attributes=attributes,
        resource=resource,
        events=events,
        links=raw.links,
        scope_name=scope_name,
        scope_version=raw.scope_version,
        project=fields.project(res, default_project),
        span_kind=kind,
        model_name=model,
        provider=provider,
        input_value=input_value,
        input_mime_type=input_mime if input_value is not None else None,
        output_value=output_value,
        output_mime_type=output_mime if output_value is not None else None,
        tokens=tokens,
        client_cost=client_cost(attrs, hits, cost_details) if hits else cost_details,
        time_to_first_token_ms=(
            _ttft(attrs, hits, events, start_time_ns, found)
            if events or "ttft" in hits or "langfuse" in found
            else None
        ),
        session_id=fields.pick_str(attrs, hits, "session") if "session" in hits else None,
        user_id=fields.pick_str(attrs, hits, "user") if "user" in hits else None,
        prompt_template=(
            fields.pick_str(attrs, hits, "template") if "template" in hits else None
        ),
        prompt_template_version=(
            fields.pick_str(attrs, hits, "template_version")
            if "template_version" in hits
            else None
        ),
        tool_name=tool_name,
        input_messages=input_messages,
        output_messages=output_messages,
        documents=documents,
        embeddings=embeddings,
        conventions=_ordered(found) if found else (),
    )
    # Evaluations are extracted here, once; the store's rows and sampling read them from the span.
    return with_evaluations(span, read_evaluations(span))


def _messages(
    attributes: Mapping[str, Any],
    events: tuple[Event, ...],
    found: set[str],
    groups: dict[str, Groups],
) -> tuple[Messages, Messages]:
    """Input and output messages from the first reader, in priority order, that has them.

    Inputs and outputs are settled separately: a span may carry its prompt in one shape
    and its answer in another (OpenLLMetry's flattened prompt with an event choice).
    """
    inputs = openinference.messages(groups.get("llm.input_messages."))
    outputs = openinference.messages(groups.get("llm.output_messages."))
    if inputs and outputs:
        return inputs, outputs
    readers: list[Callable[[], tuple[Messages, Messages]]] = []
    if "gen_ai" in found:
        readers.append(lambda: genai.json_messages(attributes))
    if events:
        readers.append(lambda: genai.event_messages(events))
    if "gen_ai.prompt." in groups or "gen_ai.completion." in groups:
        readers.append(
            lambda: (
                genai.indexed_messages(groups.get("gen_ai.prompt.")),
                genai.indexed_messages(groups.get("gen_ai.completion.")),
            )
        )
    if "langfuse" in found:
        readers.append(
            lambda: (
                vendors.chat_from_io(attributes.get("langfuse.observation.input")),
                vendors.chat_from_io(attributes.get("langfuse.observation.output")),
            )
        )
    if "mlflow" in found:
        readers.append(lambda: vendors.mlflow_messages(attributes))
    if "vercel" in found:
        readers.append(lambda: vendors.vercel_messages(attributes))
    for reader in readers:
        if inputs and outputs:
            break
        more_in, more_out = reader()
        inputs = inputs or more_in
        outputs = outputs or more_out
    return inputs, outputs


def _ttft(
    attributes: Mapping[str, Any],
    hits: Hits,
    events: tuple[Event, ...],
    start_time_ns: int,
    found: set[str],
) -> float | None:
    """Time to first token, in the documented priority: OpenInference's event, GenAI,
    OpenLIT, Langfuse, the Vercel AI SDK, then the first per-chunk streaming event."""
    if events:
        ttft = openinference.first_token_ms(events, start_time_ns)
        if ttft is not None:
            return ttft
    ttft, source = fields.ttft_ms(attributes, hits)
    if (ttft is None or source == "vercel") and "langfuse" in found:
        langfuse = vendors.langfuse_ttft_ms(attributes, start_time_ns)
        if langfuse is not None:
            return langfuse
    if ttft is None and events:
        ttft = genai.first_chunk_ms(events, start_time_ns)
    return ttft


def _inferred_kind(attributes: Mapping[str, Any], **evidence: bool) -> SpanKind:
    """The kind a span's contents point to when no key names one (``keys.KIND_EVIDENCE``)."""
    for name, names in keys.EVIDENCE_KEYS.items():
        evidence[name] = any(attributes.get(key) is not None for key in names)
    for name, kind in keys.KIND_EVIDENCE:
        if evidence.get(name):
            return kind
    return SpanKind.UNKNOWN


def _ordered(found: set[str]) -> tuple[str, ...]:
    """The recognised conventions in ``_CONVENTION_ORDER``."""
    if len(found) < 2:
        return tuple(found)
    return tuple(sorted(found, key=_CONVENTION_RANK.__getitem__))
