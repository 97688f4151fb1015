"""Cached projections, keyed by a hash of the points and the parameters.

A projection (coordinates and cluster labels) is the slow part of a drift analysis, so it is
kept. The key hashes everything that changes it: the point ids and vectors, in order, the
projector's :attr:`~workbench.drift.projection.Projector.key` and the clustering
parameters. Metrics are not cached: they are cheap, and feedback that arrives later should
show up.

:class:`StoreCache` keeps entries in the store's ``drift_cache`` table (declared with the
store's own tables in :mod:`workbench.store.schema`; it is not exported, and dropping it loses
nothing but time). Entries are written through the store's writer, as units of work.

The newest :data:`KEEP` entries are kept. :class:`MemoryCache` is its in-memory twin, used for
read-only stores and in tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from workbench.errors import WorkbenchError
from workbench.read import Reader
from workbench.read import drift as queries
from workbench.store import Store
from workbench.store import drift as writes

__all__ = ["CACHE_VERSION", "KEEP", "CachedProjection", "MemoryCache", "ProjectionCache", "StoreCache", "cache_key"]

logger = logging.getLogger(__name__)

#: Bump when the projection or clustering code changes what it returns for the same input.
CACHE_VERSION = 2  # 2: clusters capped at a quarter of the points
#: How many projections a store keeps.
KEEP = 50

@dataclass(frozen=True)
class CachedProjection:
    """A projection as it is cached: coordinates and cluster labels, row for row."""

    coords: np.ndarray
    labels: np.ndarray


class ProjectionCache(Protocol):
    """Somewhere to keep projections. ``get`` and ``put`` may be called from any thread."""

    def get(self, key: str) -> CachedProjection | None:
        """The projection stored under ``key``, or None."""
        ...

    def put(self, key: str, value: CachedProjection, params: dict[str, Any]) -> None:
        """Keep a projection; a failure to keep it is logged, never raised."""
        ...


def cache_key(point_ids: Iterable[str], vectors: np.ndarray, params: dict[str, Any]) -> str:
    """A hex digest of the points (ids and vectors, in order) and the parameters."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(json.dumps({"v": CACHE_VERSION, **params}, sort_keys=True, default=str).encode())
    for point_id in point_ids:
        digest.update(str(point_id).encode())
        digest.update(b"\x00")
    digest.update(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
    return digest.hexdigest()


class MemoryCache:
    """Projections in a dict, newest ``keep`` only."""

    def __init__(self, keep: int = KEEP) -> None:
        self._items: OrderedDict[str, CachedProjection] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> CachedProjection | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: CachedProjection, params: dict[str, Any]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._keep:
                self._items.popitem(last=False)


class StoreCache:
    """Projections in the store's ``drift_cache`` table (see the module docstring).

    A read-only store cannot keep anything; then this behaves like a :class:`MemoryCache`.
    """

    def __init__(self, store: Store, keep: int = KEEP) -> None:
        self.store = store
        self._reader = Reader(store, owns_store=False)  # reads go through the read door
        self._keep = keep
        self._fallback: MemoryCache | None = None
        self._ready = False
        self._lock = threading.Lock()

    def _prepare(self) -> bool:
        if self._ready:
            return self._fallback is None
        with self._lock:
            if not self._ready:
                try:
                    if self.store.writer is None:
                        raise WorkbenchError("read-only")
                    if not queries.has_table(self._reader, "drift_cache"):
                        raise WorkbenchError("the file has no drift_cache table")
                except Exception as exc:  # noqa: BLE001 - a read-only or closed store: keep them in memory
                    logger.info("drift: projections are cached in memory only (%s)", exc)
                    self._fallback = MemoryCache(self._keep)
                self._ready = True
        return self._fallback is None

    def get(self, key: str) -> CachedProjection | None:
        if not self._prepare():
            return self._fallback.get(key) if self._fallback else None
        try:
            row = queries.cached_projection(self._reader, key)
        except Exception as exc:  # noqa: BLE001 - a cache miss, never a failed analysis
            logger.warning("drift: cannot read the projection cache: %s", exc)
            return None
        if row is None:
            return None
        coords = np.frombuffer(row["coords"], dtype="<f4").reshape(row["n_points"], row["dims"]).astype(np.float32)
        labels = np.frombuffer(row["labels"], dtype="<i4").astype(np.int32)
        return CachedProjection(coords, labels)

    def put(self, key: str, value: CachedProjection, params: dict[str, Any]) -> None:
        if not self._prepare():
            if self._fallback is not None:
                self._fallback.put(key, value, params)
            return
        coords = np.ascontiguousarray(value.coords, dtype="<f4")
        row = [key, dt.datetime.now(dt.timezone.utc), json.dumps(params, sort_keys=True, default=str),
               int(coords.shape[0]), int(coords.shape[1]), coords.tobytes(),
               np.ascontiguousarray(value.labels, dtype="<i4").tobytes()]
        try:
            self.store.execute_write(writes.keep_projection(row, self._keep), 60)
        except Exception as exc:  # noqa: BLE001 - a lost entry, never a failed analysis
            logger.warning("drift: cannot keep the projection in the store: %s", exc)

    def clear(self) -> int:
        """Drop every cached projection; return how many there were."""
        if not self._prepare():
            count = len(self._fallback) if self._fallback else 0
            self._fallback = MemoryCache(self._keep)
            return count
        return int(self.store.execute_write(writes.clear_projections()))
