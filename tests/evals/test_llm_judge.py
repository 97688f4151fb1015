"""The LLM judge against a stand-in OpenAI-compatible server on 127.0.0.1: evaluators end to end,
retries, timeouts, lenient parsing and errors that say what to fix."""

from __future__ import annotations

import pytest

from tests.evals.conftest import ids
from workbench.evals import (
    AnswerRelevance,
    ContextRecall,
    ContextRelevance,
    Faithfulness,
    JudgeError,
    LLMJudge,
    Task,
    run_evals,
)
from workbench.query import Reader


def test_evaluators_write_the_judges_verdicts_as_annotations(rag_store, standin):
    judge = LLMJudge("judge-1", base_url=standin.url, api_key="sk-test")
    run = run_evals(rag_store, [ContextRelevance(judge), Faithfulness(judge), AnswerRelevance(judge)], progress=False)
    assert run.failed == 0 and run.written == len(run.annotations) == 9
    assert run.skipped == {"faithfulness": {"no retrieved context": 1}}

    stored = Reader(rag_store).annotations()
    relevance = stored[stored["name"] == "context_relevance"].sort_values(["trace_id", "document_position"])
    assert list(relevance["target"]) == ["document"] * 4
    assert list(relevance["label"]) == ["relevant", "irrelevant", "irrelevant", "relevant"]
    assert set(relevance["span_id"]) == {ids(0, 1)[1], ids(1, 1)[1]}

    faithful = stored[stored["name"] == "faithfulness"].set_index("span_id")
    assert faithful.loc[ids(0, 0)[1], "score"] == 1.0 and faithful.loc[ids(1, 0)[1], "score"] == 0.0
    assert faithful.loc[ids(1, 0)[1], "label"] == "unfaithful"
    assert faithful["explanation"].str.startswith("stand-in:").all()  # the judge's explanation is kept
    assert set(stored["annotator"]) == {"llm:judge-1"} and set(stored["annotator_kind"]) == {"LLM"}
    assert set(stored["trace_id"]) == {ids(0, 0)[0], ids(1, 0)[0], ids(2, 0)[0]}

    answer = stored[stored["name"] == "answer_relevance"].set_index("span_id")
    assert answer.loc[ids(2, 0)[1], "label"] == "irrelevant"

    sent = standin.requests[0]
    assert sent["model"] == "judge-1" and sent["temperature"] == 0
    assert sent["response_format"] == {"type": "json_object"}
    assert standin.headers[0]["Authorization"] == "Bearer sk-test"


def test_a_second_run_skips_what_the_judge_already_judged(rag_store, standin):
    judge = LLMJudge("judge-1", base_url=standin.url)
    run_evals(rag_store, Faithfulness(judge), progress=False)
    sent = len(standin.requests)
    again = run_evals(rag_store, Faithfulness(judge), progress=False)
    assert len(standin.requests) == sent and again.skipped["faithfulness"]["already judged"] == 2
    other = run_evals(rag_store, Faithfulness(LLMJudge("judge-2", base_url=standin.url)), progress=False)
    assert len(other.annotations) == 2  # another judge's verdicts coexist with the first's
    assert len(Reader(rag_store).annotations("faithfulness")) == 4


def test_filter_limit_and_spans_choose_what_is_judged(rag_store, standin):
    judge = LLMJudge("judge-1", base_url=standin.url)
    run = run_evals(rag_store, AnswerRelevance(judge), "prompt_template_version == 'v2'", write=False, progress=False)
    assert sorted(run.annotations["trace_id"]) == [ids(1, 0)[0], ids(2, 0)[0]] and run.written == 0
    newest = run_evals(rag_store, AnswerRelevance(judge), limit=1, write=False, progress=False)
    assert list(newest.annotations["trace_id"]) == [ids(2, 0)[0]]
    llm = run_evals(rag_store, Faithfulness(judge, spans="span_kind == 'LLM'"), write=False, progress=False)
    assert set(llm.annotations["span_id"]) == {ids(0, 2)[1], ids(1, 2)[1]}
    assert Reader(rag_store).annotations().empty


def test_context_recall_uses_reference_answers_where_they_exist(rag_store, standin):
    judge = LLMJudge("judge-1", base_url=standin.url)
    references = {ids(0, 0)[0]: "Annual plans are refunded prorated to the day.",
                  "How do I reset my password?": "Open Settings, then Security, to reset the password."}
    run = run_evals(rag_store, ContextRecall(judge, references=references), progress=False)
    scores = dict(zip(run.annotations["trace_id"], run.annotations["score"]))
    assert scores == {ids(0, 0)[0]: 1.0, ids(1, 0)[0]: 1.0}
    assert run.skipped["context_recall"] == {"no reference answer": 1}
    assert any("REFERENCE:\n<<<\nAnnual plans" in r["messages"][-1]["content"] for r in standin.requests)


