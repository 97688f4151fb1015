"""The values a filter can choose from: models, span kinds, span names and projects present."""

from __future__ import annotations

from typing import Any

from workbench.read import Reader, Selection

__all__ = ["facets"]


def facets(reader: Reader, *, start: Any = None, end: Any = None, limit: int = 200) -> dict[str, list[str]]:
    """Distinct ``models``, ``kinds``, ``names`` and ``projects`` of the stored spans, most used first.

    Args:
        start: Only spans starting at or after this; ``end``: before this.
        limit: At most this many values of each.
    """
    where = Selection(None, start, end).where("s")
    out: dict[str, list[str]] = {}
    for key, column in (("models", "model_name"), ("kinds", "span_kind"), ("names", "name"), ("projects", "project")):
        rows = reader.rows(
            f"SELECT s.{column} FROM spans s WHERE {where.sql} AND s.{column} IS NOT NULL "
            f"GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?",
            [*where.params, int(limit)],
        )
        out[key] = [r[0] for r in rows]
    return out
