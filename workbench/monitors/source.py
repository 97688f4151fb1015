"""A reader the rules can query with SQL, whatever reader the check was given.

Rules measure with SQL over the store. A :class:`workbench.query.Reader` has one; a reader of
a running server (``workbench.open("http://...")``) does not, so the spans of the window the
rules need, and the annotations, are copied into a temporary in-memory store first. The
copy is as large as the window: keep ``--window`` modest for a busy server.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from workbench.errors import WorkbenchError
from workbench.query import SPAN_FIELDS, Reader
from workbench.store import Store
from workbench.store.database import MEMORY

__all__ = ["local_reader"]


@contextmanager
def local_reader(reader: Any, since: dt.datetime) -> Iterator[Reader]:
    """Yield a :class:`Reader` holding at least the spans from ``since`` on.

    Args:
        reader: A :class:`Reader` (used as it is) or any reader with the read API's
            ``spans(..., arrow=True)`` and ``annotations(arrow=True)`` (a server's).
        since: The earliest span start the rules look at.

    Raises:
        WorkbenchError: The reader is neither.
    """
    if isinstance(reader, Reader):
        yield reader
        return
    if not (hasattr(reader, "spans") and hasattr(reader, "annotations")):
        raise WorkbenchError(
            f"Monitors cannot read {reader!r}; pass workbench.open(path_or_url) or a workbench.query.Reader."
        )
    spans = reader.spans(start=since, columns=list(SPAN_FIELDS), arrow=True)
    annotations = reader.annotations(arrow=True)
    store = Store(MEMORY)
    try:
        with tempfile.TemporaryDirectory(prefix="workbench-monitors-") as folder:
            for name, table in (("spans", spans), ("annotations", annotations)):
                if table.num_rows:
                    (Path(folder) / name).mkdir()
                    pq.write_table(table, Path(folder) / name / f"{name}.parquet")
            if spans.num_rows:
                store.import_parquet(folder)
        yield Reader(store)
    finally:
        store.close()
