"""One drift analysis: extract, sample, project, cluster, measure.

:func:`analyze` compares a **primary** window of query embeddings with a **reference**
window (or baseline) and the corpus, and returns a :class:`DriftResult` of DataFrames::

    from workbench.drift import Window, analyze
    result = analyze(reader, Window(start="7d"), Window(start="28d", end="7d"))
    result.clusters.head()            # ranked by drift ratio
    result.points                     # x, y, cluster, source, trace and span ids, scores
    result.timeline                   # centroid distance per hour or day
    result.export_cluster(3, "gap.parquet")

The projection (the slow part) is cached by :mod:`workbench.drift.cache`; everything else is
recomputed, so new feedback shows up in a cached analysis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.drift import diagnostics
from workbench.drift.cache import CachedProjection, MemoryCache, ProjectionCache, StoreCache, cache_key
from workbench.drift.clustering import cluster as hdbscan_cluster
from workbench.drift.clustering import default_min_cluster_size
from workbench.drift.context import attach_context, retrievals
from workbench.drift.metrics import auto_bucket, centroid_distance, centroid_timeline, cluster_table
from workbench.drift.projection import Projector, UMAPProjector
from workbench.drift.windows import EmbeddingSet, Window, corpus_set, extract
from workbench.errors import ConfigError, NotFoundError
from workbench.read import Reader, supports

__all__ = ["DriftParams", "DriftResult", "Progress", "analyze"]

#: Called with a stage name and the fraction done (0 to 1).
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class DriftParams:
    """How to project, cluster and measure. The defaults suit a few thousand points.

    Args:
        n_components: 2 (default) or 3.
        n_neighbors: UMAP's neighbourhood size.
        min_dist: UMAP's minimum distance between projected points.
        n_epochs: UMAP's optimisation rounds.
        points_per_set: At most this many points from each of primary, reference and corpus
            are projected, drawn with ``seed``; None projects all.
        min_cluster_size: HDBSCAN's smallest cluster; default 1% of the points, at least 10.
        min_samples: HDBSCAN's conservativeness; default ``min_cluster_size``.
        seed: The seed for sampling and UMAP.
        bucket: ``"hour"`` or ``"day"`` for the centroid time series; default by the span of
            the data (hours for up to three days).
        gap_ratio: The corpus ratio from which a cluster is a coverage gap.
        include_corpus: Project the corpus with the queries.
    """

    n_components: int = 2
    n_neighbors: int = 15
    min_dist: float = 0.1
    n_epochs: int = 200
    points_per_set: int | None = 1000
    min_cluster_size: int | None = None
    min_samples: int | None = None
    seed: int = 0
    bucket: str | None = None
    gap_ratio: float = 0.8
    include_corpus: bool = True

    def __post_init__(self) -> None:
        if self.n_components not in (2, 3):
            raise ConfigError(f"n_components={self.n_components!r}; choose 2 or 3.")
        if self.points_per_set is not None and self.points_per_set < 10:
            raise ConfigError(f"points_per_set={self.points_per_set!r}; use at least 10 (1000 is the default).")
        if self.bucket not in (None, "hour", "day"):
            raise ConfigError(f"bucket={self.bucket!r}; choose 'hour', 'day' or None (automatic).")
        if not -1.0 <= self.gap_ratio <= 1.0:
            raise ConfigError(f"gap_ratio={self.gap_ratio!r}; a corpus ratio lies between -1 and 1 (0.8 is usual).")

    def projector(self) -> UMAPProjector:
        """The UMAP projector these parameters describe."""
        return UMAPProjector(n_components=self.n_components, n_neighbors=self.n_neighbors,
                             min_dist=self.min_dist, n_epochs=self.n_epochs, seed=self.seed)


@dataclass
class DriftResult:
    """The outcome of :func:`analyze`: DataFrames, and the diagnostics that need the vectors.

    Attributes:
        points: One row per projected point: ``point_id, source`` (primary, reference or
            corpus), ``trace_id, span_id, position, time, project, span_name, text``, the
            coordinates ``x, y`` (and ``z``), ``cluster`` (-1 is noise),
            ``retriever_span_id, retrieval_score, top_document_id, latency_ms`` and one
            ``score_<name>`` per annotation name.
        clusters: One row per cluster, ranked by drift (see :mod:`workbench.drift.metrics`).
        timeline: Centroid distance per time bucket and source.
        centroid_distance: The distance between the primary and reference centroids overall.
        bucket: The time series' bucket, ``"hour"`` or ``"day"``.
        key: The cache key of the projection.
        cached: Whether the projection came from the cache.
        timings: Seconds per stage.
    """

    points: pd.DataFrame
    clusters: pd.DataFrame
    timeline: pd.DataFrame
    centroid_distance: float
    params: DriftParams
    projector: dict[str, Any]
    primary: Window
    reference: Window | None
    key: str
    cached: bool
    bucket: str = "day"
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    _queries: EmbeddingSet | None = field(default=None, repr=False)
    _corpus: EmbeddingSet | None = field(default=None, repr=False)
    _documents: pd.DataFrame | None = field(default=None, repr=False)

    # Clusters ------------------------------------------------------------------------------

    def cluster_points(self, cluster: int) -> pd.DataFrame:
        """The points of one cluster (queries first, newest first).

        Raises:
            NotFoundError: There is no such cluster.
        """
        if cluster not in set(self.points["cluster"]):
            known = sorted(set(self.clusters["cluster"]))
            raise NotFoundError(f"There is no cluster {cluster!r}; the clusters are {known}.")
        chosen = self.points[self.points["cluster"] == cluster]
        order = chosen.assign(_corpus=chosen["source"] == "corpus").sort_values(
            ["_corpus", "time"], ascending=[True, False], na_position="last")
        return order.drop(columns="_corpus").reset_index(drop=True)

    def cluster_queries(self, cluster: int) -> pd.DataFrame:
        """The queries (primary and reference) of one cluster, newest first."""
        points = self.cluster_points(cluster)
        return points[points["source"] != "corpus"].reset_index(drop=True)

    def export_cluster(self, cluster: int, path: str | Path | None = None) -> pd.DataFrame:
        """The points of one cluster as a DataFrame; written to Parquet too when ``path`` is given."""
        frame = self.cluster_points(cluster)
        if path is not None:
            frame.to_parquet(Path(path), index=False)
        return frame

    # Retrieval diagnostics -------------------------------------------------------------

    def _primary(self) -> EmbeddingSet:
        assert self._queries is not None
        mask = (self._queries.frame["source"] == "primary").to_numpy()
        return self._queries.take(np.flatnonzero(mask))

    def _primary_documents(self) -> pd.DataFrame:
        assert self._documents is not None and self._queries is not None
        traces = set(self._queries.frame.loc[self._queries.frame["source"] == "primary", "trace_id"])
        return self._documents[self._documents["trace_id"].isin(traces)]

    def far_queries(self, *, threshold: float | None = None, limit: int | None = 50) -> pd.DataFrame:
        """Primary queries whose nearest corpus document is far (see :func:`diagnostics.far_queries`)."""
        return diagnostics.far_queries(self._primary(), self._corpus_set(), threshold=threshold, limit=limit)

    def unretrieved_documents(self) -> pd.DataFrame:
        """Corpus documents no retrieval of the primary window returned."""
        return diagnostics.unretrieved_documents(self._corpus_set(), self._primary_documents(), self._primary())

    def low_score_retrievals(self, *, threshold: float | None = None, limit: int | None = 50) -> pd.DataFrame:
        """Retrievals of the primary window with the lowest best scores."""
        return diagnostics.low_score_retrievals(self._primary_documents(), self._primary(),
                                                threshold=threshold, limit=limit)

    def compare_retrieval(self, point_id: str, *, k: int = 5) -> pd.DataFrame:
        """One query's retrieved documents beside its ``k`` nearest corpus documents."""
        assert self._queries is not None and self._documents is not None
        frame = self._queries.frame
        matches = frame.index[frame["point_id"] == point_id]
        if not len(matches):
            raise NotFoundError(f"There is no query point {point_id!r} in this analysis; ids look like 'span_id:0'.")
        retriever = _retriever_span(frame.loc[matches[:1]], self._documents)
        return diagnostics.compare_retrieval(point_id, self._queries, self._corpus_set(), self._documents,
                                             retriever, k=k)

    def _corpus_set(self) -> EmbeddingSet:
        assert self._corpus is not None
        return self._corpus

    def summary(self) -> dict[str, Any]:
        """Counts, the overall centroid distance, the top cluster and timings, as a dict."""
        ranked = self.clusters.dropna(subset=["rank"])
        top = ranked.iloc[0].to_dict() if len(ranked) else None
        return {"counts": dict(self.counts), "centroid_distance": self.centroid_distance,
                "clusters": len(ranked), "coverage_gaps": int(self.clusters["coverage_gap"].sum()),
                "top_cluster": top, "cached": self.cached, "timings": dict(self.timings), "key": self.key}


