"""The values a filter can choose from: models, span kinds, span names and projects present."""

from __future__ import annotations

from typing import Any

from workbench.read import Reader, Selection
from workbench.read.facets import distinct_values

__all__ = ["facets"]


def facets(reader: Reader, *, start: Any = None, end: Any = None, limit: int = 200) -> dict[str, list[str]]:
    """Distinct ``models``, ``kinds``, ``names`` and ``projects`` of the stored spans, most used first.

    Args:
        start: Only spans starting at or after this; ``end``: before this.
        limit: At most this many values of each.
    """
    selection = Selection(None, start, end)
    out: dict[str, list[str]] = {}
    for key, column in (("models", "model_name"), ("kinds", "span_kind"), ("names", "name"), ("projects", "project")):
        out[key] = distinct_values(reader, selection, column, limit)
    return out
