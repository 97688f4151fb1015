"""The LLM judge's prompts: one per task kind, each asking for one JSON object.

Every user message has the same shape, so that any model (and the tests' stand-in server)
can find its parts::

    TASK: <kind>
    <instruction>
    QUESTION:
    <<<
    ...
    >>>
    DOCUMENT: / ANSWER: / CONTEXT: / REFERENCE: (as the kind needs)

The explanation is asked for before the verdict, so the model reasons first.
"""

from __future__ import annotations

from workbench.evals.judge import KINDS, Task

__all__ = ["MAX_CHARS", "messages"]

#: Each text is cut to this many characters (the judge sees the start of long documents).
MAX_CHARS = 6000

_SYSTEM = (
    "You are a careful, strict evaluator of a question-answering system. You judge only from the "
    "texts you are given, never from your own knowledge. Reply with one JSON object and nothing else: "
    '{{"explanation": "<one or two sentences>", "label": "{pos}" or "{neg}", "score": <number from 0 to 1>}}.'
)

_INSTRUCTIONS = {
    "context_relevance": (
        "Decide whether the DOCUMENT contains information that helps answer the QUESTION. "
        "Score 1 if it answers it or holds a necessary part of the answer, 0 if it is off-topic, "
        "and in between for partial help."
    ),
    "faithfulness": (
        "Decide whether the ANSWER is grounded in the CONTEXT: list the answer's factual claims to "
        "yourself and check each against the CONTEXT. The score is the fraction of claims the CONTEXT "
        "supports. An answer that only says it does not know is faithful."
    ),
    "answer_relevance": (
        "Decide whether the ANSWER addresses the QUESTION directly and usefully, whatever its "
        "correctness. Score 1 for a direct, complete answer, 0 for an evasive or off-topic one."
    ),
    "context_recall": (
        "Decide whether the CONTEXT contains the information in the REFERENCE answer: check each "
        "statement of the REFERENCE against the CONTEXT. The score is the fraction of statements the "
        "CONTEXT supports."
    ),
}


def _block(title: str, text: str | None, limit: int = MAX_CHARS) -> str:
    body = (text or "").strip()
    if len(body) > limit:
        body = body[:limit] + " [...]"
    return f"{title}:\n<<<\n{body}\n>>>"


def messages(task: Task) -> list[dict[str, str]]:
    """The chat messages asking an LLM to judge ``task``."""
    positive, negative = KINDS[task.kind]
    parts = [f"TASK: {task.kind}", _INSTRUCTIONS[task.kind], _block("QUESTION", task.question)]
    if task.kind == "context_relevance":
        parts.append(_block("DOCUMENT", task.document))
    elif task.kind in ("faithfulness", "answer_relevance"):
        if task.kind == "faithfulness":
            parts.append(_block("CONTEXT", _contexts(task.contexts), 3 * MAX_CHARS))
        parts.append(_block("ANSWER", task.answer))
    else:
        parts.append(_block("CONTEXT", _contexts(task.contexts), 3 * MAX_CHARS))
        parts.append(_block("REFERENCE", task.reference))
    return [
        {"role": "system", "content": _SYSTEM.format(pos=positive, neg=negative)},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def _contexts(contexts: tuple[str, ...]) -> str:
    return "\n\n".join(f"[{number}] {text.strip()}" for number, text in enumerate(contexts, 1))
