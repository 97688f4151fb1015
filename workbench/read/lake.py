"""The lake reader: the read API over a Parquet lake (a folder or ``s3://bucket/prefix``).

``workbench.open("s3://bucket/traces")`` or ``workbench serve --from-lake URI`` read what
ingesters published (:mod:`workbench.lake`), with the same reads and the same ``sql``
capability as a local file: DuckDB runs over the lake's committed files
(:mod:`workbench.store.lake`), and a query bounded in time or by project opens only the
files of those days and projects. New publications are seen within a few seconds
(``refresh_s``), or at once after :meth:`LakeReader.refresh`.

A lake is read-only here: it cannot take annotations (post them to an ingester, which
publishes them) nor hold drift's caches and baselines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from workbench.errors import CapabilityError
from workbench.lake.commits import CommitLog
from workbench.lake.layout import day_bounds
from workbench.lake.location import Location, locate
from workbench.read.local import Reader
from workbench.store.lake import LakeDatabase, LakeFile, LakeStore

__all__ = ["LakeReader", "open_lake"]

_REFUSALS = {
    "annotate": "cannot take annotations; post them to an ingester (workbench serve --lake), which publishes them",
    "store": "holds no local store for drift's caches and baselines; copy a range with workbench.snapshot first",
}


class LakeReader(Reader):
    """Reads a Parquet lake through DuckDB.

    Args:
        lake: A folder, ``s3://bucket/prefix``, or a :class:`~workbench.lake.location.Location`.
        endpoint: An S3-compatible endpoint (default ``WORKBENCH_LAKE_ENDPOINT``, else
            ``AWS_ENDPOINT_URL``).
        filesystem: Read through this pyarrow filesystem instead. One written in Python
            (``PyFileSystem``, as fsspec's are wrapped) works too; each query then reads the
            files it needs whole (after pruning) before DuckDB scans them.
        refresh_s: A read looks for new publications when the last look is older than this.
    """

    capabilities: frozenset[str] = frozenset({"sql"})

    def __init__(self, lake: str | Path | Location, *, endpoint: str | None = None,
                 filesystem: pafs.FileSystem | None = None, refresh_s: float = 5.0) -> None:
        self.location = lake if isinstance(lake, Location) else locate(lake, endpoint=endpoint, filesystem=filesystem)
        self.log = CommitLog(self.location)
        self.uri = self.location.uri
        db = LakeDatabase(self.location.uri, self._files, self.location.fs, refresh_s=refresh_s)
        super().__init__(LakeStore(db))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"LakeReader({self.location.uri!r})"

    def _files(self) -> Mapping[str, Sequence[LakeFile]]:
        snapshot = self.log.snapshot()
        out: dict[str, list[LakeFile]] = {}
        for f in snapshot.files.values():
            start, end = day_bounds(f.day)
            out.setdefault(f.table, []).append(LakeFile(self.location.path(f.path), f.table, f.project, start, end))
        return out

    def refresh(self) -> None:
        """Read the lake's newest commits now."""
        self.store.db.refresh(force=True)  # type: ignore[attr-defined]

    def refuse(self, capability: str) -> CapabilityError:
        """The one-sentence refusal of a capability a lake lacks."""
        why = _REFUSALS.get(capability, f"has no capability {capability!r}")
        return CapabilityError(f"{self!r} reads a Parquet lake, which {why}.")

    def add_annotations(self, records: Any) -> int:
        """A lake takes no annotations here (see :meth:`refuse`)."""
        raise self.refuse("annotate")


def open_lake(uri: str | Path, *, endpoint: str | None = None) -> LakeReader:
    """A reader of the lake at ``uri``, which must hold one (``--lake`` on the command line).

    Raises:
        LakeError: Nothing was ever published there, or it cannot be reached.
    """
    from workbench.lake import require_lake

    return LakeReader(require_lake(uri, endpoint=endpoint))
