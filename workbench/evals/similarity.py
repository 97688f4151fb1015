"""The local judge: cosine similarity, no network, no model download. A cruder estimate.

Similarity is not judgement: a document can resemble a question without answering it, and an
answer can reuse the context's words while contradicting it. Use :class:`SimilarityJudge` to
triage many spans cheaply or where no LLM may see the data, and read its scores as estimates.
Every verdict says so in its explanation and its metadata (``"estimate": "similarity"``), and
its annotator is ``similarity:<method>`` (``stored``, ``embedding`` or ``lexical``).

Vectors come from, in order:

1. the store, for context relevance, when both the question's embedding (an EMBEDDING span of
   the trace that embedded the question's text) and the document's (the corpus loaded with
   ``Store.load_corpus``) are stored with the same dimension (``method`` ``stored``);
2. ``embed``, a function from a list of texts to a list of vectors, when given
   (``method`` ``embedding``): e.g. ``SentenceTransformer(...).encode``;
3. otherwise word counts (``method`` ``lexical``): lowercased words without stop words,
   compared by cosine. Cheapest and crudest; its default threshold is lower (0.2).

Per kind: context relevance and answer relevance are the cosine of question and document or
answer; faithfulness is the mean, over the answer's sentences, of each one's best cosine with
a context sentence; context recall is the share of reference sentences whose best cosine with
a context sentence reaches the threshold.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from workbench.evals.judge import KINDS, JudgeError, Task, Verdict

__all__ = ["SimilarityJudge", "cosine", "lexical_vector", "sentences"]

Embed = Callable[[list[str]], Sequence[Sequence[float]]]
Vector = Any  # a dense sequence of floats, or a Counter of words

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_STOP = frozenset(
    [
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "has", "have", "how",
        "i", "if", "in", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "so", "that", "the",
        "their", "them", "then", "there", "these", "this", "to", "was", "we", "what", "when", "where", "which",
        "who", "why", "will", "with", "you", "your",
    ]
)


def lexical_vector(text: str) -> Counter[str]:
    """Word counts of ``text``: lowercased, stop words dropped, a plural 's' trimmed."""
    words = (w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
             for w in _WORD.findall(text.lower()))
    return Counter(w for w in words if w not in _STOP)


def sentences(text: str) -> list[str]:
    """``text`` split into sentences (at . ! ? and line breaks), without empty ones."""
    return [s.strip() for s in _SENTENCE.split(text or "") if len(s.strip()) > 2]


def cosine(a: Vector, b: Vector) -> float:
    """Cosine similarity of two dense vectors or two word Counters; 0 for an empty one."""
    if isinstance(a, Counter) or isinstance(b, Counter):
        small, large = (a, b) if len(a) <= len(b) else (b, a)
        dot = float(sum(count * large.get(word, 0) for word, count in small.items()))
        norm = math.sqrt(sum(c * c for c in a.values())) * math.sqrt(sum(c * c for c in b.values()))
    else:
        dot = float(sum(x * y for x, y in zip(a, b)))
        norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class SimilarityJudge:
    """Estimates relevance, faithfulness and recall from cosine similarity (see the module).

    Args:
        embed: Texts -> vectors. Without it, stored vectors or word counts are used.
        threshold: The cosine at which a verdict turns positive (default 0.2 for word counts,
            0.5 for embeddings).
        use_stored_vectors: Use the store's vectors for context relevance when it has them.
    """

    annotator_kind = "CODE"

    def __init__(self, embed: Embed | None = None, *, threshold: float | None = None,
                 use_stored_vectors: bool = True) -> None:
        self.embed = embed
        self.threshold = threshold
        self.use_stored_vectors = use_stored_vectors
        self.name = "similarity:embedding" if embed else "similarity:lexical"

    def __repr__(self) -> str:
        return f"SimilarityJudge({'embed=' + getattr(self.embed, '__name__', 'fn') if self.embed else 'lexical'})"

    def _threshold(self, method: str) -> float:
        if self.threshold is not None:
            return self.threshold
        return 0.2 if method == "lexical" else 0.5

    def _vectors(self, texts: list[str]) -> tuple[list[Vector], str]:
        if self.embed is None:
            return [lexical_vector(t) for t in texts], "lexical"
        try:
            vectors = [list(map(float, v)) for v in self.embed(texts)]
        except Exception as exc:  # noqa: BLE001 - the user's function: report whatever it raised
            raise JudgeError(f"The embedding function failed ({type(exc).__name__}: {exc}); check it.") from None
        if len(vectors) != len(texts):
            raise JudgeError(
                f"The embedding function returned {len(vectors)} vectors for {len(texts)} texts; "
                "it must return one vector per text, in order."
            )
        return vectors, "embedding"

    def judge(self, task: Task) -> Verdict:
        """Estimate ``task`` by similarity (see the module for how each kind is scored)."""
        if task.kind not in KINDS:
            raise JudgeError(f"SimilarityJudge cannot judge {task.kind!r}; it knows {', '.join(KINDS)}.")
        if task.kind == "context_relevance":
            return self._pair(task, task.question, task.document, "question and document")
        if task.kind == "answer_relevance":
            return self._pair(task, task.question, task.answer, "question and answer")
        if task.kind == "faithfulness":
            return self._coverage(task, task.answer, "answer", mean=True)
        return self._coverage(task, task.reference, "reference", mean=False)

    def _pair(self, task: Task, first: str | None, second: str | None, what: str) -> Verdict:
        if not first or not second:
            raise JudgeError(f"{task.kind} needs both texts of the {what}.")
        q, d = task.question_vector, task.document_vector
        if (self.use_stored_vectors and task.kind == "context_relevance" and q is not None and d is not None
                and len(q) == len(d) and len(q)):
            score, method = cosine(list(q), list(d)), "stored"
        else:
            (a, b), method = self._vectors([first, second])
            score = cosine(a, b)
        return self._verdict(task.kind, score, method, f"cosine {score:.2f} between the {what}")

    def _coverage(self, task: Task, text: str | None, what: str, *, mean: bool) -> Verdict:
        claims = sentences(text or "")
        context = [s for c in task.contexts for s in sentences(c)]
        if not claims or not context:
            raise JudgeError(f"{task.kind} needs a non-empty {what} and retrieved context.")
        vectors, method = self._vectors(claims + context)
        threshold = self._threshold(method)
        claim_vectors, context_vectors = vectors[: len(claims)], vectors[len(claims):]
        best = [max(cosine(c, x) for x in context_vectors) for c in claim_vectors]
        covered = sum(b >= threshold for b in best)
        worst = min(range(len(best)), key=best.__getitem__)
        score = sum(best) / len(best) if mean else covered / len(best)
        shown = claims[worst] if len(claims[worst]) <= 120 else claims[worst][:117] + "..."
        detail = (
            f"{covered} of {len(claims)} {what} sentences resemble a context sentence (cosine >= {threshold:.2f}); "
            f"least similar: {shown!r} ({best[worst]:.2f})"
        )
        return self._verdict(task.kind, score, method, detail, threshold)

    def _verdict(self, kind: str, score: float, method: str, detail: str, threshold: float | None = None) -> Verdict:
        threshold = self._threshold(method) if threshold is None else threshold
        positive, negative = KINDS[kind]
        score = min(1.0, max(0.0, score))
        source = {"stored": "stored vectors", "embedding": "the given embedding function",
                  "lexical": "word overlap"}[method]
        explanation = f"Similarity estimate from {source}, not a judgement: {detail}."
        return Verdict(
            score=score,
            label=positive if score >= threshold else negative,
            explanation=explanation,
            metadata={"estimate": "similarity", "method": method, "threshold": threshold,
                      "annotator": f"similarity:{method}"},
        )
