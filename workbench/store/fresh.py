"""Undoing a database file that a failed command created, so a failure leaves nothing behind.

``workbench serve`` on a port in use, or ``workbench import`` of a bad Parquet file, would
otherwise leave an empty database file (and its write-ahead log) where there was none.
Only a file that did not exist before the command is removed; an existing one is never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from workbench import config
from workbench.store.database import MEMORY

__all__ = ["removed_on_failure", "remover_if_new"]


def _files(path: str | Path | None) -> list[Path]:
    resolved = config.get("db", path)
    if str(resolved) == MEMORY:
        return []
    target = Path(resolved).expanduser()
    return [target, target.with_name(target.name + ".wal")]


def remover_if_new(path: str | Path | None) -> Callable[[], None]:
    """A function that removes the database file (and its WAL) if it does not exist yet now.

    Call this before opening the store; call what it returns after closing the store, when
    the command failed. For a file that existed, the returned function does nothing.

    Args:
        path: The database file, as given to :class:`~workbench.store.Store` (None: the default).
    """
    files = _files(path)
    if any(f.exists() for f in files):
        return lambda: None

    def remove() -> None:
        for file in files:
            try:
                file.unlink(missing_ok=True)
            except OSError:  # the original error matters more than a leftover file
                pass

    return remove


@contextmanager
def removed_on_failure(path: str | Path | None) -> Iterator[None]:
    """Run the block; if it raises and the database file was not there before, remove it.

    The block must close the store before it lets the error out (``with Store(...)`` does).

    Args:
        path: The database file, as given to :class:`~workbench.store.Store` (None: the default).
    """
    undo = remover_if_new(path)
    try:
        yield
    except BaseException:
        undo()
        raise
