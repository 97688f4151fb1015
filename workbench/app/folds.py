"""Which rows of a trace's tree the browser gets: all of a small trace, the top of a big one.

A trace of tens of thousands of spans is not sent whole: the Trace page sends the levels
near the root, breadth first, up to about :data:`FIRST_ROWS` rows, and a fold's children when
it is opened (or the way down to a span that gets selected). Pure Python over the rows of
:func:`workbench.app.trace.waterfall_rows`, so it is tested without a browser.
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["EAGER_SPANS", "FIRST_ROWS", "Folds"]

#: A trace of at most this many spans is sent whole, every fold open.
EAGER_SPANS = 2_000
#: A bigger trace starts with about this many rows: whole levels from the root down.
FIRST_ROWS = 300


class Folds:
    """The open folds of one trace's tree, and the rows they show.

    Args:
        rows: Every row of the trace, in display order (parents before their children),
            each with ``id``, ``parent`` (None for a root) and ``children`` (how many).
    """

    def __init__(self, rows: list[dict[str, Any]], *, eager: int = EAGER_SPANS, first: int = FIRST_ROWS) -> None:
        self.rows = rows
        self._parent: dict[str, str | None] = {r["id"]: r["parent"] for r in rows}
        self._kids: dict[str, int] = {}
        for r in rows:
            if r["parent"] is not None:
                self._kids[r["parent"]] = self._kids.get(r["parent"], 0) + 1
        self.opened: set[str] = set()
        if len(rows) <= eager:
            self.opened = set(self._kids)
            return
        shown = sum(1 for r in rows if r["parent"] is None)
        queue = deque(r["id"] for r in rows if r["parent"] is None)
        children: dict[str, list[str]] = {}
        for r in rows:
            if r["parent"] is not None:
                children.setdefault(r["parent"], []).append(r["id"])
        while queue:
            span_id = queue.popleft()
            kids = children.get(span_id, ())
            if not kids:
                continue
            if shown + len(kids) > first:
                break
            self.opened.add(span_id)
            shown += len(kids)
            queue.extend(kids)

    @property
    def complete(self) -> bool:
        """Whether every row is shown."""
        return self.opened.issuperset(self._kids)

    def shown(self) -> list[dict[str, Any]]:
        """The rows under open folds only, in display order."""
        if self.complete:
            return self.rows
        included: set[str] = set()
        out = []
        for r in self.rows:
            parent = r["parent"]
            if parent is None or (parent in included and parent in self.opened):
                included.add(r["id"])
                out.append(r)
        return out

    def refill(self, rows: list[dict[str, Any]]) -> None:
        """The same tree's rows again, with more in them (costs, search text): the folds stay."""
        self.rows = rows

    def reveal_matching(self, text: str) -> bool:
        """Open the folds above every row whose ``text`` (else ``name``) holds ``text``, in any
        case; True when that shows more rows."""
        needle = text.strip().lower()
        if not needle or self.complete:
            return False
        changed = False
        for r in self.rows:
            if needle in str(r.get("text") or r.get("name") or "").lower():
                changed = self.reveal(r["id"]) or changed
        return changed

    def open(self, span_id: str) -> bool:
        """Open one fold (and the way down to it); True when that shows more rows."""
        return self.reveal(span_id, itself=True)

    def open_all(self) -> bool:
        """Open every fold; True when that shows more rows."""
        changed = not self.complete
        self.opened = set(self._kids)
        return changed

    def reveal(self, span_id: str, *, itself: bool = False) -> bool:
        """Open the folds above ``span_id`` (and its own with ``itself``); True when that shows more rows."""
        if span_id not in self._parent:
            return False
        changed = False
        node = span_id if itself else self._parent[span_id]
        seen: set[str] = set()
        while node is not None and node not in seen:
            seen.add(node)
            if node in self._kids and node not in self.opened:
                self.opened.add(node)
                changed = True
            node = self._parent.get(node)
        return changed
