"""The DuckDB connection: opening a file, session settings, per-thread cursors.

One :class:`Database` owns one DuckDB connection. Every thread that reads gets its own
cursor (DuckDB cursors are connections to the same database, safe to use side by side);
writes go through :class:`workbench.store.writer.Writer` alone.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from workbench import config
from workbench.errors import DiskFullError, FilterError, SchemaVersionError, StoreError, StoreLockedError
from workbench.store.holder import read_holder_url
from workbench.store.schema import OWN_TABLES, SCHEMA_VERSION, TABLES, ddl
from workbench.store.transactions import transaction

__all__ = ["MEMORY", "Database", "is_invalidated"]

logger = logging.getLogger(__name__)

MEMORY = ":memory:"


def is_invalidated(exc: BaseException) -> bool:
    """Whether a DuckDB error means the database was invalidated (a failed checkpoint or write
    on a full disk): nothing works on it until it is opened again."""
    return isinstance(exc, duckdb.FatalException) or "database has been invalidated" in str(exc)


def _mib(n: float) -> str:
    return f"{n / (1 << 20):.0f} MiB"

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


# Free space a disk must gain after a write failed on it before writes are tried again.
_ROOM_AFTER_FULL = 8 << 20


def _connect(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    # Replacement scans off: a notebook variable named `spans` must never shadow the table.
    config: dict[str, str | bool | int | float | list[str]] = {"python_enable_replacements": False}
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
        min_free_bytes: Free space kept on the file's disk: below it, :meth:`check_disk`
            refuses writes (0: no check). Default: ``WORKBENCH_MIN_FREE_MB``.

    When DuckDB invalidates the database (a checkpoint or commit that failed on a full disk
    leaves it unusable until it is opened again), :meth:`recover` opens it again; reads do so
    by themselves, and so does the writer.

    Raises:
        StoreLockedError: Another process holds the file.
        SchemaVersionError: The file was written with another schema version.
        StoreError: The file cannot be opened (not a database, no permission ...).
    """

    def __init__(
        self, path: str | Path = MEMORY, *, read_only: bool = False, min_free_bytes: int | None = None
    ) -> None:
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
        if min_free_bytes is None:
            min_free_bytes = config.get("min_free_mb") << 20
        self.min_free_bytes = 0 if self.path == MEMORY or read_only else max(0, min_free_bytes)
        self._con = self._open()
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()
        self._closed = False
        self._running = 0  # queries query() is running now
        self.generation = 0  # counts reopenings: cursors of an older generation are stale
        self._recover_lock = threading.Lock()
        self._next_attempt = 0.0
        self._broken: str | None = None  # why the database is unusable, while it is
        self._low_disk: str | None = None  # the message while the disk is low
        self._full_at: int | None = None  # free bytes when a write last failed on a full disk
        try:
            self._prepare()
        except BaseException:
            self._con.close()
            raise

    def _open(self) -> duckdb.DuckDBPyConnection:
        con = _connect(self.path, self.read_only)
        try:
            _session_settings(con)
            if not self.read_only:
                _database_settings(con)
        except BaseException:
            con.close()
            raise
        return con

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
                for table in (*OWN_TABLES.values(), *TABLES.values()):
                    if table.added_later:
                        con.execute(table.create_statement)
            return
        if self.read_only:
            raise StoreError(f"The file {self.path} is a DuckDB database but not a workbench store.")
        with transaction(con):
            for statement in ddl():
                con.execute(statement)
            con.execute("INSERT INTO workbench_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    def log_bytes(self) -> int:
        """The size of the write-ahead log: what the next checkpoint will compress (0 in memory)."""
        if self.path == MEMORY:
            return 0
        try:
            return os.path.getsize(self.path + ".wal")
        except OSError:
            return 0

    # Disk space ----------------------------------------------------------------------

    def free_bytes(self) -> int | None:
        """Free space on the disk that holds the file, for an unprivileged writer (None in memory)."""
        if self.path == MEMORY or not hasattr(os, "statvfs"):
            return None
        try:
            stat = os.statvfs(os.path.dirname(os.path.abspath(self.path)))
        except OSError:
            return None
        return stat.f_bavail * stat.f_frsize

    def low_disk(self, need: int = 0) -> str | None:
        """A sentence saying the disk is too full to write ``need`` more bytes, or None.

        Logs once when the disk becomes low, and once when it has room again.
        """
        if not self.min_free_bytes and self._full_at is None:
            return None
        free = self.free_bytes()
        if free is None:
            return None
        if self._full_at is not None:
            # A write failed on a full disk: more writes would only fail (and a failed commit
            # invalidates the database again), so they wait until space has been freed.
            if free < self._full_at + _ROOM_AFTER_FULL:
                return self._refusing(f"The disk holding {self.path} is full ({_mib(free)} free)")
            self._full_at = None
        if free >= self.min_free_bytes + need:
            if self._low_disk is not None:
                self._low_disk = None
                logger.warning("the disk holding %s has room again (%s free); writes resume", self.path, _mib(free))
            return None
        return self._refusing(
            f"The disk holding {self.path} has {_mib(free)} free, less than the "
            f"{_mib(self.min_free_bytes + need)} workbench keeps free (WORKBENCH_MIN_FREE_MB)"
        )

    def _refusing(self, why: str) -> str:
        # The sentence writes are refused with; logged when the refusing begins.
        message = f"{why}; writes are refused until space is freed, then resume by themselves."
        if self._low_disk is None:
            logger.error("%s", message)
        self._low_disk = message
        return message

    def ran_out_of_space(self, error: BaseException | str) -> bool:
        """Note a write that failed for want of space (when ``error`` says so); return whether it did.

        From then on :meth:`low_disk` refuses writes until some space has been freed, even
        with the free-space check turned off.
        """
        if "No space left on device" not in str(error):
            return False
        free = self.free_bytes()
        if free is not None:
            self._full_at = free
        return True

    def check_disk(self, need: int = 0) -> None:
        """Refuse a write when the disk is (nearly) full.

        Raises:
            DiskFullError: Less than ``min_free_bytes`` (plus ``need``) is free.
        """
        message = self.low_disk(need)
        if message is not None:
            raise DiskFullError(message)

    # Recovery ------------------------------------------------------------------------

    @property
    def broken(self) -> str | None:
        """Why the database cannot be used now (it was invalidated and not yet reopened), or None."""
        return self._broken

    def recover(self, cause: BaseException | str | None = None) -> bool:
        """Open the file again after DuckDB invalidated it; return whether it is usable.

        Every cursor of the old connection is closed (each thread gets a new one on its next
        use). The cause is logged once. When the file cannot be opened yet (the disk is still
        full, say), the next attempt waits a second.
        """
        if self.path == MEMORY:
            return False
        seen = self.generation
        with self._recover_lock:
            if self.generation != seen and self._broken is None:
                return True  # another thread has reopened it meanwhile
            if cause is not None:
                self.ran_out_of_space(cause)
            if cause is not None and self._broken is None:
                self._broken = str(cause).strip().splitlines()[-1] if str(cause).strip() else repr(cause)
                logger.error("the database %s stopped working (%s); opening it again", self.path, cause)
            if time.monotonic() < self._next_attempt:
                return False
            with self._cursors_lock:
                if self._closed:
                    return False
                cursors, self._cursors = list(self._cursors), []
                old, self._con = self._con, None  # type: ignore[assignment]
                self.generation += 1
            old_ones = [c for c in (*cursors, old) if c is not None]
            con = None
            # DuckDB hands out the same (invalidated) database while anything still holds it,
            # such as a query another thread is finishing: close again and retry a moment.
            for attempt in range(50):
                for closable in old_ones:
                    try:
                        closable.interrupt()
                    except duckdb.Error:
                        pass
                    try:
                        closable.close()
                    except duckdb.Error:
                        pass
                try:
                    con = self._open()
                    con.execute("SELECT count(*) FROM workbench_meta").fetchall()
                    break
                except (StoreError, duckdb.Error) as exc:
                    if con is not None:
                        try:
                            con.close()
                        except duckdb.Error:
                            pass
                    con = None
                    if not is_invalidated(exc) and "different configuration" not in str(exc):
                        logger.debug("could not open %s again yet: %s", self.path, exc)
                        break
                    if attempt % 10 == 9:
                        # Still the old database: something no longer used (a query result left
                        # in a reference cycle, say) keeps it alive until the collector runs.
                        gc.collect()
                    time.sleep(0.05)
            if con is None:
                self._next_attempt = time.monotonic() + 1.0
                return False
            with self._cursors_lock:
                self._con = con
            self._broken = None
            self._next_attempt = 0.0
            logger.warning("the database %s was opened again and works", self.path)
            return True

    def replace_file(self, build: Callable[[duckdb.DuckDBPyConnection], str]) -> None:
        """Put a rebuilt file in this one's place, and go on with it.

        ``build(connection)`` writes the new file beside this one (it runs while this process
        holds the file, so no other process writes meanwhile) and returns its path. Then every
        cursor and the connection close, the new file is renamed over the old (atomically),
        and it is opened again; each thread gets a new cursor on its next use. The caller
        stops the writer first. A failure before the rename leaves the old file as it was.

        Raises:
            StoreError: The file could not be rebuilt or put in place (it is then unchanged).
        """
        if self.path == MEMORY or self.read_only:
            raise StoreError(f"The store {self.path} cannot be rebuilt: it is in memory or read-only.")
        with self._recover_lock:
            new = build(self._connection())
            with self._cursors_lock:
                cursors, self._cursors = list(self._cursors), []
                old, self._con = self._con, None  # type: ignore[assignment]
                self.generation += 1
            problem = None
            try:
                for closable in (*cursors, old):
                    try:
                        closable.interrupt()
                        closable.close()
                    except duckdb.Error:
                        pass
                if os.path.exists(self.path + ".wal"):  # never pair a new file with the old one's log
                    problem = "its write-ahead log was not folded in at close"
                else:
                    os.replace(new, self.path)
            except OSError as exc:
                problem = exc.strerror or str(exc)
            finally:
                if problem is not None:
                    for leftover in (new, new + ".wal"):
                        if os.path.exists(leftover):
                            os.unlink(leftover)
                con = self._open()
                with self._cursors_lock:
                    self._con = con
            if problem is not None:
                raise StoreError(f"The store {self.path} could not be compacted ({problem}); it is unchanged.")

    def _connection(self) -> duckdb.DuckDBPyConnection:
        # Called with _cursors_lock held.
        if self._closed:
            raise StoreError("The store is closed; open it again.")
        if self._con is None:
            raise StoreError(
                f"The database {self.path} cannot be used now ({self._broken or 'it is being reopened'}); "
                "retry in a moment, after freeing disk space if it is full."
            )
        return self._con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Return this thread's own cursor, creating it on first use."""
        cur = getattr(self._local, "cursor", None)
        if cur is None or getattr(self._local, "generation", None) != self.generation:
            if self._con is None and not self._closed:
                self.recover()
            with self._cursors_lock:  # atomic with close(): no cursor is born after it starts
                self._refuse_if_closed()
                cur = self._connection().cursor()
                self._cursors.append(cur)
                generation = self.generation
            _session_settings(cur)
            self._local.cursor = cur
            self._local.generation = generation
        return cur

    def new_cursor(self) -> duckdb.DuckDBPyConnection:
        """Return a cursor owned by the caller (the writer keeps one for itself)."""
        if self._con is None and not self._closed:
            self.recover()
        with self._cursors_lock:
            self._refuse_if_closed()
            cur = self._connection().cursor()
            self._cursors.append(cur)
        _session_settings(cur)
        return cur

    def _refuse_if_closed(self) -> None:
        # A query that starts while close() runs would not be in the list it interrupts.
        if self._closed:
            raise StoreError(f"{self.path} was closed; open it again to read or write it.")

    @contextmanager
    def own_cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for one caller and one task, closed afterwards (temporary views and
        registered tables made on it go with it; interrupting it stops only its query)."""
        cur = self.new_cursor()
        try:
            yield cur
        finally:
            with self._cursors_lock:
                self._cursors = [c for c in self._cursors if c is not cur]
            try:
                cur.close()
            except duckdb.Error:
                pass

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> pa.Table:
        """Run a read query on this thread's cursor and return an Arrow table.

        A database DuckDB has invalidated is opened again, and the query run once more.

        Raises:
            FilterError: A value the caller gave cannot be used (text compared with a number,
                a regular expression DuckDB does not take).
            StoreError: The SQL would change the store (writes go through the writer), or the
                query failed for another reason.
        """
        with self._cursors_lock:  # counted, so that close() interrupts it even as it starts
            self._refuse_if_closed()
            self._running += 1
        try:
            try:
                cursor = self.cursor()
                _refuse_writes(sql, cursor)
                return cursor.sql(sql, params=params or None).to_arrow_table()
            except duckdb.Error as exc:
                if not is_invalidated(exc) or not self.recover(exc):
                    raise
            return self.cursor().sql(sql, params=params or None).to_arrow_table()
        except (duckdb.ConversionException, duckdb.BinderException, duckdb.TypeMismatchException) as exc:
            raise FilterError(
                f"A value in the query cannot be used: {_first_line(exc)}; compare numbers with numbers, times "
                "with times and text with quoted text, like latency_ms > 2000 or model_name == 'gpt-4o'."
            ) from None
        except duckdb.InvalidInputException as exc:
            if any(marker in str(exc) for marker in _UNREADABLE_SOURCE):  # a registered dataset's (a lake's)
                raise StoreError(f"The query on {self.path} could not read its data: {_first_line(exc)}; "
                                 "restore the file it names, or remove it from where it is published.") from None
            raise FilterError(f"A value in the query cannot be used: {_first_line(exc)}; check it.") from None
        except duckdb.Error as exc:
            raise StoreError(f"The query on {self.path} failed: {_first_line(exc)}.") from None
        finally:
            with self._cursors_lock:
                self._running -= 1

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
        # A query that began before the close is interrupted, also one just starting (an
        # interrupt reaches only a query already running): again until none runs.
        while True:
            _interrupt(cursors)
            with self._cursors_lock:
                running = self._running
            if not running or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        for closable in (*cursors, *([self._con] if self._con is not None else [])):
            while True:
                _interrupt(cursors)
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


def _interrupt(cursors: Sequence[duckdb.DuckDBPyConnection]) -> None:
    """Interrupt the query each cursor runs, if any."""
    for cur in cursors:
        try:
            cur.interrupt()
        except duckdb.Error:
            pass


# What the read path runs: queries, plans, and session settings. Everything else (INSERT,
# UPDATE, DELETE, CREATE, DROP, COPY, ATTACH, CHECKPOINT as a CALL ...) is a write, and goes
# through the writer's units of work. DuckDB cannot make one cursor read-only, so the
# statements are checked; parsing costs tens of microseconds, and is remembered per text.
_READ_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "SET", "VARIABLE_SET"})
_CHECKED: dict[str, str | None] = {}  # SQL text -> the kind of write it holds, or None


def _write_in(sql: str, cursor: duckdb.DuckDBPyConnection) -> str | None:
    found = _CHECKED.get(sql, "")
    if found != "":
        return found
    try:
        kinds = [statement.type.name for statement in cursor.extract_statements(sql)]
    except duckdb.Error:
        return None  # not SQL DuckDB parses: running it reports the syntax error
    found = next((kind for kind in kinds if kind not in _READ_STATEMENTS), None)
    if len(_CHECKED) > 2048:
        _CHECKED.clear()
    _CHECKED[sql] = found
    return found


def _refuse_writes(sql: str, cursor: duckdb.DuckDBPyConnection) -> None:
    """Raise StoreError when ``sql`` holds a statement that would change the store."""
    kind = _write_in(sql, cursor)
    if kind is not None:
        raise StoreError(
            f"The query path only reads, and this SQL would write ({kind}); change the store "
            "through its methods (add_annotations, load_corpus, set_meta) or Store.execute_write."
        )


#: How DuckDB's message begins when a registered Arrow source failed to read, while it was
#: read or as its stream was made.
_UNREADABLE_SOURCE = ("reading the stream registered as", "stream from the object registered as")


def _first_line(exc: Exception) -> str:
    """DuckDB's message without its error-class prefix, the SQL it echoes and its caret line."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    head, _, rest = text.partition(": ")
    return (rest if head.endswith("Error") and rest else text)[:300].rstrip(".")
