"""The lake's layout: where each file goes, and how it is named.

::

    LAKE/table=spans/project=support-bot/day=2026-11-23/<ingester>-000000000042.parquet
    LAKE/table=documents/project=.../day=.../...
    LAKE/table=embeddings/project=.../day=.../...
    LAKE/table=annotations/day=2026-11-23/<ingester>-000000000042.parquet
    LAKE/_commits/<ingester>/000000000042.json      what publication 42 added
    LAKE/_commits/_compact/<time>-<id>.json          what a compaction replaced
    LAKE/_commits/_retain/<time>-<id>.json           the day before which partitions are dropped
    LAKE/_checkpoints/<time>-<id>.json              every commit so far, folded into one

Hive-style partitions (``key=value`` folders) by table, project and UTC day, so any engine
prunes them. The files hold the columns of ``docs/schema.md``; ``project`` and ``day`` are
also folder names (documents and embeddings take the project of their span; annotations,
which another ingester may receive than their span's, are partitioned by day only). A
project name is percent-encoded in its folder name, as Spark writes it.

A data file's name starts with the id of the ingester that wrote it and its publication
number, so any number of ingesters write into one lake without ever choosing the same name.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, unquote

__all__ = [
    "CHECKPOINTS",
    "COMMITS",
    "NO_PROJECT",
    "PARTITIONED_BY_PROJECT",
    "TABLES",
    "data_path",
    "parse_data_path",
    "partition_folder",
]

#: The tables a lake holds, each with the column its day is taken from.
TABLES: dict[str, str] = {
    "spans": "start_time",
    "documents": "start_time",
    "embeddings": "start_time",
    "annotations": "created_at",
}
#: The tables partitioned by project as well as by day.
PARTITIONED_BY_PROJECT = ("spans", "documents", "embeddings")
COMMITS = "_commits"
CHECKPOINTS = "_checkpoints"
#: The folder name of a null project (Hive's own).
NO_PROJECT = "__HIVE_DEFAULT_PARTITION__"


def partition_folder(table: str, project: str | None, day: str) -> str:
    """The folder of one partition, relative to the lake's root."""
    if table not in PARTITIONED_BY_PROJECT:
        return f"table={table}/day={day}"
    name = NO_PROJECT if not project else quote(project, safe="")
    return f"table={table}/project={name}/day={day}"


def data_path(table: str, project: str | None, day: str, name: str) -> str:
    """The path of a data file, relative to the lake's root."""
    return f"{partition_folder(table, project, day)}/{name}.parquet"


def parse_data_path(path: str) -> tuple[str, str | None, str] | None:
    """``(table, project, day)`` of a data file's relative path, or None for another file."""
    parts = path.split("/")
    if len(parts) < 3 or not parts[-1].endswith(".parquet") or parts[-1].startswith((".", "_")):
        return None
    keys = dict(part.split("=", 1) for part in parts[:-1] if "=" in part)
    table, day = keys.get("table"), keys.get("day")
    if table not in TABLES or day is None:
        return None
    project = keys.get("project")
    return table, (None if project in (None, NO_PROJECT) else unquote(project)), day


def day_of(value: dt.datetime | dt.date) -> str:
    """The UTC day of a time, as a partition's ``day=`` value."""
    if isinstance(value, dt.datetime):
        value = (value.astimezone(dt.timezone.utc) if value.tzinfo else value).date()
    return value.isoformat()


def day_bounds(day: str) -> tuple[dt.datetime, dt.datetime]:
    """The start and end (UTC) of a partition's day."""
    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc)
    return start, start + dt.timedelta(days=1)
