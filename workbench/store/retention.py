"""Retention: per-project limits by age and by span count, and a file that gives the space back.

Limits come from the ``[retention]`` table of the config file (``WORKBENCH_CONFIG``) and from
the command line (which wins)::

    [retention]
    max_age = "30d"            # traces whose last span started longer ago go
    max_spans = 1000000        # per project: the newest traces that fit, whole
    every = "1h"               # how often `workbench serve` applies them

    [retention.projects.support-bot]
    max_age = "7d"             # this project's own limits; the others above still apply

:func:`apply` removes whole traces (and their documents, embeddings, annotations and log
records) in one unit of work on the store's writer, the one write path. DuckDB gives back only
part of what a delete frees (measured, benchmarks/bench_retention.py: 90% of 300,000 spans
removed, 125.5 MiB became 36.0 MiB after a checkpoint, and 9.3 MiB compacted; a table written in
one transaction kept all of its 174 MiB), so :func:`compact` copies what is left into a new file
beside it and renames that over the old one, while this process holds the file and its
writer is stopped (:meth:`workbench.store.shared.OpenFile.rebuild`). :class:`Sweeper` does both
in the background of ``workbench serve``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from workbench import config
from workbench.errors import ConfigError, WorkbenchError
from workbench.store import summary

__all__ = ["Limits", "Removed", "Retention", "Sweeper", "apply", "compact", "load_retention", "parse_age"]

logger = logging.getLogger(__name__)

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|h|d|w)\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Tables whose rows belong to a trace, removed with it (spans last).
_WITH_TRACES = ("documents", "embeddings", "annotations", "log_records")


def parse_age(value: Any, *, what: str) -> dt.timedelta:
    """A duration from ``30m``, ``12h``, ``30d`` or ``2w`` (or a timedelta).

    Raises:
        ConfigError: It is not a positive duration.
    """
    if isinstance(value, dt.timedelta) and value > dt.timedelta(0):
        return value
    match = _AGE.match(value) if isinstance(value, str) else None
    if not match or float(match[1]) <= 0:
        raise ConfigError(f"The {what} is {value!r}, which is not a duration; write a number and a unit "
                          "(m, h, d or w) such as '30d' or '12h'.")
    return dt.timedelta(**{_UNITS[match[2]]: float(match[1])})


def _count(value: Any, *, what: str) -> int:
    if isinstance(value, str) and value.strip().replace("_", "").isdigit():
        value = int(value.strip().replace("_", ""))
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"The {what} is {value!r}, but it must be a whole number of spans from 1; "
                          "write e.g. max_spans = 1000000.")
    return value


@dataclass(frozen=True)
class Limits:
    """How much of a project to keep: traces younger than ``max_age``, at most ``max_spans`` spans."""

    max_age: dt.timedelta | None = None
    max_spans: int | None = None

    def __bool__(self) -> bool:
        return self.max_age is not None or self.max_spans is not None

    def over(self, other: Limits) -> Limits:
        """These limits, with ``other``'s where these have none."""
        return Limits(self.max_age if self.max_age is not None else other.max_age,
                      self.max_spans if self.max_spans is not None else other.max_spans)

    def describe(self) -> str:
        parts = []
        if self.max_age is not None:
            parts.append(f"traces older than {_age_text(self.max_age)}")
        if self.max_spans is not None:
            parts.append(f"beyond the newest {self.max_spans:,} spans")
        return " and ".join(parts) or "nothing"


def _age_text(age: dt.timedelta) -> str:
    seconds = age.total_seconds()
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds / 3600:g}h"


@dataclass(frozen=True)
class Retention:
    """The limits of every project: ``default`` for all, ``projects`` for some (over the default).

    Attributes:
        default: The limits of every project.
        projects: A project's own limits; a limit it leaves out is the default's.
        every: How often ``workbench serve`` applies them.
    """

    default: Limits = Limits()
    projects: Mapping[str, Limits] = field(default_factory=dict)
    every: dt.timedelta = dt.timedelta(hours=1)

    def __bool__(self) -> bool:
        return bool(self.default) or any(self.projects.values())

    def limits_for(self, project: str) -> Limits:
        """The limits that apply to ``project``."""
        own = self.projects.get(project)
        return own.over(self.default) if own is not None else self.default

    def describe(self) -> str:
        """One line: what goes."""
        parts = [f"every project: {self.default.describe()}"] if self.default else []
        parts += [f"{name}: {limits.over(self.default).describe()}" for name, limits in self.projects.items()]
        return "; ".join(parts) or "no limits"


