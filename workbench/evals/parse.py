"""Reading a judge model's reply as a :class:`~workbench.evals.judge.Verdict`, leniently.

Models asked for JSON still wrap it in code fences, add a sentence before it, quote the score
("0.8", "80%", "4/5"), use their own words for the label ("Yes", "partially relevant") or
leave one of the two out. :func:`verdict` accepts all of these; it fails only when neither a
score nor a label can be found, and then says what the reply was.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from workbench.evals.judge import KINDS, JudgeError, Verdict

__all__ = ["verdict"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_SCORE = re.compile(r'["\']?score["\']?\s*[:=]\s*["\']?([0-9.]+\s*(?:%|/\s*[0-9.]+)?)', re.IGNORECASE)
_LABEL = re.compile(r'["\']?label["\']?\s*[:=]\s*["\']([^"\']+)["\']', re.IGNORECASE)
_EXPLANATION = re.compile(r'["\']?explanation["\']?\s*[:=]\s*["\'](.+?)["\']\s*[,}]', re.IGNORECASE | re.DOTALL)

_YES = {"yes", "true", "pass", "passed", "correct", "supported", "grounded", "good"}
_NO = {"no", "false", "fail", "failed", "incorrect", "unsupported", "ungrounded", "hallucinated",
       "hallucination", "not relevant", "not_relevant", "off-topic", "off_topic", "bad"}


def _objects(text: str) -> list[str]:
    """Candidate JSON objects in ``text``: fenced blocks, then each balanced {...}."""
    found = [m.group(1).strip() for m in _FENCE.finditer(text)]
    depth, begin = 0, -1
    in_string, escaped = False, False
    for position, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"' and depth:
            in_string = True
        elif char == "{":
            if depth == 0:
                begin = position
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                found.append(text[begin:position + 1])
    return found


def _load(text: str) -> dict[str, Any] | None:
    stripped = text.strip()
    for candidate in [stripped, *_objects(stripped)]:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return {str(k).lower(): v for k, v in value.items()}
    return None


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if text.endswith("%"):
                number = float(text[:-1]) / 100
            elif "/" in text:
                top, bottom = (float(x) for x in text.split("/", 1))
                number = top / bottom
            else:
                number = float(text)
        except (ValueError, ZeroDivisionError):
            return None
    else:
        return None
    if not math.isfinite(number):
        return None
    if 1 < number <= 100 and number.is_integer():  # a 1-10 scale, or a percentage without its sign
        number = number / 10 if number <= 10 else number / 100
    return min(1.0, max(0.0, number))


def _label(value: Any, kind: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    positive, negative = KINDS[kind]
    word = value.strip().lower().replace("-", " ").replace("_", " ")
    if word in (positive, positive.replace("_", " ")):
        return positive
    negated = word.startswith(("not ", "un", "in", "ir")) and positive in word
    if word in (negative, negative.replace("_", " ")) or negated:
        return negative
    if word in _NO or word.startswith(("not ", "no ")):
        return negative
    if word in _YES or positive in word:
        return positive
    return None


def verdict(text: str, kind: str, threshold: float = 0.5) -> Verdict:
    """Read a judge's reply to a task of ``kind``.

    The score is clamped to [0, 1]; when only a label came, the score is 1 or 0; when only a
    score came, the label follows from ``threshold``.

    Raises:
        JudgeError: Neither a score nor a label could be read.
    """
    data = _load(text) or {}
    score = _score(data.get("score"))
    label = _label(data.get("label") or data.get("verdict"), kind)
    explanation = data.get("explanation") or data.get("reason") or data.get("reasoning")
    if score is None and label is None:  # no JSON, or JSON without the fields: read the text
        match = _SCORE.search(text)
        score = _score(match.group(1)) if match else None
        match = _LABEL.search(text)
        label = _label(match.group(1), kind) if match else None
        if explanation is None:
            match = _EXPLANATION.search(text)
            explanation = match.group(1) if match else None
    if score is None and label is None:
        shown = text.strip().replace("\n", " ")
        raise JudgeError(
            f"The judge's reply has neither a score nor a label: {shown[:200]!r}; use a model that "
            "follows JSON instructions, or one that supports response_format json_object."
        )
    positive, negative = KINDS[kind]
    if score is None:
        score = 1.0 if label == positive else 0.0
    if label is None:
        label = positive if score >= threshold else negative
    if explanation is not None and not isinstance(explanation, str):
        explanation = json.dumps(explanation)
    return Verdict(score=score, label=label, explanation=(explanation or "").strip() or None)
