"""Which span heads each trace in the list, as SQL: :class:`TraceHeads`.

Used by :meth:`workbench.read.local.Reader.traces` and ``count_traces``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from workbench.errors import WorkbenchError
from workbench.read.selection import Selection, Where
from workbench.store.schema import TRACE_SUMMARY

__all__ = ["SUMMARY_TABLE", "TraceHeads"]

SUMMARY_TABLE = TRACE_SUMMARY.name

# A trace is listed under its head: its root span (a span without a parent), else, while
# the root has not arrived (or never will), its earliest span, flagged root_missing, whose
# latency is then the trace's extent so far. A trace with several parentless spans is
# listed once, under the earliest. Such traces are found by one grouped scan of the trace
# ids (TraceHeads.irregular, reused until the next write), which also returns what the
# filters and the sorting of the list read of each rootless head, so that only the heads of
# the page are read whole.
_ROOTLESS_FIELDS = (
    ("trace_id", "VARCHAR"), ("span_id", "VARCHAR"), ("start_time", "TIMESTAMPTZ"), ("latency_ms", "DOUBLE"),
    ("name", "VARCHAR"), ("status_code", "VARCHAR"), ("project", "VARCHAR"),
)
_ROOTLESS_KEYS = "SELECT " + ", ".join(f"unnest(?::{sql}[]) AS {name}" for name, sql in _ROOTLESS_FIELDS)
_ROOTLESS_HEADS = """
    SELECT o.* REPLACE (h.latency_ms AS latency_ms), TRUE AS root_missing
    FROM spans o JOIN ({keys}) h
      ON o.trace_id = h.trace_id AND o.span_id = h.span_id AND o.start_time = h.start_time
