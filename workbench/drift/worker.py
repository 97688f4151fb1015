"""A background worker that runs drift analyses off the caller's thread.

UMAP compiles its numba functions on first use in each process, which takes 10-45 s. A
page must not wait for that, so :class:`DriftWorker` compiles them (:func:`warm_up`) on a
thread of its own as soon as it starts, and runs analyses one at a time on another. An
analysis whose projection is cached never waits for the compilation; one that needs UMAP
waits for it, reporting ``"compiling UMAP"`` as its stage.

Threading contract: :meth:`DriftWorker.submit` never blocks. Progress callbacks and
:class:`DriftJob` done-callbacks run on the worker's thread; a UI must hand them to its own
event loop. Analyses run one at a time, in the order submitted; ``submit(replace=True,
owner=page)`` cancels that page's jobs still queued, so only its latest request runs.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.drift.analysis import DriftParams, DriftResult, analyze
from workbench.drift.cache import MemoryCache, ProjectionCache, StoreCache
from workbench.drift.projection import Projector, UMAPProjector, warm_up
from workbench.drift.windows import Window
from workbench.read import Reader, supports

__all__ = ["DriftJob", "DriftWorker"]

logger = logging.getLogger(__name__)

_ids = itertools.count(1)
_shared: dict[int, DriftWorker] = {}
_shared_lock = threading.Lock()


class DriftJob:
    """One submitted analysis: its stage and progress while it runs, its result after.

    Attributes:
        id: A number, unique in the process.
        state: ``"queued"``, ``"running"``, ``"done"``, ``"failed"`` or ``"cancelled"``.
        stage: What it is doing (``"reading embeddings"``, ``"projecting"`` ...).
        fraction: How far along, from 0 to 1.
    """

    def __init__(self, primary: Window, reference: Window | None, params: DriftParams,
                 projector: Projector | None, owner: object = None) -> None:
        self.id = next(_ids)
        self.owner = owner
        self.primary = primary
        self.reference = reference
        self.params = params
        self.projector = projector
        self.state = "queued"
        self.stage = "queued"
        self.fraction = 0.0
        self.submitted_at = time.monotonic()
        self._future: Future[DriftResult] = Future()

    def __repr__(self) -> str:
        return f"DriftJob({self.id}, {self.state}, {self.stage!r}, {self.fraction:.0%})"

    def done(self) -> bool:
        """Whether it finished, failed or was cancelled."""
        return self._future.done()

    def result(self, timeout: float | None = None) -> DriftResult:
        """Wait for the result (raises what the analysis raised, or CancelledError)."""
        return self._future.result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Wait, then return what the analysis raised, or None."""
        return self._future.exception(timeout)

    def cancel(self) -> bool:
        """Cancel it if it has not started; return whether it was cancelled."""
        if self._future.cancel():
            self.state = self.stage = "cancelled"
            return True
        return False

    def add_done_callback(self, fn: Callable[[DriftJob], Any]) -> None:
        """Call ``fn(job)`` when it is done (on the worker's thread, or now if already done)."""
        self._future.add_done_callback(lambda _: fn(self))


@dataclass
class _Stop:
    pass


