"""What drift reads of its own tables, in SQL: the projection cache and the saved baselines.

The tables are declared with the store's others (:mod:`workbench.store.schema`); what drift
writes to them is a unit of work of :mod:`workbench.store.drift`, run by the store's writer.
A file made before a table was lacks it: :func:`has_table` says so.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from workbench.read.source import SqlSource

__all__ = ["baseline_list", "baseline_points", "baseline_size", "cached_projection", "has_table"]


def has_table(reader: SqlSource, name: str) -> bool:
    """Whether the stored file has the table ``name``."""
    found = reader.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = ?", [name])
    return bool(found.column(0)[0].as_py())


def cached_projection(reader: SqlSource, key: str) -> dict[str, Any] | None:
    """The cached projection under ``key`` (``n_points``, ``dims``, ``coords``, ``labels``), or None."""
    table = reader.query("SELECT n_points, dims, coords, labels FROM drift_cache WHERE key = ?", [key])
    return table.to_pylist()[0] if table.num_rows else None


def baseline_size(reader: SqlSource, name: str) -> int:
    """How many points the baseline ``name`` holds (0 when there is none)."""
    return int(reader.query("SELECT count(*) AS n FROM drift_baselines WHERE name = ?", [name]).column(0)[0].as_py())


def baseline_list(reader: SqlSource) -> pa.Table:
    """The saved baselines: ``name``, ``points``, ``created_at``, by name."""
    return reader.query(
        "SELECT name, count(*) AS points, max(created_at) AS created_at FROM drift_baselines "
        "GROUP BY name ORDER BY name"
    )


def baseline_points(reader: SqlSource, name: str) -> pa.Table:
    """The points of baseline ``name``: ``trace_id``, ``span_id``, ``position``."""
    return reader.query("SELECT trace_id, span_id, position FROM drift_baselines WHERE name = ?", [name])
