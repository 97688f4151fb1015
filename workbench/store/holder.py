"""Who holds a database file: a small note beside it, so a refused opener can name the server.

A running server (``workbench serve``, or ``workbench.launch()`` in a notebook) writes
``<file>.holder`` with its process id and URL. When another process cannot open the file,
the lock error names that server's real address and the fix, instead of a guess. The note is
trusted only when its process id is the one DuckDB reports as holding the lock.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["forget_holder", "read_holder_url", "write_holder"]


def _note(path: str) -> Path:
    return Path(path + ".holder")


def write_holder(path: str, url: str) -> None:
    """Record that this process serves ``path`` at ``url`` (best effort; not for ``:memory:``)."""
    if path == ":memory:":
        return
    try:
        _note(path).write_text(json.dumps({"pid": os.getpid(), "url": url}), encoding="utf-8")
    except OSError:
        pass


def forget_holder(path: str) -> None:
    """Remove this process's note, if the note is ours."""
    note = _note(path)
    try:
        if json.loads(note.read_text(encoding="utf-8")).get("pid") == os.getpid():
            note.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def read_holder_url(path: str, pid: int | None) -> str | None:
    """The URL of the server that holds ``path``, if its note matches the lock holder ``pid``."""
    try:
        note = json.loads(_note(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(note, dict) or pid is None or note.get("pid") != pid:
        return None
    url = note.get("url")
    return url if isinstance(url, str) else None