"""


class TraceHeads:
    """The SQL of the heads of a store's traces, and the scan of the traces without one root
    that it needs (kept until the number of spans changes).

    Args:
        store: What the reader reads (a :class:`workbench.store.Store` or a lake's).
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self._irregular: tuple[Any, Any] | None = None  # (span count or data version, irregular())

    def summary(self, filter: str | Selection | None) -> str | None:
        """The trace summary's table name when a filter is given and the summary covers every
        span (else the spans answer)."""
        if not (filter.filter if isinstance(filter, Selection) else filter):
            return None
        return self.summary_current()

    def summary_current(self) -> str | None:
        """The trace summary's table name when it covers every span (see workbench.store.summary)."""
        try:
            rows = self.store.fetchall(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?",
                [SUMMARY_TABLE],
            )
            if not rows[0][0]:
                return None
            spans, summarized = self.store.fetchall(
                f"SELECT (SELECT count(*) FROM spans), (SELECT coalesce(sum(span_count), 0) FROM {SUMMARY_TABLE})"
            )[0]
        except WorkbenchError:  # a source that holds no summary (a lake): the spans answer
            return None
        return SUMMARY_TABLE if spans == summarized else None

    def irregular(self) -> tuple[list[list[Any]], list[str]]:
        """The traces without exactly one root.

        Returns:
            For the traces without a root, their heads' :data:`_ROOTLESS_FIELDS` as aligned
            lists; and the ``trace_id || span_id`` keys of the roots passed over in traces with
            several (all but each one's earliest).
        """
        # Spans are only ever added (or a duplicate of one removed), so while the count stands
        # the answer does: a page and its count, or a reload, scan the trace ids once. A store
        # that knows when its data last changed (a lake: its commits) says so without a scan.
        version = getattr(self.store, "data_version", None)
        key = version() if version is not None else self.store.fetchall("SELECT count(*) FROM spans")[0][0]
        cached = self._irregular
        if cached is not None and cached[0] == key:
            return cached[1]
        # The summary counts each trace's roots in a tenth of the rows.
        source = self.summary_current()
        odd = (f"SELECT trace_id FROM {source} GROUP BY trace_id HAVING sum(root_count) <> 1" if source else
               "SELECT trace_id FROM spans GROUP BY trace_id "
               "HAVING count(*) FILTER (WHERE parent_span_id IS NULL) <> 1")
        rows = self.store.fetchall(
            f"""
            WITH odd AS ({odd})
            SELECT trace_id,
                   list(span_id ORDER BY start_time, span_id) FILTER (WHERE parent_span_id IS NULL),
                   (list(struct_pack(span_id, start_time, end_time, name, status_code, project)
                         ORDER BY start_time, span_id))[1],
                   max(end_time)
            FROM spans WHERE trace_id IN (SELECT trace_id FROM odd) GROUP BY trace_id
            """
        )
        heads: list[list[Any]] = [[] for _ in _ROOTLESS_FIELDS]
        extra: list[str] = []
        for trace_id, roots, first, last_end in rows:
            if roots:
                extra += [trace_id + span_id for span_id in roots[1:]]
                continue
            extent = (max(first["end_time"], last_end) - first["start_time"]) / dt.timedelta(milliseconds=1)
            values = (trace_id, first["span_id"], first["start_time"], extent, first["name"], first["status_code"],
                      first["project"])
            for column, value in zip(heads, values, strict=True):
                column.append(value)
        self._irregular = (key, (heads, extra))
        return heads, extra

    def roots(self, where: Where, extra: list[str], order: str = "", count: int = 0) -> tuple[str, list[Any]]:
        """SQL (alias ``r``) for the roots ``where`` keeps, the ``extra`` ones left out."""
        roots = f"SELECT r.*, FALSE AS root_missing FROM spans r WHERE r.parent_span_id IS NULL AND {where.sql}"
        params = list(where.params)
        if order:
            # The page's keys first, then only their rows whole: sorting whole rows of every
            # matching root cost several times more on 10 million spans.
            keys = (f"SELECT DISTINCT * FROM (SELECT r.trace_id, r.span_id, r.start_time FROM spans r "
                    f"WHERE r.parent_span_id IS NULL AND {where.sql} {order} LIMIT ?)")
            roots = (f"SELECT r.*, FALSE AS root_missing FROM spans r SEMI JOIN ({keys}) k "
                     "ON r.trace_id = k.trace_id AND r.span_id = k.span_id AND r.start_time = k.start_time "
                     "WHERE r.parent_span_id IS NULL")
            params.append(count + len(extra))  # the roots passed over may all come first
        if extra:
            roots = f"SELECT r.* FROM ({roots}) r WHERE r.trace_id || r.span_id NOT IN (SELECT unnest(?::VARCHAR[]))"
            params.append(extra)
        return roots, params

    def sql(self, where: Where, order: str = "", count: int = 0) -> tuple[str, list[Any]]:
        """SQL (alias ``r``) for the heads of the traces ``where`` keeps, with its parameters.

        With ``order`` (an ``ORDER BY`` over ``r``), only the first ``count`` heads are needed:
        each kind of head is cut to them before the two are put together.
        """
        rootless, extra = self.irregular()
        roots, params = self.roots(where, extra, order, count)
        if not rootless[0]:
            return roots, params
        keys = f"SELECT r.* FROM ({_ROOTLESS_KEYS}) r WHERE {where.sql}"
        params += [*rootless, *where.params]
        if order:
            keys += f" {order} LIMIT ?"
            params.append(count)
        return f"({roots}) UNION ALL ({_ROOTLESS_HEADS.format(keys=keys)})", params

    def count(self, where: Where) -> tuple[str, list[Any]]:
        """SQL counting the traces ``where`` keeps, one per head, with its parameters."""
        rootless, extra = self.irregular()
        roots, params = self.roots(where, extra)
        sql = f"SELECT (SELECT count(*) FROM ({roots}) r)"
        if rootless[0]:
            sql += f" + (SELECT count(*) FROM ({_ROOTLESS_KEYS}) r WHERE {where.sql})"
            params += [*rootless, *where.params]
        return sql, params
