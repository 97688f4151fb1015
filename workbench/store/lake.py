"""DuckDB over the Parquet files of a lake: the store side of :class:`workbench.read.lake.LakeReader`.

DuckDB's httpfs extension cannot be installed here, so object storage is read through a
pyarrow filesystem: each lake table is a pyarrow dataset of its committed files, registered
on every reading cursor under the table's name (it shadows the empty table of that name).
Each file's dataset fragment carries its partition as a *guarantee* (``start_time`` within
its day, ``project`` equal to its folder's), so when DuckDB pushes a query's conditions on
``start_time`` or ``project`` down to the scan, pyarrow skips the files that cannot match
without opening them: a one-week view of a ninety-day lake opens that week's files.

The other tables (corpus, log records ...) are empty: a lake holds only spans, documents,
embeddings and annotations.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from workbench.errors import NotFoundError, StoreError
from workbench.store import parquet
from workbench.store.database import MEMORY, Database
from workbench.store.schema import TABLES

__all__ = ["LAKE_TABLES", "LakeDatabase", "LakeFile", "LakeStore"]

#: The tables a lake holds, with the column each is partitioned by the day of.
LAKE_TABLES: dict[str, str] = {
    "spans": "start_time", "documents": "start_time", "embeddings": "start_time", "annotations": "created_at",
}
_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class LakeFile:
    """One committed file: its full path in the filesystem, and its partition."""

    path: str
    table: str
    project: str | None
    start: Any  # datetime: the first instant of its day
    end: Any  # and of the next day


def _guarantee(file: LakeFile) -> ds.Expression:
    column = ds.field(LAKE_TABLES[file.table])
    expression = (column >= pa.scalar(file.start, _TS)) & (column < pa.scalar(file.end, _TS))
    if file.table == "spans" and file.project is not None:
        expression = expression & (ds.field("project") == file.project)
    return expression


def dataset(table: str, files: Sequence[LakeFile], filesystem: pafs.FileSystem) -> ds.Dataset | pa.Table:
    """The committed files of one table as a pyarrow dataset (an empty table without files)."""
    schema = TABLES[table].arrow_schema
    if not files:
        return schema.empty_table()
    fmt = ds.ParquetFileFormat()
    fragments = [fmt.make_fragment(f.path, filesystem=filesystem, partition_expression=_guarantee(f)) for f in files]
    kind = PythonFilesystemDataset if isinstance(filesystem, pafs.PyFileSystem) else ds.FileSystemDataset
    return kind(fragments, schema, fmt, filesystem)


class PythonFilesystemDataset(ds.FileSystemDataset):
    """A dataset on a filesystem written in Python (``pyarrow.fs.PyFileSystem``, as fsspec's
    are wrapped), whose scans read the files they need on the scanning thread.

    DuckDB starts a scan of a pyarrow dataset while holding Python's lock (the GIL), and
    pyarrow's scanner waits there for files that its I/O threads open. Through a filesystem
    written in Python each open needs that lock, so the two would wait for each other for
    ever. Here a scan first prunes the files by their partitions, as pyarrow's would, then
    reads those files whole (pyarrow lets the lock go while it reads), and scans them in
    memory. pyarrow's own filesystems (a folder, S3, GCS, Azure, HDFS) never get here.
    """

    def scanner(self, columns: Any = None, filter: Any = None, **options: Any) -> ds.Scanner:
        schema = self.schema
        fragments = self.get_fragments(filter=filter) if filter is not None else self.get_fragments()
        tables = [_conform(_read(self.filesystem, f.path), schema) for f in fragments]
        data = pa.concat_tables(tables) if tables else schema.empty_table()
        return ds.dataset(data).scanner(columns=columns, filter=filter, **options)


def _read(filesystem: pafs.FileSystem, path: str) -> pa.Table:
    """One Parquet file whole; an error names the file."""
    try:
        return pq.ParquetFile(filesystem.open_input_file(path)).read()
    except (pa.ArrowException, OSError) as exc:
        raise pa.ArrowInvalid(f"Could not read the Parquet file '{path}': {exc}") from exc


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``'s columns in its order: missing ones null, others cast (as a
    dataset scan reads a file written before a column was added)."""
    columns = [table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
               for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


class LakeDatabase(Database):
    """An in-memory DuckDB database whose lake tables are the lake's committed files.

    Args:
        name: The lake, as shown to users.
        files: Returns the committed files of the lake now, per table.
        filesystem: The pyarrow filesystem the files are read through.
        refresh_s: A query looks for new commits when the last look is older than this.
    """

    def __init__(self, name: str, files: Callable[[], Mapping[str, Sequence[LakeFile]]],
                 filesystem: pafs.FileSystem, *, refresh_s: float = 5.0) -> None:
        super().__init__(MEMORY, min_free_bytes=0)
        self.path = name
        self._files = files
        self._filesystem = filesystem
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._looked_at = float("-inf")
        self._key: tuple[str, ...] | None = None
        self._datasets: dict[str, Any] = {}
        self._version = 0
        self.file_count: dict[str, int] = {}

    def refresh(self, *, force: bool = False) -> None:
        """Look for new commits now (``force``), or when the last look is old enough."""
        with self._lock:
            if not force and time.monotonic() - self._looked_at < self._refresh_s:
                return
            files = self._files()
            self._looked_at = time.monotonic()
            key = tuple(sorted(f.path for table in files.values() for f in table))
            if key == self._key:
                return
            self._datasets = {t: dataset(t, files.get(t, ()), self._filesystem) for t in LAKE_TABLES}
            self.file_count = {t: len(files.get(t, ())) for t in LAKE_TABLES}
            self._key = key
            self._version += 1

    @property
    def version(self) -> int:
        """How many times the lake's committed files have changed since this database opened."""
        return self._version

    def cursor(self) -> Any:
        """This thread's cursor, with the lake's tables as they were at the last look."""
        self.refresh()
        cur = super().cursor()
        if getattr(self._local, "lake_version", None) != self._version:
            with self._lock:
                datasets, version = dict(self._datasets), self._version
            for table, data in datasets.items():
                cur.register(table, data)
            self._local.lake_version = version
        return cur

    @contextmanager
    def own_cursor(self) -> Iterator[Any]:
        """A cursor for one query (the SQL door's), with the lake's tables on it too."""
        self.refresh()
        with self._lock:
            datasets = dict(self._datasets)
        with super().own_cursor() as cur:
            for table, data in datasets.items():
                cur.register(table, data)
            yield cur


class LakeStore:
    """What :class:`workbench.read.local.Reader` asks of a store, over a :class:`LakeDatabase`."""

    def __init__(self, db: LakeDatabase) -> None:
        self.db = db
        self.path = db.path

    def __repr__(self) -> str:
        return f"LakeStore({self.path!r})"

    def data_version(self) -> tuple[str, int]:
        """Changes whenever the lake's committed files do (looking for new commits first, when due)."""
        self.db.refresh()
        return ("lake", self.db.version)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run read-only SQL over the lake's tables; an Arrow table."""
        return self.db.query(sql, params)

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run read-only SQL over the lake's tables; rows as tuples."""
        return self.db.fetchall(sql, params)

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {name: self.fetchall(f"SELECT count(*) FROM {name}")[0][0] for name in TABLES}

    def read_table(self, name: str) -> pa.Table:
        """Every row of one table."""
        if name not in TABLES:
            raise NotFoundError(f"There is no table {name!r}; the tables are {', '.join(TABLES)}.")
        return self.query(f"SELECT * FROM {name}")

    def export_parquet(self, out_dir: str | Path) -> dict[str, int]:
        """Write every table as Parquet partitioned by day (as ``workbench export`` does)."""
        return parquet.export_parquet(self.db, out_dir)

    def add_annotations(self, data: Any, **kwargs: Any) -> int:
        """A lake is read-only here."""
        raise StoreError(f"The lake {self.path} is read-only here; post annotations to an ingester "
                         "(workbench serve --lake), which publishes them.")

    def close(self) -> None:
        """Close the in-memory database."""
        self.db.close()
