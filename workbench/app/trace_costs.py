"""What a trace's model calls cost, per span and per subtree, over an :class:`Outline`.

The calls are priced in SQL (:func:`workbench.read.spend.span_call_costs`: one row per call,
only the calls); their sums over each subtree are taken over arrays
(:meth:`workbench.app.outline.Outline.subtree_sums`). A 30,000-span trace's costs take tens
of milliseconds instead of the half second of a DataFrame of every span.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from workbench.app.outline import Outline
from workbench.errors import WorkbenchError

__all__ = ["TraceCosts", "trace_costs"]


class TraceCosts:
    """Each span's own cost and its subtree's.

    Args:
        outline: The trace.
        calls: Its priced calls: ``span_id``, ``calls``, ``cost`` (null when unknown),
            ``unpriced_calls``, ``no_usage_calls``.
    """

    def __init__(self, outline: Outline, calls: pa.Table) -> None:
        self.calls = calls.to_pylist()
        n = len(outline)
        own = np.zeros((n, 5))  # known cost, cost known, calls, unpriced calls, no-usage calls
        for row in self.calls:
            i = outline.index.get(row["span_id"])
            if i is None:
                continue
            cost = row.get("cost")
            if cost is not None and not math.isnan(cost):
                own[i, 0], own[i, 1] = float(cost), 1
            own[i, 2] = row.get("calls") or 0
            own[i, 3] = row.get("unpriced_calls") or 0
            own[i, 4] = row.get("no_usage_calls") or 0
        self._own = own
        self._sub = outline.subtree_sums(own)

    def own(self, i: int) -> float | None:
        """Span ``i``'s own cost; None when it is no call or its cost is unknown."""
        return float(self._own[i, 0]) if self._own[i, 1] else None

    def of(self, i: int) -> tuple[float | None, float | None]:
        """Span ``i``'s (cost, subtree cost); (None, None) for a span with nothing to say: no
        call of its own and its subtree's calls all free and priced, or no calls at all."""
        row = self.row(i)
        if row is None:
            return None, None
        return row["cost"], row["subtree_cost"]

    def row(self, i: int) -> dict[str, Any] | None:
        """Span ``i``'s figures as :func:`workbench.analysis.cost.span_costs` names them, or
        None when it has nothing to say."""
        own, sub = self._own[i], self._sub[i]
        subtree_cost = float(sub[0]) if sub[1] else (0.0 if sub[2] == 0 else None)
        if not own[2] and subtree_cost == 0 and not sub[3]:
            return None
        return {
            "calls": int(own[2]), "cost": float(own[0]) if own[1] else None,
            "unpriced_calls": int(own[3]), "no_usage_calls": int(own[4]),
            "subtree_cost": subtree_cost, "subtree_unpriced_calls": int(sub[3]), "subtree_no_usage_calls": int(sub[4]),
        }

    def by_call(self) -> dict[str, dict[str, Any]]:
        """The calls' rows by span id (what the trace's cost line sums)."""
        return {row["span_id"]: row for row in self.calls}


def trace_costs(reader: Any, outline: Outline) -> TraceCosts | None:
    """The costs of the trace's calls at the current prices; None when this reader cannot
    price them (a server's reader runs no SQL for its callers)."""
    from workbench.read import spend, supports

    if not supports(reader, "sql") or not len(outline):
        return None
    try:
        calls = spend.span_call_costs(reader, outline.trace_id, prices=None,
                                      window=(outline.first_start, outline.last_start))
    except WorkbenchError:
        return None
    return TraceCosts(outline, calls)
