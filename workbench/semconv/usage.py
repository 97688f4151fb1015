"""Token usage and client-reported cost, with the rule for whether input counts include
the prompt cache.

``TokenUsage.prompt_includes_cache`` is decided from where the prompt count came from:

* **OpenInference** ``llm.token_count.prompt``: includes cache reads and writes (the spec
  says so, and its Anthropic instrumentor adds them up) -> ``True``.
* **OTel GenAI** ``gen_ai.usage.input_tokens`` / old ``prompt_tokens``: the spec says
  input tokens include cached tokens -> ``True``; OpenLLMetry's Anthropic instrumentor
  also adds cache reads and writes into this count. Exceptions, where the count is the
  Anthropic API's own ``input_tokens`` (cache excluded) copied through: **OpenLIT** spans
  and **Vercel AI SDK** spans whose provider is Anthropic -> ``False``.
* **Vercel AI SDK** ``ai.usage.inputTokens``: includes cached input (the SDK's usage
  type says so) except from its Anthropic provider -> ``False`` there.
* **Langfuse** usage details: Langfuse prices each usage key separately, so its ``input``
  excludes cached input -> ``False``.
* **MLflow** ``mlflow.chat.tokenUsage``: the provider's total input -> ``True``.
* Whatever the source, a prompt count smaller than the cache counts cannot include them
  -> ``False``.

``total`` is the sender's total, else ``prompt + completion`` when both came.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.model import TokenUsage
from workbench.semconv import keys
from workbench.semconv.build import new_tokens
from workbench.semconv.coerce import as_count, as_float
from workbench.semconv.fields import pick
from workbench.semconv.indexed import Hits

__all__ = ["UsageFallback", "client_cost", "token_usage"]

#: Counts a vendor sent inside a JSON attribute (Langfuse, MLflow): field -> count, plus
#: ``"convention"``. Field names are TokenUsage's.
UsageFallback = Mapping[str, Any]

_NATIVE_ANTHROPIC_COPIERS = frozenset({"openlit", "vercel"})
_EMPTY = new_tokens()
_NO_FALLBACK: UsageFallback = {}
_TOKEN_FIELDS = frozenset(
    {"prompt", "completion", "total", "cache_read", "cache_write", "reasoning"}
)


def token_usage(
    attributes: Mapping[str, Any],
    hits: Hits,
    conventions: set[str],
    provider: str | None,
    fallback: UsageFallback | None = None,
) -> TokenUsage:
    """Token usage from the attribute tables, then from a vendor's usage dict."""
    if fallback is None:
        if hits.keys().isdisjoint(_TOKEN_FIELDS):
            return _EMPTY  # most spans are not model calls: share one empty value
        fallback = _NO_FALLBACK
    prompt, rank = pick(attributes, hits, "prompt", as_count)
    source = keys.PROMPT_TOKENS[rank][1] if prompt is not None else None
    if prompt is None and fallback.get("prompt") is not None:
        prompt, source = fallback["prompt"], fallback.get("convention")
    completion = _count(attributes, hits, "completion", fallback)
    total = _count(attributes, hits, "total", fallback)
    cache_read = _count(attributes, hits, "cache_read", fallback)
    cache_write = _count(attributes, hits, "cache_write", fallback)
    reasoning = _count(attributes, hits, "reasoning", fallback)
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    return new_tokens(
        prompt=prompt,
        completion=completion,
        total=total,
        cache_read=cache_read,
        cache_write=cache_write,
        reasoning=reasoning,
        prompt_includes_cache=_includes_cache(
            prompt, source, conventions, provider, cache_read, cache_write
        ),
    )


def _count(
    attributes: Mapping[str, Any], hits: Hits, field: str, fallback: UsageFallback
) -> int | None:
    value = pick(attributes, hits, field, as_count)[0] if field in hits else None
    return value if value is not None else fallback.get(field)


def _includes_cache(
    prompt: int | None,
    source: str | None,
    conventions: set[str],
    provider: str | None,
    cache_read: int | None,
    cache_write: int | None,
) -> bool | None:
    """The rule in the module docstring."""
    if prompt is None:
        return None
    if (cache_read or 0) + (cache_write or 0) > prompt:
        return False
    if source == "langfuse":
        return False
    if (  # noqa: SIM103 - one branch per rule of the docstring
        source in ("gen_ai", "vercel")
        and provider is not None
        and "anthropic" in provider
        and not conventions.isdisjoint(_NATIVE_ANTHROPIC_COPIERS)
    ):
        return False
    return True


def client_cost(
    attributes: Mapping[str, Any], hits: Hits, fallback: float | None = None
) -> float | None:
    """The total cost the sender reported, in USD.

    OpenInference's ``llm.cost.total`` first, else the sum of its prompt and completion
    costs, else ``gen_ai.usage.cost``, else ``fallback`` (a vendor's cost details).
    """
    total, rank = pick(attributes, hits, "cost_total", as_float)
    if total is not None and rank == 0:
        return total
    if "cost_part" in hits:
        parts = [as_float(attributes.get(key)) for key in keys.COST_PARTS]
        present = [part for part in parts if part is not None]
        if present:
            return sum(present)
    return total if total is not None else fallback