def test_retryable_failures_are_retried_with_backoff(standin):
    judge = LLMJudge("judge-1", base_url=standin.url, backoff=0.01)
    standin.script = ["500", "429", "fenced"]
    verdict = judge.judge(Task("answer_relevance", question="Reset my password", answer="Open password settings"))
    assert (verdict.score, verdict.label) == (1.0, "relevant") and judge.retries == 2


def test_a_timeout_is_retried_then_reported(standin):
    judge = LLMJudge("judge-1", base_url=standin.url, timeout=0.3, max_retries=1, backoff=0.01)
    standin.script = ["sleep:1", "sleep:1"]
    with pytest.raises(JudgeError, match=r"after 2 attempts.*raise timeout \(now 0.3s\)"):
        judge.judge(Task("answer_relevance", question="a question", answer="an answer"))


def test_https_to_a_plain_http_endpoint_is_reported_at_once_not_retried(standin):
    # A retry meets the same server: the error says what to change, before any backoff.
    judge = LLMJudge("judge-1", base_url=standin.url.replace("http://", "https://"), backoff=30)
    with pytest.raises(JudgeError, match=r"does not speak TLS \(https\).*use an http:// base_url"):
        judge.judge(Task("answer_relevance", question="a question", answer="an answer"))
    assert judge.retries == 0 and judge.calls == 1


def test_an_endpoint_without_json_mode_is_asked_again_without_it(standin):
    judge = LLMJudge("judge-1", base_url=standin.url)
    standin.script = ["no-json-mode"]
    verdict = judge.judge(Task("context_relevance", question="refund policy", document="Our refund policy: 5 days"))
    assert verdict.label == "relevant" and judge.json_mode is False
    assert "response_format" not in standin.requests[-1]


def test_errors_say_what_to_fix(standin):
    with pytest.raises(JudgeError, match=r"answered 404.*model 'missing-model' exists"):
        LLMJudge("missing-model", base_url=standin.url, max_retries=0).judge(Task("answer_relevance", "q", "a"))
    with pytest.raises(JudgeError, match=r"Cannot reach the judge endpoint.*check base_url"):
        LLMJudge("m", base_url="http://127.0.0.1:9/v1", max_retries=0).judge(Task("answer_relevance", "q", "a"))
    standin.script = ["garbage"]
    with pytest.raises(JudgeError, match=r"neither a score nor a label: 'I cannot decide\.'"):
        LLMJudge("m", base_url=standin.url).judge(Task("answer_relevance", "q", "a"))
    with pytest.raises(JudgeError, match="not an http"):
        LLMJudge("m", base_url="localhost:11434")


def test_a_run_with_a_dead_judge_stops_early_and_one_bad_answer_does_not(rag_store, standin):
    dead = LLMJudge("missing-model", base_url=standin.url, max_retries=0)
    with pytest.raises(JudgeError, match=r"first 5 evaluations all failed.*answered 404"):
        run_evals(rag_store, [ContextRelevance(dead), AnswerRelevance(dead)], progress=False)
    standin.script = ["garbage"]
    run = run_evals(rag_store, AnswerRelevance(LLMJudge("judge-1", base_url=standin.url)), concurrency=1,
                    progress=False)
    assert run.failed == 1 and len(run.annotations) == 2 and "neither a score nor a label" in run.errors[0]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"explanation": "on topic", "label": "relevant", "score": 0.9}', (0.9, "relevant", "on topic")),
        ('Sure.\n```json\n{"score": "80%", "label": "Yes"}\n```', (0.8, "relevant", None)),
        ('{"label": "not relevant"}', (0.0, "irrelevant", None)),
        ('{"score": 7, "reason": "mostly {about} it"}', (0.7, "relevant", "mostly {about} it")),
        ('score: 0.25, label: "irrelevant"', (0.25, "irrelevant", None)),
        ('{"Score": 1.5, "Label": "RELEVANT"}', (1.0, "relevant", None)),
    ],
)
def test_replies_are_read_leniently(reply, expected):
    from workbench.evals.parse import verdict

    result = verdict(reply, "context_relevance")
    assert (result.score, result.label, result.explanation) == expected


def test_a_run_through_a_server_url_reads_and_writes_over_http(server, rag_store, standin):
    run = run_evals(server.url, Faithfulness(LLMJudge("judge-1", base_url=standin.url)), progress=False)
    assert run.written == 2 and run.failed == 0
    assert sorted(Reader(rag_store).annotations("faithfulness")["score"]) == [0.0, 1.0]
