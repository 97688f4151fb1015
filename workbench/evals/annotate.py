"""Annotations from Python: one call, or a DataFrame.

Both take where to write first: a :class:`~workbench.store.Store`, a
:class:`~workbench.query.Reader` over a writable store, a
:class:`~workbench.remote.RemoteReader` (``workbench.open(url)``: written through the
server's ``POST /api/annotations``), anything holding one of those as ``.reader`` or
``.store`` (a notebook session), a database path or a server URL::

    wb = workbench.open("http://127.0.0.1:4318")
    annotate(wb, span_id="5f1c...", name="correctness", score=1, label="correct",
             explanation="matches the invoice", annotator="nadia")
    log_annotations(wb, judged, name="relevance")   # a DataFrame keyed by span_id (+ document_position)

What is annotated follows from the ids given: ``span_id`` (a span), ``span_id`` and
``document_position`` (a retrieved document), ``trace_id`` alone (a trace), ``session_id``
alone (a session). A span's trace id is looked up when not given, so span annotations also
carry their trace.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import ConfigError
from workbench.store.frames import annotation_rows, to_records

__all__ = ["annotate", "log_annotations", "open_sink"]

Sink = tuple[Callable[[list[dict[str, Any]]], int], Any]


@contextmanager
def open_sink(where: Any) -> Iterator[Sink]:
    """``(write(records) -> added, reader)`` for ``where`` (see the module); closes what it opened."""
    from workbench.read import Reader
    from workbench.store import Store

    if where is None or isinstance(where, (str, Path)):
        from workbench.remote import RemoteReader, server_url

        url = server_url(str(where)) if where is not None else None
        if url is not None:
            remote = RemoteReader(url)
            yield remote.add_annotations, remote
            return
        from workbench.store.fresh import removed_on_failure

        with removed_on_failure(where):  # a failed run leaves no new, empty database file
            store = Store(where)
            try:
                yield store.add_annotations, Reader(store)
            finally:
                store.close()
        return
    if isinstance(where, Store):
        yield where.add_annotations, Reader(where)
        return
    if isinstance(where, Reader):
        yield where.store.add_annotations, where
        return
    if callable(getattr(where, "add_annotations", None)) and callable(getattr(where, "spans", None)):
        yield where.add_annotations, where  # a RemoteReader, or a reader like it
        return
    for attribute in ("reader", "store"):
        inner = getattr(where, attribute, None)
        if inner is not None:
            with open_sink(inner) as sink:
                yield sink
            return
    raise ConfigError(
        f"Cannot write annotations to a {type(where).__name__}; pass a Store, a reader from "
        "workbench.open(...) (a writable file, or a server URL), a database path or a server URL."
    )


def _plain(value: Any) -> Any:
    """JSON-friendly: times as ISO text, numpy numbers as Python numbers."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return value.item()
        except (AttributeError, ValueError):
            return value
    return value


def _with_trace_ids(reader: Any, records: list[dict[str, Any]]) -> None:
    """Fill ``trace_id`` of span and document annotations that lack it, from the spans."""
    missing = sorted({r["span_id"] for r in records if r.get("span_id") and not r.get("trace_id")})
    found: dict[str, str] = {}
    for begin in range(0, len(missing), 500):
        ids = [str(s).lower() for s in missing[begin:begin + 500]]
        frame = reader.spans("span_id in [" + ", ".join(repr(i) for i in ids) + "]", columns=["span_id", "trace_id"])
        found.update(zip(frame["span_id"], frame["trace_id"]))
    for record in records:
        span_id = record.get("span_id")
        if span_id and not record.get("trace_id"):
            record["trace_id"] = found.get(str(span_id).lower())


def write_annotations(where: Any, records: list[dict[str, Any]]) -> int:
    """Write ready annotation records (dicts with the ``annotations`` columns); return how many."""
    if not records:
        return 0
    annotation_rows(records)  # the same checks the store makes, before anything is sent
    with open_sink(where) as (write, reader):
        _with_trace_ids(reader, records)
        return write([{k: _plain(v) for k, v in r.items()} for r in records])


def annotate(
    where: Any,
    *,
    name: str,
    span_id: str | None = None,
    trace_id: str | None = None,
    document_position: int | None = None,
    session_id: str | None = None,
    score: float | None = None,
    label: str | None = None,
    explanation: str | None = None,
    annotator_kind: str = "HUMAN",
    annotator: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    created_at: Any = None,
) -> str:
    """Record one evaluation or piece of feedback; return its annotation id.

    Args:
        where: Where to write (see the module).
        name: What is judged (``user_feedback``, ``correctness`` ...).
        span_id: The span annotated (with ``document_position``: its retrieved document).
        trace_id: The trace annotated (alone), or the span's trace (looked up when absent).
        document_position: The position of the retrieved document, from 0.
        session_id: The session annotated (alone).
        score: A number; ``label`` a category; give one or both.
        explanation: Why, in words.
        annotator_kind: ``HUMAN``, ``LLM`` or ``CODE``.
        annotator: Who or what made it.
        metadata: Anything else (stored as JSON).
        created_at: When (default now).

    Raises:
        ConfigError: No name, neither score nor label, or no id saying what is annotated.
    """
    annotation_id = uuid.uuid4().hex
    record = {
        "annotation_id": annotation_id, "name": name, "span_id": span_id, "trace_id": trace_id,
        "document_position": document_position, "session_id": session_id, "score": score, "label": label,
        "explanation": explanation, "annotator_kind": annotator_kind, "annotator": annotator,
        "metadata": dict(metadata) if metadata else None, "created_at": created_at,
    }
    if span_id is None and document_position is not None:
        raise ConfigError("document_position needs the span_id of the retriever that returned the document.")
    write_annotations(where, [record])
    return annotation_id


def log_annotations(
    where: Any,
    data: Any,
    *,
    name: str | None = None,
    annotator_kind: str = "HUMAN",
    annotator: str | None = None,
) -> int:
    """Record many annotations from a DataFrame (or Arrow table, list of dicts, Parquet path).

    Rows are keyed by ``span_id`` (a column or the index), by ``span_id`` and
    ``document_position`` (a retrieved document), by ``trace_id`` or by ``session_id``; the
    other columns are those of :func:`annotate` (``score``, ``label``, ``explanation`` ...).
    ``name``, ``annotator_kind`` and ``annotator`` fill rows that do not say.

    Returns:
        How many annotations were added.

    Raises:
        ConfigError: A row lacks what it needs, with its number and the fix.
    """
    records = to_records(data)
    for record in records:
        if name and not record.get("name"):
            record["name"] = name
        if not record.get("annotator_kind"):
            record["annotator_kind"] = annotator_kind
        if annotator and not record.get("annotator"):
            record["annotator"] = annotator
        if "context.span_id" in record and not record.get("span_id"):  # Phoenix-style frames
            record["span_id"] = record.pop("context.span_id")
        position = record.get("document_position")
        if position is not None and pd.isna(position):
            record["document_position"] = None
    return write_annotations(where, records)