def _limits(table: Mapping[str, Any], where: str) -> Limits:
    for key in table:
        if key not in ("max_age", "max_spans"):
            raise ConfigError(f"{where} has no setting {key!r}; the settings are max_age and max_spans.")
    age = table.get("max_age")
    spans = table.get("max_spans")
    return Limits(None if age is None else parse_age(age, what=f"max_age of {where}"),
                  None if spans is None else _count(spans, what=f"max_spans of {where}"))


def load_retention(
    *,
    max_age: str | None = None,
    max_spans: int | None = None,
    project: str | None = None,
    config_path: str | Path | None = None,
) -> Retention:
    """The limits of the config file's ``[retention]`` table, with the command line's over them.

    Args:
        max_age: Keep traces younger than this (``30d``).
        max_spans: Keep at most this many spans per project (the newest traces, whole).
        project: Apply ``max_age`` and ``max_spans`` to this project only (default: to every one).
        config_path: The config file (default: the ``config`` setting).

    Raises:
        ConfigError: A limit is not valid; the message names it and the fix.
    """
    table = config.file_section("retention", config_path)
    where = "[retention] of the config file"
    for key in table:
        if key not in ("max_age", "max_spans", "every", "projects"):
            raise ConfigError(f"{where} has no setting {key!r}; the settings are max_age, max_spans, every "
                              "and [retention.projects.NAME] tables.")
    default = _limits({k: v for k, v in table.items() if k in ("max_age", "max_spans")}, where)
    every = parse_age(table.get("every", "1h"), what=f"every of {where}")
    projects_table = table.get("projects", {})
    if not isinstance(projects_table, Mapping) or not all(isinstance(v, Mapping) for v in projects_table.values()):
        raise ConfigError(f"In {where}, projects must be tables such as [retention.projects.support-bot].")
    projects = {str(name): _limits(t, f"[retention.projects.{name}]") for name, t in projects_table.items()}
    given = Limits(None if max_age is None else parse_age(max_age, what="--max-age"),
                   None if max_spans is None else _count(max_spans, what="--max-spans"))
    if project is not None:
        projects[project] = given.over(projects.get(project, Limits()))
    else:
        default = given.over(default)
    return Retention(default, projects, every)


@dataclass(frozen=True)
class Removed:
    """What :func:`apply` removed: spans and traces, per project."""

    spans: int = 0
    traces: int = 0
    by_project: Mapping[str, int] = field(default_factory=dict)


