"""One open database file per process, shared by every :class:`~workbench.store.Store` on it.

DuckDB lets a process hold a file through one connection only: a second connection with
another configuration (read-only beside read-write) is refused. A notebook, though, records
spans with ``register()``, reads them with ``open()`` and shows them with ``launch()``, all in
one process. So each file is opened once, here, and every ``Store`` on it is a handle onto
the same connection and writer; the file is closed when its last handle is.

A file first opened for reading is reopened for writing when a writer asks for it. Readers
see what this process has recorded: before a read, the in-process collectors that write into
the file hand over what they hold (:meth:`OpenFile.sync`), so nobody has to flush by hand.

At interpreter exit, everything this process recorded is written and the files are closed,
before DuckDB stops running Python code (see :func:`_close_at_exit`).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.errors import StoreError
from workbench.store.database import MEMORY, Database
from workbench.store.logs import merger_for
from workbench.store.writer import Writer

__all__ = ["OpenFile", "acquire", "add_handle", "process_store", "release", "set_process_store"]

logger = logging.getLogger(__name__)

_lock = threading.RLock()
_files: dict[str, OpenFile] = {}

# How long, at exit, the collectors and the writer may take to store what they hold.
_EXIT_TIMEOUT_S = 30.0


class OpenFile:
    """A database file this process has open: the connection, the writer and who uses them.

    Args:
        path: The file (or ``":memory:"``, which is never shared).
        read_only: Open without a writer.
        writer_options: ``max_queued_spans`` and ``batch_spans`` for the writer.
    """

    def __init__(self, path: str, *, read_only: bool, writer_options: dict[str, int]) -> None:
        self.path = path
        self.db = Database(path, read_only=read_only)
        self._writer_options = writer_options
        self.writer: Writer | None = None if read_only else self._new_writer()
        self.handles = 0
        self._syncs: list[weakref.WeakMethod[Callable[[float], object]]] = []
        self._flushes: list[weakref.WeakMethod[Callable[[float], object]]] = []

    @property
    def key(self) -> str:
        return self.db.path

    def make_writable(self) -> None:
        """Reopen a file held for reading so that it can be written."""
        if self.writer is not None:
            return
        self.db.close()
        try:
            self.db = Database(self.path, read_only=False)
        except BaseException:
            self.db = Database(self.path, read_only=True)
            raise
        self.writer = self._new_writer()

    def _new_writer(self) -> Writer:
        writer = Writer(self.db, **self._writer_options)
        merger_for(self.db, writer)  # log records left waiting for their spans: tried now
        return writer

    # In-process collectors that write here ------------------------------------------------

    def add_source(self, sync: Callable[[float], object], flush: Callable[[float], object]) -> None:
        """Register a collector: ``sync`` hands over what it holds (before reads), ``flush``
        stores everything it holds (at exit)."""
        with _lock:
            self._syncs.append(weakref.WeakMethod(sync))
            self._flushes.append(weakref.WeakMethod(flush))

    def _live(self, refs: list[weakref.WeakMethod]) -> list[Callable[[float], object]]:
        with _lock:
            alive = [(ref, ref()) for ref in refs]
            refs[:] = [ref for ref, method in alive if method is not None]
            return [method for _, method in alive if method is not None]

    def sync(self, timeout: float = 30.0) -> None:
        """Make what this process has recorded so far visible to reads."""
        sources = self._live(self._syncs)
        if not sources:
            return
        for sync in sources:
            try:
                sync(timeout)
            except Exception:  # a collector that cannot hand over must not break reads
                logger.debug("a collector could not hand over its spans", exc_info=True)
        if self.writer is not None:
            self.writer.flush(timeout)
            logs = merger_for(self.db, self.writer)
            if logs.waiting:  # log records of what was just recorded, into their spans
                logs.attach()

    def flush_everything(self, timeout: float) -> str | None:
        """Store everything the collectors hold and wait for the writer.

        Returns:
            None when everything was written, else why not.
        """
        problems = []
        for flush in self._live(self._flushes):
            try:
                problem = flush(timeout)
            except Exception as exc:  # noqa: BLE001 - one writer's failure must not stop the others' flush
                problem = str(exc)
            if problem:
                problems.append(str(problem))
        if self.writer is not None and not self.writer.flush(timeout):
            problems.append(f"the writer did not finish within {timeout:.0f} s")
        return "; ".join(problems) or None

    def rebuild(self, build: Callable[[Any], str], timeout: float = 120.0) -> None:
        """Replace the file with one ``build(connection)`` writes (see :meth:`Database.replace_file`).

        The writer finishes what is queued and stops; writes submitted meanwhile are refused
        (the OTLP receiver answers 503, and exporters send again); a new writer starts on the
        new file, whatever happened.
        """
        with _lock:
            if self.writer is None:
                raise StoreError(f"The store {self.path} is open read-only; it cannot be compacted.")
            self.writer.flush(timeout)
            self.writer.close(timeout)
            try:
                self.db.replace_file(build)
            finally:
                self.writer = self._new_writer()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.db.close()


def _key(path: str | Path) -> str | None:
    if str(path) == MEMORY:
        return None
    return os.path.realpath(Path(path).expanduser())


def acquire(path: str | Path, *, read_only: bool, writer_options: dict[str, int]) -> OpenFile:
    """The open file for ``path``, opened (or reopened for writing) as needed; one more handle."""
    key = _key(path)
    shared: OpenFile | None
    with _lock:
        if key is None:
            shared = OpenFile(MEMORY, read_only=read_only, writer_options=writer_options)
        else:
            shared = _files.get(key)
            if shared is None:
                shared = OpenFile(key, read_only=read_only, writer_options=writer_options)
                _files[key] = shared
            elif not read_only:
                shared.make_writable()
        shared.handles += 1
        _register_exit_once()
        return shared


def add_handle(shared: OpenFile, *, read_only: bool) -> None:
    """One more handle on a file already open (made writable when the handle writes)."""
    with _lock:
        if not read_only:
            shared.make_writable()
        shared.handles += 1


def release(shared: OpenFile) -> None:
    """One handle fewer; the last one closes the file."""
    with _lock:
        shared.handles -= 1
        if shared.handles > 0:
            return
        if _files.get(shared.key) is shared:
            del _files[shared.key]
    shared.close()


# The store a running session (``workbench.launch()``) works on: register() and open() with no
# file of their own use it, so one process records and reads one store.
_process_store: object | None = None


def set_process_store(store: object | None) -> None:
    """Make ``store`` the one that ``register()`` and ``open()`` use by default (None: no default)."""
    global _process_store
    _process_store = store


def process_store() -> object | None:
    """The store set by :func:`set_process_store`, if it is still open."""
    store = _process_store
    return store if store is not None and getattr(store, "_file", None) is not None else None


_exit_registered = False


def _register_exit_once() -> None:
    # Registered after duckdb is imported, so it runs before duckdb's own exit handler
    # (atexit runs last-registered first), while queries may still run Python code.
    global _exit_registered
    if not _exit_registered:
        _exit_registered = True
        atexit.register(_close_at_exit)


def _close_at_exit() -> None:
    """Write what this process recorded and close every file, before the interpreter goes."""
    with _lock:
        files = list(_files.values())
    # One line on stderr says what could not be written; the loggers' tracebacks would bury it.
    quiet = logging.getLogger("workbench")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        for shared in files:
            try:
                problem = shared.flush_everything(_EXIT_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - at exit: report and go on to the next file
                problem = str(exc)
            if problem:
                print(f"workbench: spans could not be written to {shared.path} before exit: {problem}",
                      file=sys.stderr)
    finally:
        quiet.setLevel(level)
    for shared in files:
        with _lock:
            if _files.get(shared.key) is shared:
                del _files[shared.key]
        try:
            shared.close()
        except Exception as exc:  # noqa: BLE001 - at exit: report and go on to the next file
            print(f"workbench: {shared.path} could not be closed cleanly at exit: {exc}", file=sys.stderr)
