"""An Arrow table as CSV or Parquet bytes, whatever types a query's columns have.

A SQL answer may hold types that a file format cannot: CSV has no lists, structs or maps, and
Parquet has no DuckDB ``INTERVAL`` (Arrow's month-day-nano interval) or union. Such a column is
written as text instead (JSON for nested values, so a script can read it back), and every other
column keeps its type. The server's ``?format=csv|parquet`` and ``workbench sql --format`` both
write through here, so neither fails on a column the other can print.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = ["csv_bytes", "parquet_bytes"]

_WRITE_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def _plain(value: Any) -> Any:
    """``value`` with every part JSON can hold as itself, and the rest as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _as_text(column: pa.ChunkedArray) -> pa.Array:
    values = []
    for value in column.to_pylist():
        if value is None or isinstance(value, str):
            values.append(value)
        elif isinstance(value, (dict, list, tuple)):
            values.append(json.dumps(_plain(value), ensure_ascii=False))
        else:
            plain = _plain(value)
            values.append(plain if isinstance(plain, str) else json.dumps(plain))
    return pa.array(values, pa.string())


def _writable(table: pa.Table, write: Callable[[pa.Table], Any], nested_ok: bool) -> pa.Table:
    """``table`` with each column that ``write`` refuses turned into text."""
    for i, field in enumerate(table.schema):
        nested = pa.types.is_nested(field.type)
        if nested and not nested_ok:
            table = table.set_column(i, field.name, _as_text(table.column(i)))
            continue
        try:  # a one-row column of this type tells whether the format takes it
            write(pa.table({field.name: table.column(i).slice(0, 1)}))
        except _WRITE_ERRORS:
            table = table.set_column(i, field.name, _as_text(table.column(i)))
    return table


def _write_parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def _write_csv(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    return buffer.getvalue()


def parquet_bytes(table: pa.Table) -> bytes:
    """``table`` as a Parquet file; a column Parquet cannot hold (an interval ...) becomes text."""
    return _write_parquet(_writable(table, _write_parquet, nested_ok=True))


def csv_bytes(table: pa.Table) -> bytes:
    """``table`` as CSV with a header; lists, structs and maps become JSON text, as do other
    columns CSV cannot hold (an interval ...)."""
    return _write_csv(_writable(table, _write_csv, nested_ok=False))
