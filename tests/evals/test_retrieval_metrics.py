"""Retrieval metrics on hand-checked examples, then from stored document annotations."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.evals.conftest import ids
from workbench.errors import ConfigError
from workbench.evals import (
    hit_at_k,
    log_annotations,
    ndcg_at_k,
    precision_at_k,
    reciprocal_rank,
    retrieval_metrics,
    summarize_retrieval,
)
from workbench.query import Reader


def test_precision_at_k_by_hand():
    ranking = [1, 0, 1, 0, 0]
    assert precision_at_k(ranking, 1) == 1.0
    assert precision_at_k(ranking, 2) == 0.5
    assert precision_at_k(ranking, 3) == pytest.approx(2 / 3)
    assert precision_at_k(ranking, 5) == 0.4
    assert precision_at_k([1, 1], 5) == 0.4  # fewer than k retrieved: the missing ones are misses
    with pytest.raises(ConfigError, match="k=0"):
        precision_at_k(ranking, 0)


def test_hit_rate_and_reciprocal_rank_by_hand():
    assert hit_at_k([0, 0, 1], 2) == 0.0 and hit_at_k([0, 0, 1], 3) == 1.0
    assert reciprocal_rank([0, 0, 1, 1]) == pytest.approx(1 / 3)
    assert reciprocal_rank([1, 0]) == 1.0 and reciprocal_rank([0, 0]) == 0.0
    # MRR over three queries whose first relevant documents sit at ranks 1, 3 and none: (1 + 1/3 + 0) / 3
    assert sum(map(reciprocal_rank, ([1, 0], [0, 0, 1], [0, 0]))) / 3 == pytest.approx(4 / 9)


def test_ndcg_by_hand():
    # Binary gains [0, 1, 1]: DCG = 1/log2(3) + 1/log2(4) = 0.6309 + 0.5; ideal [1, 1, 0]: 1 + 0.6309.
    assert ndcg_at_k([0, 1, 1], 3) == pytest.approx((1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([0, 1, 1], 3) == pytest.approx(0.6934, abs=1e-4)
    # Graded gains [3, 2, 3, 0, 1, 2] (the Wikipedia example), k=6: 0.9608 (the ideal is over these gains).
    assert ndcg_at_k([3, 2, 3, 0, 1, 2], 6) == pytest.approx(0.9608, abs=1e-4)
    assert ndcg_at_k([1, 0], 2) == 1.0 and ndcg_at_k([0, 0], 2) == 0.0
    assert ndcg_at_k([0, 1], 1) == 0.0  # the ideal at k=1 is the relevant one first


def test_metrics_from_stored_document_labels(rag_store):
    reader = Reader(rag_store)
    # Trace 0's retriever got it first time; trace 1's ranked the answer second. Two judges on one
    # document disagree: their mean score (0.5) meets the threshold.
    labels = pd.DataFrame({
        "span_id": [ids(0, 1)[1], ids(0, 1)[1], ids(0, 1)[1], ids(1, 1)[1], ids(1, 1)[1]],
        "document_position": [0, 1, 1, 0, 1],
        "score": [1.0, 0.0, 1.0, 0.0, 1.0],
        "annotator": ["a", "a", "b", "a", "a"],
    })
    log_annotations(rag_store, labels, name="relevance")
    metrics = retrieval_metrics(reader, "relevance", k=2).set_index("span_id")
    first, second = metrics.loc[ids(0, 1)[1]], metrics.loc[ids(1, 1)[1]]
    assert (first["retrieved"], first["judged"], first["relevant"]) == (2, 2, 2)
    assert (first["precision@2"], first["hit@2"], first["reciprocal_rank"], first["ndcg@2"]) == (1.0, 1.0, 1.0, 1.0)
    assert (second["precision@2"], second["hit@2"], second["reciprocal_rank"]) == (0.5, 1.0, 0.5)
    assert second["ndcg@2"] == pytest.approx(1 / math.log2(3))
    summary = summarize_retrieval(metrics.reset_index())
    assert summary == pytest.approx({"spans": 2, "precision@2": 0.75, "hit_rate@2": 1.0, "mrr": 0.75,
                                     "ndcg@2": (1 + 1 / math.log2(3)) / 2})
    only_first = retrieval_metrics(reader, k=2, filter="input_value == 'How do refunds work for annual plans?'")
    assert list(only_first["span_id"]) == [ids(0, 1)[1]] and list(only_first["name"]) == ["relevance"]


def test_labels_without_scores_and_unjudged_documents(rag_store):
    log_annotations(rag_store, [{"span_id": ids(1, 1)[1], "document_position": 1, "label": "relevant"}],
                    name="relevance")
    row = retrieval_metrics(Reader(rag_store), "relevance", k=1).iloc[0]
    assert (row["judged"], row["relevant"], row["precision@1"], row["reciprocal_rank"]) == (1, 1, 0.0, 0.5)


def test_no_document_annotations_is_explained(rag_store):
    with pytest.raises(ConfigError, match="no document annotations"):
        retrieval_metrics(Reader(rag_store))
    assert retrieval_metrics(Reader(rag_store), "relevance").empty
