"""The commit protocol: which data files of a lake are visible, and how that changes.

Readers see exactly the *committed* files. A data file is written first, complete, under a
name nobody else uses; it becomes visible only when a small JSON *commit* naming it is
written under ``_commits/``. A commit is one object, so it appears whole or not at all, on
a local disk (a rename) and on S3 (a completed upload) alike, and a change it describes
is atomic: a compaction's commit removes the small files and adds the merged one at once.

There are three kinds of commit:

* an ingester's publication ``_commits/<ingester>/<seq>.json`` only adds files. Its name is
  fixed by the publication number, so an ingester that restarts after kill -9 can tell
  whether its last publication was committed (the commit exists) and never publishes twice;
* a compaction ``_commits/_compact/<time>-<id>.json`` removes files and adds their merge.
  It applies only when every file it removes is still visible, so of two compactions of the
  same files (there should be one at a time, but nothing enforces that) exactly one applies;
* a retention ``_commits/_retain/<time>-<id>.json`` hides every partition of a day before
  its ``drop_before`` (later files of those days too).

To keep the number of commits a reader reads small, maintenance folds every commit into a
*checkpoint* (``_checkpoints/<time>-<id>.json``: the visible files, and the names of the
commits it covers), then deletes the covered commits once they are older than a grace
period. A reader lists the commits *before* it reads the newest checkpoint, so a commit
deleted in between is covered by that checkpoint; one that vanishes while it is being read
makes the reader start again.

The state a reader builds (:class:`Snapshot`) is the newest checkpoint's files, then the
uncovered publications' files, then the uncovered compactions in name order, then the
latest retention cutoff. Why this and not an open table format: docs/scale-out.md.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import LakeError
from workbench.lake.layout import CHECKPOINTS, COMMITS
from workbench.lake.location import Location

__all__ = ["Commit", "CommitLog", "DataFile", "Snapshot", "ingester_commit", "new_commit_name"]

_RETRIES = 8


@dataclass(frozen=True)
class DataFile:
    """One data file of the lake: its path (relative to the root) and partition."""

    path: str
    table: str
    project: str | None
    day: str
    rows: int
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "table": self.table, "project": self.project, "day": self.day,
                "rows": self.rows, "bytes": self.bytes}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DataFile:
        return cls(str(data["path"]), str(data["table"]), data.get("project"), str(data["day"]),
                   int(data.get("rows", 0)), int(data.get("bytes", 0)))


@dataclass(frozen=True)
class Commit:
    """One commit: files it adds, files it removes, or a retention cutoff."""

    name: str
    adds: tuple[DataFile, ...] = ()
    removes: tuple[str, ...] = ()
    drop_before: str | None = None
    time: float = field(default_factory=time.time)

    @property
    def kind(self) -> str:
        """``publish``, ``compact`` or ``retain``."""
        folder = self.name.split("/")[1] if self.name.count("/") >= 2 else ""
        return {"_compact": "compact", "_retain": "retain"}.get(folder, "publish")

    def to_bytes(self) -> bytes:
        return json.dumps({
            "adds": [f.to_json() for f in self.adds], "removes": list(self.removes),
            "drop_before": self.drop_before, "time": self.time,
        }, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Commit:
        try:
            doc = json.loads(data)
            return cls(name, tuple(DataFile.from_json(f) for f in doc.get("adds", ())),
                       tuple(doc.get("removes", ())), doc.get("drop_before"), float(doc.get("time", 0)))
        except (ValueError, KeyError, TypeError) as exc:
            raise LakeError(f"The lake's commit {name} is not valid ({exc}); move it aside and tell us.") from None


def ingester_commit(ingester: str, seq: int) -> str:
    """The name of an ingester's publication number ``seq``."""
    return f"{COMMITS}/{ingester}/{seq:012d}.json"


def new_commit_name(kind: str) -> str:
    """A fresh name for a compaction (``compact``) or retention (``retain``) commit, in time order."""
    return f"{COMMITS}/_{kind}/{int(time.time() * 1000):013d}-{uuid.uuid4().hex[:10]}.json"


@dataclass
class Snapshot:
    """The committed state of a lake at one moment.

    Attributes:
        files: Every visible data file, by path.
        drop_before: The retention cutoff (a day), or None.
        commits: The commits this state was built from, by name.
        checkpoint: The checkpoint it started from, or None.
        covers: The commits that checkpoint covers (name -> when deleted, or None).
        removed: Files compactions removed from sight, and when (until vacuum deleted them).
    """

    files: dict[str, DataFile]
    drop_before: str | None = None
    commits: dict[str, Commit] = field(default_factory=dict)
    checkpoint: str | None = None
    covers: dict[str, float | None] = field(default_factory=dict)
    removed: dict[str, float] = field(default_factory=dict)

    def of(self, table: str, days: tuple[str | None, str | None] = (None, None),
           projects: Sequence[str] | None = None) -> list[DataFile]:
        """The visible files of one table, of days in ``[first, last]`` and of some projects."""
        first, last = days
        wanted = set(projects) if projects else None
        return sorted(
            (f for f in self.files.values() if f.table == table
             and (first is None or f.day >= first) and (last is None or f.day <= last)
             and (wanted is None or f.project in wanted)),
            key=lambda f: (f.day, f.project or "", f.path),
        )

    def rows(self, table: str) -> int:
        """Rows of one table in the visible files."""
        return sum(f.rows for f in self.files.values() if f.table == table)

    def checkpoint_bytes(self) -> bytes:
        """This state as a checkpoint's content."""
        return json.dumps({
            "files": [f.to_json() for f in self.files.values()], "drop_before": self.drop_before,
            "covers": self.covers, "removed": self.removed,
        }, separators=(",", ":")).encode()


