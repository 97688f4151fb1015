"""Formatting for display: durations, counts, times, JSON, and folded long text, as HTML.

Pure functions over plain values (no panel), so they are cheap to test. Everything that
goes into HTML passes through :func:`esc`.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

__all__ = [
    "esc",
    "fmt_count",
    "fmt_ms",
    "fmt_time",
    "fold",
    "href",
    "is_missing",
    "json_block",
    "pretty_json",
    "short",
]

#: Text longer than this many characters is folded behind an expander.
FOLD_AT = 600


def is_missing(value: Any) -> bool:
    """None, NaN, NaT and pandas' NA are all missing."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT are not equal to themselves
    except (TypeError, ValueError):
        return False


def esc(value: Any) -> str:
    """HTML-escape ``value`` as text; missing values become an empty string."""
    return "" if is_missing(value) else html.escape(str(value), quote=True)


def fmt_ms(ms: Any) -> str:
    """A duration in milliseconds as ``850 ms``, ``1.24 s``, ``2m 03s`` or ``1h 05m``."""
    if is_missing(ms):
        return ""
    ms = float(ms)
    if ms < 1:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def fmt_count(value: Any) -> str:
    """A whole number with thousands separators; missing is empty."""
    if is_missing(value):
        return ""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def fmt_time(value: Any, *, seconds: bool = True) -> str:
    """A timestamp as ``2026-11-23 08:01:02`` (UTC)."""
    if is_missing(value):
        return ""
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return str(value)


def short(text: Any, limit: int = 120) -> str:
    """Text on one line, cut to ``limit`` characters with an ellipsis."""
    if is_missing(text):
        return ""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def pretty_json(value: Any) -> str | None:
    """``value`` pretty-printed when it is JSON (or a dict/list); None when it is plain text."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[") and text[-1:] in ("}", "]"):
            try:
                return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            except ValueError:
                return None
    return None


def fold(text: str, *, limit: int = FOLD_AT, css: str = "wb-pre") -> str:
    """HTML for preformatted text; past ``limit`` characters the rest folds behind a summary."""
    if len(text) <= limit:
        return f'<pre class="{css}">{esc(text)}</pre>'
    cut = text.rfind("\n", 0, limit)
    cut = cut if cut > limit // 2 else limit
    rest = len(text) - cut
    return (
        f'<details class="wb-fold"><summary><pre class="{css}">{esc(text[:cut])}</pre>'
        f'<span class="wb-more">show {rest:,} more characters</span></summary>'
        f'<pre class="{css}">{esc(text[cut:])}</pre></details>'
    )


def json_block(value: Any, *, limit: int = FOLD_AT) -> str:
    """A value as folded HTML: JSON pretty-printed, other text as it is."""
    if is_missing(value):
        return '<span class="wb-muted">none</span>'
    pretty = pretty_json(value)
    if pretty is not None:
        return fold(pretty, limit=limit, css="wb-pre wb-json")
    return fold(str(value), limit=limit)


def href(page: str, **params: Any) -> str:
    """The app's URL (a query string) for a page and its parameters, e.g. ``?page=trace&trace_id=...``."""
    query: dict[str, Any] = {"page": page}
    query.update({k: v for k, v in params.items() if not is_missing(v) and v != ""})
    return "?" + urlencode(query)


def number(value: Any, digits: int = 1) -> str:
    """A float with ``digits`` decimals; missing or infinite is empty."""
    if is_missing(value):
        return ""
    value = float(value)
    if math.isinf(value):
        return ""
    return f"{value:,.{digits}f}"


def kv_table(rows: Mapping[str, Any], *, pairs: int = 1) -> str:
    """A table of label and already-formatted HTML value, ``pairs`` to a line; empty values are skipped."""
    items = [(k, v) for k, v in rows.items() if v not in (None, "")]
    lines = []
    for i in range(0, len(items), pairs):
        cells = "".join(f"<th>{esc(k)}</th><td>{v}</td>" for k, v in items[i:i + pairs])
        lines.append(f"<tr>{cells}</tr>")
    return f'<table class="wb-kv">{"".join(lines)}</table>'
