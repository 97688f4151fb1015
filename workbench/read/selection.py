"""What every view reads: a :class:`Selection` of spans, and the checks on read arguments.

A selection is a filter expression (:mod:`workbench.read.filters`), a time range and projects:
the four arguments every read takes. It is a plain frozen value, so a page, a monitor rule
or an analysis hands the same selection to any reader. :meth:`Selection.where` turns it into
SQL conditions over the ``spans`` table (DuckDB's dialect) for the sources that run SQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from workbench.errors import FilterError
from workbench.read.filters import compile_filter
from workbench.read.tracefilter import summary_filter
from workbench.store.schema import TABLES

__all__ = ["SPAN_FIELDS", "Selection", "Where", "parse_time"]

SPAN_FIELDS: tuple[str, ...] = tuple(TABLES["spans"].column_names)
_BOOLEAN_FIELDS = tuple(c.name for c in TABLES["spans"].columns if c.sql == "BOOLEAN")
_RELATIVE = re.compile(r"^-?\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_ROWS = 2**63 - 1  # DuckDB's LIMIT and OFFSET are signed 64-bit


def parse_time(value: Any, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """A time bound from a datetime, ISO text, a timedelta before now, or '-24h'/'7d'-style text.

    Raises:
        FilterError: The text is not a time.
    """
    if value is None or value == "":
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.timedelta):
        return now - value
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if isinstance(value, str):
        text = value.strip()
        match = _RELATIVE.match(text)
        if match:
            try:
                return now - dt.timedelta(**{_UNITS[match[2]]: float(match[1])})
            except (OverflowError, ValueError):
                raise FilterError(
                    f"{value!r} reaches back before the year 1; give a shorter span like 52w, or ISO text."
                ) from None
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise FilterError(
                f"{value!r} is not a time; give ISO text like 2026-11-23T08:00, or a span back "
                "from now like 24h, 7d or 30m."
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    raise FilterError(f"{value!r} is not a time; give a datetime, ISO text, or text like 24h.")


def page(limit: Any, offset: Any) -> tuple[int | None, int]:
    """``limit`` and ``offset`` checked: whole numbers from 0 (limit None for no limit).

    Raises:
        FilterError: Either is negative, too large, or not a whole number.
    """
    checked: list[int | None] = []
    for name, value in (("limit", limit), ("offset", offset)):
        if value is None and name == "limit":
            checked.append(None)
            continue
        number = _whole(value)
        if number is None or not 0 <= number <= MAX_ROWS:
            raise FilterError(
                f"{name}={value!r} is not valid; give a whole number from 0 to {MAX_ROWS}"
                + (" (or None for no limit)." if name == "limit" else ".")
            )
        checked.append(number)
    return checked[0], checked[1] or 0


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number == value or (isinstance(value, str) and value.strip().isdigit()) else None


def texts(value: Any, name: str, *, lower: bool = False) -> list[str]:
    """One text or several as a list (a lone string is one value, not its characters).

    Raises:
        FilterError: The value is not text or a collection of texts.
    """
    values = [value] if isinstance(value, str) else value
    if isinstance(values, (bytes, Mapping)) or not isinstance(values, Iterable):
        raise FilterError(f"{name}={value!r} is not valid; give one text or a list of texts.")
    out = []
    for item in values:
        if not isinstance(item, str):
            raise FilterError(f"{name} holds {item!r}, which is not text; give ids and names as text.")
        out.append(item.lower() if lower else item)
    return out


def an_id(value: Any, name: str) -> str:
    """A span or trace id as stored (lower-case hex text).

    Raises:
        FilterError: The id is not text.
    """
    if not isinstance(value, str):
        raise FilterError(f"{name}={value!r} is not valid; give the id as hex text, as the spans store it.")
    return value.lower()


class Where:
    """SQL conditions joined by ``AND``, with their parameters in order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, sql: str, *params: Any) -> None:
        """Add one condition and the parameters its ``?`` stand for."""
        self.parts.append(sql)
        self.params.extend(params)

    @property
    def sql(self) -> str:
        """The conditions as one SQL expression (``TRUE`` when there are none)."""
        return " AND ".join(self.parts) if self.parts else "TRUE"


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which spans a read is about: a filter expression, a time range and projects.

    Args:
        filter: A filter expression, e.g. ``"span_kind == 'LLM' and latency_ms > 2000"``.
        start: Spans starting at or after this (datetime, ISO text, or ``"24h"`` back).
        end: Spans starting before this.
        project: One project or several.

    Every field is optional; ``Selection()`` selects everything.
    """

    filter: str | None = None
    start: Any = None
    end: Any = None
    project: str | Sequence[str] | None = None

    @classmethod
    def of(cls, filter: str | Selection | None = None, start: Any = None, end: Any = None,
           project: str | Sequence[str] | None = None) -> Selection:
        """The selection the reads' arguments ask for.

        ``filter`` is a filter expression or a whole :class:`Selection`; ``start``, ``end`` and
        ``project``, when given, take the place of the selection's own. So every read takes
        either ``(filter, start=..., end=..., project=...)`` or one selection.

        Raises:
            FilterError: ``filter`` is neither text nor a selection.
        """
        if isinstance(filter, Selection):
            given = {"start": start, "end": end, "project": project}
            return dataclasses.replace(filter, **{k: v for k, v in given.items() if v is not None})
        if filter is not None and not isinstance(filter, str):
            raise FilterError(
                f"A filter is text: filter={filter!r} is not valid; give a filter expression as text, or a Selection."
            )
        return cls(filter or None, start, end, project)

    def but(self, **fields: Any) -> Selection:
        """This selection with some fields replaced (``but(filter=None)`` drops the filter)."""
        return dataclasses.replace(self, **fields)

    @property
    def everything(self) -> bool:
        """Whether this selects every span: no filter, no time bound, no project."""
        return not (self.filter or self.start or self.end or self.project)

    @property
    def time_only(self) -> Selection:
        """Only the time range and projects: what bounds a trace's head."""
        return Selection(None, self.start, self.end, self.project)

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The time range parsed: ``(start, end)``, each None when open.

        Raises:
            FilterError: A bound is not a time.
        """
        return parse_time(self.start), parse_time(self.end)

    def projects(self) -> list[str] | None:
        """The projects as a list, or None for every project.

        Raises:
            FilterError: ``project`` is not text or a list of texts.
        """
        return texts(self.project, "project") if self.project else None

    def where(self, alias: str = "s") -> Where:
        """SQL conditions over ``spans`` (under ``alias``) for the spans this selects.

        Raises:
            FilterError: The filter expression, a time or a project is not valid.
        """
        where = Where()
        begin, finish = self.bounds()
        if begin is not None:
            where.add(f"{alias}.start_time >= ?", begin)
        if finish is not None:
            where.add(f"{alias}.start_time < ?", finish)
        projects = self.projects()
        if projects:
            # A list of constants, which DuckDB pushes into a scan: a lake skips other projects' files.
            where.add(f"{alias}.project IN ({', '.join('?' * len(projects))})", *projects)
        if self.filter:
            compiled = compile_filter(self.filter, SPAN_FIELDS, table_alias=alias, booleans=_BOOLEAN_FIELDS)
            where.add(compiled.sql, *compiled.params)
        return where

    def trace_where(self, alias: str = "r", inner: str = "m", *, summary: str | None = None) -> Where:
        """Conditions on trace heads (under ``alias``): the time range and projects bound the
        head, and the filter keeps the traces with any matching span (under ``inner``).

        With ``summary`` (the name of a current trace summary table, see
        :mod:`workbench.read.tracefilter`), a filter it can answer reads it instead of the spans.
        """
        where = self.time_only.where(alias)
        if self.filter:
            spans = Selection(self.filter).where(inner)  # checks the filter, whatever answers it
            translated = summary_filter(self.filter, "ts") if summary else None
            if translated is not None:
                where.add(f"{alias}.trace_id IN (SELECT ts.trace_id FROM {summary} ts WHERE {translated.sql})",
                          *translated.params)
                return where
            where.add(f"{alias}.trace_id IN (SELECT {inner}.trace_id FROM spans {inner} WHERE {spans.sql})",
                      *spans.params)
        return where
