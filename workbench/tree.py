"""A trace as a tree: parent and children, self time, and the critical path.

Pure Python over span records (dicts with at least ``span_id``, ``parent_span_id``,
``start_time``, ``end_time``/``latency_ms``), so the app, the read API and tests share it.
A trace shows itself in a notebook cell as a tree and waterfall (:mod:`workbench.render`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Node", "Trace", "markdown", "traces_of"]


def _us(value: Any) -> int:
    """Microseconds since the epoch from a datetime, pandas Timestamp or number."""
    if hasattr(value, "value") and hasattr(value, "tz_localize"):  # pandas Timestamp: ns
        return int(value.value // 1000)
    if hasattr(value, "timestamp"):
        return round(value.timestamp() * 1_000_000)
    return int(value)


@dataclass
class Node:
    """One span in the tree."""

    span: Mapping[str, Any]
    children: list[Node] = field(default_factory=list)
    depth: int = 0
    start_us: int = 0
    end_us: int = 0
    self_time_ms: float = 0.0
    on_critical_path: bool = False

    @property
    def span_id(self) -> str:
        """The span's id."""
        return str(self.span["span_id"])

    @property
    def duration_ms(self) -> float:
        """The span's own wall time."""
        return (self.end_us - self.start_us) / 1000


def _union_us(intervals: list[tuple[int, int]], lo: int, hi: int) -> int:
    """Length of the union of intervals, clipped to [lo, hi]."""
    total = 0
    current_start = 0
    current_end: int | None = None
    for start, end in sorted(intervals):
        start, end = max(start, lo), min(end, hi)
        if end <= start:
            continue
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total


