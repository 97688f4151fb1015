"""Retrieval diagnostics on a tiny example whose answers can be checked by hand.

Corpus (3 dimensions): d1 = x, d2 = y, d3 = (x + y) / sqrt 2.
q1 = x: its true neighbours are d1 (1.0), d3 (0.707), d2 (0.0); the retriever returned d2
then d3 (scores 0.10 and 0.71), missing d1.
q2 = z: every document is at similarity 0; the retriever returned d3 (score 0.05).
q3 = (x + y) / sqrt 2, asked before the primary window (reference), retrieved d1 and d3.
So in the primary window d1 is never retrieved, q2 is the farthest query and the weakest
retrieval, and q1's comparison shows the miss.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests.drift.conftest import needs_sklearn
from tests.drift.scenario import rag_trace
from workbench.drift import PCAProjector, Window, analyze
from workbench.errors import NotFoundError
from workbench.query import Reader

T0 = dt.datetime(2026, 5, 1, 12, tzinfo=dt.timezone.utc)
R = 1 / np.sqrt(2)


@pytest.fixture
def tiny(store):
    needs_sklearn()
    q1 = rag_trace(0, T0, "q1", np.array([1.0, 0.0, 0.0]), [("d2", 0.10), ("d3", 0.71)])
    q2 = rag_trace(1, T0 + dt.timedelta(minutes=5), "q2", np.array([0.0, 0.0, 1.0]), [("d3", 0.05)])
    q3 = rag_trace(2, T0 - dt.timedelta(days=1), "q3", np.array([R, R, 0.0]), [("d1", 0.71), ("d3", 1.0)])
    store.write(q1 + q2 + q3)
    store.load_corpus([{"id": "d1", "text": "about x", "vector": [1.0, 0.0, 0.0]},
                       {"id": "d2", "text": "about y", "vector": [0.0, 1.0, 0.0]},
                       {"id": "d3", "text": "about x and y", "vector": [R, R, 0.0]}])
    result = analyze(Reader(store), Window(start=T0), Window(end=T0), projector=PCAProjector())
    ids = {text: pid for text, pid in zip(result.points["text"], result.points["point_id"])}
    return result, ids


def test_far_queries_put_the_query_with_no_near_document_first(tiny):
    result, _ = tiny
    far = result.far_queries()
    assert far["text"].tolist() == ["q2", "q1"]  # primary only; q2 is orthogonal to everything
    assert far["nearest_similarity"].tolist() == pytest.approx([0.0, 1.0], abs=1e-6)
    assert far.iloc[1]["nearest_document_id"] == "d1"
    assert result.far_queries(threshold=0.5)["text"].tolist() == ["q2"]
    assert len(result.far_queries(limit=1)) == 1


def test_unretrieved_documents_are_those_no_primary_retrieval_returned(tiny):
    result, _ = tiny
    missing = result.unretrieved_documents()
    assert missing["document_id"].tolist() == ["d1"]
    assert missing.iloc[0]["nearest_query_similarity"] == pytest.approx(1.0)  # q1 asked for it


def test_low_score_retrievals_come_lowest_first_with_their_query(tiny):
    result, _ = tiny
    low = result.low_score_retrievals()
    assert low["query"].tolist() == ["q2", "q1"]
    assert low["top_score"].tolist() == pytest.approx([0.05, 0.71])
    assert low["top_document_id"].tolist() == ["d3", "d3"]
    assert low["documents"].tolist() == [1, 2]
    assert result.low_score_retrievals(threshold=0.5)["query"].tolist() == ["q2"]


def test_one_query_retrieved_beside_its_true_neighbours(tiny):
    result, ids = tiny
    table = result.compare_retrieval(ids["q1"], k=3)
    assert table["retrieved_id"].tolist()[:2] == ["d2", "d3"] and pd.isna(table["retrieved_id"].iloc[2])
    assert table["retrieved_score"].tolist()[:2] == pytest.approx([0.10, 0.71])
    assert table["retrieved_similarity"].tolist()[:2] == pytest.approx([0.0, R], abs=1e-6)
    assert table["nearest_id"].tolist() == ["d1", "d3", "d2"]
    assert table["nearest_similarity"].tolist() == pytest.approx([1.0, R, 0.0], abs=1e-6)
    assert table["nearest_was_retrieved"].tolist() == [False, True, True]
    assert table["nearest_text"].tolist()[0] == "about x"
    with pytest.raises(NotFoundError, match="no query point 'nope'"):
        result.compare_retrieval("nope")


def test_points_link_to_their_retrieval(tiny):
    result, _ = tiny
    points = result.points.set_index("text")
    assert points.loc["q1", "retrieval_score"] == pytest.approx(0.71)
    assert points.loc["q1", "top_document_id"] == "d3"
    assert points.loc["q2", "retrieval_score"] == pytest.approx(0.05)
    assert points.loc["q3", "source"] == "reference"
