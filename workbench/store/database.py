"""The DuckDB connection: opening a file, session settings, per-thread cursors.

One :class:`Database` owns one DuckDB connection. Every thread that reads gets its own
cursor (DuckDB cursors are connections to the same database, safe to use side by side);
writes go through :class:`workbench.store.writer.Writer` alone.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from workbench.errors import FilterError, SchemaVersionError, StoreError, StoreLockedError
from workbench.store.holder import read_holder_url
from workbench.store.schema import SCHEMA_VERSION, TABLES, ddl

__all__ = ["Database", "MEMORY"]

MEMORY = ":memory:"

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.+?) \(PID (?P<pid>\d+)\)")


def _session_settings(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET TimeZone = 'UTC'")


# A checkpoint stops every commit while it compresses what the log holds (0.6-0.8 s for the
# 128 MB written by 30,000 spans of the shared ingest workload). The writer checkpoints when
# it has been idle for a moment (see Writer), so a burst of spans is not held up by one;
# DuckDB's own checkpoint on commit is only the backstop for load that never pauses.
CHECKPOINT_BACKSTOP = "512MB"


def _database_settings(con: duckdb.DuckDBPyConnection) -> None:
    # Each checkpoint also rewrites the row group still being filled, so DuckDB's default of
    # one checkpoint per 16 MB of log made ingest spend a quarter of its CPU re-compressing
    # the same rows (measured: 185 against 138 CPU microseconds a span). The log is on disk
    # and replayed on open, so nothing committed is lost by checkpointing less often.
    con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_BACKSTOP}'")


def _connect(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    # Replacement scans off: a notebook variable named `spans` must never shadow the table.
    config = {"python_enable_replacements": False}
    try:
        return duckdb.connect(path, read_only=read_only, config=config)
    except duckdb.IOException as exc:
        text = str(exc)
        holder = _LOCK_HOLDER.search(text)
        if holder:
            pid = int(holder["pid"])
            raise StoreLockedError(
                path, pid=pid, program=Path(holder["exe"]).name, url=read_holder_url(path, pid)
            ) from None
        if "not a valid DuckDB database file" in text:
            raise StoreError(
                f"The file {path} is not a DuckDB database (it may be corrupt or another kind of "
                "file); pass another path with --db, or move this file away."
            ) from None
        raise StoreError(f"Cannot open the database file {path}: {text}") from None
    except duckdb.Error as exc:
        raise StoreError(f"Cannot open the database file {path}: {exc}") from None


class Database:
    """A DuckDB database file (or ``:memory:``) with workbench's tables.

    Args:
        path: The file to open or create, or ``":memory:"``.
        read_only: Open without writing. Several read-only openers of one file may coexist,
            but none can while another process writes it.

    Raises:
        StoreLockedError: Another process holds the file.
        SchemaVersionError: The file was written with another schema version.
        StoreError: The file cannot be opened (not a database, no permission ...).
    """

    def __init__(self, path: str | Path = MEMORY, *, read_only: bool = False) -> None:
        if str(path) != MEMORY:
            path = Path(path).expanduser()
            if not read_only:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(
                        f"Cannot create the folder {path.parent} for the database: {exc.strerror}; "
                        "pass a writable path with --db or WORKBENCH_DB."
                    ) from None
            elif not path.exists():
                raise StoreError(f"There is no database file at {path}; check the path.")
        self.path = str(path)
        self.read_only = read_only
        self._con = _connect(self.path, read_only)
        _session_settings(self._con)
        if not read_only:
            _database_settings(self._con)
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()
        self._closed = False
        self._prepare()

    def _prepare(self) -> None:
        con = self._con
        has_meta = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'workbench_meta'"
        ).fetchall()[0][0]
        if has_meta:
            rows = con.execute("SELECT value FROM workbench_meta WHERE key = 'schema_version'").fetchall()
            found = int(rows[0][0]) if rows else None
            if found != SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"The database file {self.path} has schema version {found}, and this workbench "
                    f"reads version {SCHEMA_VERSION}; export it with the workbench version that wrote "
                    "it (workbench export), then import the Parquet into a new file."
                )
            if not self.read_only:  # tables added since the file was made
                for table in TABLES.values():
                    if table.added_later:
                        con.execute(table.create_statement)
            return
        if self.read_only:
            raise StoreError(f"The file {self.path} is a DuckDB database but not a workbench store.")
        con.execute("BEGIN")
        for statement in ddl():
            con.execute(statement)
        con.execute(
            "INSERT INTO workbench_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
        )
        con.execute("COMMIT")

    def log_bytes(self) -> int:
        """The size of the write-ahead log: what the next checkpoint will compress (0 in memory)."""
        if self.path == MEMORY:
            return 0
        try:
            return os.path.getsize(self.path + ".wal")
        except OSError:
            return 0

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Return this thread's own cursor, creating it on first use."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._cursors_lock:  # atomic with close(): no cursor is born after it starts
                if self._closed:
                    raise StoreError("The store is closed; open it again.")
                cur = self._con.cursor()
                self._cursors.append(cur)
            _session_settings(cur)
            self._local.cursor = cur
        return cur

    def new_cursor(self) -> duckdb.DuckDBPyConnection:
        """Return a cursor owned by the caller (the writer keeps one for itself)."""
        with self._cursors_lock:
            if self._closed:
                raise StoreError("The store is closed; open it again.")
            cur = self._con.cursor()
            self._cursors.append(cur)
        _session_settings(cur)
        return cur

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a read query on this thread's cursor and return an Arrow table.

        Raises:
            FilterError: A value the caller gave cannot be used (text compared with a number,
                a regular expression DuckDB does not take).
            StoreError: The query failed for another reason.
        """
        try:
            return self.cursor().sql(sql, params=params or None).to_arrow_table()
        except (duckdb.ConversionException, duckdb.BinderException, duckdb.TypeMismatchException) as exc:
            raise FilterError(
                f"A value in the query cannot be used: {_first_line(exc)}; compare numbers with numbers, times "
                "with times and text with quoted text, like latency_ms > 2000 or model_name == 'gpt-4o'."
            ) from None
        except duckdb.InvalidInputException as exc:
            raise FilterError(f"A value in the query cannot be used: {_first_line(exc)}; check it.") from None
        except duckdb.Error as exc:
            raise StoreError(f"The query on {self.path} failed: {_first_line(exc)}.") from None

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query on this thread's cursor and return its rows as tuples."""
        # Through Arrow: DuckDB's own conversion of TIMESTAMPTZ to Python needs pytz.
        table = self.query(sql, params)
        columns = [column.to_pylist() for column in table.columns]
        return list(zip(*columns)) if columns else []

    def tables(self) -> set[str]:
        """The workbench tables the file holds: a file opened read-only may predate some."""
        rows = self.fetchall("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")
        return {name for (name,) in rows if name in TABLES}

    def close(self, timeout: float = 10.0) -> None:
        """Stop running queries, close every cursor and the connection.

        A query still running on another thread (a page being drawn, say) is interrupted,
        and the close waits for it to let go, up to ``timeout`` seconds.

        Raises:
            StoreError: A query would not let go within ``timeout``.
        """
        with self._cursors_lock:
            if self._closed:
                return
            self._closed = True
            cursors = list(self._cursors)
        deadline = time.monotonic() + timeout
        for closable in (*cursors, self._con):
            while True:
                for cur in cursors:
                    try:
                        cur.interrupt()
                    except duckdb.Error:
                        pass
                try:
                    closable.close()
                    break
                except duckdb.Error as exc:  # busy: another thread's query is still running
                    if time.monotonic() > deadline:
                        raise StoreError(
                            f"Cannot close {self.path}: a query is still running ({exc}); stop what is "
                            "reading it (the app, a notebook cell) and close again."
                        ) from None
                    time.sleep(0.02)
        self._cursors.clear()
        # Let go of the closed cursors other threads still hold in their locals, so none
        # outlives the store (DuckDB reports such objects as leaked when Python exits).
        self._local = threading.local()
        self._con = None  # type: ignore[assignment]


def _first_line(exc: Exception) -> str:
    """DuckDB's message without its error-class prefix, the SQL it echoes and its caret line."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    head, _, rest = text.partition(": ")
    return (rest if head.endswith("Error") and rest else text)[:300].rstrip(".")
