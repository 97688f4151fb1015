"""The trace and span lists as shown: rows formatted from the read API's frames, and their
table. Plain HTML, no panel: the Traces page draws it, and so does the first page a server
sends while the app is still loading."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import pandas as pd

from workbench.app.markup import cost_html, esc, fmt_count, fmt_ms, fmt_time, href, is_missing, short, zone_label
from workbench.app.tables import GridColumn, grid
from workbench.read.costs import CALL_KINDS

__all__ = ["SPAN_SORT", "TRACE_SORT", "annotations_of", "list_table", "span_rows", "trace_rows"]

# Table column -> the read API's sort key, per mode.
TRACE_SORT = {
    "Start": "start_time", "Name": "name", "Status": "status_code", "Latency": "latency_ms",
    "Spans": "span_count", "Tokens": "total_tokens", "Cost": "cost", "Models": "models", "Session": "session_id",
    "User": "user_id", "Project": "project",
}
SPAN_SORT = {
    "Start": "start_time", "Name": "name", "Kind": "span_kind", "Status": "status_code",
    "Latency": "latency_ms", "Model": "model_name", "Tokens": "total_tokens", "Session": "session_id",
    "Project": "project",
}
_RIGHT = ("Latency", "Spans", "Tokens", "Cost")
_HTML = ("Status", "Name", "Cost", "Feedback")  # cells built as HTML (their text escaped where made)
# Pixels; the last column takes what is left, at least its width. Every column of the trace
# list, Input and Output included, fits a 1440-pixel window (Columns hides some when narrower).
_WIDTHS = {
    "Start": 140, "Name": 150, "Kind": 84, "Status": 64, "Latency": 68, "Spans": 52, "Tokens": 62,
    "Cost": 84, "Feedback": 76,
    "Models": 120, "Model": 130, "Session": 100, "User": 84, "Project": 96, "Input": 150, "Output": 120,
}


def _status(code: Any) -> str:
    code = str(code or "UNSET")
    label = {"ERROR": "\u26a0 ERROR", "UNSET": "\u2013"}.get(code, code)
    return f"<span class='st-{esc(code)}'>{esc(label)}</span>"


def _tokens(value: Any) -> str:
    return fmt_count(value)


def _feedback(row: Any) -> str:
    """Thumbs and failed evaluations of a trace, from its annotations."""
    if row is None:
        return ""
    parts = []
    feedback = row.get("feedback")
    if not is_missing(feedback) and feedback:
        label = str(feedback).lower()
        if "up" in label or label in ("positive", "good", "helpful"):
            parts.append("<span title='user feedback'>\U0001f44d</span>")
        elif "down" in label or label in ("negative", "bad", "unhelpful"):
            parts.append("<span title='user feedback'>\U0001f44e</span>")
        else:
            parts.append(esc(label))
    failed = row.get("failed")
    if not is_missing(failed) and failed:
        parts.append(f"<span class='st-ERROR' title='failed evaluations'>{int(row['failed'])} failed</span>")
    return " ".join(parts)


def trace_rows(frame: pd.DataFrame, annotations: pd.DataFrame | None = None) -> pd.DataFrame:
    """The traces table as shown: formatted text, ids kept in hidden columns.

    ``annotations`` (from :func:`workbench.analysis.quality.trace_annotations`) adds feedback.
    """
    notes = {} if annotations is None or annotations.empty else {
        row["trace_id"]: row for row in annotations.to_dict(orient="records")
    }
    costs = frame["cost"] if "cost" in frame else [None] * len(frame)
    unpriced = frame["unpriced_calls"] if "unpriced_calls" in frame else (
        frame["unpriced"] if "unpriced" in frame else [0] * len(frame))
    rootless = frame["root_missing"] if "root_missing" in frame else [False] * len(frame)
    return pd.DataFrame({
        "trace_id": frame["trace_id"],
        "Start": [fmt_time(v) for v in frame["start_time"]],
        # Text: escaped where the cell's link is made.
        "Name": [("" if is_missing(n) else str(n)) + (" (root span missing)" if bool(r) else "")
                 for n, r in zip(frame["name"], rootless)],
        "Status": [
            _status("ERROR" if errors else status) for status, errors in zip(frame["status_code"], frame["error_count"])
        ],
        "Latency": [fmt_ms(v) for v in frame["latency_ms"]],
        "Spans": [f"{n:,}" + (f" ({e} err)" if e else "") for n, e in zip(frame["span_count"], frame["error_count"])],
        "Tokens": [_tokens(v) for v in frame["total_tokens"]],
        "Cost": [cost_html(c, u, missing="\u2013") for c, u in zip(costs, unpriced)],
        "Feedback": [_feedback(notes.get(t)) for t in frame["trace_id"]],
        "Models": [", ".join(v) if v is not None and len(v) else "" for v in frame["models"]],
        "Session": frame["session_id"].fillna(""),
        "User": frame["user_id"].fillna(""),
        "Project": frame["project"].fillna(""),
        "Input": [short(v, 160) for v in frame["input_value"]],
        "Output": [short(v, 160) for v in frame["output_value"]],
    })


def span_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The spans table as shown."""
    return pd.DataFrame({
        "trace_id": frame["trace_id"],
        "span_id": frame["span_id"],
        "Start": [fmt_time(v) for v in frame["start_time"]],
        "Name": frame["name"].fillna(""),
        "Kind": frame["span_kind"].fillna(""),
        "Status": [_status(v) for v in frame["status_code"]],
        "Latency": [fmt_ms(v) for v in frame["latency_ms"]],
        "Model": frame["model_name"].fillna(""),
        "Tokens": [_tokens(v) for v in frame["total_tokens"]],
        # A model call whose cost is unknown (no price, or no tokens reported) says so; other spans cost nothing.
        "Cost": [cost_html(v, missing="unknown" if kind in CALL_KINDS else "")
                 for v, kind in zip(frame["cost"] if "cost" in frame else [None] * len(frame), frame["span_kind"])],
        "Session": frame["session_id"].fillna(""),
        "Project": frame["project"].fillna(""),
        "Input": [short(v, 160) for v in frame["input_value"]],
        "Output": [short(v, 160) for v in frame["output_value"]],
    })


