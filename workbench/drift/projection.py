"""Projection of embeddings to 2 or 3 dimensions, behind a small protocol.

A :class:`Projector` has a ``fit_transform(X) -> coords`` method and a ``key`` (a dict of
everything that changes its output, for the cache). Two are provided:

* :class:`UMAPProjector`, the one the page uses. It imports ``umap`` (the ``drift`` extra)
  only when first used. UMAP's numba functions compile on the first call in each process
  (10-45 s); :func:`warm_up` pays that on a tiny random input, and
  :class:`workbench.drift.worker.DriftWorker` calls it on its thread at start.
* :class:`PCAProjector`, plain numpy, instant and deterministic: for tests, and for a quick
  look when UMAP is not installed.

UMAP is given exact nearest neighbours computed here with numpy (cosine, on the unit-length
vectors). For fewer than 4,096 points umap-learn would otherwise compute all pairwise
distances through a Python callback, which takes seconds; this way 2,000 points take about
1.5 s warm on one core.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["PCAProjector", "Projector", "UMAPProjector", "nearest_neighbours", "unit_rows", "warm_up"]

_EXTRA_HINT = "pip install 'llm-trace-workbench[drift]' (umap-learn and scikit-learn)"
_warm_lock = threading.Lock()
_warm = False


@runtime_checkable
class Projector(Protocol):
    """Maps an (n, d) matrix to (n, n_components) coordinates.

    Implementations must be deterministic for a given ``key`` and input, so that a cached
    projection is the projection.
    """

    @property
    def n_components(self) -> int:
        """2 or 3."""
        ...

    @property
    def key(self) -> dict[str, Any]:
        """Everything that changes the output: name and parameters (JSON-ready)."""
        ...

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """Return float32 coordinates, one row per row of ``X``."""
        ...


def unit_rows(X: np.ndarray) -> np.ndarray:
    """The rows of ``X`` scaled to length 1 (zero rows stay zero), as float32."""
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms == 0, 1, norms)


def nearest_neighbours(
    queries: np.ndarray, base: np.ndarray, k: int, *, exclude_self: bool = False, block: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``base`` most cosine-similar to each row of ``queries``.

    Both inputs must already have unit rows (:func:`unit_rows`). Works in blocks of
    ``block`` queries, so memory stays at ``block * len(base)`` floats.

    Returns:
        ``(indices, similarities)``, each (n_queries, k), most similar first.
    """
    k = min(k, len(base))
    n = len(queries)
    indices = np.empty((n, k), dtype=np.int64)
    sims = np.empty((n, k), dtype=np.float32)
    for lo in range(0, n, block):
        s = queries[lo:lo + block] @ base.T
        if exclude_self:
            rows = np.arange(lo, min(lo + block, n))
            s[rows - lo, rows] = -np.inf
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-top, axis=1, kind="stable")
        indices[lo:lo + block] = np.take_along_axis(part, order, axis=1)
        sims[lo:lo + block] = np.take_along_axis(top, order, axis=1)
    return indices, sims


@dataclass(frozen=True)
class PCAProjector:
    """Principal components with numpy: instant, deterministic, linear.

    Args:
        n_components: 2 or 3.
    """

    n_components: int = 2

    @property
    def key(self) -> dict[str, Any]:
        return {"projector": "pca", "n_components": self.n_components}

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        centred = X - X.mean(axis=0)
        # The covariance's eigenvectors: a d x d problem, much cheaper than an SVD of n x d.
        values, vectors = np.linalg.eigh(centred.T @ centred)
        components = vectors[:, np.argsort(values)[::-1][: self.n_components]].T
        # Fix each component's sign so the output does not depend on the SVD routine.
        signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
        coords = centred @ (components * signs[:, None]).T
        if coords.shape[1] < self.n_components:  # fewer dimensions than components
            coords = np.pad(coords, ((0, 0), (0, self.n_components - coords.shape[1])))
        return coords.astype(np.float32)


def _import_umap() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import umap
    except ImportError as exc:
        raise ImportError(f"UMAP projections need the umap-learn package: {_EXTRA_HINT}.") from exc
    return umap


@dataclass(frozen=True)
class UMAPProjector:
    """UMAP (umap-learn) on cosine similarity, seeded so that the same input gives the same output.

    Args:
        n_components: 2 (default) or 3.
        n_neighbors: Neighbourhood size: smaller keeps local detail, larger the global shape.
        min_dist: How tightly points may pack in the projection.
        n_epochs: Optimisation rounds; 200 is enough for the few thousand points shown.
        seed: The random seed. A seed makes UMAP single-threaded, and reproducible.
    """

    n_components: int = 2
    n_neighbors: int = 15
    min_dist: float = 0.1
    n_epochs: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_components not in (2, 3):
            raise ValueError(f"n_components={self.n_components!r}; a projection to look at has 2 or 3.")
        if self.n_neighbors < 2:
            raise ValueError(f"n_neighbors={self.n_neighbors!r}; it must be at least 2 (15 is usual).")

    @property
    def key(self) -> dict[str, Any]:
        return {"projector": "umap", "n_components": self.n_components, "n_neighbors": self.n_neighbors,
                "min_dist": self.min_dist, "n_epochs": self.n_epochs, "seed": self.seed, "metric": "cosine"}

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        umap = _import_umap()
        X = unit_rows(X)
        n = len(X)
        if n <= self.n_components + 1:
            # UMAP needs a few points more than its output dimensions; lay tiny sets out with PCA.
            return PCAProjector(self.n_components).fit_transform(X)
        k = min(self.n_neighbors, n - 1)
        # The point itself first, as umap-learn expects of its own neighbour lists.
        indices, sims = nearest_neighbours(X, X, k, exclude_self=True)
        knn_indices = np.hstack([np.arange(n)[:, None], indices]).astype(np.int32)
        knn_dists = np.hstack([np.zeros((n, 1), np.float32), np.clip(1.0 - sims, 0.0, 2.0)]).astype(np.float32)
        model = umap.UMAP(
            n_components=self.n_components, n_neighbors=k + 1, min_dist=self.min_dist, n_epochs=self.n_epochs,
            metric="cosine", random_state=self.seed, precomputed_knn=(knn_indices, knn_dists),
            # Exact neighbours are given, so umap-learn need not (and must not) search itself.
            force_approximation_algorithm=True,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # n_jobs overridden by the seed; precomputed_knn notes
            coords = model.fit_transform(X)
        global _warm
        _warm = True  # compiled now, whoever asked
        return np.asarray(coords, dtype=np.float32)


def warm_up(n_components: int = 2) -> float:
    """Compile UMAP's numba functions on a tiny random input, once per process; return seconds.

    Raises:
        ImportError: umap-learn is not installed; the message names the extra.
    """
    global _warm
    import time

    with _warm_lock:
        if _warm:
            return 0.0
        began = time.perf_counter()
        X = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
        UMAPProjector(n_components=n_components, n_neighbors=8, n_epochs=10).fit_transform(X)
        _warm = True
        return time.perf_counter() - began


def is_warm() -> bool:
    """Whether :func:`warm_up` has finished in this process."""
    return _warm
