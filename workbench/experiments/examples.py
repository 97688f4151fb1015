"""Examples as users hand them over (DataFrames, dicts, files) and as they are stored.

An example has an ``example_id``, an ``input`` (text, or a JSON object of several fields), an
optional ``expected`` output, ``metadata`` (a JSON object), and the ``source_trace_id`` and
``source_span_id`` it was taken from. Inputs and expected outputs are stored as JSON text, so
a text comes back as text and an object as a dict.
"""

from __future__ import annotations

import csv
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import ConfigError, ImportFormatError

__all__ = ["COLUMNS", "FORMATS", "from_stored", "normalise", "read_file", "to_stored", "write_file"]

#: The columns of a dataset's ``examples`` DataFrame, in order.
COLUMNS = ("example_id", "input", "expected", "metadata", "source_trace_id", "source_span_id")
#: File formats by suffix.
FORMATS = {".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
_ALIASES = {"inputs": "input", "question": "input", "query": "input", "prompt": "input",
            "expected_output": "expected", "reference": "expected", "ground_truth": "expected", "answer": "expected",
            "output": "expected", "id": "example_id", "trace_id": "source_trace_id", "span_id": "source_span_id"}


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NA or value is pd.NaT


def _plain(value: Any) -> Any:
    """A JSON-ready Python value (numpy scalars and arrays become numbers and lists)."""
    if _missing(value):
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _records(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, pd.DataFrame):
        return [dict(r) for r in data.to_dict(orient="records")]
    if hasattr(data, "to_pylist") and hasattr(data, "schema"):  # an Arrow table
        return [dict(r) for r in data.to_pylist()]
    if isinstance(data, Mapping):
        return [dict(data)]
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise ConfigError(
            f"Examples must be a DataFrame, an Arrow table or a list of dicts (or strings), not "
            f"{type(data).__name__}; give rows with an 'input' and, optionally, 'expected' and 'metadata'."
        )
    out = []
    for item in data:
        out.append(dict(item) if isinstance(item, Mapping) else {"input": item})
    return out


def normalise(data: Any) -> list[dict[str, Any]]:
    """Examples in the example columns (ids made up where missing), from a DataFrame, Arrow
    table, a dict, or a list of dicts or of plain inputs.

    Columns other than the example's own go into its ``metadata``; ``question`` and
    ``reference`` (and a few other common spellings) are read as ``input`` and ``expected``.

    Raises:
        ConfigError: The data is not rows, an example has no input, or an id repeats.
    """
    out = []
    seen: set[str] = set()
    for n, raw in enumerate(_records(data)):
        row = {_ALIASES.get(k, k) if _ALIASES.get(k, k) not in raw else k: v for k, v in raw.items()}
        if "input" not in row or _missing(row["input"]):
            raise ConfigError(
                f"Example {n} has no input (its keys: {', '.join(map(str, raw)) or 'none'}); give each "
                "example an 'input' (text, or a dict of fields)."
            )
        metadata = _plain(row.get("metadata")) or {}
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError:
                metadata = {"note": metadata}
        if not isinstance(metadata, dict):
            raise ConfigError(f"Example {n}'s metadata is a {type(metadata).__name__}; give a dict.")
        for key, value in row.items():
            if key not in COLUMNS and not _missing(value):
                metadata[str(key)] = _plain(value)
        example_id = row.get("example_id")
        example_id = uuid.uuid4().hex[:16] if _missing(example_id) or example_id == "" else str(example_id)
        if example_id in seen:
            raise ConfigError(f"The example id {example_id!r} is given twice; give each example its own id.")
        seen.add(example_id)
        expected = _plain(row.get("expected"))
        out.append({
            "example_id": example_id,
            "input": _plain(row["input"]),
            "expected": expected,
            "metadata": metadata,
            "source_trace_id": None if _missing(row.get("source_trace_id")) else str(row["source_trace_id"]),
            "source_span_id": None if _missing(row.get("source_span_id")) else str(row["source_span_id"]),
        })
    return out


def to_stored(example: Mapping[str, Any]) -> dict[str, Any]:
    """The ``dataset_examples`` columns of an example (JSON as text)."""
    return {
        "example_id": example["example_id"],
        "input": json.dumps(example["input"], ensure_ascii=False),
        "expected": None if example.get("expected") is None else json.dumps(example["expected"], ensure_ascii=False),
        "metadata": json.dumps(example.get("metadata") or {}, ensure_ascii=False),
        "source_trace_id": example.get("source_trace_id"),
        "source_span_id": example.get("source_span_id"),
    }


def _loads(text: Any) -> Any:
    return None if text is None else json.loads(text)


def from_stored(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The ``examples`` DataFrame of stored rows."""
    records = [{
        "example_id": r["example_id"], "input": _loads(r["input"]), "expected": _loads(r["expected"]),
        "metadata": _loads(r["metadata"]) or {}, "source_trace_id": r["source_trace_id"],
        "source_span_id": r["source_span_id"],
    } for r in rows]
    frame = pd.DataFrame(records, columns=list(COLUMNS), dtype=object)
    for column in ("expected", "source_trace_id", "source_span_id"):  # None, not NaN, where missing
        frame[column] = pd.Series([None if _missing(v) else v for v in frame[column]], dtype=object)
    return frame


# Files -----------------------------------------------------------------------------------


def _format(path: Path, format: str | None) -> str:
    if format is not None:
        if format not in set(FORMATS.values()):
            raise ConfigError(f"format={format!r} is not one of parquet, jsonl, csv.")
        return format
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ConfigError(
            f"Cannot tell the format of {path.name} from its suffix; name it .parquet, .jsonl or .csv, "
            "or pass format=."
        )
    return found


def _cell(value: Any) -> str:
    """A CSV cell: text as itself, anything else as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _uncell(text: str) -> Any:
    """A CSV cell back: JSON objects and lists are read as such, anything else is text."""
    stripped = text.strip()
    if stripped[:1] in ("{", "[") :
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    return text


def write_file(examples: pd.DataFrame, path: str | Path, format: str | None = None) -> Path:
    """Write examples as Parquet, JSONL or CSV (by suffix, or ``format``); return the path.

    Parquet and CSV hold ``input``, ``expected`` and ``metadata`` as JSON text (CSV: a text
    input as plain text); JSONL holds them as JSON values.
    """
    target = Path(path).expanduser()
    kind = _format(target, format)
    records = examples.to_dict(orient="records")
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "jsonl":
        with target.open("w", encoding="utf-8") as out:
            for r in records:
                out.write(json.dumps({k: _plain(r[k]) for k in COLUMNS}, ensure_ascii=False) + "\n")
    elif kind == "csv":
        with target.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(COLUMNS)
            for r in records:
                writer.writerow([_cell(_plain(r[k])) for k in COLUMNS])
    else:
        frame = pd.DataFrame([to_stored({k: _plain(r[k]) for k in COLUMNS}) for r in records], columns=list(COLUMNS))
        frame.to_parquet(target, index=False)
    return target


def _delimiter(header: str) -> str:
    """The CSV file's delimiter, told from its header line: a comma unless the header holds none
    and has semicolons or tabs instead (spreadsheets in many locales save ``;``-separated CSV)."""
    if "," in header:
        return ","
    counts = {d: header.count(d) for d in (";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_file(path: str | Path, format: str | None = None) -> list[dict[str, Any]]:
    """Read examples from a Parquet, JSONL or CSV file, as :func:`normalise` returns them.

    Raises:
        ImportFormatError: The file cannot be read, or its rows have no ``input``.
    """
    source = Path(path).expanduser()
    kind = _format(source, format)
    if not source.is_file():
        raise ImportFormatError(f"There is no file {source}; give a .parquet, .jsonl or .csv file of examples.")
    try:
        if kind == "jsonl":
            rows = []
            with source.open(encoding="utf-8-sig") as f:  # a byte-order mark (Windows tools) is skipped
                for number, line in enumerate(f, 1):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except ValueError:
                            raise ImportFormatError(
                                f"Line {number} of {source.name} is not JSON; give one JSON object per line."
                            ) from None
        elif kind == "csv":
            with source.open(encoding="utf-8-sig", newline="") as f:  # Excel's "CSV UTF-8" starts with a BOM
                reader = csv.DictReader(f, delimiter=_delimiter(f.readline()))
                f.seek(0)  # the decoder starts again, and skips the mark again
                rows = [{k: (None if v == "" else _uncell(v)) for k, v in r.items()} for r in reader]
        else:
            frame = pd.read_parquet(source)
            rows = frame.to_dict(orient="records")
            for r in rows:
                for key in ("input", "expected", "metadata"):
                    if isinstance(r.get(key), str):
                        try:
                            r[key] = json.loads(r[key])
                        except ValueError:
                            pass
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, ImportFormatError):
            raise
        if isinstance(exc, UnicodeDecodeError):
            raise ImportFormatError(
                f"{source.name} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at position {exc.start}); save "
                "it as UTF-8 (in Excel: CSV UTF-8) and import it again."
            ) from None
        raise ImportFormatError(f"Cannot read {source}: {exc}; give a {kind} file of examples.") from None
    if any(not isinstance(r, dict) for r in rows):
        raise ImportFormatError(f"{source.name} holds something other than objects; give one example per row.")
    try:
        return normalise(rows)
    except ConfigError as exc:
        raise ImportFormatError(f"{source.name}: {exc}") from None
