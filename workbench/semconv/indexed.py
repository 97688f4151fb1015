"""One walk over the attributes: conventions seen, table hits, flattened lists regrouped.

OpenTelemetry attributes cannot hold lists of objects, so OpenInference and OpenLLMetry
flatten them: ``llm.input_messages.0.message.role``, ``gen_ai.completion.1.content``.
:func:`scan` walks the attributes once to regroup these keys by index, to note which
conventions' namespaces occur, and to find which attributes fill which scalar fields (see
:data:`workbench.semconv.keys.INDEX`), so that no reader has to walk them again.

What a key means never changes, so each key's classification is cached: instrumentors send
the same few hundred keys over and over, and a cached key costs one dict lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.semconv.keys import INDEX

__all__ = ["INDEXED_PREFIXES", "Groups", "Hits", "scan", "subgroups"]

#: Index -> {rest of key: value}, e.g. ``{0: {"message.role": "user"}}``.
Groups = dict[int, dict[str, Any]]
#: Field name -> (rank in the field's table, attribute key) of the best-ranked attribute
#: present. Readers fall back down the table themselves if its value is unusable.
Hits = dict[str, tuple[int, str]]

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

# (convention, list prefix, index, rest of key, field hits as (field, (rank, key)));
# None stands for "irrelevant". The hit tuples are made once, not per span.
_Info = tuple[str | None, str | None, int, str, tuple[tuple[str, tuple[int, str]], ...]]
_CACHE: dict[Any, _Info | None] = {}
# Keys with ever-new names (metadata.<uuid> ...) must not grow the cache without bound.
_CACHE_LIMIT = 50_000


def _classify(key: Any) -> _Info | None:
    if type(key) is not str:
        return None
    head, _, rest = key.partition(".")
    convention = _NAMESPACES.get(head)
    if convention is None and head == "llm":
        llm_openinference = rest.partition(".")[0] in _OPENINFERENCE_LLM or rest in (
            "request.model_name",
            "response.model_name",
        )
        convention = "openinference" if llm_openinference else "openllmetry"
    prefix, index, tail = None, -1, ""
    if convention is not None:
        for candidate in INDEXED_PREFIXES:
            if key.startswith(candidate):
                number, dot, tail = key[len(candidate) :].partition(".")
                if dot and number.isdigit():
                    prefix, index = candidate, int(number)
                break
    hits = tuple((field, (rank, key)) for field, rank in INDEX.get(key, ()))
    if convention is None and not hits:
        return None
    return convention, prefix, index, tail, hits


def _learn(key: Any) -> _Info | None:
    """Classify a key not seen before, and remember it while the cache has room."""
    try:
        info = _classify(key)
        if len(_CACHE) < _CACHE_LIMIT:
            _CACHE[key] = info
    except TypeError:  # an unhashable key cannot come from OTel, but never raise
        return None
    return info


def scan(attributes: Mapping[str, Any]) -> tuple[set[str], dict[str, Groups], Hits]:
    """Walk ``attributes`` once.

    Returns:
        The conventions whose namespaces occur; for each prefix in
        :data:`INDEXED_PREFIXES` that occurs, its keys grouped by index; and the scalar
        fields' hits.
    """
    found: set[str] = set()
    groups: dict[str, Groups] = {}
    hits: Hits = {}
    cache = _CACHE
    last = None
    for key, value in attributes.items():
        try:
            info = cache[key]
        except (KeyError, TypeError):
            info = _learn(key)
        if info is None:
            continue
        convention, prefix, index, tail, fields = info
        if convention is not last and convention is not None:
            found.add(convention)
            last = convention
        if prefix is not None:  # a list item's key: it fills no scalar field
            by_index = groups.get(prefix)
            if by_index is None:
                groups[prefix] = {index: {tail: value}}
            else:
                item = by_index.get(index)
                if item is None:
                    by_index[index] = {tail: value}
                else:
                    item[tail] = value
            continue
        for field, hit in fields:
            best = hits.get(field)
            if best is None or hit < best:  # ranks differ within a table: keys never compared
                hits[field] = hit
    return found, groups, hits


def subgroups(group: Mapping[str, Any], prefix: str) -> Groups:
    """Regroup the keys of one item that are themselves a flattened list.

    ``subgroups({"message.tool_calls.0.tool_call.id": "c1"}, "message.tool_calls.")``
    gives ``{0: {"tool_call.id": "c1"}}``.
    """
    found: Groups = {}
    size = len(prefix)
    for key, value in group.items():
        if key.startswith(prefix):
            index, dot, rest = key[size:].partition(".")
            if dot and index.isdigit():
                item = found.get(int(index))
                if item is None:
                    found[int(index)] = {rest: value}
                else:
                    item[rest] = value
    return found