def annotations_of(reader: Any, frame: pd.DataFrame) -> pd.DataFrame | None:
    """Feedback and failed evaluations of the page's traces (None when there is nothing to ask)."""
    if frame.empty:
        return None
    from workbench.analysis.quality import trace_annotations

    return trace_annotations(reader, list(frame["trace_id"]))


def list_table(frame: pd.DataFrame, *, spans: bool, sort: str, descending: bool,
               sort_href: Callable[[str, bool], str], ticked: Collection[str] = ()) -> str:
    """The rows of :func:`trace_rows` (or, with ``spans``, :func:`span_rows`) as an HTML table.

    ``sort`` is the read API's key the rows are sorted by; ``sort_href(key, descending)`` is
    the link a header sorts with; ``ticked`` holds the ids whose tick box is on.
    """
    sort_map = SPAN_SORT if spans else TRACE_SORT
    columns = []
    for label in frame.columns:
        if label in ("trace_id", "span_id"):
            continue
        key = sort_map.get(label)
        sorted_ = ("desc" if descending else "asc") if key == sort else ""
        link = sort_href(key, not descending if key == sort else True) if key is not None else ""
        title = f"Start ({zone_label()})" if label == "Start" else label
        columns.append(GridColumn(label, title, _WIDTHS.get(label, 120), numeric=label in _RIGHT,
                                  html=label in _HTML, sort_href=link, sorted=sorted_))
    columns.insert(0, GridColumn("Tick", "\u2713", 30, html=True))
    rows, links = [], []
    for row in frame.to_dict("records"):
        link = href("trace", trace_id=row["trace_id"], span_id=row.get("span_id"))
        row_id = row.get("span_id") if spans else row["trace_id"]
        on = row_id in ticked
        tick = (f"<a class='wb-tick{' on' if on else ''}' data-id='{esc(row_id)}' "
                f"href='{esc(href('traces', tick=row_id))}' title='tick to add to a dataset'>"
                f"{'&#9745;' if on else '&#9744;'}</a>")
        row = dict(row, Tick=tick,
                   Name=f"<a href='{esc(link)}' title='{esc(row['Name'])}'>{esc(row['Name'])}</a>")
        rows.append(row)
        links.append(link)
    return grid(columns, rows, links, empty="No traces match." if not spans else "No spans match.",
                name="spans" if spans else "traces")
