"""The span model: one shape for every span, whatever convention or wire format it came in.

Everything downstream of the collector (the store, the read API, the app) sees only these
types. They use the standard library alone, so any layer may import them.

A :class:`Span` carries two things:

* what the sender sent, kept whole: ``attributes``, ``resource``, ``events`` and ``links``;
* fields extracted from it by :mod:`workbench.semconv` (model name, tokens, messages,
  retrieved documents, embeddings ...), typed so that views need no attribute parsing.

Ids are lowercase hex strings (32 characters for a trace, 16 for a span). Times are integer
nanoseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AttributeValue",
    "Document",
    "Embedding",
    "Evaluation",
    "Event",
    "Link",
    "LogRecord",
    "Message",
    "RawSpan",
    "Span",
    "SpanKind",
    "StatusCode",
    "TokenUsage",
    "ToolCall",
]

#: A value as OpenTelemetry attributes carry it (lists are homogeneous in OTel, but we
#: accept what arrives; maps come from OTLP ``kvlistValue``).
AttributeValue = Any


class SpanKind(str, enum.Enum):
    """What a span did, in OpenInference's vocabulary (``openinference.span.kind``)."""

    LLM = "LLM"
    CHAIN = "CHAIN"
    RETRIEVER = "RETRIEVER"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    TOOL = "TOOL"
    AGENT = "AGENT"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"
    PROMPT = "PROMPT"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: object) -> SpanKind:
        """Return the kind named by ``value`` (any case), or ``UNKNOWN``."""
        if isinstance(value, SpanKind):
            return value
        if isinstance(value, str):
            try:
                return cls(value.strip().upper())
            except ValueError:
                return cls.UNKNOWN
        return cls.UNKNOWN


class StatusCode(str, enum.Enum):
    """The OpenTelemetry span status."""

    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts of one model call. ``None`` means the sender did not say.

    Attributes:
        prompt: Input tokens as the sender reported them.
        completion: Output tokens.
        total: Total tokens as reported (or prompt + completion when only those came).
        cache_read: Input tokens served from the provider's prompt cache.
        cache_write: Input tokens written to the provider's prompt cache.
        reasoning: Output tokens spent on hidden reasoning.
        prompt_includes_cache: Whether ``prompt`` already counts ``cache_read`` and
            ``cache_write`` (OpenAI and the OTel GenAI conventions: yes; Anthropic's native
            usage: no). Cost maths needs this so cached tokens are not billed twice.
    """

    prompt: int | None = None
    completion: int | None = None
    total: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    reasoning: int | None = None
    prompt_includes_cache: bool | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call requested by a model inside a message."""

    id: str | None = None
    name: str | None = None
    arguments: str | None = None  # JSON text, as models send it


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message of a model call's input or output."""

    role: str | None = None
    content: str | None = None
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class Document:
    """A document a retriever or reranker returned, at ``position`` in its list."""

    position: int
    id: str | None = None
    content: str | None = None
    score: float | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Embedding:
    """One embedded text and its vector, at ``position`` in the span's list."""

    position: int
    text: str | None = None
    # A tuple of floats; a one-dimensional numpy float array when decoded from OTLP protobuf.
    vector: tuple[float, ...] | Any | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A span event (an exception, a first token, a log line)."""

    name: str
    time_ns: int
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Link:
    """A link from one span to another span, possibly in another trace."""

    trace_id: str
    span_id: str
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RawSpan:
    """An OpenTelemetry span as its sender sent it: the one record every decoder makes.

    OTLP protobuf, OTLP JSON and the SDK's ``ReadableSpan`` each become one of these at the
    edge (:mod:`workbench.collector.otlp`, :mod:`workbench.collector.readable`), and the
    conventions layer reads it whole (:func:`workbench.semconv.span_from`) to make the
    :class:`Span`, which keeps these fields, unchanged, as its first group.

    Attributes:
        trace_id: 32 lowercase hex characters.
        span_id: 16 lowercase hex characters.
        parent_span_id: The parent's span id, or None for a root span.
        name: The span name.
        start_time_ns: Start, in nanoseconds since the Unix epoch.
        end_time_ns: End, in nanoseconds since the Unix epoch.
        status_code: The OpenTelemetry status, as sent.
        status_message: The status description.
        otel_kind: INTERNAL, SERVER, CLIENT, PRODUCER or CONSUMER.
        attributes: The span attributes, as Python values.
        resource: The resource attributes.
        events: The span events.
        links: The span links.
        scope_name: The instrumentation scope's name.
        scope_version: The instrumentation scope's version.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_time_ns: int
    end_time_ns: int
    status_code: StatusCode = StatusCode.UNSET
    status_message: str = ""
    otel_kind: str = "INTERNAL"
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    resource: Mapping[str, AttributeValue] = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    links: tuple[Link, ...] = ()
    scope_name: str | None = None
    scope_version: str | None = None


