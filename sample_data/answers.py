"""Retrieval and answers over the knowledge base, with real vectors and real text.

Retrieval is exact cosine top-k over the chunk vectors. The "reranker" scores each
retrieved chunk by a second real signal, the best sentence-level similarity to the query,
blended with the chunk's own similarity and squashed to 0..1 as hosted rerankers report it.
Answers are extractive: the sentences of the chunks in context that are closest to the
question, phrased the way each prompt version makes the model answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import texts
from .embed import Embedder, sentences

__all__ = ["Answer", "Chunk", "Knowledge", "tokens"]


def tokens(text: str) -> int:
    """Approximate a model's token count for English text (about four characters a token)."""
    return max(1, math.ceil(len(text) / 4))


@dataclass(frozen=True)
class Chunk:
    """One documentation chunk."""

    id: str
    topic: str
    title: str
    text: str

    def excerpt(self) -> str:
        """The chunk as it appears in a prompt's context."""
        return f"[{self.id}] {self.title}\n{self.text}"


@dataclass
class Answer:
    """An answer and what it rests on."""

    text: str
    cited: list[str]
    grounded: bool  # built from a chunk that answers the question


class Knowledge:
    """The knowledge base with its chunk and sentence vectors."""

    def __init__(self, chunks: Sequence[Chunk], embedder: Embedder) -> None:
        self.chunks = list(chunks)
        self.index = {c.id: i for i, c in enumerate(self.chunks)}
        self.embedder = embedder
        self.vectors = embedder.encode([f"{c.title}. {c.text}" for c in self.chunks])
        self.sentences = [sentences(c.text) for c in self.chunks]
        flat = [s for group in self.sentences for s in group]
        matrix = embedder.encode(flat)
        self.sentence_vectors: list[np.ndarray] = []
        at = 0
        for group in self.sentences:
            self.sentence_vectors.append(matrix[at : at + len(group)])
            at += len(group)

    def retrieve(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` chunks most similar to ``query``: (chunk index, cosine), best first."""
        scores = self.vectors @ query
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in top]

    def rerank(self, query: np.ndarray, hits: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
        """Re-score hits by chunk and best-sentence similarity; best first, scores in 0..1."""
        out = []
        for i, cosine in hits:
            best_sentence = float(np.max(self.sentence_vectors[i] @ query))
            blended = 0.5 * cosine + 0.5 * best_sentence
            out.append((i, 1.0 / (1.0 + math.exp(-12.0 * (blended - 0.5)))))
        return sorted(out, key=lambda h: -h[1])

    def best_sentences(self, query: np.ndarray, chunk: int, n: int) -> list[str]:
        """The ``n`` sentences of a chunk closest to ``query``, in their original order."""
        scores = self.sentence_vectors[chunk] @ query
        keep = sorted(np.argsort(-scores)[:n])
        return [self.sentences[chunk][i] for i in keep]

    def context(self, hits: Sequence[tuple[int, float]]) -> str:
        """The excerpts of the hits, as a prompt's context."""
        return "\n\n".join(self.chunks[i].excerpt() for i, _ in hits)

    def answer(
        self,
        rng: np.random.Generator,
        query: np.ndarray,
        gold: Sequence[str],
        hits: Sequence[tuple[int, float]],
        style: str,
        lead: str = "",
    ) -> Answer:
        """Answer from the chunks in context.

        Args:
            rng: The generator's random numbers (for phrasing).
            query: The question's vector.
            gold: Ids of the chunks that answer the question (empty if none does).
            hits: The chunks in the prompt's context, best first.
            style: ``v1`` (grounded, cited), ``v2`` (one short sentence, no citation) or
                ``draft`` (a reply for a support agent, with sources at the end).
            lead: A sentence to put first (what a tool returned).
        """
        in_context = [i for i, _ in hits if self.chunks[i].id in gold]
        grounded = bool(in_context)
        sources = (in_context or [hits[0][0]])[:2]
        cited = [self.chunks[i].id for i in sources]
        if style == "v2":
            sentence = self.best_sentences(query, sources[0], 1)[0]
            body = str(rng.choice(texts.V2_LEAD_INS)) + (lead + " " if lead else "") + sentence
            return Answer(body + str(rng.choice(texts.V2_CLOSINGS)), [], grounded)
        parts = [lead] if lead else []
        for n, i in enumerate(sources):
            picked = " ".join(self.best_sentences(query, i, 2 if n == 0 else 1))
            parts.append(picked + (f" [{self.chunks[i].id}]" if style == "v1" else ""))
        if style == "draft":
            return Answer(" ".join(parts), cited, grounded)
        body = str(rng.choice(texts.V1_LEAD_INS)) + " ".join(parts) + str(rng.choice(texts.V1_CLOSINGS))
        return Answer(body, cited, grounded)

    def uncovered_answer(self, rng: np.random.Generator, hits: Sequence[tuple[int, float]], style: str) -> Answer:
        """A vague or invented answer to a question the documentation does not cover."""
        cite = self.chunks[hits[0][0]].id
        if style == "v2":
            return Answer(str(rng.choice(texts.NEW_TOPIC_ANSWERS_V2)), [], False)
        text = str(rng.choice(texts.NEW_TOPIC_ANSWERS_V1)).replace("{cite}", cite)
        return Answer(text, [cite] if cite in text else [], False)


def draft_reply(rng: np.random.Generator, body: str, name: str, agent: str, cited: Sequence[str]) -> str:
    """A ticket reply draft around an answer body."""
    greeting = str(rng.choice([f"Hi {name},", f"Hello {name},", f"Hi {name}, thanks for reaching out."]))
    opener = str(rng.choice(["Thanks for getting in touch.", "Thanks for the details.", "Sorry for the trouble.", ""]))
    closing = str(
        rng.choice(
            [
                "Let me know if anything is unclear.",
                "If this doesn't solve it, reply with your workspace ID and the run ID and we'll dig in.",
                "Happy to jump on a call if that's easier.",
            ]
        )
    )
    first = agent.split("_", 1)[-1].capitalize()
    text = f"{greeting}\n\n{opener + ' ' if opener else ''}{body}\n\n{closing}\n\nBest regards,\n{first}\nLumen Support"
    if cited:
        text += "\n\n---\nSources for the agent: " + ", ".join(f"[{c}]" for c in cited)
    return text


def account_snapshot(rng: np.random.Generator, workspace_id: str, plan: str, region: str) -> str:
    """The account JSON the ticket-draft prompt v4 includes (pipelines, runs, usage)."""
    sources = ["postgres", "salesforce", "hubspot", "stripe", "s3", "mysql", "zendesk", "ga4", "kafka"]
    statuses = ["succeeded", "succeeded", "succeeded", "failed", "partial_success"]
    pipelines = []
    for _ in range(int(rng.integers(6, 16))):
        pid = "pl_" + "".join(str(x) for x in rng.integers(0, 10, 4))
        runs = [
            {
                "run_id": f"run_{int(rng.integers(10**7, 10**8))}",
                "status": str(rng.choice(statuses)),
                "rows_written": int(rng.integers(0, 2_000_000)),
                "duration_s": int(rng.integers(20, 5400)),
            }
            for _ in range(5)
        ]
        pipelines.append(
            {
                "id": pid,
                "source": str(rng.choice(sources)),
                "destination": str(rng.choice(["snowflake", "bigquery", "managed"])),
                "schedule": str(rng.choice(["15m", "1h", "6h", "24h"])),
                "streams": int(rng.integers(3, 120)),
                "last_runs": runs,
            }
        )
    snapshot = {
        "workspace_id": workspace_id,
        "plan": plan,
        "region": region,
        "seats": {"included": 25, "used": int(rng.integers(3, 30))},
        "rows_this_period": int(rng.integers(1, 140)) * 1_000_000,
        "pipelines": pipelines,
    }
    return json.dumps(snapshot, separators=(",", ":"))
