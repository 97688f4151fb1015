"""The attribute keys each extracted field is read from, in priority order.

These tables are the source of truth for which keys we understand. Each is a tuple of
``(key, convention)`` pairs; the first key present with a usable value wins, so the order of
a table *is* the priority documented in :mod:`workbench.semconv`. Old and new names of the
same convention sit side by side, the newer first.

Convention names used here and in ``Span.conventions``: ``openinference``, ``gen_ai`` (OTel
GenAI semantic conventions, old and new names), ``openllmetry`` (Traceloop), ``openlit``,
``langfuse``, ``mlflow``, ``vercel`` (the Vercel AI SDK's ``ai.*`` telemetry).
"""

from __future__ import annotations

from collections.abc import Mapping

from openinference.semconv.trace import SpanAttributes as OI

from workbench.model import SpanKind

KeyTable = tuple[tuple[str, str], ...]

MODEL_NAME: KeyTable = (
    (OI.LLM_MODEL_NAME, "openinference"),
    (OI.LLM_RESPONSE_MODEL_NAME, "openinference"),
    (OI.LLM_REQUEST_MODEL_NAME, "openinference"),
    (OI.EMBEDDING_MODEL_NAME, "openinference"),
    ("reranker.model_name", "openinference"),
    # The model that answered beats the one that was asked for (aliases resolve to dates).
    ("gen_ai.response.model", "gen_ai"),
    ("gen_ai.request.model", "gen_ai"),
    ("langfuse.observation.model.name", "langfuse"),
    ("mlflow.llm.model", "mlflow"),
    ("ai.response.model", "vercel"),
    ("ai.model.id", "vercel"),
)

EMBEDDING_MODEL: KeyTable = ((OI.EMBEDDING_MODEL_NAME, "openinference"),)

PROVIDER: KeyTable = (
    (OI.LLM_PROVIDER, "openinference"),
    (OI.LLM_SYSTEM, "openinference"),
    ("gen_ai.provider.name", "gen_ai"),  # new name
    ("gen_ai.system", "gen_ai"),  # old name, still sent by OpenLLMetry and OpenLIT
    ("llm.vendor", "openllmetry"),  # early OpenLLMetry releases
    ("mlflow.llm.provider", "mlflow"),
    ("ai.model.provider", "vercel"),  # "openai.chat": the part before the dot is kept
)

# Session and user ids. Besides the conventions' own keys, the metadata keys that SDKs
# document for them (Traceloop association properties, Vercel telemetry metadata, LangSmith
# metadata) are read in both spellings people use, snake_case and camelCase.
SESSION_ID: KeyTable = (
    (OI.SESSION_ID, "openinference"),  # also OTel's general `session.id` and Langfuse's SDK
    ("gen_ai.conversation.id", "gen_ai"),
    ("gen_ai.session.id", "gen_ai"),  # sent by some GenAI SDKs before conversation.id
    ("traceloop.association.properties.session_id", "openllmetry"),
    ("traceloop.association.properties.sessionId", "openllmetry"),
    ("traceloop.association.properties.conversation_id", "openllmetry"),
    ("langfuse.session.id", "langfuse"),
    ("langfuse.trace.session_id", "langfuse"),
    ("mlflow.trace.session", "mlflow"),
    ("ai.telemetry.metadata.sessionId", "vercel"),
    ("ai.telemetry.metadata.session_id", "vercel"),
    ("langsmith.trace.session_id", "langsmith"),
    ("langsmith.metadata.session_id", "langsmith"),
    ("langsmith.metadata.thread_id", "langsmith"),
)

USER_ID: KeyTable = (
    (OI.USER_ID, "openinference"),  # also OTel's general `user.id` and Langfuse's SDK
    ("enduser.id", "gen_ai"),  # general OTel semantic conventions (older name)
    ("gen_ai.user.id", "gen_ai"),
    ("gen_ai.request.user", "gen_ai"),  # the request's `user` parameter (OpenAI's end user)
    ("llm.user", "openllmetry"),  # OpenLLMetry's copy of the request's `user`
    ("traceloop.association.properties.user_id", "openllmetry"),
    ("traceloop.association.properties.userId", "openllmetry"),
    ("langfuse.user.id", "langfuse"),
    ("langfuse.trace.user_id", "langfuse"),
    ("mlflow.trace.user", "mlflow"),
    ("ai.telemetry.metadata.userId", "vercel"),
    ("ai.telemetry.metadata.user_id", "vercel"),
    ("langsmith.metadata.user_id", "langsmith"),
)