#: The fields a :class:`RawSpan` and a :class:`Span` share, in order.
RAW_FIELDS: tuple[str, ...] = (
    "trace_id", "span_id", "parent_span_id", "name", "start_time_ns", "end_time_ns", "status_code",
    "status_message", "otel_kind", "attributes", "resource", "events", "links", "scope_name", "scope_version",
)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation or piece of feedback read from a span, shaped like an annotation row.

    Attributes:
        annotation_id: Stable id: the same span sent twice gives the same ids.
        target: ``span``, ``trace`` or ``session``.
        trace_id: The trace annotated, or of the span annotated; None for a session.
        span_id: The span annotated; None for a trace or session.
        session_id: The session annotated, for target ``session``.
        name: What was judged (``hallucination``, ``Relevance`` ...).
        score: The numeric result.
        label: The categorical result.
        explanation: Why.
        annotator_kind: HUMAN, LLM, CODE, or None when not said.
        annotator: The producer's identifier, or the name of the span that carried it.
        time_ns: When: the event's time, else the carrying span's end.
        metadata: The producer's metadata plus ``ingested_from``.
    """

    annotation_id: str
    target: str
    trace_id: str | None
    span_id: str | None
    session_id: str | None
    name: str
    score: float | None
    label: str | None
    explanation: str | None
    annotator_kind: str | None
    annotator: str | None
    time_ns: int
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Span:
    """One span, as sent and as understood.

    The first group of fields is the OpenTelemetry span itself; ``attributes``,
    ``resource``, ``events`` and ``links`` hold everything the sender sent, unchanged. The
    second group is extracted from them by :func:`workbench.semconv.make_span`.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_time_ns: int
    end_time_ns: int
    status_code: StatusCode = StatusCode.UNSET
    status_message: str = ""
    otel_kind: str = "INTERNAL"
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    resource: Mapping[str, AttributeValue] = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    links: tuple[Link, ...] = ()
    scope_name: str | None = None
    scope_version: str | None = None

    # Extracted fields.
    project: str = "default"
    span_kind: SpanKind = SpanKind.UNKNOWN
    model_name: str | None = None
    provider: str | None = None
    input_value: str | None = None
    input_mime_type: str | None = None
    output_value: str | None = None
    output_mime_type: str | None = None
    tokens: TokenUsage = field(default_factory=TokenUsage)
    client_cost: float | None = None  # total cost in USD as the sender reported it
    time_to_first_token_ms: float | None = None
    session_id: str | None = None
    user_id: str | None = None
    prompt_template: str | None = None
    prompt_template_version: str | None = None
    tool_name: str | None = None
    input_messages: tuple[Message, ...] = ()
    output_messages: tuple[Message, ...] = ()
    documents: tuple[Document, ...] = ()
    embeddings: tuple[Embedding, ...] = ()
    conventions: tuple[str, ...] = ()  # the conventions recognised, e.g. ("openinference",)
    sample_weight: float | None = None  # traces kept by sampling stand for 1/rate traces
    # The evaluations and feedback the span carries, extracted once by the conventions layer
    # (workbench.semconv.evaluations); None until read, for a span made or changed elsewhere.
    evaluations: tuple[Evaluation, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def raw(self) -> RawSpan:
        """The span as it was sent (the record its decoder made), without what was extracted."""
        return RawSpan(*(getattr(self, name) for name in RAW_FIELDS))

    @property
    def latency_ms(self) -> float:
        """Wall time from start to end, in milliseconds."""
        return (self.end_time_ns - self.start_time_ns) / 1e6

    @property
    def is_root(self) -> bool:
        """Whether the span has no parent."""
        return not self.parent_span_id


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One OpenTelemetry log record (an event, when it has an ``event_name``).

    The OTel GenAI conventions put chat messages in log records (``gen_ai.user.message``,
    ``gen_ai.choice`` ...) tied to the span of the model call by ``trace_id`` and
    ``span_id``; records without them belong to no span.
    """

    time_ns: int
    trace_id: str | None = None
    span_id: str | None = None
    event_name: str | None = None
    body: AttributeValue = None
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    resource: Mapping[str, AttributeValue] = field(default_factory=dict)
    severity_number: int | None = None
    severity_text: str | None = None
    scope_name: str | None = None
    scope_version: str | None = None
