"""Two outputs compared word by word, as HTML: what the second removed struck through in red,
what it inserted in green, the rest as it was.

Pure functions, tested without a browser. Text is escaped here; JSON outputs are compared
as their JSON text.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from workbench.app.markup import esc, is_missing

__all__ = ["diff_counts", "diff_html", "output_text"]

_TOKEN = re.compile(r"\s+|[\w'\u2019-]+|[^\w\s]")  # spaces, words (with apostrophes), marks


def output_text(value: Any) -> str:
    """An output as text: strings as they are, other values as JSON, missing as empty."""
    if value is None or is_missing(value):
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _ops(a: str, b: str) -> tuple[list[str], list[str], list[Any]]:
    left, right = _TOKEN.findall(a), _TOKEN.findall(b)
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    return left, right, matcher.get_opcodes()


def diff_html(before: Any, after: Any) -> str:
    """``after`` with its changes from ``before`` marked: ``<del class="wb-del">`` for what was
    removed, ``<ins class="wb-ins">`` for what was inserted (words and punctuation)."""
    left, right, ops = _ops(output_text(before), output_text(after))
    out = []
    for op, i1, i2, j1, j2 in ops:
        if op == "equal":
            out.append(esc("".join(left[i1:i2])))
            continue
        removed, added = "".join(left[i1:i2]), "".join(right[j1:j2])
        if removed.strip():
            out.append(f"<del class='wb-del'>{esc(removed)}</del>")
        elif removed:
            out.append(esc(removed))
        if added.strip():
            out.append(f"<ins class='wb-ins'>{esc(added)}</ins>")
        elif added and not removed:
            out.append(esc(added))
    return "".join(out)


def diff_counts(before: Any, after: Any) -> tuple[int, int]:
    """How many words (and marks) ``after`` removed from ``before`` and inserted."""
    left, right, ops = _ops(output_text(before), output_text(after))
    removed = sum(1 for op, i1, i2, _, _ in ops if op != "equal" for t in left[i1:i2] if t.strip())
    added = sum(1 for op, _, _, j1, j2 in ops if op != "equal" for t in right[j1:j2] if t.strip())
    return removed, added
