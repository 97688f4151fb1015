"""Big data for the scale benchmarks, made straight inside DuckDB (no OTLP, no Python rows).

* :func:`fill_store`: ``n`` spans of ten-span support traces spread over 30 days, generated
  by one ``INSERT ... SELECT FROM range(n)`` on the store's writer (10 million in about a
  minute here), in time order as ingest would leave them.
* :func:`add_agent_trace`: one agent trace of about 30,000 spans (sub-agents, each a hundred
  steps of plan, tool, retrieval, parse and reflect), as Arrow rows.

Used by ``bench_scale.py``; kept out of the tests (the big store lives under /tmp).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from workbench.store import Store
from workbench.store.schema import TABLES
from workbench.store.writer import Append

# Position in a trace -> (parent position, name, kind, start offset ms, duration ms).
SHAPE = [
    (-1, "support_chat", "CHAIN", 0, 1600),
    (0, "embed_question", "EMBEDDING", 5, 60),
    (0, "search_knowledge_base", "RETRIEVER", 70, 150),
    (0, "plan", "LLM", 230, 400),
    (0, "lookup_invoice", "TOOL", 640, 200),
    (4, "http_get", "TOOL", 650, 120),
    (4, "parse_invoice", "CHAIN", 780, 40),
    (0, "answer", "LLM", 850, 700),
    (7, "guardrail", "GUARDRAIL", 1480, 50),
    (0, "log_feedback", "CHAIN", 1560, 20),
]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "gemini-1.5-pro"]
QUESTIONS = [
    "How do I get a refund for a double charge?", "Why was my card declined?",
    "Can I change the billing email?", "How do I download an invoice?", "Where is my order?",
    "Cancel my subscription please", "The app crashes when I upload a photo",
    "Do you ship to Norway?", "I was charged twice for the same month", "How do I reset my password?",
]
DAYS = 30


def _list(values: list[Any]) -> str:
    return "[" + ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values) + "]"


def fill_sql(n: int, now_us: int) -> str:
    """The ``INSERT`` that makes ``n`` spans (``n / 10`` traces) ending at ``now_us``."""
    k = len(SHAPE)
    traces = max(1, n // k)
    step = DAYS * 86_400_000_000 // traces
    start0 = now_us - DAYS * 86_400_000_000
    parents = _list([max(p, 0) for p, *_ in SHAPE])
    names, kinds = _list([s[1] for s in SHAPE]), _list([s[2] for s in SHAPE])
    offsets, durations = _list([s[3] * 1000 for s in SHAPE]), _list([s[4] * 1000 for s in SHAPE])
    return f"""
    INSERT INTO spans BY NAME
    WITH b AS (
        SELECT i, (i // {k})::BIGINT AS t, (i % {k})::BIGINT AS pos, (hash(i) >> 1)::BIGINT AS h, (hash(i // {k}) >> 1)::BIGINT AS ht FROM range({traces * k}) r(i)
    ), c AS (
        SELECT *, {start0} + t * {step} + (ht % {max(step, 1)})::BIGINT AS t0,
               {kinds}[pos + 1] AS kind,
               ({durations}[pos + 1] * (0.6 + (h % 1000) / 1000.0 * 0.9)
                   * CASE WHEN pos = 7 AND ht % 33 = 0 THEN 10 ELSE 1 END)::BIGINT AS d0
        FROM b
    ), d AS (
        SELECT *, CASE WHEN pos = 0 THEN 900000 + 850000 + 7000000 * (ht % 33 = 0)::INT + (h % 400000)::BIGINT
                       ELSE d0 END AS dur,
               t0 + {offsets}[pos + 1] AS st
        FROM c
    )
    SELECT md5('t' || t) AS trace_id,
           substr(md5('s' || i), 1, 16) AS span_id,
           CASE WHEN pos = 0 THEN NULL ELSE substr(md5('s' || (t * {k} + {parents}[pos + 1])), 1, 16) END AS parent_span_id,
           {names}[pos + 1] AS name, kind AS span_kind, 'INTERNAL' AS otel_kind,
           make_timestamp(st)::TIMESTAMPTZ AS start_time, make_timestamp(st + dur)::TIMESTAMPTZ AS end_time,
           dur / 1000.0 AS latency_ms,
           CASE WHEN pos = 4 AND h % 25 = 0 THEN 'ERROR' ELSE 'OK' END AS status_code,
           CASE WHEN pos = 4 AND h % 25 = 0 THEN 'timeout' ELSE '' END AS status_message,
           CASE WHEN ht % 5 = 0 THEN 'billing-agent' ELSE 'support-bot' END AS project,
           CASE WHEN kind = 'LLM' THEN {_list(MODELS)}[(h % {len(MODELS)}) + 1] END AS model_name,
           CASE WHEN kind = 'LLM' THEN 'openai' END AS provider,
           CASE WHEN pos = 0 OR kind = 'LLM'
                THEN {_list(QUESTIONS)}[(ht % {len(QUESTIONS)}) + 1] || ' (order ' || t || ')' END AS input_value,
           CASE WHEN pos = 0 THEN 'Refunds take 5-10 business days. Ticket ' || t END AS output_value,
           CASE WHEN kind = 'LLM' THEN 300 + (h % 1200)::BIGINT END AS prompt_tokens,
           CASE WHEN kind = 'LLM' THEN 20 + (h % 380)::BIGINT END AS completion_tokens,
           CASE WHEN kind = 'LLM' THEN 320 + (h % 1200)::BIGINT + (h % 380)::BIGINT END AS total_tokens,
           CASE WHEN kind = 'LLM' THEN dur / 4000.0 END AS time_to_first_token_ms,
           CASE WHEN pos = 0 THEN 'sess-' || (ht % {max(traces // 3, 1)}) END AS session_id,
           CASE WHEN pos = 0 THEN 'user-' || (ht % 5000) END AS user_id,
           '{{"openinference.span.kind": "' || kind || '", "step": ' || pos || ', "trace_no": ' || t || '}}' AS attributes,
           '{{"service.name": "support-bot"}}' AS resource, '[]' AS events, '[]' AS links,
           'bench' AS scope_name, ['openinference'] AS conventions
    FROM d
    """


def fill_store(store: Store, n: int, *, now: dt.datetime | None = None) -> int:
    """Add about ``n`` spans of ten-span traces over the last 30 days; return how many."""
    now = now or dt.datetime.now(dt.timezone.utc)
    now_us = int(now.timestamp() * 1e6)
    store.execute_write(lambda cur: cur.execute(fill_sql(n, now_us)).fetchall(), timeout=None)
    return n // len(SHAPE) * len(SHAPE)


def agent_trace(sub_agents: int = 30, steps: int = 100, *, seed: int = 7,
                now: dt.datetime | None = None) -> tuple[str, pa.Table]:
    """One agent trace: a root agent, ``sub_agents`` sub-agents of ``steps`` steps of ten spans.

    30 x 100 x 10 + 31 = 30,031 spans over about two hours.
    """
    rng = np.random.default_rng(seed)
    now = now or dt.datetime.now(dt.timezone.utc)
    trace_id = f"{int(rng.integers(1, 2**62)):016x}{int(rng.integers(1, 2**62)):016x}"
    t0 = int((now - dt.timedelta(hours=3)).timestamp() * 1e6)
    rows: dict[str, list[Any]] = {k: [] for k in (
        "span_id", "parent_span_id", "name", "span_kind", "start_time", "end_time", "status_code", "model_name",
        "input_value", "output_value", "prompt_tokens", "completion_tokens", "total_tokens", "tool_name")}
    ids = iter(f"{v:016x}" for v in rng.integers(1, 2**63 - 1, 40 * sub_agents * steps + 64))

    def add(parent: str | None, name: str, kind: str, start: int, end: int, *, error: bool = False,
            model: str | None = None, tool: str | None = None, text: str | None = None) -> str:
        span_id = next(ids)
        rows["span_id"].append(span_id)
        rows["parent_span_id"].append(parent)
        rows["name"].append(name)
        rows["span_kind"].append(kind)
        rows["start_time"].append(start)
        rows["end_time"].append(end)
        rows["status_code"].append("ERROR" if error else "OK")
        rows["model_name"].append(model)
        rows["tool_name"].append(tool)
        rows["input_value"].append(text)
        rows["output_value"].append(None if text is None else f"done: {name}")
        llm = kind == "LLM"
        rows["prompt_tokens"].append(int(rng.integers(500, 4000)) if llm else None)
        rows["completion_tokens"].append(int(rng.integers(20, 400)) if llm else None)
        rows["total_tokens"].append(rows["prompt_tokens"][-1] + rows["completion_tokens"][-1] if llm else None)
        return span_id

    step_us = 2_000_000
    total = sub_agents * steps * step_us + 1_000_000
    root = add(None, "research_agent", "AGENT", t0, t0 + total, text="Write a market report on solar inverters")
    at = t0 + 500_000
    for a in range(sub_agents):
        agent = add(root, f"sub_agent_{a}", "AGENT", at, at + steps * step_us - 1000, text=f"section {a}")
        for s in range(steps):
            s0 = at + s * step_us
            step = add(agent, f"step_{s}", "CHAIN", s0, s0 + step_us - 5000)
            add(step, "plan", "LLM", s0 + 1000, s0 + 400_000, model="gpt-4o", text=f"plan step {s} of section {a}")
            tool = add(step, "web_search", "TOOL", s0 + 401_000, s0 + 1_000_000, tool="web_search",
                       error=bool(rng.random() < 0.01))
            add(tool, "http_get", "TOOL", s0 + 402_000, s0 + 900_000, tool="http_get")
            add(tool, "parse_page", "CHAIN", s0 + 901_000, s0 + 990_000)
            retr = add(step, "search_notes", "RETRIEVER", s0 + 1_001_000, s0 + 1_200_000)
            add(retr, "embed_query", "EMBEDDING", s0 + 1_002_000, s0 + 1_050_000, model="text-embedding-3-small")
            add(step, "reflect", "LLM", s0 + 1_201_000, s0 + 1_800_000, model="gpt-4o-mini",
                text=f"reflect on step {s}")
            add(step, "guardrail", "GUARDRAIL", s0 + 1_801_000, s0 + 1_850_000)
            add(step, "save_note", "TOOL", s0 + 1_851_000, s0 + 1_990_000, tool="save_note")
        at += steps * step_us
    n = len(rows["span_id"])
    starts, ends = np.array(rows["start_time"]), np.array(rows["end_time"])
    columns: dict[str, Any] = {
        **rows,
        "trace_id": [trace_id] * n, "otel_kind": ["INTERNAL"] * n,
        "latency_ms": ((ends - starts) / 1000.0).tolist(), "status_message": [""] * n,
        "project": ["research"] * n, "attributes": ['{"agent": "research"}'] * n, "resource": ["{}"] * n,
        "events": ["[]"] * n, "links": ["[]"] * n,
    }
    schema = TABLES["spans"].arrow_schema
    arrays = []
    for field in schema:
        values = columns.get(field.name)
        if values is None:
            arrays.append(pa.nulls(n, field.type))
        elif pa.types.is_timestamp(field.type):
            arrays.append(pa.array(values, pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(values, field.type))
    return trace_id, pa.Table.from_arrays(arrays, schema=schema)


def add_agent_trace(store: Store, **kwargs: Any) -> tuple[str, int]:
    """Store one agent trace of about 30,000 spans; return its id and span count."""
    trace_id, table = agent_trace(**kwargs)
    store.execute_write(Append("spans", table), timeout=None)
    return trace_id, table.num_rows
