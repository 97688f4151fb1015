"""Keeping a lake in shape: ``workbench lake compact`` and ``workbench lake retain``.

Both change what readers see only by writing commits (:mod:`workbench.lake.commits`), and
delete a file only once no reader can still need it:

* :func:`compact` merges the files of each partition that has several into one file, and
  commits the swap per partition: the merged file is written first, invisible; the commit
  removes the small files and adds the merged one at once. Interrupted anywhere, readers see
  either the small files or the merged one, never both, never neither; a merged file whose
  commit was never written is an orphan nobody reads, removed later.
* :func:`retain` commits a cutoff day: partitions of earlier days disappear at once.

Then both fold every commit into a checkpoint, so readers read one file instead of many,
and *vacuum*: commits the checkpoint covers, files a commit removed, and partitions before
the cutoff are deleted once they have been out of sight for ``grace_s`` seconds (a reader
that listed them a moment ago may still be reading them); files no commit ever named
(a compaction or a publication that died before its commit) after ``orphan_s``.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from workbench.lake import require_lake
from workbench.lake.commits import Commit, CommitLog, DataFile, Snapshot, new_commit_name, retention_cutoff
from workbench.lake.layout import CHECKPOINTS, COMMITS, data_path, parse_data_path
from workbench.lake.location import Location
from workbench.lake.publish import parquet_bytes

__all__ = ["MaintenanceReport", "checkpoint", "compact", "retain", "vacuum"]

#: Seconds a file or commit stays after it left the readers' sight (a query may still read it).
GRACE_S = 600.0
#: Seconds before a file no commit names is taken for debris of a crash and deleted.
ORPHAN_S = 24 * 3600.0
# A checkpoint forgets a removed file this long after its removal (vacuum deleted it long before).
_FORGET_REMOVED_S = 7 * 24 * 3600.0


@dataclass
class MaintenanceReport:
    """What a maintenance run did."""

    partitions_compacted: int = 0
    files_merged: int = 0
    files_written: int = 0
    cutoff: str | None = None
    files_deleted: int = 0
    commits_deleted: int = 0
    checkpoint: str | None = None
    errors: list[str] = field(default_factory=list)


def _location(lake: str | Path | Location, endpoint: str | None) -> Location:
    return require_lake(lake, endpoint=endpoint)


def compact(lake: str | Path | Location, *, endpoint: str | None = None, min_files: int = 2,
            grace_s: float = GRACE_S, orphan_s: float = ORPHAN_S) -> MaintenanceReport:
    """Merge the files of every partition holding at least ``min_files`` into one, then
    checkpoint and vacuum (see the module's docstring).

    Raises:
        LakeError: The lake cannot be read or written (what was committed stays consistent).
    """
    location = _location(lake, endpoint)
    log = CommitLog(location)
    snapshot = log.snapshot()
    report = MaintenanceReport()
    groups: dict[tuple[str, str | None, str], list[DataFile]] = defaultdict(list)
    for f in snapshot.files.values():
        groups[(f.table, f.project, f.day)].append(f)
    for (table, project, day), files in sorted(groups.items(), key=lambda g: (g[0][0], g[0][2], g[0][1] or "")):
        if len(files) < min_files:
            continue
        files.sort(key=lambda f: f.path)
        merged = pa.concat_tables([pq.read_table(location.open_input(f.path)) for f in files])
        data = parquet_bytes(merged)  # ordered by trace, then time
        path = data_path(table, project, day, f"compact-{int(time.time() * 1000):013d}-{uuid.uuid4().hex[:8]}")
        location.put(path, data)
        added = DataFile(path, table, project, day, merged.num_rows, data.size)
        log.write(Commit(new_commit_name("compact"), adds=(added,), removes=tuple(f.path for f in files)))
        report.partitions_compacted += 1
        report.files_merged += len(files)
        report.files_written += 1
    _finish(log, report, grace_s, orphan_s)
    return report


def retain(lake: str | Path | Location, days: int, *, endpoint: str | None = None, now: dt.datetime | None = None,
           grace_s: float = GRACE_S, orphan_s: float = ORPHAN_S) -> MaintenanceReport:
    """Drop every partition of a day more than ``days`` days before today (UTC), then
    checkpoint and vacuum."""
    location = _location(lake, endpoint)
    log = CommitLog(location)
    report = MaintenanceReport(cutoff=retention_cutoff(days, now))
    log.write(Commit(new_commit_name("retain"), drop_before=report.cutoff))
    _finish(log, report, grace_s, orphan_s)
    return report


def _finish(log: CommitLog, report: MaintenanceReport, grace_s: float, orphan_s: float) -> None:
    snapshot, name = checkpoint(log, grace_s)
    report.checkpoint = name
    deleted_files, deleted_commits = vacuum(log, snapshot, grace_s=grace_s, orphan_s=orphan_s)
    report.files_deleted += deleted_files
    report.commits_deleted += deleted_commits


def checkpoint(log: CommitLog, grace_s: float = GRACE_S) -> tuple[Snapshot, str]:
    """Fold every commit into a new checkpoint; return the state it holds and its name.

    Commits older than ``grace_s`` are marked deleted in it (and deleted by :func:`vacuum`);
    a commit stays in the checkpoint's list until it has been deleted for ``grace_s``, so
    a reader that listed it just before sees it covered.
    """
    snapshot = log.snapshot()
    now = time.time()
    # An ingester restarting after a crash asks whether its last commit was written: keep the
    # names of deleted commits for as long as a removed file's.
    covers = {n: d for n, d in snapshot.covers.items() if d is None or now - d < _FORGET_REMOVED_S}
    for name, commit in snapshot.commits.items():
        covers[name] = now if now - commit.time >= grace_s else None
    for name, deleted in list(covers.items()):
        if deleted is None and name not in snapshot.commits:
            covers[name] = now  # covered before, still waiting: delete it now if it is old enough
            found = log.read(name)
            if found is not None and now - found.time < grace_s:
                covers[name] = None
    removed = {p: t for p, t in snapshot.removed.items() if now - t < _FORGET_REMOVED_S}
    state = Snapshot(snapshot.files, snapshot.drop_before, {}, None, covers, removed)
    name = f"{CHECKPOINTS}/{int(now * 1000):013d}-{uuid.uuid4().hex[:10]}.json"
    log.location.put(name, state.checkpoint_bytes())
    state.commits, state.checkpoint = snapshot.commits, name
    return state, name


def vacuum(log: CommitLog, snapshot: Snapshot, *, grace_s: float = GRACE_S,
           orphan_s: float = ORPHAN_S) -> tuple[int, int]:
    """Delete what no reader can need any more; return (data files, commits) deleted."""
    location = log.location
    now = time.time()
    # Files some commit still names, and when they left the readers' sight.
    named: set[str] = set()
    removed_at: dict[str, float] = dict(snapshot.removed)
    listed = [c for c in (log.read(n) for n in log.names()) if c is not None]  # also commits newer than the snapshot
    for commit in (*snapshot.commits.values(), *listed):
        named.update(f.path for f in commit.adds)
    for commit in listed:
        if commit.kind == "compact" and commit.name not in snapshot.commits:
            named.update(commit.removes)  # a compaction newer than the snapshot: not applied yet here
    files = 0
    for info in location.list(""):
        path = info.path
        if path.startswith((COMMITS + "/", CHECKPOINTS + "/")) or path in snapshot.files:
            continue
        parsed = parse_data_path(path)
        age = now - (info.mtime.timestamp() if info.mtime else now)
        if parsed is None and not Path(path).name.startswith("."):
            continue  # not ours
        day = parsed[2] if parsed else None
        gone_since = removed_at.get(path)
        if snapshot.drop_before and day is not None and day < snapshot.drop_before:
            gone_since = gone_since or _retained_at(snapshot, snapshot.drop_before)
        if gone_since is not None:
            if now - gone_since >= grace_s and age >= 0:
                location.delete(path)
                files += 1
        elif path not in named and age >= orphan_s:
            location.delete(path)
            files += 1
    commits = 0
    for name, deleted in snapshot.covers.items():
        if deleted is not None and location.get(name) is not None:
            location.delete(name)
            commits += 1
    old = sorted(i.path for i in location.list(CHECKPOINTS) if i.path.endswith(".json"))
    for path in old[:-1]:
        info = next((i for i in location.list(CHECKPOINTS) if i.path == path), None)
        if info is not None and info.mtime and now - info.mtime.timestamp() >= grace_s:
            location.delete(path)
    return files, commits


def _retained_at(snapshot: Snapshot, cutoff: str) -> float:
    times = [c.time for c in snapshot.commits.values() if c.kind == "retain" and c.drop_before == cutoff]
    return min(times) if times else 0.0
