"""Where the time goes: latency percentiles over time, LLM timings, self time by kind.

Every function takes a :class:`~workbench.query.Reader` and the usual filters (a filter
expression, ``start``/``end``, ``project``) and returns a DataFrame.

``level`` chooses what is measured: ``"traces"`` measures whole traces (their root spans),
listing a trace when any of its spans matches the filter, as :meth:`Reader.traces` does;
``"spans"`` measures the matching spans themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from workbench.errors import FilterError
from workbench.read import Reader, Selection
from workbench.read import latency as queries
from workbench.read.latency import GROUPS, RANKS

__all__ = [
    "GROUPS",
    "RANKS",
    "bucket_width",
    "group_latency",
    "latency_over_time",
    "latency_summary",
    "llm_timing_summary",
    "llm_timings",
    "self_time_by_kind",
    "slowest_traces",
]

_WIDTHS = (
    dt.timedelta(seconds=10), dt.timedelta(minutes=1), dt.timedelta(minutes=5),
    dt.timedelta(minutes=15), dt.timedelta(hours=1), dt.timedelta(hours=3),
    dt.timedelta(hours=6), dt.timedelta(days=1), dt.timedelta(days=7),
)

Project = str | Sequence[str] | None


def bucket_width(first: dt.datetime | None, last: dt.datetime | None, buckets: int = 60) -> dt.timedelta:
    """The narrowest of 10 s, 1 m, 5 m, 15 m, 1 h, 3 h, 6 h, 1 d, 7 d giving at most ``buckets``."""
    if first is None or last is None or last <= first:
        return _WIDTHS[1]
    span = last - first
    for width in _WIDTHS:
        if span / width <= buckets:
            return width
    return _WIDTHS[-1]


def latency_summary(
    reader: Reader,
    filter: str | Selection | None = None,
    *,
    level: str = "traces",
    start: Any = None,
    end: Any = None,
    project: Project = None,
) -> dict[str, Any]:
    """Count, error count, p50/p95/p99 and max latency (ms), and the time range measured.

    At the ``traces`` level a trace counts as an error when any of its spans failed.
    """
    row = queries.latency_figures(reader, Selection.of(filter, start, end, project), level)
    quantiles = row[2] or [None, None, None]
    return {
        "count": int(row[0]), "errors": int(row[1]), "p50": quantiles[0], "p95": quantiles[1],
        "p99": quantiles[2], "max": row[3], "first_start": row[4], "last_start": row[5],
    }


def latency_over_time(
    reader: Reader,
    filter: str | Selection | None = None,
    *,
    by: str = "none",
    level: str = "traces",
    start: Any = None,
    end: Any = None,
    project: Project = None,
    width: dt.timedelta | None = None,
    max_groups: int = 8,
    rank: str = "p95",
) -> pd.DataFrame:
    """p50/p95/p99 latency per time bucket and group.

    Args:
        by: Group by ``none``, ``name``, ``model``, ``tool``, ``kind`` or ``project`` (see
            :data:`GROUPS`). By ``model`` or ``tool``, only the spans that have one are measured
            (model calls, tool calls); at the ``traces`` level a trace counts once in each
            model it called (or tool it used), and traces that called none are left out.
        width: The bucket width; by default chosen from the time range (:func:`bucket_width`).
        max_groups: The slowest groups by ``rank`` are kept; the rest are summed up as ``other``.
        rank: What makes a group one of the kept ones (see :data:`RANKS`): a percentile of its
            latency over the whole range (by default the tail, ``p95``, so the slowest group
            is never folded into ``other``), or ``count`` for the busiest.

    Returns:
        Columns ``bucket`` (start of the bucket, UTC), ``bucket_end``, ``group``, ``count``,
        ``errors``, ``p50``, ``p95``, ``p99`` and ``max``, ordered by bucket and group.
    """
    if by not in GROUPS:
        raise FilterError(f"Cannot group latency by {by!r}; choose one of {', '.join(GROUPS)}.")
    if rank not in RANKS:
        raise FilterError(f"Cannot rank latency groups by {rank!r}; choose one of {', '.join(RANKS)}.")
    selection = Selection.of(filter, start, end, project)
    if width is None:
        width = bucket_width(*queries.start_range(reader, selection, level))
    micros = int(width / dt.timedelta(microseconds=1))
    return queries.latency_by_bucket(reader, selection, by=by, level=level, micros=micros,
                                     max_groups=max_groups, rank=rank).to_pandas()


def group_latency(
    reader: Reader,
    filter: str | Selection | None = None,
    *,
    by: str = "tool",
    level: str = "spans",
    start: Any = None,
    end: Any = None,
    project: Project = None,
    rank: str = "p95",
    limit: int = 10,
) -> pd.DataFrame:
    """Each group's count, errors and p50/p95/p99/max latency over the whole range, slowest first.

    Groups as :func:`latency_over_time` makes them (``by`` and ``level`` alike).

    Returns:
        Columns ``group``, ``count``, ``errors``, ``p50``, ``p95``, ``p99`` and ``max``, ranked
        by ``rank`` (see :data:`RANKS`), at most ``limit`` rows.
    """
    frame = latency_over_time(reader, filter, by=by, level=level, start=start, end=end, project=project,
                              width=dt.timedelta(days=365_000), max_groups=max(int(limit), 1), rank=rank)
    frame = frame[frame["group"] != "other"].drop(columns=["bucket", "bucket_end"])
    key = "count" if rank == "count" else rank
    return frame.sort_values([key, "count"], ascending=False, na_position="last").head(limit).reset_index(drop=True)


def llm_timings(
    reader: Reader,
    filter: str | Selection | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    limit: int = 10_000,
    seed: int = 7,
) -> pd.DataFrame:
    """Timings of LLM spans, one row each (a random sample of ``limit`` when there are more).

    Returns:
        Columns ``trace_id``, ``span_id``, ``name``, ``model_name``, ``start_time``,
        ``ttft_ms`` (time to first token), ``latency_ms`` (time to last token),
        ``completion_tokens`` and ``output_tokens_per_s``.
    """
    return queries.llm_timing_rows(reader, Selection.of(filter, start, end, project), limit=limit,
                                   seed=seed).to_pandas()


def llm_timing_summary(
    reader: Reader,
    filter: str | Selection | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: Project = None,
) -> pd.DataFrame:
    """Per model: calls, p50/p95 time to first token and to last token, median tokens per second."""
    frame = queries.llm_timings_by_model(reader, Selection.of(filter, start, end, project)).to_pandas()
    frame["completion_tokens"] = frame["completion_tokens"].astype("Int64")  # null when no call reported any
    return frame


def self_time_by_kind(
    reader: Reader,
    filter: str | Selection | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    max_traces: int | None = 5_000,
) -> pd.DataFrame:
    """Self time (a span's duration not covered by its children) summed by span kind.

    Measured over every span of the traces that match (a trace matches when its root starts
    in the range and any of its spans matches ``filter``), so it answers "in these traces, how
    much time went to retrieval, generation, tools ...".

    Args:
        max_traces: Measure only the latest this many matching traces (None: all); the shares
            hardly move past a few thousand, and every span of a million takes a second or two.

    Returns:
        Columns ``span_kind``, ``spans``, ``self_ms`` and ``share`` (of all self time), largest first.
    """
    frame = queries.self_time_per_kind(reader, Selection.of(filter, start, end, project),
                                       max_traces=max_traces).to_pandas()
    total = frame["self_ms"].sum()
    frame["share"] = frame["self_ms"] / total if total else 0.0
    return frame


def slowest_traces(
    reader: Reader,
    filter: str | Selection | None = None,
    *,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    limit: int = 20,
) -> pd.DataFrame:
    """The slowest traces (one row each, as :meth:`Reader.traces` gives), slowest first."""
    return reader.traces(filter, start=start, end=end, project=project, order_by="latency_ms",
                         descending=True, limit=limit)
