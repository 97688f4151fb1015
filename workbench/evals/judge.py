"""What evaluators ask a judge, and what a judge answers.

An evaluator turns a span into :class:`Task` objects; a judge answers each with a
:class:`Verdict`. Any object with ``name``, ``annotator_kind`` and ``judge(task)`` is a
judge, so a custom one needs no base class. Two ship: :class:`~workbench.evals.LLMJudge`
(any OpenAI-compatible endpoint) and :class:`~workbench.evals.SimilarityJudge` (cosine
similarity, no network; a cruder estimate).

Task kinds and the labels their verdicts use:

===================  ==============================================  ============================
kind                 question asked                                  labels
===================  ==============================================  ============================
context_relevance    does the document help answer the question?     relevant / irrelevant
faithfulness         is every claim of the answer in the context?    faithful / unfaithful
answer_relevance     does the answer address the question?           relevant / irrelevant
context_recall       does the context hold what the reference says?  complete / incomplete
===================  ==============================================  ============================

Scores run from 0 to 1, higher is better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from workbench.errors import WorkbenchError

__all__ = ["KINDS", "Judge", "JudgeError", "Task", "Verdict"]

#: Task kind -> (positive label, negative label).
KINDS: dict[str, tuple[str, str]] = {
    "context_relevance": ("relevant", "irrelevant"),
    "faithfulness": ("faithful", "unfaithful"),
    "answer_relevance": ("relevant", "irrelevant"),
    "context_recall": ("complete", "incomplete"),
}


class JudgeError(WorkbenchError):
    """A judge could not answer: the endpoint failed or its answer could not be read."""


@dataclass(frozen=True)
class Task:
    """One question for a judge.

    Attributes:
        kind: One of :data:`KINDS`.
        question: The user's question.
        answer: The answer given (faithfulness, answer relevance).
        document: The one retrieved document judged (context relevance).
        contexts: The retrieved texts the answer could use (faithfulness, context recall).
        reference: The reference answer (context recall).
        question_vector: The question's stored embedding, when the store has it.
        document_vector: The document's stored embedding (from the corpus), when it has it.
    """

    kind: str
    question: str | None = None
    answer: str | None = None
    document: str | None = None
    contexts: tuple[str, ...] = ()
    reference: str | None = None
    question_vector: Sequence[float] | None = None
    document_vector: Sequence[float] | None = None


@dataclass(frozen=True)
class Verdict:
    """A judge's answer: a score from 0 to 1, a label and why."""

    score: float | None
    label: str | None
    explanation: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Judge(Protocol):
    """Answers tasks. ``judge`` may be called from several threads at once."""

    #: Who judged, as recorded in the annotations' ``annotator`` (``llm:gpt-4o-mini`` ...).
    name: str
    #: ``LLM`` or ``CODE`` (or ``HUMAN`` for a judge that asks people).
    annotator_kind: str

    def judge(self, task: Task) -> Verdict:
        """Answer one task; raise :class:`~workbench.evals.JudgeError` when it cannot."""
        ...
