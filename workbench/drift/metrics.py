"""Drift metrics: the centroid distance over time, and per-cluster counts and ratios.

Definitions (``share`` is a cluster's count over its set's count, so sets of different
sizes compare fairly):

* **centroid distance**: the Euclidean distance, in the original embedding space, between
  the mean vector of a time bucket's queries and the mean vector of the whole reference set.
* **drift ratio** of a cluster: ``(primary_share - reference_share) / (primary_share +
  reference_share)``, from -1 (only reference queries: a topic that went away) to +1 (only
  primary queries: a new topic).
* **corpus ratio**: ``(query_share - corpus_share) / (query_share + corpus_share)`` with the
  primary and reference queries together; +1 means queries with no corpus document near them.
  A cluster with a corpus ratio of at least ``gap_ratio`` is a **coverage gap**.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.drift.clustering import NOISE

__all__ = ["CLUSTER_COLUMNS", "auto_bucket", "centroid_distance", "centroid_timeline", "cluster_table"]

PRIMARY, REFERENCE, CORPUS = "primary", "reference", "corpus"

#: The columns of :func:`cluster_table`'s frame, before the per-annotation ``score_<name>`` ones.
CLUSTER_COLUMNS = (
    "cluster", "rank", "size", "primary", "reference", "corpus", "primary_share", "reference_share",
    "drift_ratio", "corpus_ratio", "coverage_gap", "mean_retrieval_score", "example",
)


def auto_bucket(times: pd.Series) -> str:
    """``"hour"`` for up to three days of data, else ``"day"``."""
    times = times.dropna()
    if times.empty:
        return "hour"
    return "hour" if times.max() - times.min() <= pd.Timedelta(days=3) else "day"


def centroid_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Euclidean distance between the mean rows of two matrices (NaN if either is empty)."""
    if not len(a) or not len(b):
        return float("nan")
    return float(np.linalg.norm(a.astype(np.float64).mean(axis=0) - b.astype(np.float64).mean(axis=0)))


def centroid_timeline(
    times: pd.Series, sources: pd.Series, vectors: np.ndarray, reference: np.ndarray, bucket: str
) -> pd.DataFrame:
    """The distance of each time bucket's centroid from the reference centroid.

    Args:
        times: When each query was embedded.
        sources: ``"primary"`` or ``"reference"`` for each query.
        vectors: The queries' vectors, row for row.
        reference: The reference set's vectors (their mean is the fixed point).
        bucket: ``"hour"`` or ``"day"``.

    Returns:
        One row per source and bucket: ``time`` (the bucket's start), ``source``, ``count``,
        ``distance``, oldest first.
    """
    columns = ["time", "source", "count", "distance"]
    if bucket not in ("hour", "day"):
        raise ValueError(f"bucket={bucket!r}; use 'hour' or 'day'.")
    if not len(vectors) or not len(reference):
        return pd.DataFrame(columns=columns)
    centre = reference.astype(np.float64).mean(axis=0)
    floored = pd.to_datetime(times, utc=True).dt.floor("h" if bucket == "hour" else "D")
    keys = pd.DataFrame({"time": floored.to_numpy(), "source": np.asarray(sources)})
    rows = []
    for (when, source), index in keys.groupby(["time", "source"], sort=True).indices.items():
        mean = vectors[index].astype(np.float64).mean(axis=0)
        rows.append((when, source, len(index), float(np.linalg.norm(mean - centre))))
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["time", "source"], ignore_index=True)


def _ratio(a: pd.Series, b: pd.Series) -> pd.Series:
    total = a + b
    return ((a - b) / total.where(total > 0)).astype(float)


def cluster_table(points: pd.DataFrame, *, gap_ratio: float = 0.8) -> pd.DataFrame:
    """One row per cluster with its counts, ratios and mean scores, ranked by drift.

    Args:
        points: Projected points with ``source``, ``cluster``, ``text`` and, for queries,
            ``retrieval_score`` and any ``score_<name>`` columns.
        gap_ratio: The corpus ratio from which a cluster with queries is a coverage gap.

    Returns:
        :data:`CLUSTER_COLUMNS` then ``score_<name>`` (mean per annotation name). ``rank``
        is 1 for the most drifted cluster: highest drift ratio, then most primary queries.
        Noise (cluster -1) is listed last and has no rank.
    """
    score_columns = sorted(c for c in points.columns if c.startswith("score_"))
    if points.empty:
        return pd.DataFrame(columns=[*CLUSTER_COLUMNS, *score_columns])
    counts = pd.crosstab(points["cluster"], points["source"])
    for source in (PRIMARY, REFERENCE, CORPUS):
        if source not in counts:
            counts[source] = 0
    totals = {s: int((points["source"] == s).sum()) for s in (PRIMARY, REFERENCE, CORPUS)}
    table = pd.DataFrame({"cluster": counts.index.astype(int)})
    for source in (PRIMARY, REFERENCE, CORPUS):
        table[source] = counts[source].to_numpy().astype(int)
    table["size"] = table[[PRIMARY, REFERENCE, CORPUS]].sum(axis=1)

    def share(source: str) -> pd.Series:
        return table[source] / totals[source] if totals[source] else pd.Series(0.0, index=table.index)

    table["primary_share"] = share(PRIMARY)
    table["reference_share"] = share(REFERENCE)
    table["drift_ratio"] = _ratio(table["primary_share"], table["reference_share"]) if totals[REFERENCE] \
        else np.nan
    queries = totals[PRIMARY] + totals[REFERENCE]
    if totals[CORPUS] and queries:
        query_share = (table[PRIMARY] + table[REFERENCE]) / queries
        table["corpus_ratio"] = _ratio(query_share, share(CORPUS))
        table["coverage_gap"] = (table["corpus_ratio"] >= gap_ratio) & (table["cluster"] != NOISE)
    else:
        table["corpus_ratio"] = np.nan
        table["coverage_gap"] = False

    is_query = points["source"] != CORPUS
    queries_only = points[is_query]
    by_cluster = queries_only.groupby("cluster")
    if "retrieval_score" in points:
        table["mean_retrieval_score"] = table["cluster"].map(by_cluster["retrieval_score"].mean())
    else:
        table["mean_retrieval_score"] = np.nan
    for column in score_columns:
        table[column] = table["cluster"].map(by_cluster[column].mean())
    table["example"] = table["cluster"].map(_examples(points))

    ranked = table[table["cluster"] != NOISE].sort_values(
        ["drift_ratio", PRIMARY, "size", "cluster"], ascending=[False, False, False, True], na_position="last"
    )
    table["rank"] = pd.Series(np.arange(1, len(ranked) + 1), index=ranked.index)
    order = [*ranked.index, *table.index[table["cluster"] == NOISE]]
    table = table.loc[order].reset_index(drop=True)
    table["rank"] = table["rank"].astype("Int64")
    return table[[*CLUSTER_COLUMNS, *score_columns]]


def _examples(points: pd.DataFrame) -> pd.Series:
    """Each cluster's most frequent query text (or corpus text when it has no queries)."""
    examples = {}
    for label, group in points.groupby("cluster"):
        texts = group.loc[group["source"] != CORPUS, "text"].dropna()
        if texts.empty:
            texts = group["text"].dropna()
        examples[label] = texts.value_counts().index[0] if not texts.empty else None
    return pd.Series(examples, dtype=object)
