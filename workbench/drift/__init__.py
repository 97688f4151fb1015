"""Embedding drift and retrieval debugging, usable from Python without the app.

Compare the queries of a **primary** window with a **reference** window (or a saved
baseline) and the corpus: project them together with UMAP, cluster the projection with
HDBSCAN, rank the clusters by drift, find coverage gaps, and inspect retrievals::

    import workbench
    from workbench.drift import Window, analyze

    wb = workbench.open(read_only=False)           # a writable store keeps projections cached
    result = analyze(wb, Window(start="7d"), Window(start="28d", end="7d"))
    result.clusters.head()                          # most drifted first; coverage gaps flagged
    result.timeline                                 # centroid distance per hour or day
    result.far_queries()                            # queries with no near corpus document

The modules, in the order an analysis runs:

* :mod:`~workbench.drift.windows`: windows, baselines and extraction of vectors;
* :mod:`~workbench.drift.projection`: the :class:`Projector` protocol, UMAP and PCA;
* :mod:`~workbench.drift.clustering`: HDBSCAN;
* :mod:`~workbench.drift.context`: retrieval scores, latency and evaluations per query;
* :mod:`~workbench.drift.metrics`: centroid distance over time, per-cluster ratios;
* :mod:`~workbench.drift.diagnostics`: retrieval diagnostics;
* :mod:`~workbench.drift.cache`: projections kept in the store;
* :mod:`~workbench.drift.analysis`: :func:`analyze` and :class:`DriftResult`;
* :mod:`~workbench.drift.worker`: :class:`DriftWorker`, analyses on a warmed background thread.

UMAP and scikit-learn come with the ``drift`` extra (``pip install 'llm-trace-workbench[drift]'``);
they are imported only when a projection or clustering runs.
"""

from __future__ import annotations

from workbench.drift.analysis import DriftParams, DriftResult, analyze
from workbench.drift.cache import MemoryCache, StoreCache
from workbench.drift.projection import PCAProjector, Projector, UMAPProjector, warm_up
from workbench.drift.windows import Window, baselines, delete_baseline, save_baseline
from workbench.drift.worker import DriftJob, DriftWorker

__all__ = [
    "DriftJob",
    "DriftParams",
    "DriftResult",
    "DriftWorker",
    "MemoryCache",
    "PCAProjector",
    "Projector",
    "StoreCache",
    "UMAPProjector",
    "Window",
    "analyze",
    "baselines",
    "delete_baseline",
    "save_baseline",
    "warm_up",
]
