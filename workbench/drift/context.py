"""What happened around each query: its retrieval, its trace's latency, its evaluations.

A query embedding belongs to a trace. Its **retrieval** is the RETRIEVER span that is its
embedding span's parent (the usual OpenInference shape: ``retrieve`` > ``embed_query``),
else the first RETRIEVER span of its trace. Its **retrieval score** is the highest document
score of that span. Evaluations and feedback are averaged per trace and annotation name
(``score_<name>``), whether they were made on the trace, one of its spans or a document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from workbench.query import Reader

__all__ = ["CONTEXT_COLUMNS", "attach_context", "retrievals"]

#: Columns :func:`attach_context` adds (and ``score_<name>`` per annotation name).
CONTEXT_COLUMNS = ("retriever_span_id", "retrieval_score", "top_document_id", "latency_ms")

_NAME = re.compile(r"[^0-9a-zA-Z_]+")


def retrievals(reader: Reader, trace_ids: Sequence[str]) -> pd.DataFrame:
    """The documents returned by the RETRIEVER spans of these traces.

    Returns:
        ``trace_id, span_id, start_time, position, document_id, score``, in order.
    """
    columns = ["trace_id", "span_id", "start_time", "position", "document_id", "score"]
    if not len(trace_ids):
        return pd.DataFrame(columns=columns)
    table = reader.documents("span_kind == 'RETRIEVER'", trace_ids=list(trace_ids), arrow=True)
    return table.select(columns).to_pandas()


def _retriever_of(points: pd.DataFrame, docs: pd.DataFrame) -> pd.Series:
    """The retriever span of each query point (parent first, else the trace's first)."""
    if docs.empty:
        return pd.Series(None, index=points.index, dtype=object)
    spans = docs.drop_duplicates("span_id").sort_values(["start_time", "span_id"])
    first_of_trace = spans.drop_duplicates("trace_id").set_index("trace_id")["span_id"]
    is_retriever = points["parent_span_id"].isin(set(spans["span_id"]))
    return points["parent_span_id"].where(is_retriever, points["trace_id"].map(first_of_trace))


def _annotation_scores(reader: Reader, trace_ids: Sequence[str]) -> pd.DataFrame:
    """Mean annotation score per trace (rows) and annotation name (``score_<name>`` columns)."""
    table = reader.annotations(trace_ids=list(trace_ids), arrow=True)
    if table.num_rows == 0:
        return pd.DataFrame()
    frame = table.select(["trace_id", "name", "score"]).to_pandas().dropna(subset=["score", "trace_id"])
    if frame.empty:
        return pd.DataFrame()
    frame["name"] = "score_" + frame["name"].map(lambda n: _NAME.sub("_", str(n)).strip("_").lower())
    return frame.pivot_table(index="trace_id", columns="name", values="score", aggfunc="mean")


def attach_context(reader: Reader, points: pd.DataFrame, docs: pd.DataFrame) -> pd.DataFrame:
    """Add :data:`CONTEXT_COLUMNS` and ``score_<name>`` columns to query points.

    Args:
        reader: Where the points came from.
        points: Query points (and corpus points, which get empty values).
        docs: The retrieved documents of (at least) the points' traces, from :func:`retrievals`.
    """
    points = points.copy()
    is_query = points["source"] != "corpus"
    trace_ids = sorted(set(points.loc[is_query, "trace_id"].dropna()))
    queries = points[is_query]
    retriever = _retriever_of(queries, docs)
    points["retriever_span_id"] = pd.Series(retriever, index=queries.index).reindex(points.index)
    if not docs.empty:
        by_span = docs.sort_values(["span_id", "score"], ascending=[True, False], na_position="last")
        top = by_span.drop_duplicates("span_id").set_index("span_id")
        points["retrieval_score"] = points["retriever_span_id"].map(top["score"]).astype(float)
        points["top_document_id"] = points["retriever_span_id"].map(top["document_id"])
    else:
        points["retrieval_score"] = np.nan
        points["top_document_id"] = None
    if trace_ids:
        roots = reader.spans(trace_ids=trace_ids, root_only=True, columns=["trace_id", "latency_ms"])
        latency = roots.drop_duplicates("trace_id").set_index("trace_id")["latency_ms"]
        points["latency_ms"] = points["trace_id"].map(latency).astype(float)
        scores = _annotation_scores(reader, trace_ids)
        for column in scores.columns:
            points[column] = points["trace_id"].map(scores[column]).astype(float)
    else:
        points["latency_ms"] = np.nan
    return points
