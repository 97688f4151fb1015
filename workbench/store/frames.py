"""User-supplied tables (annotations, a corpus) checked and shaped into stored rows.

Users hand over a pandas DataFrame, an Arrow table, a list of dicts or a Parquet path; these
functions fill defaults, check what is required and return Arrow in the stored schema.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
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
        path = Path(data).expanduser()
        if not path.exists():
            raise ConfigError(
                f"There is no Parquet file at {str(data)!r}; pass a path that exists, a DataFrame, "
                "an Arrow table or a list of dicts."
            )
        try:
            data = pq.read_table(path)
        except (OSError, ValueError, pa.ArrowException) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"Cannot read {path} as Parquet ({reason}); pass a Parquet file or folder.") from None
    if isinstance(data, pa.Table):
        return data.to_pylist()
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
        frame = data.reset_index() if _has_named_index(data) else data
        return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    if isinstance(data, Mapping):
        return [dict(data)]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        rows = []
        for number, row in enumerate(data):
            if not isinstance(row, Mapping):
                raise ConfigError(
                    f"Row {number} ({repr(row)[:40]}) is not a mapping of column to value; "
                    "give each row as a dict (a JSON object)."
                )
            rows.append(dict(row))
        return rows
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
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not (math.isfinite(value) and 0 <= value < 1e19):
            raise ConfigError(f"created_at={value!r} is not a time; give a datetime, ISO text or epoch seconds.")
        return int(value // 1000) if value > 1e17 else int(value * 1e6)  # ns or seconds
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return int(value.timestamp() * 1_000_000)
    raise ConfigError(f"created_at={value!r} is not a time; give a datetime, ISO text or epoch seconds.")


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str, allow_nan=False)
    except (ValueError, RecursionError):
        raise ConfigError("An annotation's metadata cannot be stored as JSON (it is nested too deeply, "
                          "or holds NaN or infinity); give a flat dict of plain values.") from None


_HEX = {"trace_id": re.compile(r"[0-9a-fA-F]{32}"), "span_id": re.compile(r"[0-9a-fA-F]{16}")}
_TEXT_FIELDS = ("session_id", "explanation", "annotator", "annotation_id")


def _checked(number: int, name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's values with their types checked; ids as lowercase hex.

    Raises:
        ConfigError: A value has the wrong type or form; the message names it and the fix.
    """
    where = f"Annotation {number} ({name!r})" if not _is_unicode(name) else f"Annotation {number} ({name})"
    out: dict[str, Any] = {}
    for key, pattern in _HEX.items():
        value = record.get(key)
        if value is None or value == "":
            out[key] = None
        elif isinstance(value, str) and pattern.fullmatch(value):
            out[key] = value.lower()
        else:
            digits = 32 if key == "trace_id" else 16
            raise ConfigError(f"{where} has {key}={value!r}; a {key} is {digits} hex digits, as the spans store it.")
    score = record.get("score")
    if isinstance(score, str):
        try:
            score = float(score)
        except ValueError:
            pass
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise ConfigError(f"{where} has score={score!r}; a score is a finite number, such as 0.8.")
        score = float(score)
    out["score"] = score
    label = record.get("label")
    if label is not None and not isinstance(label, (str, int, float)):
        raise ConfigError(f"{where} has a label that is a {type(label).__name__}; a label is text, such as 'correct'.")
    out["label"] = None if label is None else str(label)
    for key in _TEXT_FIELDS:
        value = record.get(key)
        if value is not None and not isinstance(value, (str, int)):
            raise ConfigError(f"{where} has a {key} that is a {type(value).__name__}; give text.")
        out[key] = None if value is None else str(value)
    position = record.get("document_position")
    if position is not None:
        if isinstance(position, bool) or not isinstance(position, (int, float)) or not math.isfinite(position) \
                or position != int(position) or not 0 <= position < 2**31:
            raise ConfigError(
                f"{where} has document_position={position!r}; "
                "give the document's place in its retrieval, 0 for the first."
            )
        position = int(position)
    out["document_position"] = position
    for key in ("name", "label", "target", "annotator_kind", "metadata", *_TEXT_FIELDS):
        value = out.get(key, record.get(key))
        if isinstance(value, str) and not _is_unicode(value):
            raise ConfigError(f"{where} has a {key} that is not valid Unicode (a lone surrogate); send UTF-8 text.")
    return out


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
        if not isinstance(name, str):
            raise ConfigError(f"Annotation {number} has name={name!r}; a name is text, such as 'user_feedback'.")
        values = _checked(number, name, record)
        score, label = values["score"], values["label"]
        if score is None and label is None:
            raise ConfigError(f"Annotation {number} ({name}) has neither a score nor a label; give one or both.")
        position = values["document_position"]
        target = record.get("target") or (
            "document" if position is not None
            else "span" if values["span_id"]
            else "trace" if values["trace_id"]
            else "session" if values["session_id"]
            else None
        )
        if target not in TARGETS:
            raise ConfigError(
                f"Annotation {number} ({name}) does not say what it annotates; give a span_id, trace_id "
                f"or session_id (target must be one of {', '.join(TARGETS)})."
            )
        if target in ("span", "document") and not values["span_id"]:
            raise ConfigError(f"Annotation {number} ({name}) targets a {target} but has no span_id.")
        if target == "trace" and not values["trace_id"]:
            raise ConfigError(f"Annotation {number} ({name}) targets a trace but has no trace_id.")
        if target == "session" and not values["session_id"]:
            raise ConfigError(f"Annotation {number} ({name}) targets a session but has no session_id.")
        if target == "document" and position is None:
            raise ConfigError(f"Annotation {number} ({name}) targets a document but has no document_position.")
        kind = str(record.get("annotator_kind") or default_annotator_kind).upper()
        if kind not in ANNOTATOR_KINDS:
            raise ConfigError(f"Annotation {number} has annotator_kind {kind!r}; use HUMAN, LLM or CODE.")
        cols["annotation_id"].append(values["annotation_id"] or uuid.uuid4().hex)
        cols["target"].append(target)
        cols["trace_id"].append(values["trace_id"])
        cols["span_id"].append(values["span_id"])
        cols["document_position"].append(position)
        cols["session_id"].append(values["session_id"])
        cols["name"].append(name)
        cols["score"].append(score)
        cols["label"].append(label)
        cols["explanation"].append(values["explanation"])
        cols["annotator_kind"].append(kind)
        cols["annotator"].append(values["annotator"])
        cols["created_at"].append(_time_us(record.get("created_at"), now))
        cols["metadata"].append(_json_text(record.get("metadata")))
    return pa.Table.from_pydict(cols, schema=ANNOTATIONS.arrow_schema)


def corpus_rows(
    data: Any, *, id_column: str = "id", text_column: str = "text", vector_column: str = "vector"
) -> pa.Table:
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
            try:
                vector = [float(x) for x in vector]
            except (TypeError, ValueError):
                raise ConfigError(
                    f"Corpus row {number} ({doc_id!r}) has a {vector_column!r} that is not a list of numbers; "
                    "give each vector as numbers, or name the column with vector_column=."
                ) from None
            dims.add(len(vector))
        metadata = {k: v for k, v in record.items() if k not in (id_column, "document_id", text_column, vector_column)}
        cols["document_id"].append(str(doc_id))
        cols["text"].append(record.get(text_column))
        cols["vector"].append(vector)
        cols["metadata"].append(json.dumps(metadata, default=str) if metadata else None)
    if len(dims) > 1:
        raise ConfigError(
            f"Corpus vectors have different lengths ({sorted(dims)}); embed every document with one model."
        )
    return pa.Table.from_pydict(cols, schema=CORPUS.arrow_schema)
