"""A trace's tree as columns: what the Trace page knows of a trace of any size.

:class:`Outline` is built from one Arrow table of a trace's spans in start order
(:func:`workbench.read.outline.outline_spans`). The tree's structure (each span's parent,
its children in start order, its depth, the display order, the critical path, and what each
subtree holds: failed spans, tokens, costs) is computed once over arrays; a row for the
browser is made only for the spans it is sent (:meth:`Outline.rows`), and a span's self time
only when it is shown. A 30,000-span trace is ready in a few tens of milliseconds, where
building a :class:`workbench.tree.Trace` of dicts takes half a second.

Pure Python, NumPy and Arrow: tested without a browser or a store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.read.outline import OUTLINE_COLUMNS, SEARCH_CHARS
from workbench.tree import Trace, markdown

__all__ = ["Outline"]

_SCHEMA = pa.schema([
    ("span_id", pa.string()), ("parent_span_id", pa.string()), ("start_us", pa.int64()), ("end_us", pa.int64()),
    ("name", pa.string()), ("span_kind", pa.string()), ("status_code", pa.string()), ("status_message", pa.string()),
    ("model_name", pa.string()), ("tool_name", pa.string()), ("total_tokens", pa.int64()),
    ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()), ("session_id", pa.string()),
    ("user_id", pa.string()), ("project", pa.string()), ("input_start", pa.string()), ("output_start", pa.string()),
])
assert tuple(_SCHEMA.names) == OUTLINE_COLUMNS

# What a search matches, in this order; the browser has the first three of each row already,
# so a row's ``text`` holds the others.
_TEXT_COLUMNS = ("name", "span_kind", "span_id", "model_name", "tool_name", "status_message", "input_start",
                 "output_start")
_ROW_TEXT = _TEXT_COLUMNS[3:]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _us(value: Any) -> int:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return (value - _EPOCH) // dt.timedelta(microseconds=1)
    if hasattr(value, "value") and hasattr(value, "tz_localize"):  # pandas Timestamp: ns
        return int(value.value // 1000)
    return int(value)


def _utc(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=int(us))


def _ints(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(values with 0 for null, known mask) of an integer column."""
    known = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    values = np.asarray(column.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.float64)
    return values, known


