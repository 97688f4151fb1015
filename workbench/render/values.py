"""Plain values made safe to show: missing values, clipped text, JSON, durations and times.

Everything a rendered trace shows passes through :func:`text` (for the embedded data) or
:func:`esc` (for the HTML written in Python), so nothing from a span is ever markup.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "SHARE_AT", "Clip", "encodable", "esc", "fmt_count", "fmt_ms", "fmt_utc", "is_missing", "loads", "number",
    "pretty", "text",
]

SHARE_AT = 80
"""Texts this long or longer are embedded once per output and referred to by index."""
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_missing(value: Any) -> bool:
    """None, NaN, NaT and pandas' NA are all missing."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


def text(value: Any) -> str:
    """``value`` as text; missing is ``""``."""
    if is_missing(value):
        return ""
    return value if isinstance(value, str) else str(value)


def encodable(html: str) -> str:
    """``html`` with each lone surrogate (text no encoding can write) replaced by U+FFFD.

    Run once over a whole output rather than on every value: one pass costs about a
    millisecond per megabyte.
    """
    return _SURROGATE.sub("\ufffd", html)


def esc(value: Any) -> str:
    """``value`` as HTML text: escaped, quotes included."""
    return html.escape(text(value), quote=True)


def number(value: Any) -> float | None:
    """A finite float, or None for what is missing or no number."""
    if is_missing(value) or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def loads(value: Any, default: Any) -> Any:
    """A JSON column's value: already parsed, parsed from text, else ``default``."""
    if is_missing(value):
        return default
    if isinstance(value, (dict, list)):
        return value
    if hasattr(value, "tolist"):  # a numpy array out of a DataFrame
        return value.tolist()
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return default


def pretty(value: Any) -> str:
    """Text for a value: a dict or list, or text holding one, as indented JSON; else the text."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                value = json.loads(stripped)
            except ValueError:
                return text(value)
        else:
            return text(value)
    if isinstance(value, (Mapping, list, tuple)):
        try:
            return json.dumps(value, indent=2, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return text(value)
    return text(value)


class Clip:
    """Cuts long text to ``max_chars``, and keeps each long text once for the whole output.

    Long agent conversations repeat their history in every model call, and an input often
    comes again as an attribute: a text of :data:`SHARE_AT` characters or more is stored once
    in :attr:`strings` and referred to by its index.

    Args:
        max_chars: The most characters one value keeps.
    """

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.cut = 0  # values cut so far
        self.strings: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, value: Any) -> tuple[str, str]:
        """``(shown text, note)``; the note is empty unless the text was cut."""
        full = text(value)
        if len(full) <= self.max_chars:
            return full, ""
        self.cut += 1
        return full[: self.max_chars], (
            f"cut to the first {self.max_chars:,} of {len(full):,} characters (max_chars={self.max_chars:,})"
        )

    def ref(self, shown: str) -> str | int:
        """``shown`` itself when short, else the index of its one copy in :attr:`strings`."""
        if len(shown) < SHARE_AT:
            return shown
        index = self._index.get(shown)
        if index is None:
            index = self._index[shown] = len(self.strings)
            self.strings.append(shown)
        return index

    def mark(self) -> int:
        """A point to measure from or go back to."""
        return len(self.strings)

    def bytes_since(self, mark: int) -> int:
        """UTF-8 bytes of the texts stored since ``mark``."""
        return sum(len(s.encode("utf-8")) + 3 for s in self.strings[mark:])

    def rollback(self, mark: int) -> None:
        """Forget the texts stored since ``mark``."""
        for stored in self.strings[mark:]:
            del self._index[stored]
        del self.strings[mark:]


def fmt_ms(ms: Any) -> str:
    """A duration: ``0.42 ms``, ``120 ms``, ``1.25 s``, ``2m 05s``."""
    value = number(ms)
    if value is None:
        return ""
    if value < 1:
        return f"{value:.2f} ms"
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 60_000:
        return f"{value / 1000:.2f} s"
    minutes, seconds = divmod(round(value / 1000), 60)
    return f"{minutes}m {seconds:02d}s"


def fmt_count(value: Any) -> str:
    """A whole number with thousands separators; missing is ``""``."""
    out = number(value)
    return "" if out is None else f"{int(out):,}"


def fmt_utc(us: int) -> str:
    """Microseconds since the epoch as ``2026-11-23 08:00:00.123 UTC``."""
    try:
        when = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(us))
    except (OverflowError, ValueError):
        return ""
    return when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d} UTC"
