"""What happened around each query: its retrieval, its trace's latency, its evaluations.

A query embedding belongs to a trace. Its **retrieval** is the RETRIEVER span that is its
embedding span's parent (the usual OpenInference shape: ``retrieve`` > ``embed_query``),
else the first RETRIEVER span of its trace. Its **retrieval score** is the highest document
score of that span. Evaluations and feedback are averaged per trace and annotation name
(``score_<name>``), whether they were made on the trace, one of its spans or a document.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from workbench.read import Reader

__all__ = ["CONTEXT_COLUMNS", "attach_context", "retrievals"]

#: Columns :func:`attach_context` adds (and ``score_<name>`` per annotation name).
CONTEXT_COLUMNS = ("retriever_span_id", "retrieval_score", "top_document_id", "latency_ms")

_NAME = re.compile(r"[^0-9a-zA-Z_]+")


def retrievals(reader: Reader, trace_ids: Sequence[str]) -> pd.DataFrame:
    """The documents returned by the RETRIEVER spans of these traces.

    Returns:
        ``trace_id, span_id, start_time, position, document_id, score``, ordered by start
        time, span and position.
    """
    columns = ["trace_id", "span_id", "start_time", "position", "document_id", "score"]
    if not len(trace_ids):
        return pd.DataFrame(columns=columns)
    table = reader.documents("span_kind == 'RETRIEVER'", trace_ids=list(trace_ids), arrow=True)
    return table.select(columns).to_pandas()


def _retrieval_index(docs: pd.DataFrame) -> tuple[dict[str, tuple[float, str]], dict[str, str]]:
    """Each retriever span's best (score, document id), and each trace's first retriever span.

    ``docs`` comes ordered by start time, span and position (as :func:`retrievals` returns
    it), so a trace's first span met is its first retriever.
    """
    best: dict[str, tuple[float, str]] = {}
    first: dict[str, str] = {}
    if docs.empty:
        return best, first
    columns = (docs[c].tolist() for c in ("trace_id", "span_id", "document_id", "score"))
    for trace_id, span_id, document_id, score in zip(*columns):
        value = float("-inf") if score is None or math.isnan(score) else float(score)
        if span_id not in best or value > best[span_id][0]:
            best[span_id] = (value, document_id)
        first.setdefault(trace_id, span_id)
    return best, first


def _annotation_scores(reader: Reader, trace_ids: Sequence[str]) -> dict[str, dict[str, float]]:
    """Mean annotation score per ``score_<name>`` column and trace."""
    table = reader.annotations(trace_ids=list(trace_ids), arrow=True)
    sums: dict[str, dict[str, list[float]]] = {}
    names: dict[str, str] = {}
    for trace_id, name, score in zip(*(table.column(c).to_pylist() for c in ("trace_id", "name", "score"))):
        if trace_id is None or score is None:
            continue
        if name not in names:
            names[name] = "score_" + _NAME.sub("_", str(name)).strip("_").lower()
        entry = sums.setdefault(names[name], {}).setdefault(trace_id, [0.0, 0])
        entry[0] += score
        entry[1] += 1
    return {column: {t: total / n for t, (total, n) in by_trace.items()} for column, by_trace in sums.items()}


def attach_context(reader: Reader, points: pd.DataFrame, docs: pd.DataFrame) -> pd.DataFrame:
    """Add :data:`CONTEXT_COLUMNS` and ``score_<name>`` columns to query points.

    Args:
        reader: Where the points came from.
        points: Query points (and corpus points, which get empty values).
        docs: The retrieved documents of (at least) the points' traces, from :func:`retrievals`.
    """
    points = points.copy()
    sources = points["source"].tolist()
    traces = points["trace_id"].tolist()
    parents = points["parent_span_id"].tolist()
    trace_ids = sorted({t for t, s in zip(traces, sources) if s != "corpus" and t is not None})
    best, first = _retrieval_index(docs)
    retriever = [
        None if source == "corpus" else parent if parent in best else first.get(trace)
        for source, parent, trace in zip(sources, parents, traces)
    ]
    nothing = (float("nan"), None)
    found = [best.get(span, nothing) if span is not None else nothing for span in retriever]
    points["retriever_span_id"] = retriever
    points["retrieval_score"] = np.array([f[0] if f[0] != float("-inf") else np.nan for f in found], dtype=float)
    points["top_document_id"] = [f[1] for f in found]
    latency: dict[str, float] = {}
    scores: dict[str, dict[str, float]] = {}
    if trace_ids:
        roots = reader.spans(trace_ids=trace_ids, root_only=True, columns=["trace_id", "latency_ms"], arrow=True)
        latency = dict(zip(roots.column("trace_id").to_pylist(), roots.column("latency_ms").to_pylist()))
        scores = _annotation_scores(reader, trace_ids)
    nan = float("nan")
    points["latency_ms"] = np.array([latency.get(t, nan) if t is not None else nan for t in traces], dtype=float)
    for column in sorted(scores):
        by_trace = scores[column]
        points[column] = np.array([by_trace.get(t, nan) if t is not None else nan for t in traces], dtype=float)
    return points
