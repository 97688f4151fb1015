"""A reader the rules can query with SQL, whatever reader the check was given.

Rules measure with SQL over the store: they need a reader with the ``sql`` capability
(:mod:`workbench.read.source`). A :class:`workbench.query.Reader` has it; a reader of a
running server (``workbench.open("http://...")``) does not, so the window the rules need is
copied into an in-memory store first (:func:`workbench.snapshot`). The copy is as large as
the window: keep ``--window`` modest for a busy server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from workbench.read import Reader, supports
from workbench.snapshots import snapshot

__all__ = ["local_reader"]


@contextmanager
def local_reader(reader: Any, since: dt.datetime) -> Iterator[Reader]:
    """Yield a :class:`Reader` holding at least the spans from ``since`` on.

    Args:
        reader: A :class:`Reader` (used as it is) or any reader with the read API (a server's).
        since: The earliest span start the rules look at.

    Raises:
        WorkbenchError: The reader is neither, or the server cannot be reached.
    """
    if supports(reader, "sql"):
        yield reader
        return
    with snapshot(reader, start=since, tables=("spans", "annotations")) as local:
        yield local