def _retriever_span(rows: pd.DataFrame, documents: pd.DataFrame) -> str | None:
    if documents.empty:
        return None
    parent = rows["parent_span_id"].iloc[0]
    if parent is not None and (documents["span_id"] == parent).any():
        return str(parent)
    same_trace = documents[documents["trace_id"] == rows["trace_id"].iloc[0]].sort_values(["start_time", "span_id"])
    return str(same_trace["span_id"].iloc[0]) if len(same_trace) else None


def _no_progress(stage: str, fraction: float) -> None:
    return None


def analyze(
    reader: Reader,
    primary: Window,
    reference: Window | None = None,
    *,
    params: DriftParams | None = None,
    projector: Projector | None = None,
    cache: ProjectionCache | None = None,
    progress: Progress | None = None,
) -> DriftResult:
    """Compare a primary window of query embeddings with a reference window and the corpus.

    Args:
        reader: The store to read (a local :class:`workbench.query.Reader`).
        primary: The window under study (e.g. ``Window(start="7d")``).
        reference: What it is compared with (an earlier window, or ``Window(baseline=name)``);
            without one there are no drift ratios or time series.
        params: Projection, clustering and metric parameters (:class:`DriftParams`).
        projector: Overrides the UMAP projector ``params`` describes (e.g.
            :class:`workbench.drift.projection.PCAProjector` for a quick look).
        cache: Where projections are kept; default the store's ``drift_cache`` table.
        progress: Called with ``(stage, fraction)`` as the work goes on.

    Raises:
        NotFoundError: The primary window has no embeddings, or a baseline does not exist.
        ConfigError: Parameters are out of range, or vectors of different lengths meet.
        ImportError: UMAP or scikit-learn is missing; the message names the extra.
    """
    params = params or DriftParams()
    projector = projector or params.projector()
    if cache is None:
        cache = StoreCache(reader.store) if supports(reader, "store") else MemoryCache()
    report = progress or _no_progress
    timings: dict[str, float] = {}
    began = time.perf_counter()

    report("reading embeddings", 0.0)
    primary, reference = primary.resolved(), reference.resolved() if reference is not None else None
    primary_set = extract(reader, primary, "primary")
    if not len(primary_set):
        raise NotFoundError(
            f"The primary window ({primary.describe()}) has no embeddings; widen it, or check that "
            "EMBEDDING spans record their vectors (embedding.embeddings.N.embedding.vector)."
        )
    reference_set = extract(reader, reference, "reference") if reference is not None else EmbeddingSet.concat([])
    corpus = corpus_set(reader) if params.include_corpus else EmbeddingSet.concat([])
    queries = EmbeddingSet.concat([primary_set, reference_set])
    trace_ids = sorted(set(queries.frame["trace_id"].dropna()))
    documents = retrievals(reader, trace_ids)
    timings["extract"] = time.perf_counter() - began

    report("measuring the centroid distance", 0.1)
    mark = time.perf_counter()
    bucket = params.bucket or auto_bucket(queries.frame["time"])
    timeline = centroid_timeline(queries.frame["time"], queries.frame["source"], queries.vectors,
                                 reference_set.vectors, bucket)
    overall = centroid_distance(primary_set.vectors, reference_set.vectors)
    timings["timeline"] = time.perf_counter() - mark

    sampled = EmbeddingSet.concat([
        primary_set.sample(params.points_per_set, params.seed),
        reference_set.sample(params.points_per_set, params.seed + 1),
        corpus.sample(params.points_per_set, params.seed + 2),
    ])
    min_size = params.min_cluster_size or default_min_cluster_size(len(sampled))
    key_params = {**projector.key, "min_cluster_size": min_size, "min_samples": params.min_samples}
    key = cache_key(sampled.frame["source"] + "/" + sampled.frame["point_id"].astype(str), sampled.vectors, key_params)

    mark = time.perf_counter()
    hit = cache.get(key)
    if hit is not None and len(hit.coords) == len(sampled):
        coords, labels, cached = hit.coords, hit.labels, True
        timings["cache"] = time.perf_counter() - mark
    else:
        report("projecting", 0.2)
        coords = projector.fit_transform(sampled.vectors)
        timings["project"] = time.perf_counter() - mark
        report("clustering", 0.85)
        mark = time.perf_counter()
        labels = hdbscan_cluster(coords, min_cluster_size=min_size, min_samples=params.min_samples)
        timings["cluster"] = time.perf_counter() - mark
        cache.put(key, CachedProjection(coords, labels), key_params)
        cached = False

    report("measuring clusters", 0.9)
    mark = time.perf_counter()
    points = sampled.frame.copy()
    for axis, name in zip(range(coords.shape[1]), ("x", "y", "z")):
        points[name] = coords[:, axis]
    points["cluster"] = labels
    points = attach_context(reader, points, documents)
    clusters = cluster_table(points, gap_ratio=params.gap_ratio)
    timings["metrics"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - began
    report("done", 1.0)
    counts = {"primary": len(primary_set), "reference": len(reference_set), "corpus": len(corpus),
              "projected": len(sampled)}
    return DriftResult(
        points=points, clusters=clusters, timeline=timeline, centroid_distance=overall, params=params,
        projector=dict(projector.key), primary=primary, reference=reference, key=key, cached=cached,
        bucket=bucket, timings=timings, counts=counts, _queries=queries, _corpus=corpus, _documents=documents,
    )