class Trace:
    """The spans of one trace arranged as a tree.

    Spans whose parent is missing (not yet arrived, or in another trace) become roots, so a
    partial trace still shows. ``roots`` are ordered by start time, as are children.
    """

    def __init__(self, trace_id: str, spans: Iterable[Mapping[str, Any]]) -> None:
        self.trace_id = trace_id
        self.nodes: dict[str, Node] = {}
        for span in spans:
            start = _us(span["start_time"])
            end = _us(span["end_time"]) if span.get("end_time") is not None else start
            self.nodes[str(span["span_id"])] = Node(span=span, start_us=start, end_us=max(end, start))
        self.roots: list[Node] = []
        for node in self.nodes.values():
            parent = node.span.get("parent_span_id")
            if parent and parent in self.nodes and parent != node.span_id:
                self.nodes[parent].children.append(node)
            else:
                self.roots.append(node)
        self.roots.sort(key=lambda n: n.start_us)
        for node in self.nodes.values():
            node.children.sort(key=lambda n: n.start_us)
            covered = _union_us([(c.start_us, c.end_us) for c in node.children], node.start_us, node.end_us)
            node.self_time_ms = max(0, node.end_us - node.start_us - covered) / 1000
        for root in self.roots:
            self._set_depth(root)
        self._mark_critical_path()

    def _set_depth(self, root: Node) -> None:
        stack = [(root, 0)]
        while stack:
            node, depth = stack.pop()
            node.depth = depth
            stack.extend((child, depth + 1) for child in node.children)

    def _mark_critical_path(self) -> None:
        # Walk back from the end: at each level, the child that finishes last (before the
        # point we have reached) is what the parent waited on.
        if not self.roots:
            return
        node: Node | None = max(self.roots, key=lambda n: n.end_us)
        while node is not None:
            node.on_critical_path = True
            limit = node.end_us
            waiting = [c for c in node.children if c.end_us <= limit + 1]
            node = max(waiting, key=lambda c: c.end_us) if waiting else None

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"<Trace {self.trace_id}: {len(self.nodes):,} spans, {self.duration_ms:,.1f} ms>"

    def view(self, **limits: Any) -> Any:
        """The trace as a self-contained HTML view (:class:`workbench.render.TraceHTML`).

        A trace that is a notebook cell's value shows this view with the default limits;
        call ``view()`` for others.

        Args:
            limits: ``max_spans``, ``max_chars``, ``max_bytes`` (see ``TraceHTML``).
        """
        from workbench.render import TraceHTML

        return TraceHTML([self], **limits)

    def _repr_html_(self) -> str:
        return self.view().html

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return self.view()._repr_mimebundle_(include, exclude)

    def to_html(self, path: Any = None, **limits: Any) -> Any:
        """A whole HTML page of the trace to share: it needs no server and fetches nothing.

        Args:
            path: Write the page to this file. Without it, the page is returned as text.
            limits: ``max_spans``, ``max_chars``, ``max_bytes`` (see :meth:`view`).

        Returns:
            The path written (a ``pathlib.Path``), or the page's text.
        """
        return self.view(**limits).to_html(path)

    def __iter__(self) -> Iterator[Node]:
        """Nodes depth-first, in display order (parents before children, by start time)."""
        stack = list(reversed(self.roots))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    @property
    def start_us(self) -> int:
        """Earliest start of any span."""
        return min((n.start_us for n in self.nodes.values()), default=0)

    @property
    def end_us(self) -> int:
        """Latest end of any span."""
        return max((n.end_us for n in self.nodes.values()), default=0)

    @property
    def duration_ms(self) -> float:
        """From the first start to the last end."""
        return (self.end_us - self.start_us) / 1000

    @property
    def critical_path(self) -> list[Node]:
        """The spans the trace waited on, from the root down."""
        return [n for n in self if n.on_critical_path]

    def to_markdown(self, max_chars: int | None = None, text_chars: int = 600) -> str:
        """The trace as Markdown for an LLM or a bug report, within ``max_chars`` characters
        (default ``WORKBENCH_MARKDOWN_CHARS``, 24,000).

        Each span on one line (kind, duration, self time, model, tokens, cost, errors), its
        inputs and outputs under it cut to ``text_chars``; see :mod:`workbench.tracetext`.
        """
        return markdown(self, max_chars=max_chars, text_chars=text_chars)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per span in display order, with depth, self time and critical-path flag."""
        out = []
        for node in self:
            row = dict(node.span)
            row.update(
                depth=node.depth,
                self_time_ms=node.self_time_ms,
                on_critical_path=node.on_critical_path,
                offset_ms=(node.start_us - self.start_us) / 1000,
                child_count=len(node.children),
            )
            out.append(row)
        return out


def markdown(trace: Any, max_chars: int | None = None, text_chars: int = 600) -> str:
    """A trace as Markdown (:meth:`Trace.to_markdown`), or anything shaped like one: ``trace_id``,
    ``duration_ms``, and its nodes in display order, each with ``span``, ``depth``, ``children``,
    ``duration_ms`` and ``self_time_ms`` (the Trace page's columnar outline is one)."""
    from workbench.tracetext import trace_markdown

    return trace_markdown(trace, max_chars=max_chars, text_chars=text_chars)


_REQUIRED = ("trace_id", "span_id", "start_time")


def traces_of(spans: Any) -> list[Trace]:
    """Traces from a span list: a ``spans()`` DataFrame or Arrow table, span dicts, or traces.

    Spans are grouped by trace, earliest trace first; within a trace, a span whose parent is
    not in the list is a root.

    Raises:
        ConfigError: ``spans`` is none of these, or its spans lack an id or a start time.
    """
    from workbench.errors import ConfigError

    if isinstance(spans, Trace):
        return [spans]
    if hasattr(spans, "to_pylist"):  # an Arrow table or record batch
        records = spans.to_pylist()
    elif hasattr(spans, "to_dicts"):  # a polars DataFrame
        records = spans.to_dicts()
    elif hasattr(spans, "to_dict") and hasattr(spans, "columns"):  # a pandas DataFrame
        records = spans.to_dict(orient="records")
    elif isinstance(spans, Mapping):
        records = [spans]
    elif isinstance(spans, Iterable) and not isinstance(spans, (str, bytes)):
        records = list(spans)
    else:
        raise ConfigError(f"Cannot show {type(spans).__name__}; pass a trace (wb.trace(id)), "
                          "the spans of wb.spans(...), or a list of span dicts.")
    if records and all(isinstance(r, Trace) for r in records):
        return list(records)
    for record in records:
        if not isinstance(record, Mapping):
            raise ConfigError(f"Cannot show a span list holding {type(record).__name__}; pass span dicts, "
                              "the spans of wb.spans(...), or traces.")
        missing = [key for key in _REQUIRED if record.get(key) is None]
        if missing:
            raise ConfigError(f"A span lacks {', '.join(missing)}; a span list needs {', '.join(_REQUIRED)} for "
                              "every span (wb.spans() without columns= has them).")
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        grouped.setdefault(str(record["trace_id"]), []).append(record)
    traces = [Trace(trace_id, group) for trace_id, group in grouped.items()]
    traces.sort(key=lambda t: t.start_us)
    return traces
