"""The unit of work that saves a prompt version (table ``prompts``).

Run with :meth:`workbench.store.Store.execute_write`, in a transaction of its own, so two
saves of the same name at once get two versions, never the same one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa

from workbench.store.schema import PROMPTS
from workbench.store.writer import Append, Work

__all__ = ["add_prompt_version", "prompt_rows"]


def add_prompt_version(row: Mapping[str, Any]) -> Work[int]:
    """Write the next version of prompt ``row["name"]`` (the other ``prompts`` columns but
    ``version`` and ``created_at``); the unit returns the version written."""

    def write(cur: duckdb.DuckDBPyConnection) -> int:
        latest = cur.execute("SELECT max(version) FROM prompts WHERE name = ?", [row["name"]]).fetchall()[0][0]
        version = (latest or 0) + 1
        record = {**row, "version": version, "created_at": dt.datetime.now(dt.timezone.utc)}
        schema = PROMPTS.arrow_schema
        Append("prompts", pa.Table.from_pylist([{n: record.get(n) for n in schema.names}], schema=schema))(cur)
        return version

    return write


def prompt_rows(store: Any, name: str | None = None, version: int | None = None) -> pa.Table:
    """The saved prompt versions (of ``name``, and that ``version``), newest first.

    A store written before prompts existed has no such table until it is opened to write: it
    has no prompts.
    """
    present = store.fetchall("SELECT count(*) FROM information_schema.tables WHERE table_name = 'prompts'")[0][0]
    if not present:
        return PROMPTS.arrow_schema.empty_table()
    where: list[str] = []
    params: list[Any] = []
    if name is not None:
        where.append("name = ?")
        params.append(name)
    if version is not None:
        where.append("version = ?")
        params.append(version)
    sql = ("SELECT * FROM prompts" + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY name, version DESC")
    return store.query(sql, params)
