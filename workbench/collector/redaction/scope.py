"""Which attribute keys are scanned, which are never touched, and which carry prompt text.

Keys are matched with shell-style globs (``*`` also crosses dots: ``*.id`` matches
``a.b.id``), case-sensitively, as OpenTelemetry keys are. A decision per key is cached: the
same few hundred keys arrive on every span.

Each extracted :class:`~workbench.model.Span` field is tied to the attribute keys it can come
from in any convention (:data:`FIELD_SOURCES`). A field is scanned when any of its source
keys is, so a field can never keep a value that its attribute copy lost.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

__all__ = [
    "DEFAULT_ALLOW",
    "EVENT_TEXT_KEYS",
    "FIELD_SOURCES",
    "SCOPE_PRESETS",
    "TEXT_KEEP_KEYS",
    "TEXT_KEYS",
    "KeyMatcher",
    "expand_scope",
]

#: Named groups of attribute key globs, for ``scope``.
SCOPE_PRESETS: dict[str, tuple[str, ...]] = {
    "input_output": (
        "input.value",
        "output.value",
        "gen_ai.prompt",
        "gen_ai.completion",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "tool_call.function.arguments",
        "llm.prompts",
        "llm.prompts.*",
        "traceloop.entity.input",
        "traceloop.entity.output",
        "langfuse.observation.input",
        "langfuse.observation.output",
        "langfuse.trace.input",
        "langfuse.trace.output",
        "mlflow.spanInputs",
        "mlflow.spanOutputs",
        "ai.prompt",
        "ai.response.text",
        "ai.response.object",
        "ai.response.toolCalls",
        "ai.toolCall.args",
        "ai.toolCall.input",
        "ai.toolCall.result",
        "ai.toolCall.output",
    ),
    "messages": (
        "llm.input_messages",
        "llm.input_messages.*",
        "llm.output_messages",
        "llm.output_messages.*",
        "llm.prompt_template.template",
        "llm.prompt_template.variables",
        "llm.prompt_template.variables.*",
        "traceloop.prompt.template",
        "gen_ai.prompt",
        "gen_ai.prompt.*",
        "gen_ai.completion",
        "gen_ai.completion.*",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "ai.prompt.messages",
        "mlflow.chat.messages",
        "pydantic_ai.all_messages",
        "all_messages_events",
    ),
    "documents": (
        "retrieval.documents",
        "retrieval.documents.*",
        "reranker.input_documents.*",
        "reranker.output_documents.*",
        "reranker.query",
        "embedding.embeddings.*.embedding.text",
        "ai.value",
        "ai.values",
    ),
    "all": ("*",),
}

#: Keys never scanned unless ``default_allow`` is off: identifiers, model and provider
#: names, counts, costs, timings and types. ``user.id`` is deliberately absent: applications
#: often put an email address there. Numbers are never scanned anyway; listing count keys
#: saves the lookup and documents intent.
DEFAULT_ALLOW: tuple[str, ...] = (
    "session.id",
    "*.session.id",
    "traceloop.association.properties.session_id",
    "mlflow.trace.session",
    "gen_ai.conversation.id",
    "gen_ai.response.id",
    "*.trace_id",
    "*.span_id",
    "*.document.id",
    "*.tool_call.id",
    "*.tool_call_id",
    "*.tool_calls.*.id",
    "*.model_name",
    "*.model",
    "*.model.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "*.provider",
    "llm.system",
    "gen_ai.system",
    "gen_ai.provider.name",
    "gen_ai.operation.name",
    "gen_ai.response.finish_reasons",
    "openinference.span.kind",
    "openinference.project.name",
    "llm.token_count.*",
    "gen_ai.usage.*",
    "llm.cost.*",
    "*.mime_type",
    "*.role",
    "tool.name",
    "gen_ai.tool.name",
    "*.function.name",
    "*.version",
    "traceloop.span.kind",
    "langfuse.observation.type",
    "mlflow.spanType",
    "ai.operationId",
    "service.*",
    "telemetry.*",
    "otel.status_code",  # not otel.status_description: error text can carry anything
    "otel.scope.*",
    "otel.library.*",
    "exception.type",
)

#: Keys that carry prompt or response text in some convention; dropped when
#: ``capture_text`` is off (except :data:`TEXT_KEEP_KEYS`).
TEXT_KEYS: tuple[str, ...] = (
    *SCOPE_PRESETS["input_output"],
    *SCOPE_PRESETS["messages"],
    *SCOPE_PRESETS["documents"],
    "embedding.text",
)

#: Structure kept under :data:`TEXT_KEYS` when text is dropped: roles, names, ids, scores,
#: vectors, types. They say what happened without saying what was said.
TEXT_KEEP_KEYS: tuple[str, ...] = (
    "*.role",
    "*.name",
    "*.id",
    "*.tool_call_id",
    "*.finish_reason",
    "*.mime_type",
    "*.type",
    "*.document.score",
    "*.document.metadata",
    "*.document.metadata.*",
    "*.embedding.vector",
    "*.embedding.model_name",
    "*.version",
)

#: Inside events named ``gen_ai.*`` (the GenAI content events), these keys hold message text
#: too; they are scanned when messages are, and dropped with the text.
EVENT_TEXT_KEYS: tuple[str, ...] = ("content", "message", "body", "tool_calls", "arguments")

#: For each extracted text field of a Span, keys it may be read from (one example key per
#: pattern), used to decide whether the field is in scope.
FIELD_SOURCES: dict[str, tuple[str, ...]] = {
    "input_value": (
        "input.value",
        "gen_ai.tool.call.arguments",
        "traceloop.entity.input",
        "langfuse.observation.input",
        "mlflow.spanInputs",
        "ai.toolCall.args",
        "ai.toolCall.input",
        "ai.prompt",
        "ai.value",
    ),
    "output_value": (
        "output.value",
        "gen_ai.tool.call.result",
        "traceloop.entity.output",
        "langfuse.observation.output",
        "mlflow.spanOutputs",
        "ai.toolCall.result",
        "ai.toolCall.output",
        "ai.response.text",
        "ai.response.object",
    ),
    "input_messages": (
        "llm.input_messages.0.message.content",
        "gen_ai.prompt",
        "gen_ai.prompt.0.content",
        "gen_ai.input.messages",
        "gen_ai.system_instructions",
        "mlflow.chat.messages",
        "mlflow.spanInputs",
        "langfuse.observation.input",
        "ai.prompt",
        "ai.prompt.messages",
    ),
    "output_messages": (
        "llm.output_messages.0.message.content",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
        "gen_ai.completion",
        "gen_ai.completion.0.content",
        "gen_ai.output.messages",
        "mlflow.chat.messages",
        "mlflow.spanOutputs",
        "langfuse.observation.output",
        "ai.response.text",
        "ai.response.toolCalls",
    ),
    "documents": (
        "retrieval.documents.0.document.content",
        "retrieval.documents.0.document.metadata",
        "reranker.input_documents.0.document.content",
        "reranker.output_documents.0.document.content",
    ),
    "embeddings": ("embedding.embeddings.0.embedding.text", "ai.value", "ai.values"),
    "prompt_template": ("llm.prompt_template.template", "traceloop.prompt.template"),
    "status_message": ("status.message", "exception.message"),
    "user_id": (
        "user.id",
        "traceloop.association.properties.user_id",
        "langfuse.user.id",
        "mlflow.trace.user",
    ),
    "session_id": (
        "session.id",
        "gen_ai.conversation.id",
        "traceloop.association.properties.session_id",
        "langfuse.session.id",
        "mlflow.trace.session",
    ),
    "tool_name": ("tool.name", "gen_ai.tool.name", "ai.toolCall.name"),
}


def _compile_globs(globs: Iterable[str]) -> re.Pattern[str] | None:
    parts = [fnmatch.translate(glob) for glob in globs]
    return re.compile("|".join(parts)) if parts else None


class KeyMatcher:
    """Decides, with a cache, whether a key matches ``include`` and not ``exclude``.

    Safe to share between threads: the cache is a plain dict and a lost race only repeats
    a pure computation.

    Args:
        include: Globs a key must match.
        exclude: Globs that override ``include``.
    """

    _CACHE_LIMIT = 8192  # flattened keys like llm.input_messages.123.message.content vary

    def __init__(self, include: Iterable[str], exclude: Iterable[str] = ()) -> None:
        self._include = _compile_globs(include)
        self._exclude = _compile_globs(exclude)
        self._cache: dict[str, bool] = {}

    def __call__(self, key: str) -> bool:
        """Whether ``key`` is included and not excluded."""
        decision = self._cache.get(key)
        if decision is None:
            decision = bool(
                self._include is not None
                and self._include.match(key)
                and not (self._exclude is not None and self._exclude.match(key))
            )
            if len(self._cache) >= self._CACHE_LIMIT:
                self._cache.clear()  # keys are cheap to recompute; memory must stay bounded
            self._cache[key] = decision
        return decision

    def any(self, keys: Iterable[str]) -> bool:
        """Whether any of ``keys`` matches."""
        return any(self(key) for key in keys)


def expand_scope(scope: Iterable[str]) -> tuple[str, ...]:
    """Turn preset names and globs into a flat tuple of globs."""
    globs: list[str] = []
    for entry in scope:
        globs.extend(SCOPE_PRESETS.get(entry, (entry,)))
    return tuple(globs)