class DriftWorker:
    """Runs :func:`workbench.drift.analyze` on a background thread, warmed at start.

    Args:
        reader: The store to analyse.
        warm: Compile UMAP at :meth:`start` (on its own thread) when the store holds
            embeddings, else when a job first needs it. Set False for tests that
            use only :class:`~workbench.drift.projection.PCAProjector`.
        cache: Where projections are kept; default the store's ``drift_cache`` table.
        on_progress: Called with the job whenever its stage or progress changes.
    """

    def __init__(
        self,
        reader: Reader,
        *,
        warm: bool = True,
        cache: ProjectionCache | None = None,
        on_progress: Callable[[DriftJob], Any] | None = None,
    ) -> None:
        self.reader = reader
        if cache is None:
            cache = StoreCache(reader.store) if supports(reader, "store") else MemoryCache()
        self.cache = cache
        self.on_progress = on_progress
        self._warm = warm
        self._warmed = threading.Event()
        self.warm_seconds: float | None = None
        self.warm_error: BaseException | None = None
        self._queue: queue.Queue[DriftJob | _Stop] = queue.Queue()
        self._jobs: list[DriftJob] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._warm_thread: threading.Thread | None = None

    @classmethod
    def shared(cls, reader: Reader, *, warm: bool = True) -> DriftWorker:
        """The process's one started worker for ``reader``'s store (created, and warmed, on first call).

        A server calls this at start so UMAP is compiled before anyone opens the Drift page;
        the page calls it to get the same worker and its cache.
        """
        source = reader.store if supports(reader, "store") else reader
        key = id(source)
        with _shared_lock:
            worker = _shared.get(key)
            if worker is None or getattr(worker.reader, "store", worker.reader) is not source:
                worker = _shared[key] = cls(reader, warm=warm).start()
            return worker

    def __enter__(self) -> DriftWorker:  # typing.Self needs Python 3.11
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Life ------------------------------------------------------------------------------

    def start(self) -> DriftWorker:
        """Start the worker thread and, with ``warm``, the UMAP compilation. Returns self."""
        if self._thread is not None:
            return self
        if not self._warm:
            self._warmed.set()
        elif _has_embeddings(self.reader):
            self._start_warming()
        # else: a store with no embeddings has nothing to project yet, and the compilation
        # (10-45 s of CPU, in the user's process) waits for the first job that needs it.
        self._thread = threading.Thread(target=self._run, name="workbench-drift", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> None:
        """Cancel queued jobs, let the running one finish (up to ``timeout``), stop the thread."""
        self.cancel_pending()
        with _shared_lock:
            for key, worker in list(_shared.items()):
                if worker is self:
                    del _shared[key]
        if self._thread is not None:
            self._queue.put(_Stop())
            self._thread.join(timeout)
            self._thread = None

    @property
    def warm(self) -> bool:
        """Whether UMAP is compiled (or warming was not asked for)."""
        return self._warmed.is_set()

    def wait_warm(self, timeout: float | None = None) -> bool:
        """Wait until UMAP is compiled (starting the compilation if it waited for a need); return
        whether it is."""
        self._start_warming()
        return self._warmed.wait(timeout)

    def _start_warming(self) -> None:
        with self._lock:
            if self._warmed.is_set() or self._warm_thread is not None:
                return
            self._warm_thread = threading.Thread(target=self._warm_up, name="workbench-drift-warm", daemon=True)
            self._warm_thread.start()

    def _warm_up(self) -> None:
        try:
            self.warm_seconds = warm_up()
            logger.info("drift: UMAP compiled in %.1f s", self.warm_seconds)
        except BaseException as exc:  # noqa: BLE001 - reported to the jobs that need UMAP
            self.warm_error = exc
            logger.warning("drift: UMAP is not available: %s", exc)
        finally:
            self._warmed.set()

    # Jobs ------------------------------------------------------------------------------

    def submit(
        self,
        primary: Window,
        reference: Window | None = None,
        *,
        params: DriftParams | None = None,
        projector: Projector | None = None,
        replace: bool = False,
        owner: object = None,
    ) -> DriftJob:
        """Queue an analysis; return its job at once.

        Args:
            replace: Cancel the queued jobs of the same ``owner`` first (a page asks for its
                latest view only; other pages' jobs are left alone).
            owner: Who asks (a page view, a session); None for nobody in particular.
        """
        if self._thread is None:
            self.start()
        if replace:
            self.cancel_pending(owner=owner)
        job = DriftJob(primary, reference, params or DriftParams(), projector, owner)
        with self._lock:
            self._jobs = [j for j in self._jobs if not j.done()] + [job]
        self._queue.put(job)
        return job

    def cancel_pending(self, *, owner: object = None) -> int:
        """Cancel the jobs not yet started (only ``owner``'s, when given); return how many."""
        with self._lock:
            jobs = [j for j in self._jobs if owner is None or j.owner is owner]
        return sum(job.cancel() for job in jobs if job.state == "queued")

    def jobs(self) -> list[DriftJob]:
        """The jobs not yet done, oldest first."""
        with self._lock:
            return [j for j in self._jobs if not j.done()]

    def _notify(self, job: DriftJob) -> None:
        if self.on_progress is not None:
            try:
                self.on_progress(job)
            except Exception:  # a UI callback must not stop the worker
                logger.exception("drift: progress callback failed")

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if isinstance(job, _Stop):
                return
            if not job._future.set_running_or_notify_cancel():
                continue
            job.state = "running"
            try:
                result = self._analyze(job)
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the job
                job.state, job.stage = "failed", f"failed: {exc}"
                self._notify(job)
                job._future.set_exception(exc)
            else:
                job.state, job.stage, job.fraction = "done", "done", 1.0
                self._notify(job)
                job._future.set_result(result)

    def _analyze(self, job: DriftJob) -> DriftResult:
        def progress(stage: str, fraction: float) -> None:
            job.stage, job.fraction = stage, fraction
            self._notify(job)

        projector = job.projector or job.params.projector()
        if isinstance(projector, UMAPProjector):
            projector = _AfterWarmUp(projector, self, progress)
        return analyze(self.reader, job.primary, job.reference, params=job.params, projector=projector,
                       cache=self.cache, progress=progress)


class _AfterWarmUp:
    """A UMAP projector that first waits for the worker's compilation to finish."""

    def __init__(self, inner: UMAPProjector, worker: DriftWorker, progress: Callable[[str, float], None]) -> None:
        self.inner = inner
        self.n_components = inner.n_components
        self._worker = worker
        self._progress = progress

    @property
    def key(self) -> dict[str, Any]:
        return self.inner.key

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        if not self._worker.warm:
            self._progress("compiling UMAP (first use in this process)", 0.2)
            self._worker._start_warming()
            self._worker.wait_warm()
            self._progress("projecting", 0.3)
        if self._worker.warm_error is not None:
            raise self._worker.warm_error
        return self.inner.fit_transform(X)


def _has_embeddings(reader: Reader) -> bool:
    """Whether ``reader``'s store holds any embedding (True when that cannot be told)."""
    try:
        return bool(reader.stats()["counts"].get("embeddings", 1))
    except Exception:  # noqa: BLE001 - a source that cannot say is warmed as before
        return True
