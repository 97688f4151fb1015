"""Quality: annotations in, evaluators over stored spans, retrieval metrics out.

Annotations (evaluations and feedback on a span, a trace, a retrieved document or a
session)::

    from workbench.evals import annotate, log_annotations
    annotate(wb, span_id=span_id, name="correctness", score=1, label="correct")
    log_annotations(wb, frame, name="relevance")      # keyed by span_id (+ document_position)

Evaluators, each with a judge, writing annotations::

    from workbench.evals import (LLMJudge, SimilarityJudge, ContextRelevance, Faithfulness,
                                 AnswerRelevance, ContextRecall, run_evals)
    judge = LLMJudge("gpt-4o-mini", api_key=key)          # any OpenAI-compatible endpoint
    run = run_evals(wb, [Faithfulness(judge), ContextRelevance(judge)], start="24h", limit=200)
    run.summary()

    run_evals(wb, [Faithfulness(SimilarityJudge())])      # no network: a cruder estimate

Retrieval metrics from document annotations::

    from workbench.evals import retrieval_metrics, summarize_retrieval
    summarize_retrieval(retrieval_metrics(wb, "relevance", k=5))   # precision@5, hit rate, MRR, nDCG@5

Modules: ``annotate`` (ways in from Python), ``judge`` (tasks, verdicts, the judge protocol),
``llm`` and ``prompts`` and ``parse`` (the LLM judge), ``similarity`` (the local judge),
``records`` (what a span's question, answer and context are), ``evaluators``, ``runner``,
``retrieval``, ``outcome`` (what counts as a pass), ``progress``.
"""

from __future__ import annotations

from workbench.evals.annotate import annotate, log_annotations
from workbench.evals.evaluators import AnswerRelevance, ContextRecall, ContextRelevance, Evaluator, Faithfulness
from workbench.evals.judge import Judge, JudgeError, Task, Verdict
from workbench.evals.llm import LLMJudge
from workbench.evals.outcome import passed
from workbench.evals.retrieval import (
    hit_at_k,
    ndcg_at_k,
    precision_at_k,
    reciprocal_rank,
    retrieval_metrics,
    summarize_retrieval,
)
from workbench.evals.runner import EvalRun, run_evals
from workbench.evals.similarity import SimilarityJudge

__all__ = [
    "AnswerRelevance",
    "ContextRecall",
    "ContextRelevance",
    "EvalRun",
    "Evaluator",
    "Faithfulness",
    "Judge",
    "JudgeError",
    "LLMJudge",
    "SimilarityJudge",
    "Task",
    "Verdict",
    "annotate",
    "hit_at_k",
    "log_annotations",
    "ndcg_at_k",
    "passed",
    "precision_at_k",
    "reciprocal_rank",
    "retrieval_metrics",
    "run_evals",
    "summarize_retrieval",
]
