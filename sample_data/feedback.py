"""Feedback and evaluations on the emitted traces, as rows of workbench's annotations.

* ``user_feedback`` (HUMAN): thumbs up/down from end users (support agents, for drafts) on
  a share of traces. How likely a thumbs-up is depends on what happened in the trace: an
  error, a question the docs do not cover, whether the chunk that answers it reached the
  prompt, and the prompt version (v2's short, uncited answers please fewer people).
* ``relevance`` (LLM, a few HUMAN): a nightly judge labels each retrieved document of a
  sample of retrievals as relevant or not.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from .answers import Knowledge
from .support_app import Emitted

__all__ = ["annotations"]

UTC = dt.timezone.utc
JUDGE = "relevance-judge/gpt-4o-mini"
LEAD = "lead_nadia"

_DOWN_COMMENTS = {
    "error": ["it just errored", "Something went wrong again", "no answer, only an error"],
    "uncovered": [
        "There is no Copilot setting where it says",
        "this is made up",
        "didn't answer my question about Copilot",
        "vague, not helpful",
        "wrong, Copilot isn't in Integrations",
    ],
    "v2": [
        "too short, what are the steps?",
        "I need more detail than that",
        "which setting exactly?",
        "not specific enough",
    ],
    "miss": ["not what I asked", "wrong article", "doesn't answer the question"],
    "other": ["not helpful", "", ""],
}
_UP_COMMENTS = ["thanks!", "perfect", "exactly what I needed", "", "", "", "helpful"]


def _p_up(e: Emitted) -> tuple[float, str]:
    if e.error:
        return 0.05, "error"
    if e.feature == "billing_assistant":
        return (0.82, "other") if e.grounded else (0.3, "miss")
    if not e.covered:
        return 0.12, "uncovered"
    if e.feature == "ticket_draft":
        return (0.8, "other") if e.grounded else (0.35, "miss")
    if e.version == "v2":
        return (0.58, "v2") if e.grounded else (0.25, "miss")
    return (0.86, "other") if e.grounded else (0.35, "miss")


def _rate(e: Emitted) -> float:
    return {"help_center_search": 0.3, "support_chat": 0.38, "ticket_draft": 0.5, "billing_assistant": 0.2}[e.feature]


def _time(ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=UTC)


def annotations(rng: np.random.Generator, emitted: Sequence[Emitted], kb: Knowledge) -> list[dict[str, Any]]:
    """Return the feedback and relevance rows for the emitted traces."""
    rows: list[dict[str, Any]] = []
    for e in emitted:
        if rng.random() < _rate(e):
            p, why = _p_up(e)
            up = bool(rng.random() < p)
            comment = str(rng.choice(_UP_COMMENTS if up else _DOWN_COMMENTS[why]))
            delay = float(np.exp(rng.normal(4.0, 1.0)))  # seconds; median under a minute
            rows.append(
                {
                    "target": "trace",
                    "trace_id": e.trace_id,
                    "span_id": None,
                    "document_position": None,
                    "name": "user_feedback",
                    "score": 1.0 if up else 0.0,
                    "label": "thumbs_up" if up else "thumbs_down",
                    "explanation": comment or None,
                    "annotator_kind": "HUMAN",
                    "annotator": e.user_id,
                    "created_at": _time(e.end_ns) + dt.timedelta(seconds=delay),
                    "metadata": json.dumps(
                        {"feature": e.feature, "source": "widget" if e.feature != "ticket_draft" else "agent_console"}
                    ),
                }
            )
        if e.retriever_span_id and rng.random() < 0.15:
            rows.extend(_relevance(rng, e, kb))
    for row in rows:  # ids from the seeded generator, so runs are identical
        row["annotation_id"] = f"{int(rng.integers(0, 2**63)):016x}{int(rng.integers(0, 2**63)):016x}"
    return rows


def _relevance(rng: np.random.Generator, e: Emitted, kb: Knowledge) -> list[dict[str, Any]]:
    human = rng.random() < 0.2
    judged = _time(e.end_ns).replace(hour=2, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    judged += dt.timedelta(seconds=float(rng.uniform(0, 3600)))
    if human:
        judged = _time(e.end_ns) + dt.timedelta(hours=float(rng.uniform(2, 48)))
    scores = e.extra.get("retriever_scores", [])
    out = []
    for position, doc_id in enumerate(e.retrieved[:5]):
        chunk = kb.chunks[kb.index[doc_id]]
        relevant = doc_id in e.gold
        if not relevant and e.covered and position < len(scores) and scores[position] > 0.6:
            relevant = bool(rng.random() < 0.3)  # the question bank's links are not exhaustive
        if not human and rng.random() < 0.04:
            relevant = not relevant  # the judge is wrong sometimes
        explanation = (
            f'The passage "{chunk.title}" addresses what the user asked.'
            if relevant
            else f"The passage is about {chunk.title[0].lower() + chunk.title[1:]}, which does not answer the question."
        )
        out.append(
            {
                "target": "document",
                "trace_id": e.trace_id,
                "span_id": e.retriever_span_id,
                "document_position": position,
                "name": "relevance",
                "score": 1.0 if relevant else 0.0,
                "label": "relevant" if relevant else "irrelevant",
                "explanation": explanation,
                "annotator_kind": "HUMAN" if human else "LLM",
                "annotator": LEAD if human else JUDGE,
                "created_at": judged,
                "metadata": json.dumps({"document_id": doc_id, "rubric": "relevance-v1"}),
            }
        )
    return out
