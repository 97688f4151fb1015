"""Lenient conversions from attribute values to the types the model wants.

Senders disagree about types: a token count may come as ``12``, ``12.0`` or ``"12"``; MLflow
JSON-encodes every attribute, so a string arrives as ``'"gpt-4o"'``; an OTLP ``kvlistValue``
becomes a dict. Every function here returns ``None`` for a value it cannot use and never
raises, so that one odd attribute costs only the field it would have filled.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any

_loads = json.loads
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

__all__ = [
    "MAX_COUNT",
    "MAX_TIME_NS",
    "as_count",
    "as_float",
    "as_json",
    "as_str",
    "looks_like_json",
    "time_to_ns",
    "to_text",
]


#: The largest count :func:`as_count` takes (2^53 - 1, the largest integer a double or a
#: JavaScript number holds exactly): a few such counts still add up within 64 bits.
MAX_COUNT = 2**53 - 1
#: The last nanosecond :func:`time_to_ns` returns (a signed 64-bit count: 2262-04-11).
MAX_TIME_NS = 2**63 - 1


def as_count(value: Any) -> int | None:
    """Return ``value`` as a non-negative integer count up to :data:`MAX_COUNT`, or ``None``.

    Accepts ints, integral or fractional floats (rounded), and numeric strings such as
    ``"12"``, ``" 12 "`` or ``"12.0"``. Booleans are refused: ``True`` is not a token count.
    """
    if type(value) is int:  # the common case first, and it excludes bool
        return value if 0 <= value <= MAX_COUNT else None
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not 0 <= value <= MAX_COUNT:  # also refuses NaN
            return None
        return round(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 2 and text[0] == '"' == text[-1]:
            text = text[1:-1].strip()  # MLflow JSON-quotes its values
        if len(text) > 40:  # no count is that long; int() of a huge text is slow
            return None
        try:
            number = int(text)
        except ValueError:
            number_f = as_float(text)
            return None if number_f is None or not 0 <= number_f <= MAX_COUNT else round(number_f)
        return number if 0 <= number <= MAX_COUNT else None
    if isinstance(value, int):  # int subclasses other than bool (numpy-like)
        return int(value) if 0 <= value <= MAX_COUNT else None
    return None


def as_float(value: Any) -> float | None:
    """Return ``value`` as a finite float, or ``None`` (NaN and infinities are refused)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an int past a double's range
            return None
    elif isinstance(value, str):
        try:
            number = float(value.strip().strip('"'))
        except (ValueError, OverflowError):
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_str(value: Any) -> str | None:
    """Return ``value`` as a non-empty string, or ``None``.

    Numbers become their decimal text (a session id sent as an int is still an id); bytes
    are decoded as UTF-8. A JSON-quoted string (MLflow's encoding) is unquoted. Empty and
    blank strings count as absent, so a lower-priority key can still supply the field.
    """
    if type(value) is str:
        if not value or value[0] == '"' or value[0].isspace():
            return _odd_str(value)
        return value  # the common case, checked cheaply: make_span is on the hot path
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace") or None
    if isinstance(value, str):  # a str subclass
        return _odd_str(str(value))
    return None


def _odd_str(value: str) -> str | None:
    """:func:`as_str` for strings that are empty, blank or JSON-quoted."""
    if not value or value.isspace():
        return None
    if len(value) > 1 and value[0] == '"' == value[-1]:
            try:
                inner = json.loads(value)
            except ValueError:
                return value
            return inner if isinstance(inner, str) and inner.strip() else None
    return value


def looks_like_json(text: str) -> bool:
    """Whether ``text`` is probably a JSON object or array (a cheap check, no parsing)."""
    stripped = text.strip()
    return len(stripped) > 1 and (
        (stripped[0] == "{" and stripped[-1] == "}") or (stripped[0] == "[" and stripped[-1] == "]")
    )


def as_json(value: Any) -> Any:
    """Return ``value`` parsed as JSON when it is JSON text, the value itself when it is
    already a dict or list, else ``None``.

    Only objects, arrays and quoted strings are parsed: a bare ``"12"`` stays a string
    elsewhere and is not turned into a number here.
    """
    if type(value) is not str:
        if isinstance(value, (dict, list, tuple)):
            return value
        if not isinstance(value, (str, bytes)):
            return None
        value = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if not value or value[0] not in '{["':
        value = value.strip()
        if not value or value[0] not in '{["':
            return None
    try:
        return _loads(value)
    except (ValueError, RecursionError):
        return None


def to_text(value: Any) -> str | None:
    """Render any attribute value as display text: strings as they are, the rest as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace") or None
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        return str(value)


def time_to_ns(value: Any) -> int | None:
    """Return a point in time as integer nanoseconds since the epoch (up to 2262), or ``None``.

    Accepts ISO 8601 text (a trailing ``Z`` and a JSON quoting are allowed; a time with no
    offset is taken as UTC) and numbers. A number is read by its size, because senders use
    seconds, milliseconds, microseconds and nanoseconds alike.
    """
    number: float | None
    if isinstance(value, str) and _has_date_mark(value):
        number = None
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())  # keep full precision of a nanosecond timestamp
    elif type(value) is int:
        number = value
    else:
        number = as_float(value)
    if number is not None:
        if not 0 < number <= MAX_TIME_NS:
            return None
        whole = int(number)
        exact = whole == number  # multiply integers exactly; floats only when fractional
        for limit, scale in ((10**11, 10**9), (10**14, 10**6), (10**17, 10**3)):
            if number < limit:
                return whole * scale if exact else int(number * scale)
        return whole
    text = as_str(value)
    if text is None:
        return None
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    # Integer microseconds (all datetime keeps), so no float rounding creeps in.
    ns = (moment - _EPOCH) // _MICROSECOND * 1000
    return ns if 0 < ns <= MAX_TIME_NS else None


def _has_date_mark(text: str) -> bool:
    """Whether ``text`` looks like a date rather than a bare number."""
    return "-" in text.lstrip("-") or "T" in text or ":" in text
