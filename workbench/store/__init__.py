"""Storage: the only package that imports duckdb.

:class:`Store` is a workbench database file: spans go in through one batching writer, reads
run on per-thread cursors, and Parquet goes out and comes back in.

The names below load on first use, so a process that only needs a light module of this
package (the decode workers use :mod:`workbench.store.rows`) does not load DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.store.database import MEMORY
    from workbench.store.schema import SCHEMA_VERSION, TABLES
    from workbench.store.store import Store

__all__ = ["MEMORY", "SCHEMA_VERSION", "TABLES", "Store"]

_HOMES = {
    "MEMORY": "workbench.store.database",
    "SCHEMA_VERSION": "workbench.store.schema",
    "TABLES": "workbench.store.schema",
    "Store": "workbench.store.store",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home), name)