class Outline:
    """The spans of one trace as a tree, over columns.

    Spans whose parent is missing (not arrived yet, or in another trace) are roots, so a
    partial trace still shows; spans whose parents point round in a circle are cut at their
    earliest span, which becomes a root. Roots and children are in start order, as in
    :class:`workbench.tree.Trace`.

    Args:
        trace_id: The trace.
        table: Its spans with the columns of :func:`workbench.read.outline.outline_spans`,
            sorted by start time, then span id.
    """

    def __init__(self, trace_id: str, table: pa.Table) -> None:
        self.trace_id = trace_id
        ids = table.column("span_id").to_pylist()
        index = dict(zip(ids, range(len(ids))))
        if len(index) < len(ids):  # a span stored twice: its last copy counts, as in Trace
            table = table.take(sorted(index.values()))
            ids = table.column("span_id").to_pylist()
            index = dict(zip(ids, range(len(ids))))
        self.table = table
        self.ids: list[str] = ids
        self.index: dict[str, int] = index
        n = len(ids)
        # Each parent's position, looked up in C (a span whose parent is not here is a root).
        found = pc.index_in(table.column("parent_span_id"), value_set=table.column("span_id").combine_chunks())
        parent = np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        if n:
            parent[parent == np.arange(n)] = -1
        self.start = table.column("start_us").to_numpy().astype(np.int64)
        ends = pc.coalesce(table.column("end_us"), table.column("start_us"))
        self.end = np.maximum(ends.to_numpy().astype(np.int64), self.start)
        self.status = table.column("status_code").to_pylist()
        self.parent = parent
        self._children(parent)
        self._walk()
        self._mark_critical_path()
        errors = np.asarray(pc.fill_null(pc.equal(table.column("status_code"), "ERROR"), False)
                            .to_numpy(zero_copy_only=False), dtype=np.float64)
        total, total_known = _ints(table.column("total_tokens"))
        prompt, prompt_known = _ints(table.column("prompt_tokens"))
        completion, completion_known = _ints(table.column("completion_tokens"))
        parts_known = prompt_known | completion_known
        self.tokens_known = total_known | parts_known
        self.tokens = np.where(total_known, total, prompt + completion)
        sums = self.subtree_sums(np.column_stack([errors, self.tokens, self.tokens_known]))
        self.errors_below = sums[:, 0] - errors
        self.sub_tokens, self.sub_tokens_known = sums[:, 1], sums[:, 2] > 0
        self._text: list[str] | None = None
        self._lists: tuple[list[int], list[int], list[int], list[int]] | None = None

    @classmethod
    def from_spans(cls, trace_id: str, spans: Iterable[Mapping[str, Any]]) -> Outline:
        """An outline from span dicts (a reader's ``trace(...)`` nodes, a test's spans), with at
        least ``span_id`` and ``start_time``; the other columns may be missing."""
        rows = []
        for span in spans:
            start = _us(span["start_time"])
            end = span.get("end_time")
            text = {key: span.get(key) for key in ("input_value", "output_value")}
            rows.append({
                **{name: span.get(name) for name in OUTLINE_COLUMNS},
                "start_us": start, "end_us": start if end is None else max(_us(end), start),
                "input_start": None if text["input_value"] is None else str(text["input_value"])[:SEARCH_CHARS],
                "output_start": None if text["output_value"] is None else str(text["output_value"])[:SEARCH_CHARS],
            })
        rows.sort(key=lambda r: (r["start_us"], str(r["span_id"])))
        for row in rows:
            for name in ("total_tokens", "prompt_tokens", "completion_tokens"):
                value = row[name]
                row[name] = None if value is None or value != value else int(value)
            for name in ("span_id", "parent_span_id"):
                row[name] = None if row[name] is None else str(row[name])
        return cls(trace_id, pa.Table.from_pylist(rows, schema=_SCHEMA))

    # Structure ----------------------------------------------------------------------------

    def _children(self, parent: np.ndarray) -> None:
        n = len(parent)
        order = np.argsort(parent, kind="stable")  # roots first, then each parent's children in start order
        first_child = int(np.searchsorted(parent[order], 0))
        self._kids = order[first_child:]
        counts = np.bincount(parent[parent >= 0], minlength=n) if n else np.zeros(0, dtype=np.int64)
        self._ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.child_count = counts
        self.roots: list[int] = order[:first_child].tolist()

    def children(self, i: int) -> list[int]:
        """The children of span ``i`` (a position), in start order."""
        return self._kids[self._ptr[i]:self._ptr[i + 1]].tolist()

    def _kids_of(self, nodes: np.ndarray) -> np.ndarray:
        """The children of all ``nodes`` at once (each one's in start order)."""
        counts = self.child_count[nodes]
        total = int(counts.sum())
        if not total:
            return np.zeros(0, dtype=np.int64)
        shift = self._ptr[nodes] - (np.cumsum(counts) - counts)
        return self._kids[np.arange(total) + np.repeat(shift, counts)]

    def _walk(self) -> None:
        """Each span's depth, level by level from the roots; cuts any circle of parents."""
        depth = np.full(len(self.ids), -1, dtype=np.int64)
        frontier = np.array(self.roots, dtype=np.int64)
        while True:
            level = 0
            while frontier.size:
                depth[frontier] = level
                frontier = self._kids_of(frontier)
                frontier = frontier[depth[frontier] < 0]
                level += 1
            unreached = np.flatnonzero(depth < 0)
            if not unreached.size:
                break
            cut = int(unreached[0])  # parents in a circle: cut at the earliest span, a root now
            self.parent[cut] = -1
            self._children(self.parent)
            frontier = np.array([cut], dtype=np.int64)
        self.depth = depth
        self._order: list[int] | None = None

    @property
    def order(self) -> list[int]:
        """Every span (by position) in display order: depth first, children by start."""
        if self._order is None:
            kids, ptr = self._kids.tolist(), self._ptr.tolist()
            order: list[int] = []
            stack = list(reversed(self.roots))
            while stack:
                node = stack.pop()
                order.append(node)
                stack.extend(reversed(kids[ptr[node]:ptr[node + 1]]))
            self._order = order
        return self._order

    def subtree_sums(self, values: np.ndarray) -> np.ndarray:
        """Each span's ``values`` (rows by position, any columns) summed over its subtree."""
        sums = np.array(values, dtype=np.float64, copy=True)
        if not len(sums):
            return sums
        by_depth = np.argsort(self.depth, kind="stable")
        levels = np.searchsorted(self.depth[by_depth], np.arange(int(self.depth.max()) + 2))
        for d in range(len(levels) - 2, 0, -1):  # the deepest level first, then up
            nodes = by_depth[levels[d]:levels[d + 1]]
            np.add.at(sums, self.parent[nodes], sums[nodes])
        return sums

    def _mark_critical_path(self) -> None:
        # From the end back: at each level, the child that finishes last (before the point
        # reached) is what its parent waited on.
        self.critical: set[int] = set()
        if not self.roots:
            return
        roots = np.array(self.roots)
        node: int | None = int(roots[np.argmax(self.end[roots])])
        while node is not None:
            self.critical.add(node)
            kids = self._kids[self._ptr[node]:self._ptr[node + 1]]
            waiting = kids[self.end[kids] <= self.end[node] + 1]
            node = int(waiting[np.argmax(self.end[waiting])]) if len(waiting) else None

    # Figures ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, span_id: object) -> bool:
        return span_id in self.index

    @property
    def first_start(self) -> dt.datetime:
        """The earliest start of any span."""
        return _utc(self.start.min() if len(self.start) else 0)

    @property
    def last_start(self) -> dt.datetime:
        """The latest start of any span."""
        return _utc(self.start.max() if len(self.start) else 0)

    @property
    def duration_ms(self) -> float:
        """From the first start to the last end."""
        return float(self.end.max() - self.start.min()) / 1000 if len(self.start) else 0.0

    def self_time_ms(self, i: int) -> float:
        """Span ``i``'s time not covered by any of its children."""
        if self._lists is None:  # plain lists: a row at a time, they beat NumPy's slicing
            self._lists = (self.start.tolist(), self.end.tolist(), self._kids.tolist(), self._ptr.tolist())
        starts, ends, kids, ptr = self._lists
        lo, hi = starts[i], ends[i]
        covered, reached = 0, lo
        for start, end in sorted((min(max(starts[k], lo), hi), min(max(ends[k], lo), hi))
                                 for k in kids[ptr[i]:ptr[i + 1]]):
            if end <= reached:
                continue
            covered += end - max(start, reached)
            reached = end
        return max(0, hi - lo - covered) / 1000

    def span(self, i: int) -> dict[str, Any]:
        """Span ``i``'s columns as a dict, its times as datetimes (``start_time``, ``end_time``)."""
        row = self.table.slice(i, 1).to_pylist()[0]
        row["start_time"], row["end_time"] = _utc(row["start_us"]), _utc(row["end_us"])
        return row

    def totals(self) -> dict[str, Any]:
        """What the summary line counts: ``spans``, ``errors``, ``llm_calls``, ``llm_tokens``, ``models``."""
        kinds = self.table.column("span_kind")
        llm = pc.fill_null(pc.equal(kinds, "LLM"), False)
        tokens = pc.sum(pc.filter(self.table.column("total_tokens"), llm)).as_py() or 0
        models = pc.unique(pc.drop_null(self.table.column("model_name"))).to_pylist()
        return {"spans": len(self), "errors": int(sum(s == "ERROR" for s in self.status)),
                "llm_calls": int(pc.sum(llm).as_py() or 0), "llm_tokens": int(tokens),
                "models": sorted(m for m in models if m)}

    def critical_path(self) -> list[int]:
        """The spans the trace waited on, from the root down."""
        return sorted(self.critical, key=lambda i: int(self.depth[i]))

    # Rows ---------------------------------------------------------------------------------

    def texts(self) -> list[str]:
        """What a search matches of each span, lower case: name, kind, id, model, tool, status
        message, and the start of its input and output."""
        if self._text is None:
            self._text = self._joined(_TEXT_COLUMNS)
        return self._text

    def _joined(self, names: Sequence[str], positions: pa.Array | None = None) -> list[str]:
        table = self.table.select(list(names))
        if positions is not None:
            table = table.take(positions)
        return [" ".join(str(v) for v in values if v is not None and v != "").lower()
                for values in zip(*(c.to_pylist() for c in table.columns))]

    def matching(self, text: str) -> list[int]:
        """The spans whose search text holds ``text``, in any case."""
        needle = text.strip().lower()
        if not needle:
            return []
        return [i for i, hay in enumerate(self.texts()) if needle in hay]

    def rows(self, positions: Sequence[int], costs: Any = None) -> list[dict[str, Any]]:
        """The :class:`workbench.app.waterfall.Waterfall` rows of these spans, in the order given.

        Args:
            positions: Spans by position (e.g. :meth:`workbench.app.folds.Folds.shown`).
            costs: A :class:`workbench.app.trace_costs.TraceCosts`, for each row's cost and its
                subtree's (None: no costs yet).
        """
        if not positions:
            return []
        take = pa.array(positions, pa.int64())
        picked = self.table.select(["span_id", "name", "span_kind"]).take(take)
        names, kinds = picked.column("name").to_pylist(), picked.column("span_kind").to_pylist()
        texts = self._joined(_ROW_TEXT, take)
        pos = np.asarray(positions, dtype=np.int64)
        starts, ends = self.start[pos], self.end[pos]
        parents, depths = self.parent[pos].tolist(), self.depth[pos].tolist()
        offsets = ((starts - int(self.start.min())) / 1000).tolist()
        durations = ((ends - starts) / 1000).tolist()
        children, errors = self.child_count[pos].tolist(), self.errors_below[pos].astype(np.int64).tolist()
        tokens = [int(v) if known else None for v, known in zip(self.tokens[pos].tolist(),
                                                                self.tokens_known[pos].tolist(), strict=True)]
        sub_tokens = [int(v) if known else None for v, known in zip(self.sub_tokens[pos].tolist(),
                                                                    self.sub_tokens_known[pos].tolist(), strict=True)]
        out = []
        for k, i in enumerate(positions):
            p = parents[k]
            own, sub = (costs.of(i) if costs is not None else (None, None))
            out.append({
                "id": self.ids[i],
                "parent": None if p < 0 else self.ids[p],
                "depth": depths[k],
                "name": str(names[k] or ""),
                "kind": str(kinds[k] or "UNKNOWN"),
                "status": str(self.status[i] or "UNSET"),
                "offset": offsets[k],
                "duration": durations[k],
                "self": self.self_time_ms(i),
                "critical": i in self.critical,
                "children": children[k],
                "sub_errors": errors[k],
                "tokens": tokens[k],
                "sub_tokens": sub_tokens[k],
                "cost": own,
                "sub_cost": sub,
                "text": texts[k] or "",  # what a search matches besides the name, kind and id
            })
        return out

    def to_trace(self) -> Trace:
        """The same spans as a :class:`workbench.tree.Trace` of dicts (slower: for code that
        wants the tree of nodes)."""
        table = self.table
        names = table.column_names
        spans = [dict(zip(names, values, strict=True)) for values in zip(*(c.to_pylist() for c in table.columns))]
        for span in spans:
            span["start_time"], span["end_time"] = _utc(span["start_us"]), _utc(span["end_us"])
            span["input_value"], span["output_value"] = span.pop("input_start"), span.pop("output_start")
        return Trace(self.trace_id, spans)

    def to_markdown(self, costs: Any = None) -> str:
        """The trace as Markdown for an LLM (:func:`workbench.tree.markdown`) from the
        outline's columns: inputs and outputs as far as it holds them.

        Args:
            costs: A :class:`workbench.app.trace_costs.TraceCosts`, for each call's cost.
        """
        return markdown(_MarkdownTrace(self, costs))


