"""The units of work that change the dataset and experiment tables.

Each function returns a unit of work for :meth:`workbench.store.Store.execute_write`, run on a
writer thread in a transaction of its own. What is read of these tables is in
:mod:`workbench.read.experiments`. A dataset version is never changed once written: a new
version is a new set of rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from workbench.errors import ConfigError
from workbench.store.schema import TABLES
from workbench.store.writer import Append, Work

__all__ = ["add_dataset_version", "add_experiment", "delete_dataset", "delete_experiment", "put_runs", "set_run_usage"]


def _rows(table: str, records: Sequence[Mapping[str, Any]]) -> pa.Table:
    schema = TABLES[table].arrow_schema
    return pa.Table.from_pylist([{name: r.get(name) for name in schema.names} for r in records], schema=schema)


def add_dataset_version(
    name: str,
    examples: Sequence[Mapping[str, Any]],
    *,
    description: str | None,
    change: str,
    created_at: dt.datetime,
    based_on: int | None,
) -> Work[int]:
    """Write the next version of dataset ``name`` holding ``examples`` (dicts with the columns of
    ``dataset_examples`` but ``dataset``, ``version`` and ``position``); the unit returns the version.

    ``based_on`` is the version the change was made to (None for a new dataset): when another
    version was written since, the unit fails rather than lose that change.
    """

    def write(cur: duckdb.DuckDBPyConnection) -> int:
        latest = cur.execute("SELECT max(version) FROM datasets WHERE name = ?", [name]).fetchall()[0][0]
        if based_on is None and latest is not None:
            raise ConfigError(
                f"A dataset named {name!r} exists already (version {latest}); add examples to it with "
                "add_examples(), or choose another name."
            )
        if based_on is not None and latest != based_on:
            raise ConfigError(
                f"Dataset {name!r} changed meanwhile (version {latest}, this change was made to version "
                f"{based_on}); read it again and repeat the change."
            )
        version = (latest or 0) + 1
        Append("datasets", _rows("datasets", [{
            "name": name, "version": version, "created_at": created_at, "description": description,
            "change": change, "example_count": len(examples),
        }]))(cur)
        Append("dataset_examples", _rows("dataset_examples", [
            {**e, "dataset": name, "version": version, "position": i} for i, e in enumerate(examples)
        ]))(cur)
        return version

    return write


def delete_dataset(name: str) -> Work[int]:
    """Delete every version of dataset ``name``; the unit returns how many versions there were."""

    def delete(cur: duckdb.DuckDBPyConnection) -> int:
        cur.execute("DELETE FROM dataset_examples WHERE dataset = ?", [name]).fetchall()
        return int(cur.execute("DELETE FROM datasets WHERE name = ?", [name]).fetchall()[0][0])

    return delete


def add_experiment(row: Mapping[str, Any]) -> Work[str]:
    """Record an experiment unless one of its name exists; the unit returns the stored id."""

    def add(cur: duckdb.DuckDBPyConnection) -> str:
        found = cur.execute("SELECT experiment_id FROM experiments WHERE name = ?", [row["name"]]).fetchall()
        if found:
            return str(found[0][0])
        Append("experiments", _rows("experiments", [row]))(cur)
        return str(row["experiment_id"])

    return add


def put_runs(experiment_id: str, runs: Sequence[Mapping[str, Any]]) -> Work[int]:
    """Store the runs of some examples of an experiment, replacing earlier runs of those examples."""

    def put(cur: duckdb.DuckDBPyConnection) -> int:
        ids = [str(r["example_id"]) for r in runs]
        cur.execute(
            "DELETE FROM experiment_runs WHERE experiment_id = ? AND example_id IN (SELECT unnest(?::VARCHAR[]))",
            [experiment_id, ids],
        ).fetchall()
        rows = _rows("experiment_runs", [{**r, "experiment_id": experiment_id} for r in runs])
        return Append("experiment_runs", rows)(cur)

    return put


def set_run_usage(experiment_id: str, usage: Sequence[Mapping[str, Any]]) -> Work[int]:
    """Fill runs' ``prompt_tokens``, ``completion_tokens``, ``total_tokens`` and ``cost`` (dicts
    with those and ``example_id``) where the run has none; the unit returns how many runs changed."""

    def put(cur: duckdb.DuckDBPyConnection) -> int:
        if not usage:
            return 0
        columns = ("example_id", "prompt_tokens", "completion_tokens", "total_tokens", "cost")
        rows = pa.table({c: [u.get(c) for u in usage] for c in columns}, schema=pa.schema([
            ("example_id", pa.string()), ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()),
            ("total_tokens", pa.int64()), ("cost", pa.float64())]))
        cur.register("wb_run_usage", rows)
        try:
            return int(cur.execute(
                "UPDATE experiment_runs r SET prompt_tokens = u.prompt_tokens, "
                "completion_tokens = u.completion_tokens, total_tokens = u.total_tokens, cost = u.cost "
                "FROM wb_run_usage u WHERE r.experiment_id = ? AND r.example_id = u.example_id "
                "AND r.total_tokens IS NULL AND r.cost IS NULL",
                [experiment_id],
            ).fetchall()[0][0])
        finally:
            cur.unregister("wb_run_usage")

    return put


def delete_experiment(experiment_id: str) -> Work[int]:
    """Delete an experiment and its runs (its traces and scores stay); the unit returns runs deleted."""

    def delete(cur: duckdb.DuckDBPyConnection) -> int:
        n = cur.execute("DELETE FROM experiment_runs WHERE experiment_id = ?", [experiment_id]).fetchall()[0][0]
        cur.execute("DELETE FROM experiments WHERE experiment_id = ?", [experiment_id]).fetchall()
        return int(n)

    return delete
