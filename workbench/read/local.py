"""The local reader: :class:`Reader` answers questions about a store file.

Spans and traces as DataFrames (or Arrow), one trace as a tree, retrieved documents,
embeddings, annotations. The same reads exist on :class:`workbench.remote.RemoteReader`,
which asks a running ``workbench serve`` instead, so ``workbench.open(path_or_url)`` gives
either and code does not care which (:mod:`workbench.read.source` is the protocol both
follow). A local reader also has every capability: SQL over the stored tables, adding
annotations, and the store itself for the caches that write.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pyarrow as pa

from workbench.errors import CapabilityError, FilterError, NotFoundError
from workbench.read.costs import COST_INPUTS, with_span_cost, with_trace_costs
from workbench.read.heads import TraceHeads
from workbench.read.selection import SPAN_FIELDS, Selection, Where, an_id, page, parse_time, texts
from workbench.read.source import CAPABILITIES
from workbench.read.sql import NO_LIMITS, Answer, Limits, run_sql
from workbench.read.tracefilter import summary_filter
from workbench.store import Store
from workbench.tree import Trace

__all__ = ["SPAN_FIELDS", "TRACE_COLUMNS", "Reader", "parse_time"]

_HEAVY = ("attributes", "resource", "events", "links", "input_messages", "output_messages")
_MAX_ROWS = 2**63 - 1  # DuckDB's LIMIT and OFFSET are signed 64-bit

TRACE_COLUMNS = (
    "trace_id", "start_time", "end_time", "latency_ms", "name", "span_kind", "status_code",
    "status_message", "project", "session_id", "user_id", "input_value", "output_value",
    "span_count", "error_count", "llm_count", "prompt_tokens", "completion_tokens",
    "total_tokens", "models", "root_missing", "cost", "client_cost", "unpriced", "unpriced_calls",
)
# Computed after the SQL (workbench.read.costs): sorting by them sorts every trace.
_TRACE_COSTS = ("cost", "client_cost", "unpriced", "unpriced_calls")
# Integer totals that may be null (a trace without LLM calls): pandas' nullable Int64.
_NULLABLE_INTS = ("prompt_tokens", "completion_tokens", "total_tokens")

_TREE_KEYS = ("trace_id", "span_id", "parent_span_id", "start_time", "end_time")


def _tree_columns(columns: Sequence[str] | None) -> str:
    """The select list of a trace's spans: every column, or the ones asked for and the tree's keys."""
    if columns is None:
        return "*"
    wanted = texts(columns, "columns")
    unknown = [c for c in wanted if c not in SPAN_FIELDS]
    if unknown:
        raise FilterError(f"Unknown column(s) {', '.join(unknown)}; choose from {', '.join(SPAN_FIELDS)}.")
    return ", ".join(dict.fromkeys([*_TREE_KEYS, *wanted]))


def _frame(table: pa.Table, arrow: bool, nullable_ints: Sequence[str] = ()) -> pd.DataFrame | pa.Table:
    if arrow:
        return table
    frame = table.to_pandas(types_mapper=None)
    for name in nullable_ints:
        if name in frame.columns:
            frame[name] = frame[name].astype("Int64")
    return frame


def _traces_frame(table: pa.Table, arrow: bool = False) -> pd.DataFrame | pa.Table:
    """Trace rows as :meth:`Reader.traces` returns them: in pandas, token totals are ``Int64``."""
    return _frame(table, arrow, _NULLABLE_INTS)


class Reader:
    """Reads a workbench store.

    Args:
        store: An open :class:`workbench.store.Store`.
    """

    def __init__(self, store: Store, *, owns_store: bool = True) -> None:
        self.store = store
        self._owns_store = owns_store
        self.heads = TraceHeads(store)

    def __repr__(self) -> str:
        return f"Reader({self.store.path!r})"

    def close(self) -> None:
        """Close the store (unless the reader only borrowed it)."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Capabilities ----------------------------------------------------------------------

    #: A local file can do everything a reader may (see :mod:`workbench.read.source`).
    capabilities: frozenset[str] = frozenset(CAPABILITIES)

    def refuse(self, capability: str) -> CapabilityError:
        """The refusal for a capability this reader lacks (a local reader lacks none)."""
        return CapabilityError(f"{self!r} has every capability; {capability!r} is no reader capability.")

    def sql(
        self,
        query: str,
        params: Sequence[Any] | None = None,
        *,
        arrow: bool = False,
        max_rows: int | None = None,
        timeout_s: float | None = None,
    ) -> pd.DataFrame | pa.Table:
        """Run one read-only SELECT (DuckDB's dialect) over the tables and views of
        :mod:`workbench.read.sql` (``spans``, ``spans_cost`` with each span's cost ...).

        The same query answers the same over a server (``workbench.open(url).sql(...)``);
        files, other tables and statements that write are refused (see docs/sql.md).

        Args:
            query: One SELECT; ``?`` marks a parameter.
            params: The parameters' values.
            arrow: Return an Arrow table instead of a DataFrame.
            max_rows: Return at most this many rows (default: all of them).
            timeout_s: Interrupt the query after this many seconds (default: never).

        Raises:
            SqlError: The query is refused, ran past ``timeout_s``, or failed.
        """
        answer = self.sql_answer(query, params, Limits(max_rows=max_rows, timeout_s=timeout_s))
        return answer.table if arrow else answer.table.to_pandas()

    def sql_answer(self, query: str, params: Sequence[Any] | None = None, limits: Limits = NO_LIMITS) -> Answer:
        """:meth:`sql`'s rows with how the limits cut them (what ``POST /api/sql`` answers from)."""
        return run_sql(self.store, query, params, limits)

    def query(self, query: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run read-only SQL over the stored tables, as the analyses do; an Arrow table.

        Unlike :meth:`sql`, any table of the store and the Arrow tables :meth:`registered`
        exposes can be read, without limits: this is the ``sql`` capability code builds on.
        What this process's collectors have recorded so far is stored first, so it is read.
        """
        return self.store.query(query, params)

    def rows(self, query: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run read-only SQL over the stored tables; its rows as tuples."""
        return self.store.fetchall(query, params)

    @contextmanager
    def registered(self, **tables: pa.Table) -> Iterator[dict[str, str]]:
        """Expose Arrow tables to :meth:`query` on this thread, under fresh names, for a moment.

        Yields:
            Each keyword's table name in SQL.
        """
        cursor = self.store.db.cursor()
        names = {key: f"wb_{key}_{uuid.uuid4().hex[:12]}" for key in tables}
        for key, table in tables.items():
            cursor.register(names[key], table)
        try:
            yield names
        finally:
            for name in names.values():
                cursor.unregister(name)

    def table(self, name: str) -> pa.Table:
        """Every row of one stored table (``docs/schema.md``), as Arrow.

        Raises:
            NotFoundError: There is no such table.
        """
        return self.store.read_table(name)

    def add_annotations(self, records: Any) -> int:
        """Add annotations (feedback, evaluations); see :meth:`workbench.Store.add_annotations`."""
        return self.store.add_annotations(records)

    @staticmethod
    def _order(order_by: str, descending: bool, allowed: Sequence[str], alias: str = "") -> str:
        if order_by not in allowed:
            raise FilterError(f"Cannot sort by {order_by!r}; choose one of {', '.join(allowed)}.")
        direction = "DESC" if descending else "ASC"
        return f'{alias}"{order_by}" {direction} NULLS LAST'

    # Spans -----------------------------------------------------------------------------

    def spans(
        self,
        filter: str | Selection | None = None,
        *,
        start: Any = None,
        end: Any = None,
        project: str | Sequence[str] | None = None,
        trace_ids: Sequence[str] | None = None,
        root_only: bool = False,
        columns: Sequence[str] | None = None,
        order_by: str = "start_time",
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
        arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Spans as a DataFrame (or an Arrow table with ``arrow=True``).

        Args:
            filter: A filter expression, e.g. ``"span_kind == 'LLM' and latency_ms > 2000"``
                (see :mod:`workbench.read.filters`), or a whole :class:`~workbench.read.Selection`
                (filter, time range and projects; the other arguments, when given, win).
            start: Spans starting at or after this (datetime, ISO text, or ``"24h"`` back).
            end: Spans starting before this.
            project: One project or several.
            trace_ids: Only these traces.
            root_only: Only spans without a parent.
            columns: Only these columns (default: all, then ``cost``).
            order_by: A column to sort by; ``descending`` reverses it.
            limit: At most this many rows; ``offset`` skips rows first.

        ``cost`` is a call's cost in USD, computed now from the current prices (else the
        cost its sender reported); null for a span that is no model call and for an
        unpriced one. See :mod:`workbench.analysis.cost`.
        """
        limit, offset = page(limit, offset)
        where = Selection.of(filter, start, end, project).where("s")
        if trace_ids is not None:
            where.add("s.trace_id IN (SELECT unnest(?::VARCHAR[]))", texts(trace_ids, "trace_ids", lower=True))
        if root_only:
            where.add("s.parent_span_id IS NULL")
        wanted = texts(columns, "columns") if columns else [*SPAN_FIELDS, "cost"]
        unknown = [c for c in wanted if c not in SPAN_FIELDS and c != "cost"]
        if unknown:
            raise FilterError(f"Unknown column(s) {', '.join(unknown)}; choose from {', '.join(SPAN_FIELDS)}, cost.")
        cols = [c for c in wanted if c != "cost"]
        if "cost" in wanted:
            cols += [c for c in COST_INPUTS if c not in cols]
        sql = (
            f"SELECT {', '.join(f's.{c}' for c in cols)} FROM spans s WHERE {where.sql} "
            f"ORDER BY {self._order(order_by, descending, SPAN_FIELDS, 's.')}, s.span_id"
        )
        params = list(where.params)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [int(limit), int(offset)]
        table = self.query(sql, params)
        if "cost" in wanted:
            table = with_span_cost(self, table).select(wanted)
        return _frame(table, arrow)

    def count(
        self,
        filter: str | Selection | None = None,
        *,
        start: Any = None,
        end: Any = None,
        project: str | Sequence[str] | None = None,
        root_only: bool = False,
    ) -> int:
        """How many spans match."""
        where = Selection.of(filter, start, end, project).where("s")
        if root_only:
            where.add("s.parent_span_id IS NULL")
        return int(self.store.fetchall(f"SELECT count(*) FROM spans s WHERE {where.sql}", where.params)[0][0])

    # Traces ----------------------------------------------------------------------------

    def traces(
        self,
        filter: str | Selection | None = None,
        *,
        start: Any = None,
        end: Any = None,
        project: str | Sequence[str] | None = None,
        order_by: str = "start_time",
        descending: bool = True,
        limit: int | None = 100,
        offset: int = 0,
        arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """One row per trace: its root span and totals over all its spans.

        A trace is listed when any of its spans matches ``filter`` (so
        ``model_name == 'gpt-4o'`` finds the traces that called gpt-4o). ``start``/``end``
        and ``project`` bound the trace's head: its root span, else its earliest span.

        A trace whose root span has not arrived (a crashed process, a lost export, a root
        still running) is listed under its earliest span, with ``root_missing`` true: name,
        kind, status, input and start come from that span, and ``latency_ms`` is the
        trace's extent so far (its last end minus that start).

        Token totals are nullable integers (``Int64``; null without LLM calls). ``cost``
        sums its model calls' costs that are known, computed now from the current prices
        (else as their senders reported them): 0 without calls, null when no call's cost is
        known; ``unpriced`` is true when any call's model has no price, and
        ``unpriced_calls`` counts them (see :mod:`workbench.pricing.maths` for the rule).
        """
        limit, offset = page(limit, offset)
        allowed = TRACE_COLUMNS
        by_cost = order_by in _TRACE_COSTS
        if by_cost:
            self._order(order_by, descending, allowed)  # checks the name
        order = self._order("start_time" if by_cost else order_by, descending, allowed, "t.")
        root_where = Selection.of(filter, start, end, project).trace_where("r", "m", summary=self.heads.summary(filter))
        cheap_sort = order_by in ("start_time", "latency_ms", "name", "status_code", "project", "trace_id")
        paged = limit is not None and not by_cost
        if paged and cheap_sort:
            assert limit is not None  # paged
            # Sorting by a head column: page the heads first (each kind apart, then together),
            # then total only that page.
            by = f"ORDER BY {self._order(order_by, descending, allowed, 'r.')}, r.trace_id"
            heads, params = self.heads.sql(root_where, by, int(limit) + int(offset))
            roots = f"SELECT r.* FROM ({heads}) r {by} LIMIT ? OFFSET ?"
            params += [int(limit), int(offset)]
        else:
            heads, params = self.heads.sql(root_where)
            roots = f"SELECT r.* FROM ({heads}) r"
        sql = f"""
            WITH roots AS ({roots}),
            totals AS (
                SELECT s.trace_id,
                       count(*) AS span_count,
                       count(*) FILTER (WHERE s.status_code = 'ERROR') AS error_count,
                       count(*) FILTER (WHERE s.span_kind = 'LLM') AS llm_count,
                       CAST(sum(s.prompt_tokens) FILTER (WHERE s.span_kind = 'LLM') AS BIGINT) AS prompt_tokens,
                       CAST(sum(s.completion_tokens) FILTER (WHERE s.span_kind = 'LLM') AS BIGINT) AS completion_tokens,
                       CAST(sum(s.total_tokens) FILTER (WHERE s.span_kind = 'LLM') AS BIGINT) AS total_tokens,
                       list_sort(list_distinct(list(s.model_name) FILTER (WHERE s.model_name IS NOT NULL))) AS models,
                       max(s.end_time) AS last_end
                FROM spans s WHERE s.trace_id IN (SELECT trace_id FROM roots)
                GROUP BY s.trace_id
            )
            SELECT * FROM (
                SELECT r.trace_id, r.start_time, greatest(r.end_time, t.last_end) AS end_time,
                       r.latency_ms, r.name, r.span_kind, r.status_code, r.status_message, r.project,
                       r.session_id, r.user_id, left(r.input_value, 500) AS input_value,
                       left(r.output_value, 500) AS output_value,
                       t.span_count, t.error_count, t.llm_count, t.prompt_tokens, t.completion_tokens,
                       t.total_tokens, t.models, r.root_missing
                FROM roots r JOIN totals t USING (trace_id)
            ) t
            ORDER BY {order}, t.trace_id
        """
        if paged and not cheap_sort:
            assert limit is not None  # paged
            sql += " LIMIT ? OFFSET ?"
            params += [int(limit), int(offset)]
        table = with_trace_costs(self, self.query(sql, params))
        if by_cost:
            table = table.sort_by([(order_by, "descending" if descending else "ascending"), ("trace_id", "ascending")])
            table = table.slice(int(offset), None if limit is None else int(limit))
        return _traces_frame(table, arrow)

    def count_traces(
        self,
        filter: str | Selection | None = None,
        *,
        start: Any = None,
        end: Any = None,
        project: str | Sequence[str] | None = None,
    ) -> int:
        """How many traces :meth:`traces` would list without a limit."""
        selection = Selection.of(filter, start, end, project)
        source = self.heads.summary(filter)
        translated = summary_filter(selection.filter, "ts") if source else None
        if translated is not None and selection.time_only.everything:
            # Every trace is listed once, under one head: the traces with a matching span.
            sql = f"SELECT count(DISTINCT ts.trace_id) FROM {source} ts WHERE {translated.sql}"
            return int(self.store.fetchall(sql, translated.params)[0][0])
        sql, params = self.heads.count(selection.trace_where("r", "m", summary=source))
        return int(self.store.fetchall(sql, params)[0][0])

    def trace(self, trace_id: str, *, columns: Sequence[str] | None = None) -> Trace:
        """One trace as a tree (:class:`workbench.tree.Trace`), each span with its ``cost``.

        Args:
            trace_id: The trace.
            columns: Only these span columns (the ids and times are always read): a tree of
                30,000 spans reads in a fraction of the time without the JSON documents.

        Raises:
            NotFoundError: No span of that trace is stored.
        """
        if columns is None:
            table = self.spans(trace_ids=[an_id(trace_id, "trace_id")], arrow=True)  # with each span's cost
        else:  # only what a big tree needs, without the JSON documents or costs
            table = self.store.query(
                f"SELECT {_tree_columns(columns)} FROM spans WHERE trace_id = ? ORDER BY start_time, span_id",
                [an_id(trace_id, "trace_id")],
            )
        if not table.num_rows:
            raise NotFoundError(f"There is no trace {trace_id!r} in {self.store.path}; check the id.")
        # Column by column, then zipped: twice as fast as Arrow's row-wise to_pylist.
        names = table.column_names
        spans = [dict(zip(names, values)) for values in zip(*(c.to_pylist() for c in table.columns))]
        return Trace(an_id(trace_id, "trace_id"), spans)

    def span(self, span_id: str) -> dict[str, Any]:
        """One span as a dict, with its documents and embeddings.

        Raises:
            NotFoundError: No such span.
        """
        sql = "SELECT * FROM spans WHERE span_id = ? LIMIT 1"
        rows = self.store.query(sql, [an_id(span_id, "span_id")]).to_pylist()
        if not rows:
            raise NotFoundError(f"There is no span {span_id!r} in {self.store.path}; check the id.")
        row = rows[0]
        row["documents"] = self.documents(span_ids=[row["span_id"]], arrow=True).to_pylist()
        row["embeddings"] = self.embeddings(span_ids=[row["span_id"]], arrow=True).to_pylist()
        return row

    # Things hanging on spans -------------------------------------------------------------

    def _child_rows(
        self,
        table: str,
        *,
        span_ids: Sequence[str] | None,
        trace_ids: Sequence[str] | None,
        filter: str | Selection | None,
        start: Any,
        end: Any,
        project: str | Sequence[str] | None,
        limit: int | None,
        arrow: bool,
    ) -> pd.DataFrame | pa.Table:
        limit, _ = page(limit, 0)
        where = Where()
        if span_ids is not None:
            where.add("c.span_id IN (SELECT unnest(?::VARCHAR[]))", texts(span_ids, "span_ids", lower=True))
        if trace_ids is not None:
            where.add("c.trace_id IN (SELECT unnest(?::VARCHAR[]))", texts(trace_ids, "trace_ids", lower=True))
        selection = Selection.of(filter, start, end, project)
        begin, finish = selection.bounds()
        if begin is not None:
            where.add("c.start_time >= ?", begin)
        if finish is not None:
            where.add("c.start_time < ?", finish)
        if selection.filter or selection.project:
            span_where = selection.but(start=None, end=None).where("s")
            where.add(
                "EXISTS (SELECT 1 FROM spans s WHERE s.span_id = c.span_id AND s.trace_id = c.trace_id"
                f" AND {span_where.sql})",
                *span_where.params,
            )
        sql = f"SELECT c.* FROM {table} c WHERE {where.sql} ORDER BY c.start_time, c.span_id, c.position"
        params = list(where.params)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return _frame(self.store.query(sql, params), arrow)

    def documents(
        self,
        filter: str | Selection | None = None,
        *,
        span_ids: Sequence[str] | None = None,
        trace_ids: Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
        project: str | Sequence[str] | None = None,
        limit: int | None = None,
        arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Retrieved documents (one row per document, in order), of spans matching the filter."""
        return self._child_rows("documents", span_ids=span_ids, trace_ids=trace_ids, filter=filter,
                                start=start, end=end, project=project, limit=limit, arrow=arrow)

    def embeddings(
        self,
        filter: str | Selection | None = None,
        *,
        span_ids: Sequence[str] | None = None,
        trace_ids: Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
        project: str | Sequence[str] | None = None,
        limit: int | None = None,
        arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Embedded texts with their vectors (``vector`` is a list of float32)."""
        return self._child_rows("embeddings", span_ids=span_ids, trace_ids=trace_ids, filter=filter,
                                start=start, end=end, project=project, limit=limit, arrow=arrow)

    def annotations(
        self,
        name: str | None = None,
        *,
        span_ids: Sequence[str] | None = None,
        trace_ids: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Evaluations and feedback, optionally of one name or on some spans or traces.

        ``limit`` keeps at most that many, oldest first, after skipping ``offset``.
        """
        limit, offset = page(limit, offset)
        where = Where()
        if name:
            where.add("a.name = ?", name)
        if span_ids is not None:
            where.add("a.span_id IN (SELECT unnest(?::VARCHAR[]))", texts(span_ids, "span_ids", lower=True))
        if trace_ids is not None:
            where.add("a.trace_id IN (SELECT unnest(?::VARCHAR[]))", texts(trace_ids, "trace_ids", lower=True))
        sql = f"SELECT a.* FROM annotations a WHERE {where.sql} ORDER BY a.created_at, a.annotation_id"
        params = list(where.params)
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            params += [_MAX_ROWS if limit is None else limit, offset]
        return _frame(self.store.query(sql, params), arrow)

    def corpus(self, *, arrow: bool = False) -> pd.DataFrame | pa.Table:
        """The indexed documents loaded with :meth:`workbench.Store.load_corpus`."""
        return _frame(self.store.query("SELECT * FROM corpus ORDER BY document_id"), arrow)

    def projects(self) -> list[str]:
        """Every project with spans, by name."""
        return [r[0] for r in self.store.fetchall("SELECT DISTINCT project FROM spans ORDER BY project")]

    def overview(self) -> dict[str, Any]:
        """What the app's header shows: ``spans`` stored, the store's ``path``, and
        ``max_sample_weight`` (above 1 when spans were sampled on the way in; None without spans)."""
        spans, weight = self.rows("SELECT count(*), max(sample_weight) FROM spans")[0]
        return {"spans": int(spans), "path": self.store.path, "max_sample_weight": weight}

    def stats(self) -> dict[str, Any]:
        """Row counts and the time range of the stored spans."""
        counts = self.store.counts()
        first, last = self.store.fetchall("SELECT min(start_time), max(end_time) FROM spans")[0]
        return {"counts": counts, "first_start": first, "last_end": last, "path": self.store.path}

    # Export ----------------------------------------------------------------------------

    def export_parquet(self, out_dir: str) -> dict[str, int]:
        """Write every table as Parquet partitioned by day (see docs/schema.md)."""
        return self.store.export_parquet(out_dir)
