"""Where datasets and experiments live: a store file, reached the ways the rest of workbench is.

Every function of this package takes where to read and write first, as
:func:`workbench.evals.annotate` does: a reader from ``workbench.open(...)`` (writable, for
changes), a :class:`~workbench.store.Store`, anything holding one as ``.reader`` or ``.store``
(a notebook session), a database path, or None for ``WORKBENCH_DB``. A server's reader
(``workbench.open(url)``) cannot hold them: datasets live in the file, next to the spans.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workbench.errors import CapabilityError
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
    if where is None or isinstance(where, (str, Path)):
        from workbench.remote import server_url

        if where is not None and server_url(str(where)) is not None:
            raise _remote(where)
        from workbench.store.fresh import removed_on_failure

        if write:
            with removed_on_failure(where):
                store = Store(where)
                try:
                    yield Reader(store)
                finally:
                    store.close()
        else:
            store = Store(where, read_only=True)
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


def _remote(where: Any) -> CapabilityError:
    return CapabilityError(
        f"Datasets and experiments are kept in a store file, and {where!r} is not one; pass "
        "workbench.open(path, read_only=False), a Store or a database path (a running server's "
        "file: stop it, or work on a copy made with `workbench export`)."
    )
