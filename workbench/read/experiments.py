"""What is read of the dataset and experiment tables, in SQL.

The tables are declared with the store's others (:mod:`workbench.store.schema`); what changes
them is a unit of work of :mod:`workbench.store.experiments`. A file made before the tables
were lacks them: every query here then answers as for an empty table.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from workbench.read.source import SqlSource
from workbench.store.schema import TABLES

__all__ = [
    "dataset_examples", "dataset_list", "dataset_versions", "experiment_list", "experiment_row",
    "experiment_runs", "run_scores", "source_spans",
]

_TABLES = ("datasets", "dataset_examples", "experiments", "experiment_runs")


def _present(reader: SqlSource) -> bool:
    found = reader.query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name IN (SELECT unnest(?::VARCHAR[]))",
        [list(_TABLES)],
    )
    return int(found.column(0)[0].as_py()) == len(_TABLES)


def dataset_list(reader: SqlSource) -> pa.Table:
    """One row per dataset, its latest version: ``name``, ``version``, ``example_count``,
    ``created_at`` (of that version), ``description``, ``versions``, by name."""
    if not _present(reader):
        return pa.table({"name": pa.array([], pa.string()), "version": pa.array([], pa.int32()),
                         "example_count": pa.array([], pa.int32()),
                         "created_at": pa.array([], pa.timestamp("us", tz="UTC")),
                         "description": pa.array([], pa.string()), "versions": pa.array([], pa.int64())})
    return reader.query(
        "SELECT name, version, example_count, created_at, description, versions FROM ("
        " SELECT *, count(*) OVER (PARTITION BY name) AS versions,"
        " row_number() OVER (PARTITION BY name ORDER BY version DESC) AS newest FROM datasets"
        ") WHERE newest = 1 ORDER BY name"
    )


def dataset_versions(reader: SqlSource, name: str) -> pa.Table:
    """The versions of dataset ``name``: ``version``, ``created_at``, ``change``, ``example_count``,
    ``description``, oldest first (empty when there is no such dataset)."""
    if not _present(reader):
        return TABLES["datasets"].arrow_schema.empty_table().drop_columns(["name"])
    return reader.query(
        "SELECT version, created_at, change, example_count, description FROM datasets WHERE name = ? "
        "ORDER BY version", [name]
    )


def dataset_examples(reader: SqlSource, name: str, version: int) -> pa.Table:
    """The examples of one dataset version, in order."""
    if not _present(reader):
        return TABLES["dataset_examples"].arrow_schema.empty_table()
    return reader.query(
        "SELECT * FROM dataset_examples WHERE dataset = ? AND version = ? ORDER BY position", [name, int(version)]
    )


def experiment_list(reader: SqlSource, dataset: str | None = None) -> pa.Table:
    """Every experiment (of one dataset, when given) with its run counts: the ``experiments``
    columns, then ``runs``, ``errors``, ``mean_latency_ms``, ``total_tokens``, ``cost``; newest first."""
    if not _present(reader):
        return TABLES["experiments"].arrow_schema.empty_table()
    where, params = ("WHERE e.dataset = ?", [dataset]) if dataset is not None else ("", [])
    return reader.query(
        "SELECT e.*, count(r.example_id) AS runs, count(r.error) AS errors, avg(r.latency_ms) AS mean_latency_ms,"
        " sum(r.total_tokens) AS total_tokens, sum(r.cost) AS cost "
        f"FROM experiments e LEFT JOIN experiment_runs r USING (experiment_id) {where} "
        "GROUP BY ALL ORDER BY e.created_at DESC, e.name", params
    )


def experiment_row(reader: SqlSource, name_or_id: str) -> dict[str, object] | None:
    """The ``experiments`` row of this name (else this id), or None."""
    if not _present(reader):
        return None
    rows = reader.query(
        "SELECT * FROM experiments WHERE name = ? OR experiment_id = ? ORDER BY (name = ?) DESC LIMIT 1",
        [name_or_id, name_or_id, name_or_id],
    ).to_pylist()
    return rows[0] if rows else None


def experiment_runs(reader: SqlSource, experiment_id: str) -> pa.Table:
    """The runs of an experiment, in the order of its dataset version's examples, with the
    example's ``input``, ``expected``, ``metadata``, ``source_trace_id`` and ``source_span_id``."""
    if not _present(reader):
        return TABLES["experiment_runs"].arrow_schema.empty_table()
    return reader.query(
        "SELECT r.*, x.position, x.input, x.expected, x.metadata, x.source_trace_id, x.source_span_id "
        "FROM experiment_runs r JOIN experiments e USING (experiment_id) "
        "LEFT JOIN dataset_examples x ON x.dataset = e.dataset AND x.version = e.dataset_version "
        " AND x.example_id = r.example_id "
        "WHERE r.experiment_id = ? ORDER BY x.position NULLS LAST, r.example_id", [experiment_id]
    )


def run_scores(reader: SqlSource, experiment_id: str) -> pa.Table:
    """The annotations on an experiment's run spans: ``example_id``, ``name``, ``score``,
    ``label``, ``explanation``, ``annotator``, newest last."""
    if not _present(reader):
        return pa.table({k: pa.array([], t) for k, t in (
            ("example_id", pa.string()), ("name", pa.string()), ("score", pa.float64()), ("label", pa.string()),
            ("explanation", pa.string()), ("annotator", pa.string()))})
    return reader.query(
        "SELECT r.example_id, a.name, a.score, a.label, a.explanation, a.annotator "
        "FROM experiment_runs r JOIN annotations a ON a.span_id = r.span_id AND a.trace_id = r.trace_id "
        "WHERE r.experiment_id = ? ORDER BY a.created_at, a.annotation_id", [experiment_id]
    )


def source_spans(reader: SqlSource, span_ids: Sequence[str]) -> pa.Table:
    """What production did for these spans: ``span_id``, ``trace_id``, ``output_value``,
    ``latency_ms`` and the token counts."""
    return reader.query(
        "SELECT span_id, trace_id, output_value, latency_ms, prompt_tokens, completion_tokens, total_tokens "
        "FROM spans WHERE span_id IN (SELECT unnest(?::VARCHAR[]))", [list(span_ids)]
    )
