"""How results are written: times, amounts and durations in messages, and values in filter
expressions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workbench.pricing.money import usd

__all__ = ["ago", "both", "duration_text", "literal", "millis", "money", "percent", "when"]

_UTC = dt.timezone.utc


def literal(value: Any) -> str:
    """A value as the filter language writes it."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return repr(value)


def both(*conditions: str | None) -> str | None:
    """Filter expressions joined with ``and`` (each in parentheses when it has an ``or``)."""
    parts = [c if " or " not in c else f"({c})" for c in conditions if c]
    return " and ".join(parts) or None


def when(value: dt.datetime | None, width: dt.timedelta | None = None) -> str:
    """A time for a message: ``2026-10-28 16:14 UTC``, or the day alone for a day bucket."""
    if value is None:
        return "never"
    value = value.astimezone(_UTC)
    if width is not None and width >= dt.timedelta(days=1):
        return value.strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%d %H:%M UTC")


def ago(value: dt.datetime, now: dt.datetime) -> str:
    """How long before ``now``: ``3 h``, ``9 days``."""
    seconds = max(0.0, (now - value).total_seconds())
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def duration_text(value: dt.timedelta) -> str:
    """A duration in words: ``7 days``, ``6 hours``, ``30 minutes``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count = value.total_seconds() / size
        if count >= 1 and count == int(count):
            return f"{int(count)} {unit}{'s' if count != 1 else ''}"
    return f"{value.total_seconds() / 3600:.1f} hours"


#: USD as everywhere else: :func:`workbench.pricing.money.usd` itself (``$0.000033``, never ``$3.3e-05``).
money = usd


def millis(value: float) -> str:
    """A latency: ``850 ms`` or ``12.4 s``."""
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def percent(value: float) -> str:
    """A share as a percentage."""
    return f"{value * 100:.1f}%" if value < 0.1 else f"{value * 100:.0f}%"
