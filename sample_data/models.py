"""The models the fictional apps call, and how fast each one answers.

Time to first token is log-normal around a median that grows with the prompt; generation
runs at a steady rate. One provider (Google, in the help center's A/B test) has a slow tail:
a few percent of its calls wait seconds for their first token (story 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MODELS", "Profile", "timing"]


@dataclass(frozen=True)
class Profile:
    """How a model is named and how fast it is."""

    provider: str  # llm.provider / gen_ai.provider.name
    system: str  # llm.system (OpenInference's older key)
    span_name: str  # what the provider's OpenInference instrumentor names its spans
    ttft_ms: float  # median time to first token for a short prompt
    ttft_sigma: float
    ms_per_prompt_token: float  # added to the time to first token
    tokens_per_s: float
    tail_share: float = 0.0  # share of calls stuck in the provider's queue
    tail_ttft_ms: float = 0.0  # median first-token time of those calls


MODELS: dict[str, Profile] = {
    "gpt-4o-mini": Profile("openai", "openai", "ChatCompletion", 420, 0.35, 0.05, 88),
    "gpt-4o-2024-05-13": Profile("openai", "openai", "ChatCompletion", 560, 0.35, 0.06, 62),
    "gpt-4.1-2025-04-14": Profile("openai", "openai", "ChatCompletion", 600, 0.33, 0.06, 72),
    "gpt-4.1-mini": Profile("openai", "openai", "chat gpt-4.1-mini", 380, 0.33, 0.04, 95),
    "gemini-2.0-flash": Profile("google", "vertexai", "GenerateContent", 360, 0.3, 0.03, 160, 0.09, 9000),
    "claude-sonnet-4-5": Profile("anthropic", "anthropic", "Messages", 850, 0.3, 0.09, 68),
}


def timing(rng: np.random.Generator, model: str, prompt_tokens: int, completion_tokens: int) -> tuple[float, float]:
    """Return (time to first token, total duration) in milliseconds for one streamed call."""
    p = MODELS[model]
    if p.tail_share and rng.random() < p.tail_share:
        ttft = p.tail_ttft_ms * float(np.exp(0.45 * rng.standard_normal()))
    else:
        ttft = (p.ttft_ms + p.ms_per_prompt_token * prompt_tokens) * float(np.exp(p.ttft_sigma * rng.standard_normal()))
    generation = completion_tokens / (p.tokens_per_s * float(rng.uniform(0.8, 1.15))) * 1000
    return ttft, ttft + generation
