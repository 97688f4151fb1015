"""What the MCP tools answer: plain functions over a reader, each with a bounded answer.

Every function takes a reader (a file's or a server's: the same read door) and returns text
(Markdown) or JSON-ready values small enough for an agent's context: lists have a ``limit``
with a hard ceiling, long texts are cut with the cut stated. :mod:`workbench.mcp.server`
registers them as tools; tests and notebooks may call them directly.

Summaries run through the SQL door (``reader.sql`` over ``spans`` and ``spans_cost``), so they
answer the same against a file and a server; drift and monitors need a reader with the ``sql``
capability (a file), and say so in one sentence otherwise.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from workbench import config
from workbench.errors import CapabilityError, NotFoundError, WorkbenchError
from workbench.read.selection import Selection, parse_time
from workbench.read.sql import RELATIONS, server_limits
from workbench.read.summary import summary_rows
from workbench.tracetext import DEFAULT_TEXT_CHARS

__all__ = [
    "MAX_TRACES",
    "annotate",
    "drift",
    "find_traces",
    "get_span",
    "get_trace",
    "monitors",
    "overview",
    "run_sql",
    "summary",
]

#: The most traces :func:`find_traces` lists at once.
MAX_TRACES = 200
_MAX_CHARS_CEILING = 200_000
_MIN_CHARS = 500  # the smallest budget a trace's heading and first lines fit in
_SPAN_TEXT = 4_000  # characters kept of each long value of one span in full
_TRACE_FIELDS = ("trace_id", "start_time", "name", "span_kind", "status_code", "project", "latency_ms",
                 "span_count", "error_count", "models", "total_tokens", "cost", "input_value")


def _plain(value: Any) -> Any:
    """JSON-ready: times as ISO 8601 UTC, NaN as None, numpy and Arrow values as Python's."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):  # DuckDB's sums of integers
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if hasattr(value, "item"):
        return _plain(value.item())
    if value is not None and type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value


