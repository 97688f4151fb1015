"""The values a filter can choose from, in SQL: distinct values of a span column."""

from __future__ import annotations

from typing import Any

from workbench.read.selection import Selection
from workbench.read.source import SqlSource

__all__ = ["distinct_values"]


def distinct_values(reader: SqlSource, selection: Selection, column: str, limit: int) -> list[Any]:
    """The distinct non-null values of one ``spans`` column among the spans ``selection`` keeps,
    most used first (at most ``limit``)."""
    where = selection.where("s")
    rows = reader.rows(
        f"SELECT s.{column} FROM spans s WHERE {where.sql} AND s.{column} IS NOT NULL "
        f"GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?",
        [*where.params, int(limit)],
    )
    return [r[0] for r in rows]
