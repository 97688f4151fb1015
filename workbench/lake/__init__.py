"""A Parquet lake that many ingesters write and any engine reads.

==========================  ==========================================================
:mod:`.location`            a folder or ``s3://bucket/prefix``, through pyarrow filesystems
:mod:`.layout`              the hive-partitioned layout and the file names
:mod:`.commits`             the commit protocol: which files readers see
:mod:`.publish`             :class:`Publisher`: ``workbench serve --lake`` following its store
:mod:`.maintain`            ``workbench lake compact`` and ``workbench lake retain``
==========================  ==========================================================

Reading a lake is :class:`workbench.read.lake.LakeReader` (``workbench.open("s3://...")``);
:func:`committed_files` lists the files plain DuckDB or Spark should read (docs/scale-out.md).
"""

from __future__ import annotations

from pathlib import Path

from workbench.errors import LakeError
from workbench.lake.commits import CommitLog
from workbench.lake.location import Location, locate

__all__ = ["committed_files", "is_lake", "require_lake"]


def require_lake(lake: str | Path | Location, *, endpoint: str | None = None) -> Location:
    """The lake's :class:`Location`, once it is known to hold a lake (something was published).

    So a mistyped folder or prefix is an error rather than an empty answer, and maintenance
    never starts a lake where there was none.

    Raises:
        LakeError: Nothing was ever published there, or it cannot be reached.
    """
    location = lake if isinstance(lake, Location) else locate(lake, endpoint=endpoint)
    if not location.holds_lake():
        raise LakeError(
            f"There is no lake at {location.uri}: nothing was ever published there (it has no _commits folder); "
            f"check the folder or s3:// prefix, the one `workbench serve --lake` publishes to."
        )
    return location


def committed_files(lake: str | Path | Location, table: str = "spans", *, endpoint: str | None = None,
                    start_day: str | None = None, end_day: str | None = None, uri: bool = True) -> list[str]:
    """The committed files of one table, for ``duckdb.read_parquet(files)`` or
    ``spark.read.parquet(*files)``: never a file half-written or replaced by a compaction.

    Args:
        lake: The lake.
        table: spans, documents, embeddings or annotations.
        start_day: Only partitions of this day (``YYYY-MM-DD``) or later; ``end_day`` or earlier.
        uri: Full ``s3://`` URIs (for Spark) rather than paths inside the filesystem.
    """
    location = lake if isinstance(lake, Location) else locate(lake, endpoint=endpoint)
    files = CommitLog(location).snapshot().of(table, (start_day, end_day))
    prefix = "s3://" if uri and not location.local else ""
    return [prefix + location.path(f.path) for f in files]


def is_lake(target: str | Path) -> bool:
    """Whether ``target`` names a lake: ``s3://...``, or a folder holding ``_commits``."""
    text = str(target)
    if text.startswith("s3://"):
        return True
    folder = Path(text.removeprefix("file://")).expanduser()
    return folder.is_dir() and (folder / "_commits").is_dir()
