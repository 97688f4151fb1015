"""User-supplied tables (annotations, a corpus) checked and shaped into stored rows.

Users hand over a pandas DataFrame, an Arrow table, a list of dicts or a Parquet path; these
functions fill defaults, check what is required and return Arrow in the stored schema.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.errors import ConfigError
from workbench.store.schema import ANNOTATIONS, CORPUS

__all__ = ["annotation_rows", "corpus_rows", "to_records"]

ANNOTATOR_KINDS = ("HUMAN", "LLM", "CODE")
TARGETS = ("span", "trace", "document", "session")


def to_records(data: Any) -> list[dict[str, Any]]:
    """Turn a DataFrame, Arrow table, Parquet path, mapping or list of mappings into dicts."""
    if isinstance(data, (str, Path)):
        data = pq.read_table(Path(data).expanduser())
    if isinstance(data, pa.Table):
        return data.to_pylist()
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
        frame = data.reset_index() if _has_named_index(data) else data
        return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    if isinstance(data, Mapping):
        return [dict(data)]
    if isinstance(data, Sequence):
        return [dict(row) for row in data]
    raise ConfigError(
        f"Cannot read rows from a {type(data).__name__}; pass a pandas DataFrame, an Arrow table, "
        "a Parquet path or a list of dicts."
    )


def _has_named_index(frame: Any) -> bool:
    return any(name is not None for name in getattr(frame.index, "names", [None]))


def _clean(value: Any) -> Any:
    # pandas hands back NaN/NaT/NA for missing cells; the store wants None.
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (list, tuple, dict, np.ndarray)):
        return value
    return None if pd.isna(value) else value


def _time_us(value: Any, default: dt.datetime) -> int:
    if value is None:
        value = default
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, (int, float)):
        return int(value // 1000) if value > 1e17 else int(value * 1e6)  # ns or seconds
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return int(value.timestamp() * 1_000_000)
    raise ConfigError(f"created_at={value!r} is not a time; give a datetime, ISO text or epoch seconds.")


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, default=str)


def annotation_rows(data: Any, *, default_annotator_kind: str = "HUMAN") -> pa.Table:
    """Check annotation records and return them as rows of the ``annotations`` table.

    Each record needs ``name`` and a ``score`` or ``label``, and what it annotates: a
    ``span_id`` (with ``document_position`` for a retrieved document), a ``trace_id`` or a
    ``session_id``. ``target`` is inferred when absent.

    Raises:
        ConfigError: A record lacks what it needs, with the record's number and the fix.
    """
    now = dt.datetime.now(dt.timezone.utc)
    cols: dict[str, list[Any]] = {c: [] for c in ANNOTATIONS.column_names}
    for number, record in enumerate(to_records(data)):
        name = record.get("name")
        if not name:
            raise ConfigError(f"Annotation {number} has no name; give each annotation a name such as 'user_feedback'.")
        score, label = record.get("score"), record.get("label")
        if score is None and label is None:
            raise ConfigError(f"Annotation {number} ({name}) has neither a score nor a label; give one or both.")
        position = record.get("document_position")
        target = record.get("target") or (
            "document" if position is not None
            else "span" if record.get("span_id")
            else "trace" if record.get("trace_id")
            else "session" if record.get("session_id")
            else None
        )
        if target not in TARGETS:
            raise ConfigError(
                f"Annotation {number} ({name}) does not say what it annotates; give a span_id, trace_id "
                f"or session_id (target must be one of {', '.join(TARGETS)})."
            )
        if target in ("span", "document") and not record.get("span_id"):
            raise ConfigError(f"Annotation {number} ({name}) targets a {target} but has no span_id.")
        kind = str(record.get("annotator_kind") or default_annotator_kind).upper()
        if kind not in ANNOTATOR_KINDS:
            raise ConfigError(f"Annotation {number} has annotator_kind {kind!r}; use HUMAN, LLM or CODE.")
        cols["annotation_id"].append(str(record.get("annotation_id") or uuid.uuid4().hex))
        cols["target"].append(target)
        cols["trace_id"].append(record.get("trace_id"))
        cols["span_id"].append(record.get("span_id"))
        cols["document_position"].append(None if position is None else int(position))
        cols["session_id"].append(record.get("session_id"))
        cols["name"].append(str(name))
        cols["score"].append(None if score is None else float(score))
        cols["label"].append(None if label is None else str(label))
        cols["explanation"].append(record.get("explanation"))
        cols["annotator_kind"].append(kind)
        cols["annotator"].append(record.get("annotator"))
        cols["created_at"].append(_time_us(record.get("created_at"), now))
        cols["metadata"].append(_json_text(record.get("metadata")))
    return pa.Table.from_pydict(cols, schema=ANNOTATIONS.arrow_schema)


def corpus_rows(data: Any, *, id_column: str = "id", text_column: str = "text", vector_column: str = "vector") -> pa.Table:
    """Check corpus records (id, text, vector, anything else as metadata) and shape them.

    Raises:
        ConfigError: A column is missing or vectors have different lengths.
    """
    records = to_records(data)
    cols: dict[str, list[Any]] = {c: [] for c in CORPUS.column_names}
    dims = set()
    for number, record in enumerate(records):
        doc_id = record.get(id_column, record.get("document_id"))
        if doc_id is None:
            raise ConfigError(f"Corpus row {number} has no {id_column!r} column; name the id column with id_column=.")
        vector = record.get(vector_column)
        if vector is not None:
            vector = [float(x) for x in vector]
            dims.add(len(vector))
        metadata = {k: v for k, v in record.items() if k not in (id_column, "document_id", text_column, vector_column)}
        cols["document_id"].append(str(doc_id))
        cols["text"].append(record.get(text_column))
        cols["vector"].append(vector)
        cols["metadata"].append(json.dumps(metadata, default=str) if metadata else None)
    if len(dims) > 1:
        raise ConfigError(f"Corpus vectors have different lengths ({sorted(dims)}); embed every document with one model.")
    return pa.Table.from_pydict(cols, schema=CORPUS.arrow_schema)
