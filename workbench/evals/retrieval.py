"""Retrieval metrics from document annotations: precision@k, nDCG@k, hit rate, reciprocal rank.

Each retrieved document (a RETRIEVER or RERANKER span and a position) is relevant when its
annotations of the chosen name say so: their mean score at or above ``threshold``, or, when
none has a score, a positive label (``relevant``, ``yes`` ... see
:mod:`workbench.evals.outcome`). A document nobody judged counts as not relevant (the
``judged`` column says how many were). For one span, with ``rel`` the 0/1 relevance by
position and ``k`` the cut-off:

* ``precision@k`` = relevant among the first k / k (the standard definition: fewer than k
  retrieved documents count as misses);
* ``hit@k`` = 1 if any of the first k is relevant, else 0 (its mean over spans is the hit rate);
* ``reciprocal_rank`` = 1 / the rank (from 1) of the first relevant document, over the whole
  list, 0 when none is (its mean is the MRR);
* ``ndcg@k`` = DCG@k / ideal DCG@k with DCG = sum of gain / log2(rank + 1); the gain is the
  mean score (graded, clipped to [0, 1]) where documents have scores, else the 0/1 relevance;
  the ideal orders the retrieved documents' gains best first (documents never retrieved are
  unknown). 0 when nothing retrieved is relevant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from workbench.errors import ConfigError
from workbench.evals.outcome import passed

__all__ = [
    "dcg_at_k",
    "hit_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "reciprocal_rank",
    "retrieval_metrics",
    "summarize_retrieval",
]


def precision_at_k(relevant: Sequence[bool | int], k: int) -> float:
    """Relevant documents among the first ``k``, divided by ``k``."""
    if k <= 0:
        raise ConfigError(f"k={k} must be a positive whole number.")
    return sum(bool(r) for r in relevant[:k]) / k


def hit_at_k(relevant: Sequence[bool | int], k: int) -> float:
    """1.0 when any of the first ``k`` documents is relevant, else 0.0."""
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool | int]) -> float:
    """1 / the rank (from 1) of the first relevant document; 0.0 when none is."""
    for rank, value in enumerate(relevant, 1):
        if value:
            return 1.0 / rank
    return 0.0


def dcg_at_k(gains: Sequence[float], k: int) -> float:
    """Discounted cumulative gain of the first ``k``: sum of gain / log2(rank + 1)."""
    return sum(float(g) / math.log2(rank + 1) for rank, g in enumerate(gains[:k], 1))


def ndcg_at_k(gains: Sequence[float], k: int) -> float:
    """DCG@k over the DCG@k of the same gains sorted best first; 0.0 when all gains are 0."""
    ideal = dcg_at_k(sorted((float(g) for g in gains), reverse=True), k)
    return dcg_at_k(gains, k) / ideal if ideal > 0 else 0.0


def _judgements(annotations: pd.DataFrame, threshold: float) -> dict[tuple[str, int], tuple[bool, float]]:
    """(span id, position) -> (relevant, gain) from one name's document annotations."""
    out: dict[tuple[str, int], tuple[bool, float]] = {}
    for (span_id, position), group in annotations.groupby(["span_id", "document_position"], sort=False):
        scores = group["score"].dropna()
        if len(scores):
            mean = float(scores.mean())
            out[(span_id, int(position))] = (mean >= threshold, min(1.0, max(0.0, mean)))
            continue
        votes = [passed(None, label) for label in group["label"]]
        known = [v for v in votes if v is not None]
        relevant = bool(known) and sum(known) * 2 > len(known)  # the majority of those who said
        out[(span_id, int(position))] = (relevant, 1.0 if relevant else 0.0)
    return out


def _document_annotations(reader: Any, name: str | None, annotator_kind: str | None) -> tuple[str, pd.DataFrame]:
    frame = reader.annotations(name) if name else reader.annotations()
    frame = frame[frame["target"] == "document"]
    if annotator_kind:
        frame = frame[frame["annotator_kind"] == annotator_kind.upper()]
    if name is None:
        if frame.empty:
            raise ConfigError("There are no document annotations to measure retrieval with; run "
                              "ContextRelevance first, or log relevance labels with log_annotations.")
        name = str(frame["name"].value_counts().index[0])
        frame = frame[frame["name"] == name]
    return name, frame


def retrieval_metrics(
    reader: Any,
    name: str | None = None,
    *,
    k: int = 5,
    threshold: float = 0.5,
    annotator_kind: str | None = None,
    filter: str | None = None,
    start: Any = None,
    end: Any = None,
    project: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per retrieval span judged under ``name``: its metrics (see the module).

    Args:
        reader: A reader (``workbench.open(...)``) or anything with its ``annotations``,
            ``documents`` and ``spans`` methods.
        name: The document annotation name (default: the most used one, e.g. ``relevance``
            or ``context_relevance``).
        k: The cut-off.
        threshold: The mean score at which a document counts as relevant.
        annotator_kind: Only annotations of this kind (``HUMAN`` labels, ``LLM`` judges ...).
        filter: Only spans (of the retrievals) matching this filter; ``start``, ``end`` and
            ``project`` bound them too.

    Returns:
        Columns ``trace_id``, ``span_id``, ``start_time``, ``name``, ``retrieved``, ``judged``,
        ``relevant``, ``precision@k``, ``hit@k``, ``reciprocal_rank``, ``ndcg@k`` (``k`` the number).
    """
    name, annotations = _document_annotations(reader, name, annotator_kind)
    columns = ["trace_id", "span_id", "start_time", "name", "retrieved", "judged", "relevant",
               f"precision@{k}", f"hit@{k}", "reciprocal_rank", f"ndcg@{k}"]
    if annotations.empty:
        return pd.DataFrame(columns=columns)
    span_ids = list(dict.fromkeys(annotations["span_id"].dropna()))
    if filter or start or end or project:
        chosen = reader.spans(filter, start=start, end=end, project=project, columns=["span_id"])
        span_ids = [s for s in span_ids if s in set(chosen["span_id"])]
    judged = _judgements(annotations, threshold)
    rows = []
    for begin in range(0, len(span_ids), 500):
        ids = span_ids[begin:begin + 500]
        documents = reader.documents(span_ids=ids)
        for span_id, docs in documents.groupby("span_id", sort=False):
            docs = docs.sort_values("position")
            marks = [judged.get((span_id, int(p))) for p in docs["position"]]
            relevant = [bool(m and m[0]) for m in marks]
            gains = [m[1] if m else 0.0 for m in marks]
            rows.append({
                "trace_id": docs["trace_id"].iloc[0], "span_id": span_id, "start_time": docs["start_time"].iloc[0],
                "name": name, "retrieved": len(docs), "judged": sum(m is not None for m in marks),
                "relevant": sum(relevant), f"precision@{k}": precision_at_k(relevant, k),
                f"hit@{k}": hit_at_k(relevant, k), "reciprocal_rank": reciprocal_rank(relevant),
                f"ndcg@{k}": ndcg_at_k(gains, k),
            })
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["start_time", "span_id"], ignore_index=True)


def summarize_retrieval(metrics: pd.DataFrame) -> dict[str, Any]:
    """Means over spans of :func:`retrieval_metrics`' columns: precision@k, hit rate, MRR, nDCG@k."""
    out: dict[str, Any] = {"spans": len(metrics)}
    for column in metrics.columns:
        if "@" in column or column == "reciprocal_rank":
            label = {"reciprocal_rank": "mrr"}.get(column, column.replace("hit@", "hit_rate@"))
            out[label] = float(metrics[column].mean()) if len(metrics) else None
    return out
