#!/usr/bin/env python3
"""Agents and SQL benchmark: the SQL door and the MCP tools on a million spans.

Builds a store of ``--spans`` spans straight from Arrow (bench_cost's generator: a quarter
trace roots, the rest LLM calls to eight models over 30 days) plus one agent trace of
``--trace-spans`` spans, then measures:

* cost by model and day through ``wb.sql`` over ``spans_cost`` (priced at query time), on the
  file, and through ``POST /api/sql`` of a real server on 127.0.0.1 (``RemoteReader.sql``);
* the same figure through the analyses' own SQL door (``reader.query``), for comparison;
* the 500-span trace as Markdown through the MCP ``get_trace`` tool, with the SDK's client over
  streamable HTTP (``/mcp``), and the tool's function alone;
* the safety checks per query: parsing and walking a new query text, the same text again
  (remembered), and ``wb.sql("SELECT 1")`` against ``reader.query("SELECT 1")``.

Each figure is the median of ``--runs`` warm runs (the cold first run apart), with the load.

    python benchmarks/bench_agents.py [--spans 1000000] [--trace-spans 500] [--runs 7]

It prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cost import make_spans

from workbench.mcp import tools
from workbench.query import Reader
from workbench.remote import RemoteReader
from workbench.server import Server
from workbench.store import Store
from workbench.store.sqlsafe import check_sql

COST_BY_MODEL_AND_DAY = (
    "SELECT model_name, date_trunc('day', start_time) AS day, count(*) AS calls, sum(cost) AS usd "
    "FROM spans_cost WHERE span_kind = 'LLM' GROUP BY ALL ORDER BY day, usd DESC"
)


def big_trace(count: int) -> pa.Table:
    """One trace of ``count`` spans: a root and LLM calls under it, with texts to write out."""
    table = make_spans(count, seed=9)
    trace = pa.array(["7" * 32] * count)
    root = table.column("span_id")[0].as_py()
    parents = pa.array([None] + [root] * (count - 1), pa.string())
    table = table.set_column(table.schema.get_field_index("trace_id"), "trace_id", trace)
    table = table.set_column(table.schema.get_field_index("parent_span_id"), "parent_span_id", parents)
    start = table.column("start_time")
    first = pc.min(start)
    offsets = pa.array([i * 1000 for i in range(count)], pa.int64())
    starts = pc.add(pa.array([first.as_py()] * count, start.type), pa.array(offsets.cast(pa.duration("us"))))
    table = table.set_column(table.schema.get_field_index("start_time"), "start_time", starts)
    text = pa.array([f"step {i}: " + "what the user asked, and context " * 20 for i in range(count)])
    return table.set_column(table.schema.get_field_index("input_value"), "input_value", text)


def timed(func: Callable[[], Any], runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs + 1):
        began = time.perf_counter()
        func()
        times.append((time.perf_counter() - began) * 1000)
    return {"cold_ms": round(times[0], 2), "median_ms": round(statistics.median(times[1:]), 2),
            "best_ms": round(min(times[1:]), 2)}


def mcp_over_http(url: str, trace_id: str, runs: int) -> dict[str, float]:
    from mcp import Client

    async def go() -> dict[str, float]:
        async with Client(url + "/mcp") as client:
            times = []
            for _ in range(runs + 1):
                began = time.perf_counter()
                result = await client.call_tool("get_trace", {"trace_id": trace_id, "max_chars": 100_000})
                times.append((time.perf_counter() - began) * 1000)
                assert not result.is_error, result
            return {"cold_ms": round(times[0], 2), "median_ms": round(statistics.median(times[1:]), 2),
                    "chars": len(result.content[0].text)}

    return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--trace-spans", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    out: dict[str, Any] = {"benchmark": "SQL door and MCP tools", "spans": args.spans + args.trace_spans}

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "agents.duckdb"
        store = Store(path)
        began = time.perf_counter()
        store.writer.submit_rows("spans", make_spans(args.spans)).result(900)
        store.writer.submit_rows("spans", big_trace(args.trace_spans)).result(900)
        out["write_s"] = round(time.perf_counter() - began, 1)
        reader = Reader(store, owns_store=False)

        frame = reader.sql(COST_BY_MODEL_AND_DAY)
        out["cost_rows"] = len(frame)
        out["wb_sql_cost_by_model_and_day"] = timed(lambda: reader.sql(COST_BY_MODEL_AND_DAY), args.runs)
        from workbench.analysis.cost import cost_by

        out["analysis_cost_by_model_and_day"] = timed(lambda: cost_by(reader, by="model", every="day"), args.runs)

        server = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
        try:
            remote = RemoteReader(server.url)
            assert len(remote.sql(COST_BY_MODEL_AND_DAY)) == len(frame)
            out["api_sql_cost_by_model_and_day"] = timed(lambda: remote.sql(COST_BY_MODEL_AND_DAY), args.runs)
            trace_id = "7" * 32
            out["mcp_get_trace_500_spans_http"] = mcp_over_http(server.url, trace_id, args.runs)
        finally:
            server.stop()
        out["get_trace_function_alone"] = timed(lambda: tools.get_trace(reader, trace_id, 100_000), args.runs)

        texts = iter(f"SELECT model_name, count(*) FROM spans WHERE latency_ms > {i} GROUP BY 1" for i in range(10**6))
        out["check_new_query_text"] = timed(lambda: check_sql(next(texts), ("spans",)), 200)
        out["check_same_text_again"] = timed(lambda: check_sql(COST_BY_MODEL_AND_DAY, ("spans", "spans_cost")), 200)
        out["wb_sql_select_1"] = timed(lambda: reader.sql("SELECT 1"), 200)
        out["reader_query_select_1"] = timed(lambda: reader.query("SELECT 1"), 200)
        store.close()

    out["load_average"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
