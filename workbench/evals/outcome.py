"""Whether an annotation is a pass: the one rule pass rates and retrieval metrics share.

A label says it when it is a known positive or negative word (``thumbs_up``, ``relevant``,
``faithful`` ... / ``thumbs_down``, ``irrelevant``, ``hallucinated`` ...); labels win because
a score's direction is the producer's choice (a hallucination score of 1 is bad). Otherwise
the score decides: at or above the threshold (0.5 unless told) is a pass. An annotation with
neither a known label nor a score (an explanation only) is neither.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["NEGATIVE_LABELS", "POSITIVE_LABELS", "passed"]

POSITIVE_LABELS = frozenset({
    "thumbs_up", "thumbsup", "up", "positive", "good", "helpful", "correct", "pass", "passed", "yes", "true",
    "relevant", "faithful", "grounded", "factual", "supported", "complete", "accurate",
})
NEGATIVE_LABELS = frozenset({
    "thumbs_down", "thumbsdown", "down", "negative", "bad", "unhelpful", "incorrect", "fail", "failed", "no",
    "false", "irrelevant", "unfaithful", "ungrounded", "hallucinated", "hallucination", "unsupported",
    "incomplete", "inaccurate",
})


def passed(score: Any, label: Any, threshold: float = 0.5) -> bool | None:
    """True for a pass, False for a fail, None when the annotation does not say."""
    if isinstance(label, str):
        word = label.strip().lower().replace("-", "_").replace(" ", "_")
        if word in POSITIVE_LABELS:
            return True
        if word in NEGATIVE_LABELS:
            return False
    if score is None or isinstance(score, bool):
        return None
    try:
        number = float(score)
    except (TypeError, ValueError):
        return None
    if math.isnan(number):
        return None
    return number >= threshold