# Template text where the sender gives it, else the prompt's name in a prompt registry.
PROMPT_TEMPLATE: KeyTable = (
    (OI.LLM_PROMPT_TEMPLATE, "openinference"),
    ("gen_ai.prompt.name", "gen_ai"),
    ("traceloop.prompt.template", "openllmetry"),
    ("traceloop.prompt.key", "openllmetry"),
    ("langfuse.observation.prompt.name", "langfuse"),
)

PROMPT_TEMPLATE_VERSION: KeyTable = (
    (OI.LLM_PROMPT_TEMPLATE_VERSION, "openinference"),
    ("gen_ai.prompt.version", "gen_ai"),
    ("traceloop.prompt.version", "openllmetry"),
    ("langfuse.observation.prompt.version", "langfuse"),
)

# OpenLLMetry's tool name (traceloop.entity.name on tool spans) is conditional, so it is
# read between these two tables, by vendors.openllmetry_tool_name.
TOOL_NAME: KeyTable = (
    (OI.TOOL_NAME, "openinference"),
    ("gen_ai.tool.name", "gen_ai"),
)
TOOL_NAME_LATE: KeyTable = (("ai.toolCall.name", "vercel"),)

# (value key, mime-type key or "", convention). Rendered GenAI messages come after these.
INPUT_VALUE: tuple[tuple[str, str, str], ...] = (
    (OI.INPUT_VALUE, OI.INPUT_MIME_TYPE, "openinference"),
    ("gen_ai.tool.call.arguments", "", "gen_ai"),
    ("traceloop.entity.input", "", "openllmetry"),
    ("langfuse.observation.input", "", "langfuse"),
    ("mlflow.spanInputs", "", "mlflow"),
    ("ai.toolCall.args", "", "vercel"),
    ("ai.toolCall.input", "", "vercel"),
    ("ai.prompt", "", "vercel"),
    ("ai.value", "", "vercel"),  # ai.embed: the text embedded
)

OUTPUT_VALUE: tuple[tuple[str, str, str], ...] = (
    (OI.OUTPUT_VALUE, OI.OUTPUT_MIME_TYPE, "openinference"),
    ("gen_ai.tool.call.result", "", "gen_ai"),
    ("traceloop.entity.output", "", "openllmetry"),
    ("langfuse.observation.output", "", "langfuse"),
    ("mlflow.spanOutputs", "", "mlflow"),
    ("ai.toolCall.result", "", "vercel"),
    ("ai.toolCall.output", "", "vercel"),
    ("ai.response.text", "", "vercel"),
    ("ai.response.object", "", "vercel"),
)

# Token counts. Langfuse and MLflow send theirs inside one JSON attribute; see vendors.py.
PROMPT_TOKENS: KeyTable = (
    (OI.LLM_TOKEN_COUNT_PROMPT, "openinference"),
    ("gen_ai.usage.input_tokens", "gen_ai"),
    ("gen_ai.usage.prompt_tokens", "gen_ai"),
    ("llm.usage.prompt_tokens", "openllmetry"),
    ("ai.usage.inputTokens", "vercel"),  # AI SDK 5
    ("ai.usage.promptTokens", "vercel"),  # AI SDK 4
)

COMPLETION_TOKENS: KeyTable = (
    (OI.LLM_TOKEN_COUNT_COMPLETION, "openinference"),
    ("gen_ai.usage.output_tokens", "gen_ai"),
    ("gen_ai.usage.completion_tokens", "gen_ai"),
    ("llm.usage.completion_tokens", "openllmetry"),
    ("ai.usage.outputTokens", "vercel"),
    ("ai.usage.completionTokens", "vercel"),
)

TOTAL_TOKENS: KeyTable = (
    (OI.LLM_TOKEN_COUNT_TOTAL, "openinference"),
    ("gen_ai.usage.total_tokens", "gen_ai"),
    ("llm.usage.total_tokens", "openllmetry"),
    ("gen_ai.client.token.usage", "openlit"),
    ("ai.usage.totalTokens", "vercel"),
    ("ai.usage.tokens", "vercel"),  # ai.embed spans
)

