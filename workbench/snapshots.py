"""A time range of a running server's store, copied into memory for analysis.

:mod:`workbench.analysis`, :mod:`workbench.drift` and the monitors measure with SQL over the
store; a server's reader (``workbench.open("http://...")``) answers the read API but runs no
SQL of the caller's. :func:`snapshot` copies the spans of a time range, with their
documents, embeddings and annotations, and the corpus and drift baselines, into an
in-memory store, and returns a :class:`~workbench.query.Reader` of it::

    wb = workbench.open("http://127.0.0.1:4318")
    with workbench.snapshot(wb, start="7d") as local:
        workbench.analysis.latency_summary(local)

The copy is as large as the range: keep it to what the analysis needs on a busy server.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from workbench.errors import WorkbenchError
from workbench.read import SPAN_FIELDS, Reader
from workbench.store import Store
from workbench.store.database import MEMORY

__all__ = ["snapshot"]


#: Every table a snapshot can hold.
TABLES = ("spans", "documents", "embeddings", "annotations", "corpus", "drift_baselines")


def snapshot(
    reader: Any,
    start: Any = None,
    end: Any = None,
    project: Any = None,
    *,
    tables: Sequence[str] = TABLES,
) -> Reader:
    """A :class:`Reader` of an in-memory copy of what ``reader`` holds from ``start`` to ``end``.

    Args:
        reader: A server's reader (``workbench.open(url)``), or any reader with the read API.
            A local :class:`Reader` already runs SQL: its store is used as it is (closing the
            returned reader leaves it open).
        start: Spans starting at or after this (datetime, ISO text, or ``"7d"`` back from now).
        end: Spans starting before this.
        project: One project or several.
        tables: Which tables to copy (spans always): leave out ``embeddings`` when no vector
            is needed, they are most of the bytes.

    Returns:
        A reader of the copy; close it (or use ``with``) to free the memory.

    Raises:
        WorkbenchError: The reader has no read API.
    """
    if isinstance(reader, Reader):
        return Reader(reader.store, owns_store=False)
    if not all(hasattr(reader, name) for name in ("spans", "documents", "embeddings", "annotations")):
        raise WorkbenchError(
            f"Cannot copy from {reader!r}; pass workbench.open(url) or a workbench.query.Reader."
        )
    unknown = [name for name in tables if name not in TABLES]
    if unknown:
        raise WorkbenchError(f"A snapshot cannot hold {unknown[0]!r}; the tables are {', '.join(TABLES)}.")
    window = {"start": start, "end": end, "project": project}
    copied: dict[str, pa.Table] = {"spans": reader.spans(columns=list(SPAN_FIELDS), arrow=True, **window)}
    if "documents" in tables:
        copied["documents"] = reader.documents(arrow=True, **window)
    if "embeddings" in tables:
        copied["embeddings"] = reader.embeddings(arrow=True, **window)
    if "annotations" in tables:
        copied["annotations"] = reader.annotations(arrow=True)
    whole = getattr(reader, "table", None)  # a server's corpus and baselines, when it has them
    for name in ("corpus", "drift_baselines"):
        if name in tables and whole is not None:
            copied[name] = whole(name)
    store = Store(MEMORY)
    try:
        with tempfile.TemporaryDirectory(prefix="workbench-snapshot-") as folder:
            for name, table in copied.items():
                if table.num_rows:
                    (Path(folder) / name).mkdir()
                    pq.write_table(table, Path(folder) / name / f"{name}.parquet")
            if any(table.num_rows for table in copied.values()):
                store.import_parquet(folder)
    except BaseException:
        store.close()
        raise
    return Reader(store)