class CommitLog:
    """Reads the commits of one lake and builds :class:`Snapshot` s, caching what it read.

    Commits never change once written, so each is read once per process.
    """

    def __init__(self, location: Location) -> None:
        self.location = location
        self._cache: dict[str, Commit] = {}
        self._checkpoint: tuple[str, dict[str, Any]] | None = None

    def write(self, commit: Commit) -> None:
        """Write a commit: from now on readers see its change."""
        self.location.put(commit.name, commit.to_bytes())

    def read(self, name: str) -> Commit | None:
        """One commit, or None when it does not exist."""
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        data = self.location.get(name)
        if data is None:
            return None
        commit = Commit.from_bytes(name, data)
        self._cache[name] = commit
        return commit

    def exists(self, name: str, snapshot: Snapshot | None = None) -> bool:
        """Whether a commit was written (it may since be folded into a checkpoint)."""
        if snapshot is not None and (name in snapshot.commits or name in snapshot.covers):
            return True
        if self.read(name) is not None:
            return True
        return name in self.snapshot().covers

    def names(self) -> list[str]:
        """The names of the commits now in the lake."""
        return sorted(i.path for i in self.location.list(COMMITS) if i.path.endswith(".json"))

    def _latest_checkpoint(self) -> tuple[str | None, dict[str, Any]]:
        names = sorted(i.path for i in self.location.list(CHECKPOINTS) if i.path.endswith(".json"))
        if not names:
            return None, {}
        name = names[-1]
        if self._checkpoint is not None and self._checkpoint[0] == name:
            return name, self._checkpoint[1]
        data = self.location.get(name)
        if data is None:
            raise _Vanished(name)
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise LakeError(f"The lake's checkpoint {name} is not valid JSON ({exc}); move it aside.") from None
        self._checkpoint = (name, doc)
        return name, doc

    def snapshot(self) -> Snapshot:
        """The committed state now.

        Raises:
            LakeError: The lake cannot be read, or changed under the reader too often.
        """
        for _ in range(_RETRIES):
            try:
                return self._build()
            except _Vanished:
                continue
        raise LakeError(f"The lake {self.location.uri} changed too often while it was read; try again.")

    def _build(self) -> Snapshot:
        listed = self.names()  # before the checkpoint: see the module's docstring
        checkpoint, doc = self._latest_checkpoint()
        covers: dict[str, float | None] = dict(doc.get("covers", {}))
        files = {f["path"]: DataFile.from_json(f) for f in doc.get("files", ())}
        cutoffs = [doc["drop_before"]] if doc.get("drop_before") else []
        removed: dict[str, float] = {p: float(t) for p, t in doc.get("removed", {}).items()}
        commits: dict[str, Commit] = {}
        for name in listed:
            if name in covers:
                continue
            commit = self.read(name)
            if commit is None:
                raise _Vanished(name)
            commits[name] = commit
        for commit in commits.values():
            if commit.kind == "publish":
                files.update((f.path, f) for f in commit.adds)
        for name in sorted(n for n, c in commits.items() if c.kind == "compact"):
            commit = commits[name]
            if all(path in files for path in commit.removes):
                for path in commit.removes:
                    del files[path]
                    removed[path] = commit.time
                files.update((f.path, f) for f in commit.adds)
        cutoffs += [c.drop_before for c in commits.values() if c.kind == "retain" and c.drop_before]
        drop_before = max(cutoffs) if cutoffs else None
        if drop_before:
            files = {p: f for p, f in files.items() if f.day >= drop_before}
        return Snapshot(files, drop_before, commits, checkpoint, covers, removed)


class _Vanished(Exception):
    """A commit or checkpoint that was listed is gone: build the snapshot again."""


def retention_cutoff(days: int, now: dt.datetime | None = None) -> str:
    """The first day kept when partitions older than ``days`` days are dropped."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return (now.date() - dt.timedelta(days=days)).isoformat()


def files_of(commits: Iterable[Commit]) -> set[str]:
    """Every data file some of these commits add or remove."""
    return {p for c in commits for p in (*(f.path for f in c.adds), *c.removes)}