CACHE_READ_TOKENS: KeyTable = (
    (OI.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ, "openinference"),
    ("gen_ai.usage.cache_read.input_tokens", "gen_ai"),  # new name
    ("gen_ai.usage.cache_read_input_tokens", "openllmetry"),  # OpenLLMetry, OpenLIT
    ("ai.usage.cachedInputTokens", "vercel"),
    ("ai.usage.inputTokenDetails.cacheReadTokens", "vercel"),
)

CACHE_WRITE_TOKENS: KeyTable = (
    (OI.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE, "openinference"),
    ("gen_ai.usage.cache_creation.input_tokens", "gen_ai"),
    ("gen_ai.usage.cache_creation_input_tokens", "openllmetry"),
    ("ai.usage.inputTokenDetails.cacheWriteTokens", "vercel"),
)

REASONING_TOKENS: KeyTable = (
    (OI.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING, "openinference"),
    ("gen_ai.usage.reasoning.output_tokens", "gen_ai"),
    ("gen_ai.usage.reasoning_tokens", "openlit"),
    ("llm.usage.reasoning_tokens", "openllmetry"),
    ("ai.usage.reasoningTokens", "vercel"),
    ("ai.usage.outputTokenDetails.reasoningTokens", "vercel"),
)

# Costs in USD. OpenInference's parts are summed when no total is sent.
COST_TOTAL: KeyTable = (
    (OI.LLM_COST_TOTAL, "openinference"),
    ("gen_ai.usage.cost", "gen_ai"),  # OpenLIT and others; not in the OTel spec
)
COST_PARTS: tuple[str, ...] = (OI.LLM_COST_PROMPT, OI.LLM_COST_COMPLETION)

# Time to first token: (key, milliseconds per unit, convention).
TTFT: tuple[tuple[str, float, str], ...] = (
    ("gen_ai.response.time_to_first_chunk", 1000.0, "gen_ai"),
    ("gen_ai.server.time_to_first_token", 1000.0, "openlit"),
    ("ai.response.msToFirstChunk", 1.0, "vercel"),
    ("ai.stream.msToFirstChunk", 1.0, "vercel"),  # AI SDK 3
)

# Span events that mark streamed output, one per chunk or token (OpenLLMetry's
# "gen_ai.content.completion.chunk" and its older "llm.content.completion.chunk", LangChain's
# "new_token", the Vercel AI SDK's "ai.stream.firstChunk" ...). When no event names the first
# token and no attribute states the time to it, the earliest of these events is the first
# token. Matched on the lower-cased name: exactly, or by its ending.
CHUNK_EVENT_NAMES: frozenset[str] = frozenset(
    {
        "gen_ai.content.completion.chunk",
        "llm.content.completion.chunk",
        "gen_ai.completion.chunk",
        "gen_ai.choice.chunk",
        "new_token",
        "on_llm_new_token",
        "ai.stream.firstchunk",
    }
)
CHUNK_EVENT_SUFFIXES: tuple[str, ...] = (".chunk", "_chunk", ".delta", ".new_token", "firstchunk")

# Span kind: (key, value map or None to parse the value as an OpenInference kind).
_LLM, _EMB, _TOOL, _AGENT, _CHAIN = (
    SpanKind.LLM,
    SpanKind.EMBEDDING,
    SpanKind.TOOL,
    SpanKind.AGENT,
    SpanKind.CHAIN,
)
SPAN_KIND: tuple[tuple[str, Mapping[str, SpanKind] | None], ...] = (
    (OI.OPENINFERENCE_SPAN_KIND, None),
    (
        "gen_ai.operation.name",
        {
            "chat": _LLM,
            "text_completion": _LLM,
            "generate_content": _LLM,
            "completion": _LLM,
            "embeddings": _EMB,
            "embedding": _EMB,
            "execute_tool": _TOOL,
            "invoke_agent": _AGENT,
            "create_agent": _AGENT,
            "retrieval": SpanKind.RETRIEVER,
        },
    ),
    ("traceloop.span.kind", {"workflow": _CHAIN, "task": _CHAIN, "agent": _AGENT, "tool": _TOOL}),
    (
        "llm.request.type",
        {"chat": _LLM, "completion": _LLM, "embedding": _EMB, "rerank": SpanKind.RERANKER},
    ),
    (
        "langfuse.observation.type",
        {
            "generation": _LLM,
            "embedding": _EMB,
            "agent": _AGENT,
            "tool": _TOOL,
            "chain": _CHAIN,
            "retriever": SpanKind.RETRIEVER,
            "evaluator": SpanKind.EVALUATOR,
            "guardrail": SpanKind.GUARDRAIL,
        },
    ),
    (
        "mlflow.spanType",
        {
            "llm": _LLM,
            "chat_model": _LLM,
            "chain": _CHAIN,
            "agent": _AGENT,
            "tool": _TOOL,
            "retriever": SpanKind.RETRIEVER,
            "embedding": _EMB,
            "reranker": SpanKind.RERANKER,
            "parser": _CHAIN,
            "evaluator": SpanKind.EVALUATOR,
            "guardrail": SpanKind.GUARDRAIL,
        },
    ),
    (
        "ai.operationId",
        {
            "ai.generateText": _CHAIN,
            "ai.streamText": _CHAIN,
            "ai.generateObject": _CHAIN,
            "ai.streamObject": _CHAIN,
            "ai.generateText.doGenerate": _LLM,
            "ai.streamText.doStream": _LLM,
            "ai.generateObject.doGenerate": _LLM,
            "ai.streamObject.doStream": _LLM,
            "ai.embed": _EMB,
            "ai.embedMany": _EMB,
            "ai.embed.doEmbed": _EMB,
            "ai.embedMany.doEmbed": _EMB,
            "ai.toolCall": _TOOL,
        },
    ),
)