def apply(store: Any, retention: Retention, *, now: dt.datetime | None = None, timeout: float = 600.0) -> Removed:
    """Remove what the limits do not keep, as one unit of work on the store's writer.

    A trace goes whole: by age when its last span started before ``now - max_age``; by count
    when the project's newer traces already hold ``max_spans`` spans.
    """
    if not retention:
        return Removed()
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)

    def work(cur: duckdb.DuckDBPyConnection) -> Removed:
        projects = [p for (p,) in cur.execute("SELECT DISTINCT project FROM spans").fetchall()]
        cur.execute("CREATE OR REPLACE TEMP TABLE _doomed (trace_id VARCHAR)").fetchall()
        try:
            for project in projects:
                limits = retention.limits_for(project)
                if limits.max_age is not None:
                    cur.execute(
                        """INSERT INTO _doomed SELECT trace_id FROM spans WHERE project IS NOT DISTINCT FROM ?
                           GROUP BY trace_id HAVING max(start_time) < ?""",
                        [project, moment - limits.max_age]).fetchall()
                if limits.max_spans is not None:
                    cur.execute(
                        """INSERT INTO _doomed SELECT trace_id FROM (
                               SELECT trace_id, sum(count(*)) OVER (ORDER BY max(start_time) DESC, trace_id
                                                                    ROWS UNBOUNDED PRECEDING) AS kept
                               FROM spans WHERE project IS NOT DISTINCT FROM ? GROUP BY trace_id)
                           WHERE kept > ?""",
                        [project, limits.max_spans]).fetchall()
            rows = cur.execute(
                """SELECT project, count(*), count(DISTINCT trace_id) FROM spans
                   WHERE trace_id IN (SELECT trace_id FROM _doomed) GROUP BY project""").fetchall()
            present = {name for (name,) in cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
            for table in (*_WITH_TRACES, summary.NAME, "spans"):
                if table in present:
                    cur.execute(f"DELETE FROM {table} WHERE trace_id IN (SELECT trace_id FROM _doomed)").fetchall()
        finally:
            cur.execute("DROP TABLE IF EXISTS _doomed").fetchall()
        return Removed(sum(r[1] for r in rows), sum(r[2] for r in rows), {str(r[0]): r[1] for r in rows})

    removed: Removed = store.execute_write(work, timeout)
    return removed


def _used_bytes(store: Any) -> int:
    """Bytes of the file's blocks in use: at most what a copy of it takes."""
    store.flush()
    row = store.db.query("SELECT block_size, used_blocks FROM pragma_database_size()").to_pylist()
    return int(row[0]["used_blocks"] or 0) * int(row[0]["block_size"] or 0) if row else 0


def compact(store: Any) -> tuple[int, int]:
    """Copy the store into a new file and put it in the old one's place; ``(bytes before, after)``.

    Raises:
        DiskFullError: There is not room for the copy beside the file.
        StoreError: The file is in memory or read-only, or the copy failed (the file is unchanged).
    """
    path = str(store.path)
    store.db.check_disk(_used_bytes(store))
    before = os.path.getsize(path)

    def build(con: duckdb.DuckDBPyConnection) -> str:
        fresh = path + ".compact"
        for leftover in (fresh, fresh + ".wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        name = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute("CHECKPOINT").fetchall()
        quoted = fresh.replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS _workbench_compact").fetchall()
        try:
            con.execute(f'COPY FROM DATABASE "{name}" TO _workbench_compact').fetchall()
        finally:
            con.execute("DETACH _workbench_compact").fetchall()
        return fresh

    store._open.rebuild(build)
    return before, os.path.getsize(path)


class Sweeper:
    """Applies the limits every ``retention.every`` on a thread of its own, and compacts the file
    once the spans removed are ``compact_share`` of it (the first pass runs at start).

    Failures are logged, never raised: serving goes on.
    """

    def __init__(self, store: Any, retention: Retention, *, compact_share: float = 0.25) -> None:
        self.store = store
        self.retention = retention
        self.compact_share = compact_share
        self.passes = 0
        self.last: Removed | None = None
        self._removed = 0  # spans removed since the last compaction
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="workbench-retention", daemon=True)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def sweep(self) -> Removed:
        """One pass: remove, then compact once the spans removed since the last compaction are
        ``compact_share`` of what the file held.

        DuckDB marks deleted rows rather than freeing their blocks (measured: after deleting 95%
        of a file's spans and checkpointing, 11 of its 12 blocks were still in use), so the
        share removed, not the free blocks, says when a copy is worth it.
        """
        removed = apply(self.store, self.retention)
        if removed.spans:
            logger.warning("retention removed %d spans (%d traces): %s", removed.spans, removed.traces,
                           self.retention.describe())
        self._removed += removed.spans
        if self._removed:
            left = self.store.fetchall("SELECT count(*) FROM spans")[0][0]
            if self._removed >= self.compact_share * (left + self._removed):
                before, after = compact(self.store)
                self._removed = 0
                logger.warning("retention compacted %s from %.1f MiB to %.1f MiB", self.store.path,
                               before / 2**20, after / 2**20)
        return removed

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.last = self.sweep()
            except WorkbenchError as exc:
                logger.warning("retention could not run: %s", exc)
            except Exception:  # a failed pass must never stop the server; the next one tries again
                logger.exception("retention failed; it will try again")
            self.passes += 1
            self._stop.wait(self.retention.every.total_seconds())