class _MarkdownNode:
    """A span as :func:`workbench.tracetext.trace_markdown` reads it; its self time and
    children only when its line is written (a huge trace's text shows its first spans)."""

    __slots__ = ("_i", "_outline", "depth", "span")

    def __init__(self, outline: Outline, i: int, span: dict[str, Any]) -> None:
        self._outline, self._i, self.span = outline, i, span
        self.depth = int(outline.depth[i])

    @property
    def children(self) -> list[int]:
        return self._outline.children(self._i)

    @property
    def self_time_ms(self) -> float:
        return self._outline.self_time_ms(self._i)

    @property
    def duration_ms(self) -> float:
        return float(self._outline.end[self._i] - self._outline.start[self._i]) / 1000


class _MarkdownTrace:
    """An outline as :func:`workbench.tracetext.trace_markdown` reads a trace."""

    _KEYS = ("span_id", "name", "span_kind", "status_code", "status_message", "model_name", "tool_name",
             "prompt_tokens", "completion_tokens", "project")

    def __init__(self, outline: Outline, costs: Any = None) -> None:
        self.outline = outline
        self.costs = costs
        self.trace_id = outline.trace_id
        self.duration_ms = outline.duration_ms

    def __iter__(self) -> Iterator[_MarkdownNode]:
        outline = self.outline
        order = outline.order
        table = outline.table.select([*self._KEYS, "input_start", "output_start"]).take(pa.array(order, pa.int64()))
        keys = (*self._KEYS, "input_value", "output_value")
        for k, (i, values) in enumerate(zip(order, zip(*(c.to_pylist() for c in table.columns)), strict=True)):
            span = dict(zip(keys, values, strict=True))
            if k == 0:
                span["start_time"] = _utc(int(outline.start[i]))
            if self.costs is not None:
                span["cost"] = self.costs.own(i)
            yield _MarkdownNode(outline, i, span)
