"""Drift metrics: the centroid distance over time, and per-cluster counts and ratios.

Definitions (``share`` is a cluster's count over its set's count, so sets of different
sizes compare fairly):

* **centroid distance**: the Euclidean distance, in the original embedding space, between
  the mean vector of a time bucket's queries and the mean vector of the whole reference set;
  ``adjusted`` is the same with sampling noise taken out, so that buckets of few points
  (nights, weekends) do not look drifted.
* **drift ratio** of a cluster: ``(primary_share - reference_share) / (primary_share +
  reference_share)``, from -1 (only reference queries: a topic that went away) to +1 (only
  primary queries: a new topic).
* **corpus ratio**: ``(query_share - corpus_share) / (query_share + corpus_share)`` with the
  primary and reference queries together; +1 means queries with no corpus document near them.
  A cluster with a corpus ratio of at least ``gap_ratio`` is a **coverage gap**.
"""

from __future__ import annotations

from collections import Counter

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
        One row per source and bucket, oldest first: ``time`` (the bucket's start),
        ``source``, ``count``, ``distance`` and ``adjusted`` (see :func:`_adjusted`).
    """
    columns = ["time", "source", "count", "distance", "adjusted"]
    if bucket not in ("hour", "day"):
        raise ValueError(f"bucket={bucket!r}; use 'hour' or 'day'.")
    if not len(vectors) or not len(reference):
        return pd.DataFrame(columns=columns)
    centre = reference.astype(np.float64).mean(axis=0)
    width = 3_600_000_000 if bucket == "hour" else 86_400_000_000  # microseconds
    micros = pd.to_datetime(times, utc=True).dt.as_unit("us").astype("int64").to_numpy()
    stamps = micros // width * width
    is_primary = (np.asarray(sources, dtype=object) == PRIMARY).astype(np.int64)
    pairs, group = np.unique(np.stack([stamps, is_primary], axis=1), axis=0, return_inverse=True)
    group = group.ravel()
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0])
    sums = np.add.reduceat(vectors[order].astype(np.float64), starts, axis=0)
    counts = np.bincount(group, minlength=len(pairs))
    means = sums / counts[:, None]
    squared = np.bincount(group, weights=np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64),
                          minlength=len(pairs))
    frame = pd.DataFrame({
        "time": pd.to_datetime(pairs[:, 0], unit="us", utc=True),
        "source": np.where(pairs[:, 1] == 1, PRIMARY, REFERENCE),
        "count": counts.astype(np.int64),
        "distance": np.linalg.norm(means - centre, axis=1),
        "adjusted": _adjusted(means, centre, counts, squared, reference),
    })
    return frame.sort_values(["time", "source"], ignore_index=True)


def _adjusted(means: np.ndarray, centre: np.ndarray, counts: np.ndarray, squared: np.ndarray,
              reference: np.ndarray) -> np.ndarray:
    """The distance with the part due to sampling noise taken out.

    A bucket of n points has a centroid that lies, on average, ``tr(S) / n`` (squared) from
    the true one even when nothing changed (S is the bucket's covariance). For embeddings
    with hundreds of dimensions that is of the same order as real drift, so small buckets
    (nights, weekends) look drifted. ``adjusted = sqrt(max(0, distance² - tr(S_b)/n_b -
    tr(S_r)/n_r))``, the usual unbiased estimate; NaN for a bucket of one point.
    """
    r = reference.astype(np.float64)
    n_r = len(r)
    spread_r = ((r - centre) ** 2).sum() / (n_r - 1) / n_r if n_r > 1 else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        spread_b = (squared - counts * np.einsum("ij,ij->i", means, means)) / (counts - 1) / counts
        d2 = ((means - centre) ** 2).sum(axis=1) - spread_b - spread_r
    return np.where(counts > 1, np.sqrt(np.clip(d2, 0.0, None)), np.nan)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    total = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (a - b) / np.where(total > 0, total, 1), np.nan)


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
    labels = points["cluster"].to_numpy(dtype=np.int64)
    sources = points["source"].to_numpy(dtype=object)
    clusters, index = np.unique(labels, return_inverse=True)
    index = index.ravel()
    k = len(clusters)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(index[mask], minlength=k)

    n = {s: count(sources == s) for s in (PRIMARY, REFERENCE, CORPUS)}
    totals = {s: int(n[s].sum()) for s in n}
    share = {s: n[s] / totals[s] if totals[s] else np.zeros(k) for s in n}
    table = pd.DataFrame({"cluster": clusters, PRIMARY: n[PRIMARY], REFERENCE: n[REFERENCE], CORPUS: n[CORPUS]})
    table["size"] = n[PRIMARY] + n[REFERENCE] + n[CORPUS]
    table["primary_share"] = share[PRIMARY]
    table["reference_share"] = share[REFERENCE]
    table["drift_ratio"] = _ratio(share[PRIMARY], share[REFERENCE]) if totals[REFERENCE] else np.nan
    queries = totals[PRIMARY] + totals[REFERENCE]
    if totals[CORPUS] and queries:
        table["corpus_ratio"] = _ratio((n[PRIMARY] + n[REFERENCE]) / queries, share[CORPUS])
        table["coverage_gap"] = (table["corpus_ratio"] >= gap_ratio) & (table["cluster"] != NOISE)
    else:
        table["corpus_ratio"] = np.nan
        table["coverage_gap"] = False

    is_query = sources != CORPUS
    for column in ("retrieval_score", *score_columns):
        if column not in points:
            table["mean_retrieval_score"] = np.nan
            continue
        values = points[column].to_numpy(dtype=np.float64)
        usable = is_query & ~np.isnan(values)
        total = np.bincount(index[usable], weights=values[usable], minlength=k)
        seen = np.bincount(index[usable], minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            table["mean_retrieval_score" if column == "retrieval_score" else column] = np.where(
                seen > 0, total / np.where(seen > 0, seen, 1), np.nan)
    table["example"] = _examples(index, k, sources, points["text"].tolist())

    ranked = table[table["cluster"] != NOISE].sort_values(
        ["drift_ratio", PRIMARY, "size", "cluster"], ascending=[False, False, False, True], na_position="last"
    )
    table["rank"] = pd.Series(np.arange(1, len(ranked) + 1), index=ranked.index)
    order = [*ranked.index, *table.index[table["cluster"] == NOISE]]
    table = table.loc[order].reset_index(drop=True)
    table["rank"] = table["rank"].astype("Int64")
    return table[[*CLUSTER_COLUMNS, *score_columns]]


def _examples(index: np.ndarray, k: int, sources: np.ndarray, texts: list[object]) -> list[object]:
    """Each cluster's most frequent query text (or corpus text when it has no queries)."""
    query_counts: list[Counter[object]] = [Counter() for _ in range(k)]
    corpus_counts: list[Counter[object]] = [Counter() for _ in range(k)]
    for i, source, text in zip(index.tolist(), sources.tolist(), texts):
        if text is not None:
            (corpus_counts if source == CORPUS else query_counts)[i][text] += 1
    return [
        (q or c).most_common(1)[0][0] if (q or c) else None
        for q, c in zip(query_counts, corpus_counts)
    ]
