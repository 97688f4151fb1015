"""Parquet export and import of every table, partitioned by day.

Layout of an export folder::

    DIR/spans/day=2026-11-23/data_0.parquet
    DIR/documents/day=.../...
    DIR/embeddings/day=.../...
    DIR/annotations/day=.../...
    DIR/corpus/corpus.parquet

Import reads such a folder (or a single Parquet file of spans), checks every table has the
columns of :mod:`workbench.store.schema`, and skips rows already present, so importing the
same export twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from workbench.errors import ImportFormatError, StoreError
from workbench.store import summary
from workbench.store.database import Database
from workbench.store.schema import TABLES, Table

__all__ = ["export_parquet", "import_parquet", "latest_time"]

# The columns that identify a row, so an import skips what is already stored.
_KEYS: dict[str, tuple[str, ...]] = {
    "spans": ("trace_id", "span_id"),
    "documents": ("trace_id", "span_id", "position"),
    "embeddings": ("trace_id", "span_id", "position"),
    "annotations": ("annotation_id",),
    "corpus": ("document_id",),
    "drift_baselines": ("name", "trace_id", "span_id", "position"),
    "log_records": ("trace_id", "span_id", "time_ns", "event_name", "body"),
    "datasets": ("name", "version"),
    "dataset_examples": ("dataset", "version", "example_id"),
    "experiments": ("experiment_id",),
    "experiment_runs": ("experiment_id", "example_id"),
    "prompts": ("name", "version"),
}


def _file_order(table: Table) -> str:
    """A day file's rows: trace by trace, in time within each, where the table has traces.

    An agent's LLM calls each repeat the conversation so far; side by side, the compressor
    keeps that history about once per trace instead of once per call.
    """
    names = [table.time_column, *_KEYS[table.name]]
    if "trace_id" in table.column_names:
        names.insert(0, "trace_id")
    return ", ".join(dict.fromkeys(n for n in names if n))


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_parquet(db: Database, out_dir: str | Path, *, compression: str = "zstd") -> dict[str, int]:
    """Write every non-empty table to ``out_dir`` as Parquet; return the row count per table.

    Raises:
        StoreError: The folder cannot be written.
    """
    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Cannot create the export folder {out}: {exc.strerror}; choose another folder.") from None
    cur = db.cursor()
    counts: dict[str, int] = {}
    present = db.tables()
    for table in TABLES.values():
        if table.name not in present:  # a table added after this file was made, never written
            counts[table.name] = 0
            continue
        n = cur.execute(f"SELECT count(*) FROM {table.name}").fetchall()[0][0]
        counts[table.name] = n
        if not n:
            continue
        target = out / table.name
        order = ", ".join(_KEYS[table.name])
        try:
            if table.time_column:
                cur.execute(
                    f"COPY (SELECT *, strftime({table.time_column}, '%Y-%m-%d') AS day FROM {table.name} "
                    f"ORDER BY {_file_order(table)}) TO {_quote(target)} "
                    f"(FORMAT PARQUET, PARTITION_BY (day), OVERWRITE_OR_IGNORE, COMPRESSION {compression})"
                ).fetchall()
            else:
                target.mkdir(exist_ok=True)
                cur.execute(
                    f"COPY (SELECT * FROM {table.name} ORDER BY {order}) TO "
                    f"{_quote(target / (table.name + '.parquet'))} (FORMAT PARQUET, COMPRESSION {compression})"
                ).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"Cannot write Parquet to {target}: {exc}") from None
    return counts


def _sources(path: Path) -> dict[str, str]:
    if path.is_file():
        return {"spans": _quote(path)}
    if not path.is_dir():
        raise ImportFormatError(
            f"There is nothing at {path}; give a folder written by `workbench export` or a Parquet file."
        )
    found = {}
    for name in TABLES:
        folder = path / name
        if folder.is_dir() and any(folder.rglob("*.parquet")):
            found[name] = _quote(folder / "**" / "*.parquet")
    if not found:
        raise ImportFormatError(
            f"No workbench Parquet tables were found in {path} (expected folders such as spans/ and "
            "documents/ as `workbench export` writes them)."
        )
    return found


def _reader(source: str) -> str:
    return f"read_parquet({source}, hive_partitioning = false, union_by_name = true)"


def _check_columns(cur: duckdb.DuckDBPyConnection, table: Table, source: str) -> set[str]:
    present = {row[0] for row in cur.execute(f"DESCRIBE SELECT * FROM {_reader(source)}").fetchall()}
    missing = [c.name for c in table.columns if c.name not in present and not c.optional]
    if missing:
        raise ImportFormatError(
            f"The {table.name} Parquet at {source.strip(chr(39))} lacks the column(s) "
            f"{', '.join(missing)}; import files written by `workbench export` (see docs/schema.md "
            "for the columns each table needs)."
        )
    return present


def _shifted(table: Table, shift_us: int, present: set[str]) -> list[str]:
    exprs = []
    for column in table.columns:
        name = column.name
        if name not in present:
            exprs.append(f"CAST(NULL AS {column.sql}) AS {name}")
        elif shift_us and column.sql == "TIMESTAMPTZ":
            exprs.append(f"{name} + to_microseconds({shift_us}::BIGINT) AS {name}")
        elif shift_us and name == "time_ns":  # log records' nanosecond copy of their time
            exprs.append(f"time_ns + {shift_us * 1000} AS time_ns")
        elif shift_us and name == "events":
            shift_ns = shift_us * 1000
            exprs.append(
                "CAST(list_transform(CAST(events AS JSON[]), lambda e: json_merge_patch(e, "
                f"json_object('time_ns', CAST(e->>'time_ns' AS BIGINT) + {shift_ns}))) AS JSON) AS events"
            )
        else:
            exprs.append(name)
    return exprs


def latest_time(path: str | Path) -> dt.datetime | None:
    """Return the latest span end time in an export folder (to shift it to now on load)."""
    sources = _sources(Path(path).expanduser())
    if "spans" not in sources:
        return None
    con = duckdb.connect(":memory:", config={"python_enable_replacements": False})
    try:
        con.execute("SET TimeZone = 'UTC'")
        table = con.sql(f"SELECT max(end_time) AS t FROM {_reader(sources['spans'])}").to_arrow_table()
        return table.column(0)[0].as_py()
    finally:
        con.close()


def import_parquet(
    cur: duckdb.DuckDBPyConnection, path: str | Path, *, shift: dt.timedelta | None = None
) -> dict[str, int]:
    """Import an export folder (or one Parquet file of spans); return rows added per table.

    A unit of work for :meth:`workbench.store.writer.Writer.execute`: it runs on a writer
    thread's cursor inside the writer's transaction, so a failed import adds nothing.

    Args:
        cur: The writer's cursor, in an open transaction.
        path: A folder written by :func:`export_parquet`, or a single Parquet file of spans.
        shift: Added to every time (span times, event times, annotation times), e.g. to
            move sample data so its latest trace is recent.

    Raises:
        ImportFormatError: The files lack columns or tables workbench needs.
    """
    sources = _sources(Path(path).expanduser())
    shift_us = int(shift / dt.timedelta(microseconds=1)) if shift else 0
    added: dict[str, int] = dict.fromkeys(TABLES, 0)
    try:
        present = {name: _check_columns(cur, TABLES[name], source) for name, source in sources.items()}
        for name, source in sources.items():
            table = TABLES[name]
            keys = _KEYS[name]
            join = " AND ".join(f"t.{k} IS NOT DISTINCT FROM n.{k}" for k in keys)
            before = cur.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
            cur.execute(
                f"INSERT INTO {name} BY NAME SELECT n.* FROM "
                f"(SELECT {', '.join(_shifted(table, shift_us, present[name]))} "
                f"FROM {_reader(source)}) n WHERE NOT EXISTS (SELECT 1 FROM {name} t WHERE {join})"
            ).fetchall()
            added[name] = cur.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] - before
            if name == "spans" and added[name]:
                summary.refresh(cur, f"SELECT trace_id FROM {_reader(source)}")
    except duckdb.Error as exc:
        raise ImportFormatError(
            f"Cannot import {path}: {_first_line(exc)}; give a folder written by `workbench export` "
            "or a Parquet file of spans."
        ) from None
    return added


def _first_line(exc: Exception) -> str:
    """DuckDB's message without its error-class prefix, its SQL echo and its caret line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text.split(": ", 1)[1] if text.split(": ", 1)[0].endswith("Error") and ": " in text else text
    return text[:200].rstrip(".")