# Values are matched case-insensitively: senders disagree on case ("GENERATION", "chat").
SPAN_KIND = tuple(
    (key, None if values is None else {name.lower(): kind for name, kind in values.items()})
    for key, values in SPAN_KIND
)

# A span whose kind no key names (GenAI attributes without gen_ai.operation.name, an
# operation name we do not know) is given one from what it carries, the first that applies:
# (evidence, kind). "tool": a tool name; "embeddings": embedding vectors; "documents":
# retrieved documents; "llm": a model name, token counts or chat messages; the others: any
# of their keys in EVIDENCE_KEYS.
KIND_EVIDENCE: tuple[tuple[str, SpanKind], ...] = (
    ("tool", _TOOL),
    ("embeddings", _EMB),
    ("documents", SpanKind.RETRIEVER),
    ("embedding_keys", _EMB),
    ("retrieval_keys", SpanKind.RETRIEVER),
    ("llm", _LLM),
    ("agent", _AGENT),
)
EVIDENCE_KEYS: dict[str, tuple[str, ...]] = {
    "embedding_keys": ("gen_ai.embeddings.dimension.count", "gen_ai.request.encoding_formats"),
    "retrieval_keys": ("gen_ai.data_source.id",),
    "agent": ("gen_ai.agent.name", "gen_ai.agent.id"),
}

#: Every scalar field and its table. Readers in fields.py and usage.py look fields up by
#: these names.
FIELDS: dict[str, tuple[tuple[object, ...], ...]] = {
    "model": MODEL_NAME,
    "embedding_model": EMBEDDING_MODEL,
    "provider": PROVIDER,
    "session": SESSION_ID,
    "user": USER_ID,
    "template": PROMPT_TEMPLATE,
    "template_version": PROMPT_TEMPLATE_VERSION,
    "tool": TOOL_NAME,
    "tool_late": TOOL_NAME_LATE,
    "input": INPUT_VALUE,
    "output": OUTPUT_VALUE,
    "prompt": PROMPT_TOKENS,
    "completion": COMPLETION_TOKENS,
    "total": TOTAL_TOKENS,
    "cache_read": CACHE_READ_TOKENS,
    "cache_write": CACHE_WRITE_TOKENS,
    "reasoning": REASONING_TOKENS,
    "cost_total": COST_TOTAL,
    "cost_part": tuple((key, "openinference") for key in COST_PARTS),
    "ttft": TTFT,
    "kind": SPAN_KIND,
}


def _build_index() -> dict[str, tuple[tuple[str, int], ...]]:
    index: dict[str, list[tuple[str, int]]] = {}
    for field, table in FIELDS.items():
        for rank, entry in enumerate(table):
            index.setdefault(str(entry[0]), []).append((field, rank))
    return {key: tuple(entries) for key, entries in index.items()}


#: Attribute key -> the (field, rank in its table) pairs it can fill. One dict lookup per
#: attribute finds every field an attribute matters to, so that fields a span does not
#: carry cost nothing (make_span runs on the ingest hot path).
INDEX: dict[str, tuple[tuple[str, int], ...]] = _build_index()
