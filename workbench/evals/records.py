"""What an evaluator sees of a span: the question, the answer, the documents, the context.

:func:`build_records` reads, for the spans to evaluate, their traces' spans, retrieved
documents and (when asked) embeddings, through the reader's public methods, so a local file
and a running server are read alike. For a span it settles:

* ``question``: a RETRIEVER's or RERANKER's own input (the query); for any other span the
  input of its trace's root (what the user asked), else its own input, else the first input
  in the trace (an agent root often has none; its first LLM call's user message is it);
* ``answer``: the span's output;
* ``documents``: the span's own retrieved documents, in order;
* ``contexts``: what the answer could have used: the documents of the trace's retrievals that
  started before the span (all of them for a root span). When a RERANKER is among them its
  output (the last one's) is the context, since that is what reached the prompt; otherwise
  every retriever's documents, in order, without repeats, at most ``max_contexts``;
* ``question_vector``: the stored embedding of the question's text in the trace, else of the
  first text embedded under the span (a retriever's query embedding), when asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Context", "Record", "build_records"]

_SPAN_COLUMNS = [
    "trace_id", "span_id", "parent_span_id", "name", "span_kind", "start_time", "input_value", "output_value",
]
_RETRIEVAL = ("RETRIEVER", "RERANKER")


@dataclass(frozen=True)
class Context:
    """One retrieved document."""

    span_id: str
    position: int
    document_id: str | None
    content: str | None
    score: float | None = None


@dataclass
class Record:
    """One span as evaluators see it (see the module)."""

    trace_id: str
    span_id: str
    span_kind: str
    name: str
    is_root: bool
    question: str | None
    answer: str | None
    documents: list[Context] = field(default_factory=list)
    contexts: list[Context] = field(default_factory=list)
    attributes: dict[str, Any] | None = None
    question_vector: list[float] | None = None
    document_vectors: dict[str, list[float]] = field(default_factory=dict)


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for begin in range(0, len(items), size):
        yield list(items[begin:begin + size])


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _attributes(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return dict(value) if isinstance(value, dict) else {}


def corpus_vectors(reader: Any) -> dict[str, list[float]]:
    """Document id -> vector from the reader's corpus; empty when it has none or cannot say."""
    corpus = getattr(reader, "corpus", None)
    if corpus is None:
        return {}
    try:
        frame = corpus()
    except Exception:  # noqa: BLE001 - a remote reader without the corpus, or an old store
        return {}
    return {str(d): list(v) for d, v in zip(frame["document_id"], frame["vector"]) if v is not None}


def build_records(
    reader: Any,
    spans: pd.DataFrame,
    *,
    attributes: bool = False,
    vectors: bool = False,
    corpus: dict[str, list[float]] | None = None,
    max_contexts: int = 8,
    chunk: int = 100,
) -> Iterator[Record]:
    """Records for the rows of ``spans`` (which need ``trace_id`` and ``span_id``), trace by trace."""
    if spans.empty:
        return
    wanted = set(spans["span_id"])
    trace_ids = list(dict.fromkeys(spans["trace_id"]))
    columns = _SPAN_COLUMNS + (["end_time", "attributes"] if attributes else ["end_time"])
    for ids in _chunks(trace_ids, chunk):
        all_spans = reader.spans(trace_ids=ids, columns=columns)
        documents = reader.documents(trace_ids=ids)
        embeddings = reader.embeddings(trace_ids=ids) if vectors else None
        by_trace_docs = {t: g for t, g in documents.groupby("trace_id", sort=False)} if len(documents) else {}
        by_trace_embs = (
            {t: g for t, g in embeddings.groupby("trace_id", sort=False)}
            if embeddings is not None and len(embeddings) else {}
        )
        for trace_id, trace_spans in all_spans.groupby("trace_id", sort=False):
            trace_spans = trace_spans.sort_values(["start_time", "span_id"])
            docs = by_trace_docs.get(trace_id)
            for row in trace_spans.itertuples(index=False):
                if row.span_id in wanted:
                    yield _record(row, trace_spans, docs, by_trace_embs.get(trace_id), corpus or {},
                                  attributes, max_contexts)


def _first_input(trace_spans: pd.DataFrame) -> str | None:
    for value in trace_spans["input_value"]:
        text = _text(value)
        if text:
            return text
    return None


def _contexts_of(docs: pd.DataFrame | None, span_ids: list[str]) -> list[Context]:
    if docs is None or not span_ids:
        return []
    out = []
    for span_id in span_ids:
        mine = docs[docs["span_id"] == span_id].sort_values("position")
        for d in mine.itertuples(index=False):
            out.append(Context(span_id, int(d.position), _text(d.document_id), _text(d.content),
                               None if pd.isna(d.score) else float(d.score)))
    return out


def _record(row: Any, trace_spans: pd.DataFrame, docs: pd.DataFrame | None, embs: pd.DataFrame | None,
            corpus: dict[str, list[float]], attributes: bool, max_contexts: int) -> Record:
    is_root = row.parent_span_id is None or (isinstance(row.parent_span_id, float) and pd.isna(row.parent_span_id))
    roots = trace_spans[trace_spans["parent_span_id"].isna()]
    root_input = _text(roots.iloc[0]["input_value"]) if len(roots) else None
    own_input = _text(row.input_value)
    retrieval = row.span_kind in _RETRIEVAL
    question = own_input if retrieval else (root_input or own_input or _first_input(trace_spans))
    documents = _contexts_of(docs, [row.span_id]) if retrieval else []

    others = trace_spans[trace_spans["span_kind"].isin(_RETRIEVAL) & (trace_spans["span_id"] != row.span_id)]
    if not is_root:
        before = others[others["start_time"] <= row.start_time]
        others = before if len(before) else others
    rerankers = others[others["span_kind"] == "RERANKER"]
    sources = [rerankers.iloc[-1]["span_id"]] if len(rerankers) else list(others["span_id"])
    contexts, seen = [], set()
    for context in _contexts_of(docs, sources):
        key = context.content or context.document_id
        if key and key not in seen:
            seen.add(key)
            contexts.append(context)
    record = Record(
        trace_id=row.trace_id, span_id=row.span_id, span_kind=row.span_kind, name=row.name, is_root=is_root,
        question=question, answer=_text(row.output_value), documents=documents, contexts=contexts[:max_contexts],
        attributes=_attributes(row.attributes) if attributes else None,
    )
    if embs is not None and question:
        same = embs[embs["text"].fillna("").str.strip() == question]
        if not len(same):
            children = trace_spans.loc[trace_spans["parent_span_id"] == row.span_id, "span_id"]
            same = embs[embs["span_id"].isin(set(children) | {row.span_id})].sort_values("position")
        if len(same):
            record.question_vector = list(same.iloc[0]["vector"])
    if corpus:
        record.document_vectors = {d.document_id: corpus[d.document_id] for d in documents if d.document_id in corpus}
    return record
