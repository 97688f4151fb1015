"""Which spans of a trace's tree the browser gets: all of a small trace, the top of a big one.

A trace of tens of thousands of spans is not sent whole: the Trace page sends the levels
near the root, breadth first, up to about :data:`FIRST_ROWS` rows, and a fold's children when
it is opened (or the way down to a span that gets selected, or to a search's matches). Pure
Python over a :class:`workbench.app.outline.Outline`, so it is tested without a browser; the
rows themselves are made only for the spans shown (:meth:`Outline.rows`).
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
    """The open folds of one trace's tree, and the spans they show.

    Args:
        outline: The trace (:class:`workbench.app.outline.Outline`): its ``ids``, ``index``,
            ``parent`` and ``roots`` by position, and ``children(i)``.
        eager: A trace of at most this many spans starts with every fold open.
        first: A bigger one starts with about this many rows.
    """

    def __init__(self, outline: Any, *, eager: int = EAGER_SPANS, first: int = FIRST_ROWS) -> None:
        self.outline = outline
        self._with_kids = {i for i, n in enumerate(outline.child_count.tolist()) if n}
        self.opened: set[int] = set()
        if len(outline) <= eager:
            self.opened = set(self._with_kids)
            return
        shown = len(outline.roots)
        queue = deque(outline.roots)
        while queue:
            node = queue.popleft()
            kids = outline.children(node)
            if not kids:
                continue
            if shown + len(kids) > first:
                break
            self.opened.add(node)
            shown += len(kids)
            queue.extend(kids)

    @property
    def complete(self) -> bool:
        """Whether every span is shown."""
        return len(self.opened) == len(self._with_kids)

    def shown(self) -> list[int]:
        """The spans under open folds only (positions), in display order."""
        if self.complete:
            return self.outline.order
        out: list[int] = []
        stack = list(reversed(self.outline.roots))
        while stack:
            node = stack.pop()
            out.append(node)
            if node in self.opened:
                stack.extend(reversed(self.outline.children(node)))
        return out

    def reveal_matching(self, text: str) -> bool:
        """Open the folds above every span whose search text holds ``text``, in any case; True
        when that shows more spans."""
        if not text.strip() or self.complete:
            return False
        changed = False
        for i in self.outline.matching(text):
            changed = self._reveal(i, itself=False) or changed
        return changed

    def open(self, span_id: str) -> bool:
        """Open one fold (and the way down to it); True when that shows more spans."""
        return self.reveal(span_id, itself=True)

    def open_all(self) -> bool:
        """Open every fold; True when that shows more spans."""
        changed = not self.complete
        self.opened = set(self._with_kids)
        return changed

    def reveal(self, span_id: str, *, itself: bool = False) -> bool:
        """Open the folds above ``span_id`` (and its own with ``itself``); True when that shows more spans."""
        i = self.outline.index.get(span_id)
        return False if i is None else self._reveal(i, itself=itself)

    def _reveal(self, i: int, *, itself: bool) -> bool:
        parent = self.outline.parent
        changed = False
        node = i if itself else int(parent[i])
        steps = 0
        while node >= 0 and steps <= len(parent):  # bounded, whatever the parents say
            steps += 1
            if node in self._with_kids and node not in self.opened:
                self.opened.add(node)
                changed = True
            node = int(parent[node])
        return changed
