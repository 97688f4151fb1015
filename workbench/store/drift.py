"""The units of work that change drift's tables (the projection cache and the saved baselines).

Each function returns a unit of work for :meth:`workbench.store.Store.execute_write`, which
runs it on a writer thread in a transaction of its own. What drift reads of these tables is in
:mod:`workbench.read.drift`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb

from workbench.store.schema import TABLES
from workbench.store.writer import Work

__all__ = ["clear_projections", "create_table", "drop_baseline", "keep_projection", "replace_baseline"]

_PUT = "INSERT OR REPLACE INTO drift_cache VALUES (?, ?, ?, ?, ?, ?, ?)"
_TRIM = "DELETE FROM drift_cache WHERE key NOT IN (SELECT key FROM drift_cache ORDER BY created_at DESC LIMIT ?)"


def create_table(name: str) -> Work[None]:
    """Create a declared table a file made before it lacks."""

    def create(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute(TABLES[name].create_statement).fetchall()

    return create


def keep_projection(row: Sequence[Any], keep: int) -> Work[None]:
    """Store one cached projection (a ``drift_cache`` row), then keep only the newest ``keep``."""

    def put(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute(_PUT, list(row)).fetchall()
        cur.execute(_TRIM, [keep]).fetchall()

    return put


def clear_projections() -> Work[int]:
    """Drop every cached projection; the unit returns how many there were."""
    return lambda cur: int(cur.execute("DELETE FROM drift_cache").fetchall()[0][0])


def replace_baseline(
    name: str, created_at: dt.datetime, trace_ids: Sequence[str], span_ids: Sequence[str], positions: Sequence[Any]
) -> Work[None]:
    """Save baseline ``name`` as these points, in place of any saved under that name (one
    transaction: the old set goes only if the new one is saved)."""

    def replace(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute("DELETE FROM drift_baselines WHERE name = ?", [name]).fetchall()
        cur.execute(
            "INSERT INTO drift_baselines SELECT ?, trace_id, span_id, position, ? "
            "FROM (SELECT unnest(?::VARCHAR[]) AS trace_id, unnest(?::VARCHAR[]) AS span_id, "
            "unnest(?::INTEGER[]) AS position)",
            [name, created_at, list(trace_ids), list(span_ids), list(positions)],
        ).fetchall()

    return replace


def drop_baseline(name: str) -> Work[int]:
    """Delete baseline ``name``; the unit returns how many points it held."""
    return lambda cur: cur.execute("DELETE FROM drift_baselines WHERE name = ?", [name]).fetchall()[0][0]
