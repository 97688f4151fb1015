"""The built-in evaluators. Each takes a judge and turns spans into annotations.

===================  =========================  ==========================================
evaluator            judges (by default)        writes
===================  =========================  ==========================================
ContextRelevance     RETRIEVER spans            ``context_relevance`` on each retrieved
                                                document (span + position)
Faithfulness         root spans                 ``faithfulness`` on the span: is its answer
                                                grounded in the trace's retrieved context?
AnswerRelevance      root spans                 ``answer_relevance`` on the span
ContextRecall        root spans with a          ``context_recall`` on the span: does the
                     reference answer           retrieved context hold the reference?
===================  =========================  ==========================================

``spans=`` replaces the default choice of spans (a filter expression, e.g.
``"span_kind == 'LLM'"``); ``name=`` the annotation name. What a span's question, answer and
context are is settled in :mod:`workbench.evals.records`. A span lacking what an evaluator
needs (no documents, no answer, no reference) is skipped, and the run counts why.

A custom evaluator is any object with the attributes of :class:`Evaluator` and a
``tasks(record)`` method returning ``[(target, Task), ...]`` or a reason to skip.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

import pandas as pd

from workbench.errors import ConfigError
from workbench.evals.judge import Judge, Task
from workbench.evals.records import Record

__all__ = [
    "BUILT_IN",
    "AnswerRelevance",
    "ContextRecall",
    "ContextRelevance",
    "Evaluator",
    "Faithfulness",
    "Target",
    "built_in",
    "read_references",
]

#: Where a result is written: {"target": "span"|"document", "trace_id", "span_id", "document_position"}.
Target = dict[str, Any]
Planned = list[tuple[Target, Task]] | str


class Evaluator:
    """The base of the built-in evaluators.

    Args:
        judge: Who answers (an :class:`~workbench.evals.LLMJudge`, a
            :class:`~workbench.evals.SimilarityJudge`, or any judge).
        name: The annotation name written (default: the evaluator's).
        spans: A filter choosing the spans to judge (default: the evaluator's).
    """

    #: The annotation name written.
    default_name = ""
    #: The task kind asked of the judge.
    kind = ""
    #: Which spans are judged unless ``spans=`` says otherwise.
    default_spans = "parent_span_id is None"
    #: Whether the records need the spans' attributes (for reference answers).
    needs_attributes = False
    #: Whether the records need stored vectors (only similarity judges use them).
    needs_vectors = False

    def __init__(self, judge: Judge, *, name: str | None = None, spans: str | None = None) -> None:
        if not callable(getattr(judge, "judge", None)):
            raise ConfigError(
                f"{type(self).__name__} needs a judge with a judge(task) method, got {judge!r}; pass "
                "LLMJudge(model=..., base_url=...) or SimilarityJudge()."
            )
        self.judge = judge
        self.name = name or self.default_name
        self.spans = spans or self.default_spans
        self.needs_vectors = bool(getattr(judge, "use_stored_vectors", False)) and self.kind == "context_relevance"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.judge!r}, name={self.name!r})"

    def tasks(self, record: Record) -> Planned:
        """The tasks for one span, or why it is skipped."""
        raise NotImplementedError

    @staticmethod
    def span_target(record: Record) -> Target:
        return {"target": "span", "trace_id": record.trace_id, "span_id": record.span_id}


class ContextRelevance(Evaluator):
    """Is each retrieved document relevant to the query? One annotation per document."""

    default_name = "context_relevance"
    kind = "context_relevance"
    default_spans = "span_kind == 'RETRIEVER'"

    def tasks(self, record: Record) -> Planned:
        if not record.question:
            return "no query"
        if not record.documents:
            return "no retrieved documents"
        planned = []
        for doc in record.documents:
            if not doc.content:
                continue
            target = {"target": "document", "trace_id": record.trace_id, "span_id": record.span_id,
                      "document_position": doc.position}
            vector = record.document_vectors.get(doc.document_id) if doc.document_id else None
            planned.append((target, Task(self.kind, question=record.question, document=doc.content,
                                         question_vector=record.question_vector, document_vector=vector)))
        return planned or "documents without text"


class Faithfulness(Evaluator):
    """Is the span's answer grounded in the context retrieved before it?"""

    default_name = "faithfulness"
    kind = "faithfulness"

    def tasks(self, record: Record) -> Planned:
        if not record.answer:
            return "no answer"
        texts = tuple(c.content for c in record.contexts if c.content)
        if not texts:
            return "no retrieved context"
        return [(self.span_target(record), Task(self.kind, question=record.question, answer=record.answer,
                                                contexts=texts))]


class AnswerRelevance(Evaluator):
    """Does the span's answer address the question?"""

    default_name = "answer_relevance"
    kind = "answer_relevance"

    def tasks(self, record: Record) -> Planned:
        if not record.question:
            return "no question"
        if not record.answer:
            return "no answer"
        return [(self.span_target(record), Task(self.kind, question=record.question, answer=record.answer))]


References: TypeAlias = Mapping[str, str] | pd.DataFrame | Callable[[Record], str | None] | None


class ContextRecall(Evaluator):
    """Does the retrieved context hold what the reference answer says?

    Args:
        judge: Who answers.
        references: Where reference answers come from: a mapping from trace id, span id or
            question text to the reference; a DataFrame with a ``reference`` column and a
            ``trace_id``, ``span_id`` or ``question`` column; or a function of the
            :class:`~workbench.evals.records.Record`. Without it (or where it has none), the
            span's attributes are searched for ``reference_keys``.
        reference_keys: Attribute keys holding a reference answer on the span (a JSON text
            attribute is searched one level down, e.g. ``metadata`` -> ``reference``).
        name: The annotation name.
        spans: Which spans to judge.
    """

    default_name = "context_recall"
    kind = "context_recall"
    needs_attributes = True

    def __init__(
        self,
        judge: Judge,
        *,
        references: References = None,
        reference_keys: Sequence[str] = ("reference", "reference_answer", "expected_output", "ground_truth"),
        name: str | None = None,
        spans: str | None = None,
    ) -> None:
        super().__init__(judge, name=name, spans=spans)
        self.lookup = _reference_lookup(references)
        self.reference_keys = tuple(reference_keys)

    def reference(self, record: Record) -> str | None:
        """The reference answer for ``record``, if any."""
        found = self.lookup(record) if self.lookup else None
        if found:
            return str(found)
        attributes = record.attributes or {}
        for key in self.reference_keys:
            if attributes.get(key):
                return str(attributes[key])
        for value in attributes.values():  # one level down, in JSON text attributes (metadata ...)
            if isinstance(value, str) and value.startswith("{"):
                try:
                    nested = json.loads(value)
                except ValueError:
                    continue
                if isinstance(nested, dict):
                    for key in self.reference_keys:
                        if nested.get(key):
                            return str(nested[key])
        return None

    def tasks(self, record: Record) -> Planned:
        reference = self.reference(record)
        if not reference:
            return "no reference answer"
        texts = tuple(c.content for c in record.contexts if c.content)
        if not texts:
            return "no retrieved context"
        return [(self.span_target(record), Task(self.kind, question=record.question, contexts=texts,
                                                reference=reference))]


def _reference_lookup(references: References) -> Callable[[Record], str | None] | None:
    if references is None:
        return None
    if callable(references) and not isinstance(references, (Mapping, pd.DataFrame)):
        return references
    if isinstance(references, pd.DataFrame):
        if "reference" not in references.columns:
            raise ConfigError("The references DataFrame needs a 'reference' column.")
        keys = [c for c in ("trace_id", "span_id", "question") if c in references.columns]
        if not keys:
            raise ConfigError("The references DataFrame needs a trace_id, span_id or question column.")
        mapping: dict[str, str] = {}
        for key in keys:
            for k, v in zip(references[key], references["reference"]):
                if isinstance(k, str) and isinstance(v, str):
                    mapping[k.strip() if key == "question" else k] = v
        references = mapping
    table = dict(references)
    return lambda r: table.get(r.trace_id) or table.get(r.span_id) or table.get((r.question or "").strip())


#: The built-in evaluators by the name they write.
BUILT_IN: dict[str, type[Evaluator]] = {
    "context_relevance": ContextRelevance,
    "faithfulness": Faithfulness,
    "answer_relevance": AnswerRelevance,
    "context_recall": ContextRecall,
}


def built_in(names: Sequence[str], judge: Judge, *, references: References = None) -> list[Evaluator]:
    """The built-in evaluators named, each with ``judge`` (``references`` for context recall).

    Raises:
        ConfigError: A name is not one of :data:`BUILT_IN`.
    """
    out: list[Evaluator] = []
    for name in names:
        cls = BUILT_IN.get(name)
        if cls is None:
            raise ConfigError(f"There is no evaluator {name!r}; choose from {', '.join(BUILT_IN)}.")
        out.append(cls(judge, references=references) if cls is ContextRecall else cls(judge))
    return out


def read_references(path: str) -> pd.DataFrame:
    """Reference answers from a CSV, JSON Lines or Parquet file (see :class:`ContextRecall`).

    Raises:
        ConfigError: The file cannot be read or lacks the columns.
    """
    try:
        if path.endswith(".parquet"):
            frame = pd.read_parquet(path)
        elif path.endswith((".jsonl", ".ndjson")):
            frame = pd.read_json(path, lines=True)
        else:
            frame = pd.read_csv(path, dtype=str)  # ids such as 000...01 must stay text
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Cannot read reference answers from {path} ({exc}); give a CSV, JSONL or Parquet file."
        ) from None
    _reference_lookup(frame)  # checks the columns
    return frame
