"""Flattened lists: ``prefix.N.rest`` attribute keys regrouped by their index.

OpenTelemetry attributes cannot hold lists of objects, so OpenInference and OpenLLMetry
flatten them: ``llm.input_messages.0.message.role``, ``gen_ai.completion.1.content``.
:func:`scan` walks the attributes once, both to regroup these keys and to note which
conventions' namespaces occur, so that no extractor has to walk them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["INDEXED_PREFIXES", "Groups", "scan", "subgroups"]

#: Index -> {rest of key: value}, e.g. ``{0: {"message.role": "user"}}``.
Groups = dict[int, dict[str, Any]]

INDEXED_PREFIXES: tuple[str, ...] = (
    "llm.input_messages.",
    "llm.output_messages.",
    "retrieval.documents.",
    "reranker.input_documents.",
    "reranker.output_documents.",
    "embedding.embeddings.",
    "gen_ai.prompt.",
    "gen_ai.completion.",
)

# The first dotted segment of a key, for the namespaces one convention owns outright.
_NAMESPACES: dict[str, str] = {
    "openinference": "openinference",
    "input": "openinference",
    "output": "openinference",
    "retrieval": "openinference",
    "reranker": "openinference",
    "embedding": "openinference",
    "gen_ai": "gen_ai",
    "traceloop": "openllmetry",
    "langfuse": "langfuse",
    "mlflow": "mlflow",
    "ai": "vercel",
}

# "llm.*" is shared: OpenInference and OpenLLMetry both use it. These second segments are
# OpenInference's; every other "llm.*" key (llm.request.type, llm.usage.*, llm.is_streaming
# ...) is OpenLLMetry's.
_OPENINFERENCE_LLM = frozenset(
    {
        "model_name",
        "token_count",
        "input_messages",
        "output_messages",
        "invocation_parameters",
        "provider",
        "system",
        "prompt_template",
        "cost",
        "tools",
        "function_call",
        "prompts",
        "choices",
        "finish_reason",
    }
)


def scan(attributes: Mapping[str, Any]) -> tuple[set[str], dict[str, Groups]]:
    """Walk ``attributes`` once.

    Returns:
        The conventions whose namespaces occur, and for each prefix in
        :data:`INDEXED_PREFIXES` that occurs, its keys grouped by index.
    """
    found: set[str] = set()
    groups: dict[str, Groups] = {}
    namespaces = _NAMESPACES
    for key, value in attributes.items():
        if type(key) is not str:
            continue
        head, _, rest = key.partition(".")
        convention = namespaces.get(head)
        if convention is None:
            if head == "llm":
                found.add(
                    "openinference"
                    if rest.partition(".")[0] in _OPENINFERENCE_LLM
                    or rest in ("request.model_name", "response.model_name")
                    else "openllmetry"
                )
            else:
                continue
        else:
            found.add(convention)
        if key.startswith(INDEXED_PREFIXES):
            _add(groups, key, value)
    return found, groups


def _add(groups: dict[str, Groups], key: str, value: Any) -> None:
    """File ``key`` under its prefix and index; keys with no numeric index are skipped."""
    for prefix in INDEXED_PREFIXES:
        if key.startswith(prefix):
            index, dot, rest = key[len(prefix) :].partition(".")
            if dot and index.isdigit():
                groups.setdefault(prefix, {}).setdefault(int(index), {})[rest] = value
            return


def subgroups(group: Mapping[str, Any], prefix: str) -> Groups:
    """Regroup the keys of one item that are themselves a flattened list.

    ``subgroups({"message.tool_calls.0.tool_call.id": "c1"}, "message.tool_calls.")``
    gives ``{0: {"tool_call.id": "c1"}}``.
    """
    found: Groups = {}
    for key, value in group.items():
        if key.startswith(prefix):
            index, dot, rest = key[len(prefix) :].partition(".")
            if dot and index.isdigit():
                found.setdefault(int(index), {})[rest] = value
    return found
