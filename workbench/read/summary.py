"""A time range summed up for an agent: totals, then the top groups of cost, latency, errors
and quality. Every query goes through the reader's checked SQL door, so the same text answers
on a file and over a server."""

from __future__ import annotations

from typing import Any

from workbench.read.selection import Selection

__all__ = ["summary_rows"]


def summary_rows(reader: Any, selection: Selection) -> dict[str, list[dict[str, Any]]]:
    """``totals`` (one row), ``llm_by_model``, ``slowest_span_names``, ``errors_by_span_name`` and
    ``quality_by_annotation`` over the spans ``selection`` chooses."""
    selected = selection.where("s")
    where, params = selected.sql, list(selected.params)

    def rows(sql: str) -> list[dict[str, Any]]:
        return list(reader.sql(sql, params, arrow=True).to_pylist())

    return {
        "totals": rows(
            "SELECT count(*) AS spans, count(DISTINCT trace_id) AS traces, "
            "count(*) FILTER (WHERE status_code = 'ERROR') AS errors, "
            "count(*) FILTER (WHERE span_kind = 'LLM') AS llm_calls, sum(total_tokens) AS tokens, "
            "sum(cost) AS cost_usd, count(*) FILTER (WHERE span_kind = 'LLM' AND cost IS NULL) AS unpriced_calls "
            f"FROM spans_cost s WHERE {where}"),
        "llm_by_model": rows(
            "SELECT model_name, count(*) AS calls, sum(cost) AS cost_usd, sum(total_tokens) AS tokens, "
            "quantile_cont(latency_ms, 0.5) AS p50_ms, quantile_cont(latency_ms, 0.95) AS p95_ms, "
            "count(*) FILTER (WHERE status_code = 'ERROR') AS errors FROM spans_cost s "
            f"WHERE {where} AND span_kind = 'LLM' GROUP BY 1 ORDER BY cost_usd DESC NULLS LAST, calls DESC LIMIT 15"),
        "slowest_span_names": rows(
            "SELECT name, span_kind, count(*) AS spans, quantile_cont(latency_ms, 0.5) AS p50_ms, "
            "quantile_cont(latency_ms, 0.95) AS p95_ms, max(latency_ms) AS max_ms FROM spans s "
            f"WHERE {where} GROUP BY 1, 2 ORDER BY p95_ms DESC LIMIT 10"),
        "errors_by_span_name": rows(
            "SELECT name, span_kind, count(*) AS errors, any_value(left(status_message, 200)) AS example "
            f"FROM spans s WHERE {where} AND status_code = 'ERROR' GROUP BY 1, 2 ORDER BY errors DESC LIMIT 10"),
        "quality_by_annotation": rows(
            "SELECT a.name, count(*) AS annotations, avg(a.score) AS mean_score, mode(a.label) AS most_common_label "
            f"FROM annotations a WHERE a.trace_id IN (SELECT s.trace_id FROM spans s WHERE {where}) "
            "GROUP BY 1 ORDER BY annotations DESC LIMIT 15"),
    }
