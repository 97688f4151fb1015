"""Retrieval diagnostics: is the retriever finding the right documents?

Each function takes the extracted sets (all of the window's queries, the whole corpus, the
retrieved documents) rather than the sampled projection, so nothing is missed:

* :func:`far_queries`: queries whose nearest corpus document is far (low cosine similarity);
* :func:`unretrieved_documents`: corpus documents no retrieval in the window returned;
* :func:`low_score_retrievals`: retrievals whose best document scored low;
* :func:`compare_retrieval`: for one query, what was retrieved beside its true nearest
  corpus neighbours.

Similarities are cosines of the stored vectors, computed here; scores are what the
retriever reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.drift.projection import nearest_neighbours, unit_rows
from workbench.drift.windows import EmbeddingSet
from workbench.errors import NotFoundError

__all__ = ["compare_retrieval", "far_queries", "low_score_retrievals", "unretrieved_documents"]


def _limit(frame: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    return frame if limit is None else frame.head(limit)


def far_queries(
    queries: EmbeddingSet, corpus: EmbeddingSet, *, threshold: float | None = None, limit: int | None = 50
) -> pd.DataFrame:
    """Queries ordered by the similarity of their nearest corpus document, farthest first.

    Args:
        threshold: Only queries whose nearest document's cosine similarity is below this.
        limit: At most this many rows (None for all).

    Returns:
        ``point_id, trace_id, span_id, time, text, nearest_document_id, nearest_similarity,
        nearest_text``.
    """
    columns = ["point_id", "trace_id", "span_id", "time", "text", "nearest_document_id", "nearest_similarity",
               "nearest_text"]
    if not len(queries) or not len(corpus):
        return pd.DataFrame(columns=columns)
    index, sims = nearest_neighbours(unit_rows(queries.vectors), unit_rows(corpus.vectors), 1)
    frame = queries.frame[["point_id", "trace_id", "span_id", "time", "text"]].copy()
    frame["nearest_document_id"] = corpus.frame["point_id"].to_numpy()[index[:, 0]]
    frame["nearest_similarity"] = sims[:, 0].astype(float)
    frame["nearest_text"] = corpus.frame["text"].to_numpy()[index[:, 0]]
    if threshold is not None:
        frame = frame[frame["nearest_similarity"] < threshold]
    frame = frame.sort_values(["nearest_similarity", "point_id"], kind="stable", ignore_index=True)
    return _limit(frame[columns], limit)


def unretrieved_documents(corpus: EmbeddingSet, documents: pd.DataFrame, queries: EmbeddingSet) -> pd.DataFrame:
    """Corpus documents that no retrieval in ``documents`` returned.

    Returns:
        ``document_id, text, nearest_query_similarity`` (how close the window's nearest
        query came: near 1 means "asked about but crowded out", low means "nobody asks"),
        closest-asked first.
    """
    columns = ["document_id", "text", "nearest_query_similarity"]
    if not len(corpus):
        return pd.DataFrame(columns=columns)
    retrieved = set(documents["document_id"].dropna()) if len(documents) else set()
    missing = ~corpus.frame["point_id"].isin(retrieved).to_numpy()
    frame = pd.DataFrame({"document_id": corpus.frame["point_id"][missing], "text": corpus.frame["text"][missing]})
    if len(queries) and missing.any():
        _, sims = nearest_neighbours(unit_rows(corpus.vectors[missing]), unit_rows(queries.vectors), 1)
        frame["nearest_query_similarity"] = sims[:, 0].astype(float)
    else:
        frame["nearest_query_similarity"] = np.nan
    frame = frame.sort_values(["nearest_query_similarity", "document_id"], ascending=[False, True],
                              na_position="last", ignore_index=True)
    return frame[columns]


def low_score_retrievals(
    documents: pd.DataFrame, queries: EmbeddingSet, *, threshold: float | None = None, limit: int | None = 50
) -> pd.DataFrame:
    """Retrievals ordered by their best document's score, lowest first.

    Args:
        documents: Retrieved documents (``trace_id, span_id, start_time, position,
            document_id, score``).
        queries: The queries, to show the text that was searched for.
        threshold: Only retrievals whose best score is below this.
        limit: At most this many rows (None for all).

    Returns:
        ``trace_id, span_id, start_time, top_score, top_document_id, documents, query``.
    """
    columns = ["trace_id", "span_id", "start_time", "top_score", "top_document_id", "documents", "query"]
    if documents.empty:
        return pd.DataFrame(columns=columns)
    ordered = documents.sort_values(["span_id", "score", "position"], ascending=[True, False, True],
                                    na_position="last")
    top = ordered.drop_duplicates("span_id").set_index("span_id")
    frame = pd.DataFrame({
        "trace_id": top["trace_id"], "start_time": top["start_time"], "top_score": top["score"].astype(float),
        "top_document_id": top["document_id"], "documents": documents.groupby("span_id").size(),
    }).rename_axis("span_id").reset_index()
    texts = queries.frame.dropna(subset=["parent_span_id"]).drop_duplicates("parent_span_id")
    by_parent = texts.set_index("parent_span_id")["text"]
    by_trace = queries.frame.drop_duplicates("trace_id").set_index("trace_id")["text"]
    frame["query"] = frame["span_id"].map(by_parent).fillna(frame["trace_id"].map(by_trace))
    if threshold is not None:
        frame = frame[frame["top_score"] < threshold]
    frame = frame.sort_values(["top_score", "span_id"], na_position="first", kind="stable", ignore_index=True)
    return _limit(frame[columns], limit)


def compare_retrieval(
    point_id: str, queries: EmbeddingSet, corpus: EmbeddingSet, documents: pd.DataFrame, retriever_span_id: str | None,
    *, k: int = 5,
) -> pd.DataFrame:
    """One query's retrieved documents beside its ``k`` nearest corpus documents.

    Returns:
        One row per rank from 0: ``retrieved_id, retrieved_score, retrieved_similarity,
        retrieved_text`` (what the retriever returned, with the cosine recomputed here when
        the document is in the corpus) and ``nearest_id, nearest_similarity, nearest_text,
        nearest_was_retrieved``.

    Raises:
        NotFoundError: No query has this point id.
    """
    matches = np.flatnonzero(queries.frame["point_id"].to_numpy() == point_id)
    if not len(matches):
        raise NotFoundError(f"There is no query point {point_id!r} in this analysis; ids look like 'span_id:0'.")
    row = matches[0]
    query = unit_rows(queries.vectors[row:row + 1])
    got = documents[documents["span_id"] == retriever_span_id].sort_values("position") if retriever_span_id \
        else documents.iloc[0:0]
    corpus_ids = corpus.frame["point_id"].to_numpy()
    corpus_text = corpus.frame["text"].to_numpy()
    position_of = {doc_id: i for i, doc_id in enumerate(corpus_ids)}
    units = unit_rows(corpus.vectors) if len(corpus) else np.zeros((0, queries.vectors.shape[1]), np.float32)
    if len(corpus):
        index, sims = nearest_neighbours(query, units, k)
        nearest_ids, nearest_sims = corpus_ids[index[0]], sims[0].astype(float)
    else:
        nearest_ids, nearest_sims = np.array([], dtype=object), np.array([], dtype=float)
    retrieved_ids = got["document_id"].tolist()
    rows = max(len(retrieved_ids), len(nearest_ids))
    out = []
    for rank in range(rows):
        entry: dict[str, object] = {"rank": rank}
        if rank < len(retrieved_ids):
            doc_id = retrieved_ids[rank]
            where = position_of.get(doc_id)
            entry.update(
                retrieved_id=doc_id, retrieved_score=float(got["score"].iloc[rank]) if pd.notna(got["score"].iloc[rank])
                else np.nan,
                retrieved_similarity=float(units[where] @ query[0]) if where is not None else np.nan,
                retrieved_text=corpus_text[where] if where is not None else None,
            )
        if rank < len(nearest_ids):
            doc_id = nearest_ids[rank]
            entry.update(nearest_id=doc_id, nearest_similarity=nearest_sims[rank],
                         nearest_text=corpus_text[position_of[doc_id]], nearest_was_retrieved=doc_id in retrieved_ids)
        out.append(entry)
    columns = ["rank", "retrieved_id", "retrieved_score", "retrieved_similarity", "retrieved_text", "nearest_id",
               "nearest_similarity", "nearest_text", "nearest_was_retrieved"]
    return pd.DataFrame(out, columns=columns)
