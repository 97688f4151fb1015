"""Where datasets and experiments live: a store file, reached the ways the rest of workbench is.

Every function of this package takes where to read and write first, as
:func:`workbench.evals.annotate` does: a reader from ``workbench.open(...)`` (writable, for
changes), a :class:`~workbench.store.Store`, anything holding one as ``.reader`` or ``.store``
(a notebook session), a database path, or None: the store of this process's
``workbench.launch()`` session, else ``WORKBENCH_DB``. A server's reader
(``workbench.open(url)``) cannot hold them: datasets live in the file, next to the spans.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workbench.errors import CapabilityError, StoreError, StoreLockedError
from workbench.read import Reader, require
from workbench.store import Store

__all__ = ["opened", "store_of"]


def store_of(reader: Reader) -> Store:
    """The store a reader reads (a local reader has the ``store`` capability): where units of
    work of :mod:`workbench.store.experiments` are written."""
    return require(reader, "store").store


@contextmanager
def opened(where: Any, *, write: bool = False) -> Iterator[Reader]:
    """A :class:`Reader` over ``where`` (see the module); closes what it opened itself.

    Raises:
        CapabilityError: ``where`` is a server's reader or something else that holds no store.
    """
    if where is None:
        from workbench.store.shared import process_store

        current = process_store()
        if current is not None:  # the store of this process's workbench.launch() session
            handle = current.handle(read_only=not write)  # type: ignore[attr-defined]
            try:
                yield Reader(handle)
            finally:
                handle.close()
            return
    if where is None or isinstance(where, (str, Path)):
        from workbench.remote import server_url

        if where is not None and server_url(str(where)) is not None:
            raise _remote(where)
        from workbench.store.fresh import removed_on_failure

        if write:
            with removed_on_failure(where):
                store = _store(where, read_only=False)
                try:
                    yield Reader(store)
                finally:
                    store.close()
        else:
            store = _store(where, read_only=True)
            try:
                yield Reader(store)
            finally:
                store.close()
        return
    if isinstance(where, Store):
        yield Reader(where, owns_store=False)
        return
    if isinstance(where, Reader):
        yield where
        return
    for attribute in ("reader", "store"):
        inner = getattr(where, attribute, None)
        if inner is not None and inner is not where:
            with opened(inner, write=write) as reader:
                yield reader
            return
    raise _remote(where)


def _store(where: str | Path | None, *, read_only: bool) -> Store:
    """The store file, or an error that says how to reach a file another process holds."""
    try:
        return Store(where, read_only=read_only)
    except StoreLockedError as exc:
        holder = f"the workbench server at {exc.url}" if exc.url else "another process"
        copy = f"workbench export DIR --url {exc.url}" if exc.url else "workbench export DIR"
        raise StoreError(
            f"The database file {exc.path} is in use by {holder}, and datasets and experiments are written "
            "to the file itself; stop that process, or run them in the process that holds it (a notebook's "
            f"workbench.launch() session), or on a copy ({copy}, then workbench import DIR --db copy.duckdb)."
        ) from None


def _remote(where: Any) -> CapabilityError:
    return CapabilityError(
        f"Datasets and experiments are kept in a store file, and {where!r} is not one; pass "
        "workbench.open(path, read_only=False), a Store or a database path (a running server's "
        "file: stop it, or work on a copy made with `workbench export`)."
    )
