"""The evals judges as evaluators: an LLM judge over HTTP, and the local similarity judge."""

from __future__ import annotations

from workbench.evals import LLMJudge, SimilarityJudge
from workbench.experiments import Judged, add_examples, create_dataset, dataset, parse_evaluator, run_experiment

CASES = [
    {"example_id": "right", "input": "How are refunds for annual plans computed?",
     "expected": "Refunds for annual plans are prorated to the day."},
    {"example_id": "wrong", "input": "How are refunds for annual plans computed?",
     "expected": "Invoices are emailed monthly to the billing contact."},
    {"example_id": "open", "input": "Tell me something about refunds"},
]


def answer(input):
    return "Refunds for annual plans are prorated to the day."


def test_an_llm_judge_scores_correctness_and_relevance_through_the_endpoint(store, standin):
    create_dataset(store, "refunds", CASES)
    judge = LLMJudge("judge-1", base_url=standin.url)
    exp = run_experiment(store, "refunds", answer, [Judged(judge, "correctness"), Judged(judge, "answer_relevance")],
                         name="judged", progress=False)
    scores = exp.scores.set_index(["example_id", "name"])
    assert scores.loc[("right", "correctness"), "label"] == "correct"
    assert scores.loc[("wrong", "correctness"), "label"] == "incorrect"
    assert ("open", "correctness") not in scores.index  # no expected output: not judged
    assert scores.loc[("open", "answer_relevance"), "label"] == "relevant"
    assert exp.runs.set_index("example_id")["passed"].to_dict() == {"right": True, "wrong": False, "open": True}
    prompts = [r["messages"][-1]["content"] for r in standin.requests]
    assert any("REFERENCE:\n<<<\nInvoices are emailed monthly" in p for p in prompts)
    notes = exp.scores[exp.scores["name"] == "correctness"]
    assert set(notes["annotator"]) == {"experiment:judged"}


def test_the_similarity_judge_needs_no_network_and_the_cli_spellings_make_evaluators(store):
    create_dataset(store, "refunds", CASES)
    exp = run_experiment(store, "refunds", answer, [parse_evaluator("similarity")], name="local", progress=False)
    scores = exp.runs.set_index("example_id")["similarity"]
    assert scores["right"] > scores["wrong"] and scores["right"] >= 0.5
    judged = parse_evaluator("correctness", judge=SimilarityJudge())
    assert isinstance(judged, Judged) and judged.name == "correctness"
    assert add_examples(store, "refunds", [{"input": "More?"}]).version == dataset(store, "refunds").version == 2
