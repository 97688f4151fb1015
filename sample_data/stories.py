"""The numbers behind the sample's five stories, measured from a store that holds it.

Each query reads only what a user of workbench can see: spans, documents and annotations.
The generator writes the results into ``manifest.json``; the tests check the same facts
from the loaded sample.
"""

from __future__ import annotations

from typing import Any

from .scenario import Timeline

__all__ = ["NEW_TOPIC_PATTERN", "measure"]

#: How the new topic's questions are found in the data: by the feature's name.
NEW_TOPIC_PATTERN = r"(?i)copilot|\bai\b"


def _iso(t: Any) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def measure(store: Any) -> dict[str, Any]:
    """Measure each story in ``store`` (a :class:`workbench.Store` holding the sample)."""
    q = store.fetchall
    new_from = Timeline.new_topic_from.isoformat()

    # 1. Drift: the nearest corpus document's cosine (retrieved position 0) and feedback.
    drift = q(
        f"""
        WITH r AS (
            SELECT s.trace_id, regexp_matches(s.input_value, '{NEW_TOPIC_PATTERN}') AS new_topic,
                   s.start_time >= TIMESTAMPTZ '{new_from}' AS late, d.score
            FROM spans s JOIN documents d ON d.span_id = s.span_id AND d.trace_id = s.trace_id AND d.position = 0
            WHERE s.span_kind = 'RETRIEVER'),
        f AS (SELECT trace_id, avg(score) AS up FROM annotations WHERE name = 'user_feedback' GROUP BY trace_id)
        SELECT late, new_topic, count(*), avg(r.score), avg(f.up), count(f.up)
        FROM r LEFT JOIN f USING (trace_id) GROUP BY ALL ORDER BY ALL
        """
    )
    # 2. Cost: the ticket-draft feature's prompt tokens per call, before and after its v4.
    cost = q(
        """
        SELECT prompt_template_version, count(*), avg(prompt_tokens), sum(prompt_tokens), avg(completion_tokens)
        FROM spans WHERE span_kind = 'LLM' AND json_extract_string(attributes, '$.feature') = 'ticket_draft'
        GROUP BY ALL ORDER BY ALL
        """
    )
    # 3. Deprecation: the old snapshot's calls, errors and last call; the new one's first.
    old, new = Timeline.old_chat_model, Timeline.new_chat_model
    deprecation = q(
        f"""
        SELECT count(*), count(*) FILTER (WHERE status_code = 'ERROR'),
               count(*) FILTER (WHERE status_message LIKE '%model_not_found%'),
               min(start_time) FILTER (WHERE status_code = 'ERROR'), max(start_time),
               (SELECT min(start_time) FROM spans WHERE model_name = '{new}')
        FROM spans WHERE span_kind = 'LLM' AND model_name = '{old}'
        """
    )[0]
    # 4. Latency: LLM latency and time to first token by provider; tool latency by tool.
    latency = q(
        """
        SELECT provider, count(*), quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.95),
               quantile_cont(latency_ms, 0.99), quantile_cont(time_to_first_token_ms, 0.5),
               quantile_cont(time_to_first_token_ms, 0.99)
        FROM spans WHERE span_kind = 'LLM' AND status_code <> 'ERROR' GROUP BY ALL ORDER BY ALL
        """
    )
    tool_latency = q(
        """
        SELECT tool_name, count(*), quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.99),
               count(*) FILTER (WHERE status_code = 'ERROR')
        FROM spans WHERE span_kind = 'TOOL' GROUP BY ALL ORDER BY ALL
        """
    )
    # 5. Prompt versions: thumbs-up rate of the support answer prompt, documented questions only.
    prompt = q(
        f"""
        WITH v AS (
            SELECT DISTINCT trace_id, prompt_template_version AS version FROM spans
            WHERE span_kind = 'LLM' AND prompt_template_version IN ('v1', 'v2')),
        root AS (SELECT trace_id FROM spans WHERE parent_span_id IS NULL
                 AND NOT regexp_matches(input_value, '{NEW_TOPIC_PATTERN}'))
        SELECT version, count(*), avg(a.score)
        FROM annotations a JOIN v USING (trace_id) JOIN root USING (trace_id)
        WHERE a.name = 'user_feedback' GROUP BY ALL ORDER BY ALL
        """
    )
    return {
        "retrieval_drift": [
            {
                "last_week": late,
                "new_topic": new_topic,
                "retrievals": n,
                "mean_top_score": round(score, 4),
                "thumbs_up_rate": None if up is None else round(up, 3),
                "feedback": nf,
            }
            for late, new_topic, n, score, up, nf in drift
        ],
        "cost_explosion": [
            {
                "prompt_version": v,
                "calls": n,
                "mean_prompt_tokens": round(mean),
                "prompt_tokens": int(total),
                "mean_completion_tokens": round(comp),
            }
            for v, n, mean, total, comp in cost
        ],
        "model_deprecation": {
            "model": old,
            "calls": deprecation[0],
            "errors": deprecation[1],
            "model_not_found": deprecation[2],
            "first_error": _iso(deprecation[3]),
            "last_call": _iso(deprecation[4]),
            "replacement": new,
            "replacement_first_call": _iso(deprecation[5]),
        },
        "latency": {
            "llm_by_provider": [
                {
                    "provider": p,
                    "calls": n,
                    "p50_ms": round(p50),
                    "p95_ms": round(p95),
                    "p99_ms": round(p99),
                    "ttft_p50_ms": round(t50),
                    "ttft_p99_ms": round(t99),
                }
                for p, n, p50, p95, p99, t50, t99 in latency
            ],
            "tools": [
                {"tool": t, "calls": n, "p50_ms": round(p50), "p99_ms": round(p99), "errors": e}
                for t, n, p50, p99, e in tool_latency
            ],
        },
        "prompt_version": [{"version": v, "feedback": n, "thumbs_up_rate": round(up, 3)} for v, n, up in prompt],
    }
