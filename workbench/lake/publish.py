"""Publishing a store to a lake: what ``workbench serve --lake URI`` runs beside the server.

A 200 from the server still means *committed to the local store*. A :class:`Publisher` thread
follows the store from its durable watermark (:mod:`workbench.store.outbox`): every few
seconds it claims the spans and annotations not yet published as publication ``seq``, writes
them as Parquet files into their partitions (:mod:`workbench.lake.layout`), writes the
publication's commit (:mod:`workbench.lake.commits`), and marks it done in the store.

Killed with -9 at any point, it finds on restart the claimed publication that is not marked
done: if its commit is in the lake, it only marks it; otherwise it writes it again, under the
same file names. An object store that is down only delays publication: the claimed rows wait
in the store, and the thread retries until the store is back. Nothing is lost, nothing is
published twice, and the server never waits for the lake.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workbench import config
from workbench.lake.commits import Commit, CommitLog, DataFile, ingester_commit
from workbench.lake.layout import PARTITIONED_BY_PROJECT, TABLES, data_path
from workbench.lake.location import Location, locate
from workbench.store import outbox
from workbench.store.schema import TABLES as SCHEMA

__all__ = ["FILE_ORDER", "Publisher", "PublisherStatus", "parquet_bytes", "partitions"]

logger = logging.getLogger(__name__)

#: The most spans one publication takes.
BATCH_SPANS = 50_000
_FORGET_EVERY_S = 60.0
# While the tables' sizes stand still nothing new can be waiting, so the claim (a scan of every
# span against the outbox) is skipped; it still runs this often, in case a duplicate removed
# and a span added kept the size equal.
_CLAIM_ANYWAY_S = 60.0


#: The order of a lake file's rows: by trace, then in time within each trace.
FILE_ORDER = ("trace_id", "start_time", "created_at", "span_id", "position", "annotation_id")


def parquet_bytes(table: pa.Table) -> pa.Buffer:
    """A table as the bytes of one Parquet file (zstd), as every lake file is written.

    The rows are written trace by trace (:data:`FILE_ORDER`). An agent's LLM calls each
    repeat the conversation so far; side by side, the compressor keeps that history about
    once per trace instead of once per call, and a file's row groups have narrow trace id
    ranges, so a trace is found without reading the others.
    """
    keys = [(name, "ascending") for name in FILE_ORDER if name in table.column_names]
    if keys and table.num_rows > 1:
        table = table.sort_by(keys)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", row_group_size=128 * 1024)
    return sink.getvalue()


def partitions(table: str, rows: pa.Table) -> list[tuple[str | None, str, pa.Table]]:
    """Split rows of one lake table into ``(project, day, rows)`` partitions, rows in the
    columns of ``docs/schema.md``."""
    if not rows.num_rows:
        return []
    days = pc.strftime(rows.column(TABLES[table]).cast(pa.timestamp("us", tz="UTC")), format="%Y-%m-%d")
    by_project = table in PARTITIONED_BY_PROJECT
    projects = rows.column("project") if by_project else pa.nulls(rows.num_rows, pa.string())
    schema = SCHEMA[table].arrow_schema
    data = rows.select(schema.names).cast(schema)
    keys = pa.table({"project": projects, "day": days})
    out = []
    for key in keys.group_by(["project", "day"]).aggregate([]).to_pylist():
        project, day = key["project"], key["day"]
        project_match = pc.is_null(projects) if project is None else pc.equal(projects, project)
        mask = pc.and_(project_match, pc.equal(days, day))
        out.append((project, day, data.filter(mask)))
    return sorted(out, key=lambda p: (p[1], p[0] or ""))


@dataclass
class PublisherStatus:
    """How publishing goes: what ``/api/health`` could show, and tests wait for."""

    published_spans: int = 0
    publications: int = 0
    last_error: str | None = None
    last_published_at: float | None = None


class Publisher:
    """Publishes what a store commits to a lake, on a thread of its own.

    Args:
        store: The store to follow (opened for writing).
        lake: The lake: a folder, ``s3://bucket/prefix``, or a :class:`Location`.
        endpoint: An S3-compatible endpoint (default ``WORKBENCH_LAKE_ENDPOINT``/``AWS_ENDPOINT_URL``).
        interval: Seconds between publications (default ``WORKBENCH_LAKE_INTERVAL_S``).
        keep_hours: Remove published spans that started more than this many hours ago from
            the store (default ``WORKBENCH_LAKE_KEEP_HOURS``; 0 keeps everything).
        batch_spans: The most spans one publication takes.

    Threading: :meth:`start` runs publications on one daemon thread; :meth:`publish` runs
    them on the caller's (do not call both at once).
    """

    def __init__(self, store: object, lake: str | Path | Location, *, endpoint: str | None = None,
                 interval: float | None = None, keep_hours: int | None = None,
                 batch_spans: int = BATCH_SPANS) -> None:
        self.store = store
        self.location = lake if isinstance(lake, Location) else locate(lake, endpoint=endpoint)
        self.log = CommitLog(self.location)
        self.interval = float(config.get("lake_interval_s", interval))
        self.keep_hours = int(config.get("lake_keep_hours", keep_hours))
        self.batch_spans = int(batch_spans)
        self.ingester = outbox.ingester_id(store)  # type: ignore[arg-type]
        self.status = PublisherStatus()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._forgot_at = 0.0
        self._idle: tuple[tuple[int, int], float] | None = None  # sizes when nothing was new, and when

    def __repr__(self) -> str:
        return f"Publisher({self.location.uri!r}, ingester={self.ingester!r})"

    # One publication -----------------------------------------------------------------

    def publish(self) -> int:
        """Publish everything committed so far; return the spans published.

        Raises:
            LakeError: The lake cannot be written (what was claimed waits for the next try).
        """
        total = 0
        sizes = outbox.sizes(self.store)  # type: ignore[arg-type]
        if self._idle is not None and self._idle[0] == sizes and time.monotonic() - self._idle[1] < _CLAIM_ANYWAY_S:
            return 0
        while True:
            seq = outbox.claim(self.store, self.batch_spans)  # type: ignore[arg-type]
            if seq is None:
                break
            total += self._publish(seq)
        self._idle = (sizes, time.monotonic()) if not total else None
        self._forget()
        return total

    def _publish(self, seq: int) -> int:
        name = ingester_commit(self.ingester, seq)
        if self.log.exists(name):  # committed before a crash, not yet marked
            outbox.mark_done(self.store, seq)  # type: ignore[arg-type]
            return 0
        tables = outbox.batch(self.store, seq)  # type: ignore[arg-type]
        files: list[DataFile] = []
        for table, rows in tables.items():
            for project, day, part in partitions(table, rows):
                path = data_path(table, project, day, f"{self.ingester}-{seq:012d}")
                data = parquet_bytes(part)
                self.location.put(path, data)
                files.append(DataFile(path, table, project, day, part.num_rows, data.size))
        self.log.write(Commit(name, adds=tuple(files)))
        outbox.mark_done(self.store, seq)  # type: ignore[arg-type]
        spans = tables["spans"].num_rows
        self.status.published_spans += spans
        self.status.publications += 1
        self.status.last_published_at = time.time()
        return spans

    def _forget(self) -> None:
        if not self.keep_hours or time.monotonic() - self._forgot_at < _FORGET_EVERY_S:
            return
        self._forgot_at = time.monotonic()
        before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=self.keep_hours)
        removed = outbox.forget_published(self.store, before)  # type: ignore[arg-type]
        if removed:
            logger.info("Removed %d published spans older than %d hours from the local store.", removed,
                        self.keep_hours)

    # The thread ----------------------------------------------------------------------

    def start(self) -> Publisher:
        """Publish every :attr:`interval` seconds on a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="workbench-lake-publisher", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                self.publish()
                if self.status.last_error:
                    logger.warning("Publishing to the lake %s works again.", self.location.uri)
                self.status.last_error = None
            except Exception as exc:  # noqa: BLE001  the lake is down, or the store closing: retry later
                message = str(exc)
                if message != self.status.last_error:
                    logger.warning("Cannot publish to the lake %s (%s); retrying every %.0f s, nothing is lost.",
                                   self.location.uri, message, self.interval)
                self.status.last_error = message
            if self._stop.wait(self.interval):
                return

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread after one last publication (what is left waits for the next start)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            try:
                self.publish()
            except Exception as exc:  # noqa: BLE001  stopping must not fail on the lake
                logger.warning("Not everything was published to %s before stopping (%s); it will be on the "
                               "next start.", self.location.uri, exc)
