"""Quality questions in SQL: annotations with what they are about, names, traces' groups.

:mod:`workbench.analysis.quality` aggregates these answers with pandas; see it for what each
column means (``time`` is when the annotated thing happened, ``model`` and ``prompt_version``
the annotated span's own else its trace's last LLM call's, ``feature`` the root's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from workbench.read.selection import Selection
from workbench.read.source import SqlSource
from workbench.read.spend import feature_sql

__all__ = ["annotation_facts", "annotation_names", "annotations_of_traces", "trace_groups"]


def _scope(selection: Selection) -> tuple[str, list[Any]]:
    """SQL (over column ``tid``) keeping traces in scope, and its parameters."""
    if selection.everything:
        return "TRUE", []
    where = selection.where("m")
    return f"tid IN (SELECT m.trace_id FROM spans m WHERE {where.sql})", list(where.params)


def annotation_facts(
    reader: SqlSource, selection: Selection, *, names: str | Sequence[str] | None, feature_key: str | None
) -> pa.Table:
    """One row per annotation (of ``names``, default all) whose trace ``selection`` keeps, with
    its ``time``, ``project``, ``model``, ``prompt_version`` and ``feature``, by time."""
    where_names, params = "TRUE", []
    if names:
        chosen = [names] if isinstance(names, str) else list(names)
        where_names = "a.name IN (SELECT unnest(?::VARCHAR[]))"
        params.append(chosen)
    scope, scope_params = _scope(selection)
    feature = feature_sql("s", feature_key)
    sql = f"""
        WITH a AS (SELECT * FROM annotations a WHERE {where_names}),
        sp AS (
            SELECT s.span_id, s.trace_id, s.start_time, s.model_name, s.prompt_template_version
            FROM spans s WHERE s.span_id IN (SELECT span_id FROM a WHERE span_id IS NOT NULL)
        ),
        ss AS (
            SELECT s.session_id, arg_min(s.trace_id, s.start_time) AS trace_id
            FROM spans s WHERE s.session_id IN (SELECT session_id FROM a WHERE target = 'session')
            GROUP BY s.session_id
        ),
        ax AS (
            SELECT a.*, coalesce(a.trace_id, sp.trace_id, ss.trace_id) AS tid, sp.start_time AS span_start,
                   sp.model_name AS span_model, sp.prompt_template_version AS span_version
            FROM a LEFT JOIN sp ON a.span_id = sp.span_id
                   LEFT JOIN ss ON a.target = 'session' AND a.session_id = ss.session_id
        ),
        t AS (
            SELECT s.trace_id,
                   min(s.start_time) AS trace_start,
                   arg_max(s.model_name, s.start_time)
                       FILTER (WHERE s.span_kind = 'LLM' AND s.model_name IS NOT NULL) AS model,
                   arg_max(s.prompt_template_version, s.start_time)
                       FILTER (WHERE s.prompt_template_version IS NOT NULL) AS version,
                   any_value(s.project) AS project,
                   any_value(coalesce({feature}, s.name)) FILTER (WHERE s.parent_span_id IS NULL) AS feature
            FROM spans s WHERE s.trace_id IN (SELECT tid FROM ax) GROUP BY s.trace_id
        )
        SELECT ax.annotation_id, ax.name, ax.target, ax.tid AS trace_id, ax.span_id, ax.document_position,
               ax.session_id, ax.score, ax.label, ax.explanation, ax.annotator_kind, ax.annotator, ax.created_at,
               coalesce(CASE WHEN ax.target IN ('span', 'document') THEN ax.span_start END, t.trace_start) AS time,
               t.project, coalesce(ax.span_model, t.model) AS model,
               coalesce(ax.span_version, t.version) AS prompt_version, t.feature
        FROM ax LEFT JOIN t ON ax.tid = t.trace_id
        WHERE {scope}
        ORDER BY time, ax.annotation_id
    """
    return reader.query(sql, params + scope_params)


def annotation_names(reader: SqlSource) -> pa.Table:
    """Every annotation name with its count, targets, annotator kinds, scores and last time."""
    return reader.query(
        """SELECT name, count(*) AS count, list_sort(list_distinct(list(target))) AS targets,
                  list_sort(list_distinct(list(annotator_kind) FILTER (WHERE annotator_kind IS NOT NULL))) AS kinds,
                  count(score) AS scored, avg(score) AS mean_score, max(created_at) AS last_created
           FROM annotations GROUP BY name ORDER BY count(*) DESC, name"""
    )


def trace_groups(reader: SqlSource, selection: Selection, *, feature_key: str | None) -> pa.Table:
    """Each trace ``selection`` keeps (by its root): ``trace_id``, ``project``, ``feature``,
    ``model`` and ``prompt_version`` (of its last LLM call)."""
    root_where = selection.trace_where("r", "m")
    root_where.add("r.parent_span_id IS NULL")
    feature = feature_sql("r", feature_key)
    return reader.query(
        f"""WITH roots AS (SELECT r.trace_id, r.project, coalesce({feature}, r.name) AS feature
                           FROM spans r WHERE {root_where.sql}),
                 calls AS (SELECT s.trace_id,
                                  arg_max(s.model_name, s.start_time)
                                      FILTER (WHERE s.span_kind = 'LLM' AND s.model_name IS NOT NULL) AS model,
                                  arg_max(s.prompt_template_version, s.start_time)
                                      FILTER (WHERE s.prompt_template_version IS NOT NULL) AS prompt_version
                           FROM spans s WHERE s.trace_id IN (SELECT trace_id FROM roots) GROUP BY s.trace_id)
            SELECT roots.*, calls.model, calls.prompt_version FROM roots LEFT JOIN calls USING (trace_id)""",
        root_where.params,
    )


def annotations_of_traces(reader: SqlSource, trace_ids: Sequence[str]) -> pa.Table:
    """Every annotation about the traces (on them, their spans and documents): ``trace_id``,
    ``name``, ``score``, ``label``, ``created_at``."""
    return reader.query(
        """SELECT coalesce(a.trace_id, s.trace_id) AS trace_id, a.name, a.score, a.label, a.created_at
           FROM annotations a LEFT JOIN spans s ON a.trace_id IS NULL AND a.span_id = s.span_id
           WHERE coalesce(a.trace_id, s.trace_id) IN (SELECT unnest(?::VARCHAR[]))""",
        [list(trace_ids)],
    )
