"""Synthetic RAG traffic with planted drift, written through the real store.

Six topics sit on a hexagon in the first two of 16 dimensions (so even PCA separates
them). The corpus covers topics 0-3 only. The reference days (1-3) ask about topics 0-4;
the primary days (4-6) ask about the same, and from day 5 on, 40% of the questions are
about topic 5, which is new and has no corpus documents. So:

* topic 5 is the drifted cluster (primary only) and a coverage gap;
* topic 4 is a coverage gap that did not drift (asked in both windows, never indexed);
* the centroid distance from the reference jumps on day 5.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from tests.helpers import make_span
from workbench.model import Document, Embedding, Span, SpanKind

DIMS = 16
TOPICS = 6
NEW_TOPIC = 5
UNINDEXED_TOPIC = 4
START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
SHIFT = START + dt.timedelta(days=4)   # day 5 begins
PRIMARY_FROM = START + dt.timedelta(days=3)
END = START + dt.timedelta(days=6)
PER_DAY = 60


def centres() -> np.ndarray:
    angles = 2 * np.pi * np.arange(TOPICS) / TOPICS
    c = np.zeros((TOPICS, DIMS))
    c[:, 0], c[:, 1], c[:, 2] = np.cos(angles), np.sin(angles), 0.5
    return c


@dataclass
class Scenario:
    corpus_ids: list[str] = field(default_factory=list)
    corpus_vectors: np.ndarray | None = None
    query_topic: dict[str, int] = field(default_factory=dict)   # point id -> topic
    spans: list[Span] = field(default_factory=list)
    feedback: list[dict] = field(default_factory=list)


def rag_trace(trace: int, when: dt.datetime, text: str, vector: np.ndarray,
              docs: list[tuple[str, float]]) -> list[Span]:
    """One RAG trace: CHAIN root > RETRIEVER (documents) > EMBEDDING (the query's vector)."""
    base = int(when.timestamp() * 1e9)
    return [
        make_span(0, trace=trace, kind=SpanKind.CHAIN, name="rag", base_ns=base, duration_ms=900, input_value=text),
        make_span(1, trace=trace, parent=0, kind=SpanKind.RETRIEVER, name="retrieve", base_ns=base, start_ms=5,
                  duration_ms=50, input_value=text,
                  documents=tuple(Document(i, d, f"doc {d}", s) for i, (d, s) in enumerate(docs))),
        make_span(2, trace=trace, parent=1, kind=SpanKind.EMBEDDING, name="embed_query", base_ns=base, start_ms=6,
                  duration_ms=10, embeddings=(Embedding(0, text, tuple(float(x) for x in vector), "toy"),)),
    ]


def build(seed: int = 7) -> Scenario:
    rng = np.random.default_rng(seed)
    c = centres()
    sc = Scenario()
    corpus = []
    for topic in range(TOPICS):
        if topic in (NEW_TOPIC, UNINDEXED_TOPIC):
            continue
        for i in range(40):
            sc.corpus_ids.append(f"doc-{topic}-{i}")
            corpus.append(c[topic] + rng.normal(0, 0.05, DIMS))
    sc.corpus_vectors = np.asarray(corpus, dtype=np.float32)
    units = sc.corpus_vectors / np.linalg.norm(sc.corpus_vectors, axis=1, keepdims=True)
    trace = 0
    for day in range(6):
        for i in range(PER_DAY):
            when = START + dt.timedelta(days=day, minutes=int(i * 24 * 60 / PER_DAY))
            topic = NEW_TOPIC if when >= SHIFT and rng.random() < 0.4 else int(rng.integers(0, TOPICS - 1))
            vector = (c[topic] + rng.normal(0, 0.05, DIMS)).astype(np.float32)
            sims = units @ (vector / np.linalg.norm(vector))
            top = np.argsort(-sims)[:3]
            docs = [(sc.corpus_ids[j], round(float(sims[j]), 4)) for j in top]
            spans = rag_trace(trace, when, f"question about topic {topic} #{i}", vector, docs)
            sc.spans += spans
            sc.query_topic[f"{spans[2].span_id}:0"] = topic
            sc.feedback.append({"trace_id": spans[0].trace_id, "name": "user_feedback",
                                "score": 0.0 if topic in (NEW_TOPIC, UNINDEXED_TOPIC) else 1.0})
            trace += 1
    return sc


def load(store, sc: Scenario) -> None:
    """Write the scenario's spans, corpus and feedback into a store."""
    store.write(sc.spans)
    store.load_corpus([{"id": i, "text": f"doc {i}", "vector": v.tolist()}
                       for i, v in zip(sc.corpus_ids, sc.corpus_vectors)])
    store.add_annotations(sc.feedback)