def _cut(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"… [{len(value) - limit} more characters]"
    if isinstance(value, list):
        return [_cut(v, limit) for v in value]
    if isinstance(value, dict):
        return {k: _cut(v, limit) for k, v in value.items()}
    return value


def _bounded(value: int | None, default: int, ceiling: int, name: str, floor: int = 1) -> int:
    number = default if value is None else int(value)
    if number < floor:
        raise ValueError(f"{name} must be {floor} or more, like {name}={default}.")
    return min(number, ceiling)


def overview(reader: Any) -> dict[str, Any]:
    """The projects, how many spans, and the time range they cover."""
    stats = reader.stats()
    return _plain({
        "projects": reader.projects(),
        "spans": (stats.get("counts") or {}).get("spans"),
        "first_span_start": stats.get("first_start"),
        "last_span_end": stats.get("last_end"),
        "tables_for_sql": list(RELATIONS),
    })


def find_traces(
    reader: Any,
    filter: str | None = None,
    start: str | None = None,
    end: str | None = None,
    project: str | None = None,
    order_by: str = "start_time",
    descending: bool = True,
    limit: int | None = 20,
) -> dict[str, Any]:
    """Traces any of whose spans match ``filter``, one summary row each (at most :data:`MAX_TRACES`)."""
    limit = _bounded(limit, 20, MAX_TRACES, "limit")
    table = reader.traces(filter, start=start, end=end, project=project, order_by=order_by,
                          descending=descending, limit=limit + 1, arrow=True)
    rows = table.to_pylist()
    more = len(rows) > limit
    traces = [{k: _cut(row.get(k), 200) for k in _TRACE_FIELDS} for row in rows[:limit]]
    return _plain({"traces": traces, "count": len(traces),
                   "more": more, "note": f"More traces match; raise limit (up to {MAX_TRACES}) or narrow the "
                                        "filter or time range." if more else None})


def get_trace(reader: Any, trace_id: str, max_chars: int | None = None, text_chars: int | None = None) -> str:
    """One trace as Markdown (:meth:`workbench.tree.Trace.to_markdown`) within ``max_chars``."""
    budget = _bounded(max_chars, config.get("markdown_chars"), _MAX_CHARS_CEILING, "max_chars", floor=_MIN_CHARS)
    texts = _bounded(text_chars, DEFAULT_TEXT_CHARS, _MAX_CHARS_CEILING, "text_chars", floor=0)
    return reader.trace(trace_id).to_markdown(max_chars=budget, text_chars=texts)


def get_span(reader: Any, span_id: str, text_chars: int | None = None) -> dict[str, Any]:
    """One span in full: every field, its attributes, events, documents and embeddings' texts
    (vectors left out), each long text cut to ``text_chars`` (default 4,000)."""
    limit = _bounded(text_chars, _SPAN_TEXT, 100_000, "text_chars")
    span = dict(reader.span(span_id))
    for key in ("attributes", "resource", "events", "links", "input_messages", "output_messages"):
        value = span.get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                span[key] = json.loads(value)
    span["embeddings"] = [{k: v for k, v in e.items() if k != "vector"} for e in span.get("embeddings") or []]
    return _plain(_cut(span, limit))


def run_sql(reader: Any, query: str, max_rows: int | None = None) -> dict[str, Any]:
    """One read-only SELECT through the SQL door, with the server's caps."""
    if max_rows is not None:
        _bounded(max_rows, 200, 0, "max_rows", floor=0)
    limits = server_limits(max_rows=max_rows)
    if hasattr(reader, "sql_answer"):
        answer = reader.sql_answer(query, limits=limits)
        table, truncated, note = answer.table, answer.truncated, answer.note
    else:  # a server's reader: the server applies its caps and says when it cut
        import warnings

        with warnings.catch_warnings(record=True) as cut:
            warnings.simplefilter("always")
            table = reader.sql(query, arrow=True, max_rows=limits.max_rows)
        note = str(cut[0].message) if cut else None
        truncated = "cut" if cut else None
    rows = [_cut(row, 2_000) for row in table.to_pylist()]
    return _plain({"columns": table.column_names, "rows": rows, "row_count": len(rows),
                   "truncated": truncated, "note": note})


def _window(start: str | None, end: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    return parse_time(start or "24h"), parse_time(end) if end else None


def summary(reader: Any, start: str | None = "24h", end: str | None = None, project: str | None = None,
            filter: str | None = None) -> dict[str, Any]:
    """Cost, latency, errors and quality over a time range: totals, then the top groups."""
    begin, finish = _window(start, end)
    found = summary_rows(reader, Selection(filter, begin, finish, project))
    totals, by_model, slowest, errors, quality = (
        _plain(found[name]) for name in
        ("totals", "llm_by_model", "slowest_span_names", "errors_by_span_name", "quality_by_annotation")
    )
    totals = totals[0]
    return {"from": _plain(begin), "to": _plain(finish), "project": project, "filter": filter, "totals": totals,
            "llm_by_model": by_model, "slowest_span_names": slowest, "errors_by_span_name": errors,
            "quality_by_annotation": quality}


def drift(reader: Any, start: str = "7d", reference_start: str | None = "28d", reference_end: str | None = "7d",
          limit: int = 10, projection: str = "umap") -> dict[str, Any]:
    """Clusters of queries ranked by drift against a reference window, and coverage gaps."""
    from workbench.read import supports

    if not supports(reader, "sql"):
        raise reader.refuse("sql")
    from workbench.drift import Window, analyze

    limit = _bounded(limit, 10, 50, "limit")
    reference = Window(start=reference_start, end=reference_end) if reference_start else None
    if projection not in ("umap", "pca"):
        raise ValueError(f"projection={projection!r} is not known; use 'umap' (finer, slow the first time) or 'pca'.")
    projector: Any = None
    try:
        if projection == "umap":
            import umap  # noqa: F401
    except ImportError:  # the drift extra is not installed: a linear projection still clusters
        projection = "pca"
    if projection == "pca":
        from workbench.drift.projection import PCAProjector

        projector = PCAProjector()
    result = analyze(reader, Window(start=start), reference, projector=projector)
    clusters = result.clusters
    keep = [c for c in ("cluster", "rank", "size", "primary", "reference", "corpus", "drift_ratio", "corpus_ratio",
                        "coverage_gap", "mean_retrieval_score", "example") if c in clusters.columns]
    ranked = clusters[clusters["cluster"] >= 0][keep]
    gaps = ranked[ranked["coverage_gap"].astype(bool)] if "coverage_gap" in ranked else ranked.iloc[:0]
    return _plain({
        "centroid_distance": result.centroid_distance,
        "clusters": [_cut(r, 300) for r in ranked.head(limit).to_dict("records")],
        "coverage_gaps": [_cut(r, 300) for r in gaps.head(limit).to_dict("records")],
        "counts": result.counts,
        "note": "drift_ratio runs from -1 (only in the reference window) to 1 (only in this window); coverage_gap: "
                "queries with few corpus documents near them.",
    })


def monitors(reader: Any, window: str | None = None) -> dict[str, Any]:
    """Run the monitor rules (the monitors file, else the defaults) once; what fired first."""
    from workbench import monitors as rules

    config = rules.load_config()
    results = rules.check(reader, config, window=window)
    return _plain({
        "checked_at": results.checked_at,
        "fired": [_cut(r.to_dict(), 500) for r in results.fired][:50],
        "watched": len(results),
        "quiet": [r.rule + (f" ({r.subject})" if r.subject else "") for r in results if not r.fired][:50],
    })


def annotate(reader: Any, name: str, trace_id: str | None = None, span_id: str | None = None,
             score: float | None = None, label: str | None = None, explanation: str | None = None) -> dict[str, Any]:
    """Add one annotation (an agent's evaluation or note) to a span or a trace."""
    if not (trace_id or span_id):
        raise ValueError("Give span_id (a span) or trace_id (a whole trace) to annotate.")
    if score is None and label is None:
        raise ValueError("Give a score, a label or both: an annotation needs a value.")
    record: dict[str, Any] = {"name": name, "annotator_kind": "LLM", "annotator": "mcp"}
    for key, value in (("trace_id", trace_id), ("span_id", span_id), ("score", score), ("label", label),
                       ("explanation", explanation)):
        if value is not None:
            record[key] = value
    if span_id and not trace_id:
        record["trace_id"] = reader.span(span_id)["trace_id"]
    added = reader.add_annotations([record])
    return {"added": added}


def describe_invalid(tool: str, errors: Sequence[Mapping[str, Any]]) -> str:
    """One sentence for an agent whose arguments do not fit a tool's input schema (``errors``
    as a validation error lists them: where, what, the value given)."""
    parts = []
    for err in errors:
        field = ".".join(str(part) for part in err.get("loc", ())) or "the arguments"
        if err.get("type") == "missing":
            parts.append(f"{field} is required")
            continue
        what = str(err.get("msg") or "is not valid")
        parts.append(f"{field}: {what[:1].lower()}{what[1:]} (got {repr(err.get('input'))[:60]})")
    return f"The arguments of {tool} do not fit: {'; '.join(parts)}. The tool's input schema gives each one's type."


def describe_error(exc: BaseException) -> str:
    """One sentence for an agent: a WorkbenchError's own message, else what went wrong."""
    if isinstance(exc, (WorkbenchError, CapabilityError, NotFoundError, ValueError)):
        return str(exc)
    return f"The tool failed ({type(exc).__name__}: {exc}); the server's log has the cause."
