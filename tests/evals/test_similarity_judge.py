"""The local judge: cosine similarity from word counts, a given embedding function, or stored vectors."""

from __future__ import annotations

import pytest

from tests.evals.conftest import ids
from tests.helpers import make_span
from workbench.evals import (
    AnswerRelevance,
    ContextRelevance,
    Faithfulness,
    JudgeError,
    SimilarityJudge,
    Task,
    run_evals,
)
from workbench.evals.similarity import cosine, lexical_vector, sentences
from workbench.model import Document, Embedding, SpanKind
from workbench.query import Reader


def test_word_count_cosine_by_hand():
    a, b = lexical_vector("Refunds for annual plans"), lexical_vector("annual refund plan")
    assert a == {"refund": 1, "annual": 1, "plan": 1} == b  # stop words dropped, plurals trimmed
    assert cosine(a, b) == pytest.approx(1.0)
    assert cosine(lexical_vector("reset password"), lexical_vector("password")) == pytest.approx(2 ** -0.5)
    assert cosine([1.0, 0.0], [0.6, 0.8]) == pytest.approx(0.6) and cosine([0.0, 0.0], [1.0, 0.0]) == 0.0
    assert sentences("One. Two!\nThree?  ") == ["One.", "Two!", "Three?"]


def test_verdicts_say_they_are_estimates():
    judge = SimilarityJudge()
    relevant = judge.judge(Task("context_relevance", question="How do refunds work for annual plans?",
                                document="Refunds for annual plans are prorated to the day."))
    assert relevant.label == "relevant" and relevant.score > 0.5
    assert relevant.explanation.startswith("Similarity estimate from word overlap, not a judgement")
    assert relevant.metadata["estimate"] == "similarity" and relevant.metadata["annotator"] == "similarity:lexical"
    off = judge.judge(Task("context_relevance", question="How do I reset my password?",
                           document="Invoices are emailed monthly."))
    assert (off.score, off.label) == (0.0, "irrelevant")


def test_faithfulness_and_recall_compare_sentence_by_sentence():
    judge = SimilarityJudge()
    context = ("Refunds for annual plans are prorated to the day. Monthly plans are not refunded.",)
    grounded = judge.judge(Task("faithfulness", answer="Annual plans get prorated refunds.", contexts=context))
    invented = judge.judge(Task("faithfulness", answer="Annual plans are prorated. Call sales for a discount.",
                                contexts=context))
    assert grounded.label == "faithful" and invented.score < grounded.score
    assert "least similar: 'Call sales for a discount.'" in invented.explanation
    recall = judge.judge(Task("context_recall", reference="Monthly plans are not refunded. Gift cards expire.",
                              contexts=context))
    assert recall.score == 0.5 and recall.label == "complete"
    with pytest.raises(JudgeError, match="needs a non-empty answer and retrieved context"):
        judge.judge(Task("faithfulness", answer="x", contexts=()))


def test_an_embedding_function_replaces_word_counts():
    def embed(texts):
        return [[1.0, 0.0] if "refund" in t.lower() else [0.0, 1.0] for t in texts]

    judge = SimilarityJudge(embed)
    verdict = judge.judge(Task("answer_relevance", question="refund?", answer="Refunds take a week"))
    assert (verdict.score, verdict.label, verdict.metadata["method"]) == (1.0, "relevant", "embedding")
    assert "the given embedding function" in verdict.explanation and judge.name == "similarity:embedding"
    with pytest.raises(JudgeError, match="returned 1 vectors for 2 texts"):
        SimilarityJudge(lambda texts: [[1.0]]).judge(Task("answer_relevance", question="a", answer="b"))


def test_stored_vectors_are_used_for_context_relevance(store):
    # The query's vector comes from the EMBEDDING span under the retriever, the documents' from the corpus.
    store.write([
        make_span(0, kind=SpanKind.CHAIN, name="rag", input_value="refunds?", output_value="..."),
        make_span(1, parent=0, kind=SpanKind.RETRIEVER, name="retrieve", input_value="refunds?",
                  documents=(Document(0, "near", "Alpha text."), Document(1, "far", "Beta text."))),
        make_span(2, parent=1, kind=SpanKind.EMBEDDING, name="embed",
                  embeddings=(Embedding(0, "refunds?", (1.0, 0.0), "m"),)),
    ])
    store.load_corpus([{"id": "near", "text": "Alpha text.", "vector": [0.8, 0.6]},
                       {"id": "far", "text": "Beta text.", "vector": [0.0, 1.0]}])
    run = run_evals(store, ContextRelevance(SimilarityJudge()), progress=False)
    scores = dict(zip(run.annotations["document_position"], run.annotations["score"]))
    assert scores == pytest.approx({0: 0.8, 1: 0.0})
    assert set(run.annotations["annotator"]) == {"similarity:stored"}
    assert set(Reader(store).annotations()["annotator_kind"]) == {"CODE"}


def test_the_local_judge_runs_the_evaluators_on_the_rag_store(rag_store):
    judge = SimilarityJudge()
    run = run_evals(rag_store, [Faithfulness(judge), AnswerRelevance(judge), ContextRelevance(judge)], progress=False)
    faithful = dict(zip(run.annotations.loc[run.annotations["name"] == "faithfulness", "span_id"],
                        run.annotations.loc[run.annotations["name"] == "faithfulness", "label"]))
    assert faithful == {ids(0, 0)[1]: "faithful", ids(1, 0)[1]: "unfaithful"}
    summary = run.summary().set_index("name")
    assert summary.loc["context_relevance", "verdicts"] == 4 and summary.loc["context_relevance", "pass_rate"] == 0.5
