"""The MCP server through the MCP SDK's own client, over both transports: stdio (`workbench mcp`)
and streamable HTTP (`/mcp` on a real server), with spans sent by the real OTel SDK's exporter."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp", reason="the MCP tests need the MCP SDK: pip install 'llm-trace-workbench[mcp]'")

from mcp import Client, StdioServerParameters

from tests.drift import scenario
from tests.helpers import run_async as _run
from tests.helpers import wait_for
from workbench.read import Reader

ROOT = Path(__file__).resolve().parents[2]
READ_TOOLS = {"overview", "find_traces", "get_trace", "get_span", "sql", "summary", "drift", "monitors"}


def _send_agent_traces(url: str, failing: bool = True) -> None:
    """Two agent traces through the real OTel SDK and OTLP exporter; the second one's tool fails."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import Status, StatusCode

    provider = TracerProvider(resource=Resource.create({"service.name": "mcp-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=url + "/v1/traces")))
    tracer = provider.get_tracer("t")
    for i in range(2):
        with tracer.start_as_current_span("agent", attributes={"openinference.span.kind": "AGENT",
                                                               "input.value": f"refund order {i}"}):
            with tracer.start_as_current_span("llm", attributes={
                    "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.provider": "openai",
                    "llm.token_count.prompt": 1000, "llm.token_count.completion": 100,
                    "output.value": "calling lookup"}):
                pass
            with tracer.start_as_current_span("lookup", attributes={"openinference.span.kind": "TOOL"}) as tool:
                if i == 1 and failing:
                    tool.set_status(Status(StatusCode.ERROR, "KeyError: 'order'"))
    provider.shutdown()


@pytest.fixture
def loaded(store):
    """The drift scenario (embeddings, corpus, feedback) in the store."""
    pytest.importorskip("sklearn", reason="drift needs scikit-learn: pip install 'llm-trace-workbench[drift]'")
    scenario.load(store, scenario.build())
    return store


def _text(result) -> str:
    assert result.content, result
    return result.content[0].text


def _json(result) -> dict:
    assert not result.is_error, _text(result)
    return json.loads(_text(result))


async def _exercise(client: Client, *, agent_trace: bool) -> dict:
    """List the tools and call each; return what was seen."""
    listed = await client.list_tools()
    tools = {t.name: t for t in listed.tools}
    assert set(tools) >= READ_TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 40  # each says what it does
    seen: dict = {"tools": set(tools)}
    overview = _json(await client.call_tool("overview", {}))
    assert overview["spans"] > 0 and "spans_cost" in overview["tables_for_sql"]
    seen["overview"] = overview
    found = _json(await client.call_tool("find_traces", {"filter": "status_code == 'ERROR'", "limit": 5}))
    seen["errors"] = found
    some = _json(await client.call_tool("find_traces", {"limit": 3}))
    assert some["count"] == 3 and some["more"] is True and "raise limit" in some["note"]
    trace_id = (found["traces"] or some["traces"])[0]["trace_id"]
    markdown = _text(await client.call_tool("get_trace", {"trace_id": trace_id, "max_chars": 3000}))
    assert markdown.startswith(f"# Trace `{trace_id}`") and len(markdown) <= 3000
    seen["markdown"] = markdown
    span_id = markdown.split("span `")[1].split("`")[0]
    span = _json(await client.call_tool("get_span", {"span_id": span_id}))
    assert span["span_id"] == span_id and span["trace_id"] == trace_id and isinstance(span["attributes"], dict)
    counted = _json(await client.call_tool("sql", {"query": "SELECT count(*) AS n FROM spans"}))
    assert counted["rows"][0]["n"] == overview["spans"]
    capped = _json(await client.call_tool("sql", {"query": "SELECT * FROM range(1000)", "max_rows": 5}))
    assert capped["row_count"] == 5 and capped["truncated"] and "5" in capped["note"]
    refused = await client.call_tool("sql", {"query": "COPY spans TO '/tmp/stolen.csv'"})
    assert refused.is_error and "COPY statements are refused" in _text(refused)
    missing = await client.call_tool("get_trace", {"trace_id": "f" * 32})
    assert missing.is_error and "check the id" in _text(missing)
    for tool, arguments, says in (
        ("sql", {"query": "SELECT 1", "max_rows": -1}, "max_rows must be 0 or more"),
        ("get_trace", {"trace_id": trace_id, "max_chars": 100}, "max_chars must be 500 or more"),
        ("get_trace", {"trace_id": trace_id, "text_chars": -1}, "text_chars must be 0 or more"),
    ):  # a bad bound is refused in one sentence, never quietly bent
        bent = await client.call_tool(tool, arguments)
        assert bent.is_error and says in _text(bent), (tool, arguments, _text(bent))
    # Arguments that do not fit the schema: one sentence that names each, not the validator's report.
    typed = await client.call_tool("find_traces", {"limit": "many", "descending": "sideways"})
    said = _text(typed)
    assert typed.is_error and said.startswith("The arguments of find_traces do not fit: "), said
    assert "limit: input should be a valid integer" in said and "(got 'many')" in said and "descending" in said
    assert "\n" not in said and "pydantic" not in said
    nothing = await client.call_tool("get_span", {})
    assert nothing.is_error and "span_id is required" in _text(nothing), _text(nothing)
    seen["summary"] = _json(await client.call_tool("summary", {"start": "3650d"}))
    tools_only = _json(await client.call_tool("summary", {"start": "3650d", "filter": "name == 'lookup'"}))
    assert tools_only["totals"]["spans"] == 2 and tools_only["totals"]["errors"] == 1
    assert tools_only["errors_by_span_name"][0]["example"] == "KeyError: 'order'"
    seen["monitors"] = _json(await client.call_tool("monitors", {"window": "3650d"}))
    return seen


def test_mcp_over_streamable_http_on_workbench_serve(server, loaded):
    _send_agent_traces(server.url)
    wait_for(lambda: Reader(loaded, owns_store=False).count("name == 'lookup'") == 2, timeout=30)

    async def go() -> dict:
        async with Client(server.url + "/mcp") as client:
            seen = await _exercise(client, agent_trace=True)
            drift = _json(await client.call_tool("drift", {
                "start": scenario.PRIMARY_FROM.isoformat(), "reference_start": scenario.START.isoformat(),
                "reference_end": scenario.PRIMARY_FROM.isoformat(), "projection": "pca"}))
            seen["drift"] = drift
            return seen

    seen = _run(go())
    assert "annotate" not in seen["tools"]  # writing only with the server's flag
    errors = seen["errors"]["traces"]
    assert len(errors) == 1 and errors[0]["error_count"] == 1 and errors[0]["name"] == "agent"
    assert "**ERROR**: KeyError: 'order'" in seen["markdown"] and "gpt-4o" in seen["markdown"]
    totals = seen["summary"]["totals"]
    assert totals["errors"] == 1 and totals["llm_calls"] == 2
    assert seen["summary"]["llm_by_model"][0]["model_name"] == "gpt-4o"
    assert seen["summary"]["llm_by_model"][0]["cost_usd"] == pytest.approx(2 * (1000 * 2.5 + 100 * 10) / 1e6)
    assert seen["summary"]["quality_by_annotation"][0]["name"] == "user_feedback"
    assert "fired" in seen["monitors"] and seen["monitors"]["watched"] >= 1
    drift = seen["drift"]
    top = drift["clusters"][0]
    assert top["rank"] == 1 and top["drift_ratio"] > 0.5 and "topic 5" in top["example"]  # the new topic
    assert any("topic 5" in (g["example"] or "") for g in drift["coverage_gaps"])


def test_the_http_endpoint_needs_the_servers_token(store):
    import httpx2

    from workbench.server import Server

    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0, token="s3cret").start()
    try:
        async def anonymous() -> None:
            async with Client(srv.url + "/mcp") as client:
                await client.list_tools()

        with pytest.raises(Exception):  # noqa: B017 - the SDK raises its own error for the 401
            _run(anonymous())

        async def with_token() -> set:
            from mcp.client.streamable_http import streamable_http_client

            http = httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret"})
            async with Client(streamable_http_client(srv.url + "/mcp", http_client=http)) as client:
                return {t.name for t in (await client.list_tools()).tools}

        assert _run(with_token()) >= READ_TOOLS
    finally:
        srv.stop()


def test_annotate_only_with_the_write_flag_over_http(store):
    from workbench.server import Server

    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0, mcp_write=True).start()
    try:
        _send_agent_traces(srv.url, failing=False)
        reader = Reader(store, owns_store=False)
        wait_for(lambda: reader.count() == 6, timeout=30)
        span_id = reader.spans("name == 'llm'", columns=["span_id"])["span_id"][0]

        async def go() -> dict:
            async with Client(srv.url + "/mcp") as client:
                assert "annotate" in {t.name for t in (await client.list_tools()).tools}
                bad = await client.call_tool("annotate", {"name": "correctness", "span_id": span_id})
                assert bad.is_error and "score, a label or both" in _text(bad)
                return _json(await client.call_tool("annotate", {"name": "correctness", "span_id": span_id,
                                                                 "score": 0.0, "label": "wrong"}))

        assert _run(go()) == {"added": 1}
        stored = reader.annotations("correctness")
        assert stored["span_id"].tolist() == [span_id] and stored["label"].tolist() == ["wrong"]
    finally:
        srv.stop()


def _stdio(db: Path, *extra: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "workbench", "mcp", "--db", str(db), *extra],
                                 env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=str(ROOT))


def test_mcp_over_stdio_with_workbench_mcp(loaded, server, db_path):
    _send_agent_traces(server.url)
    wait_for(lambda: Reader(loaded, owns_store=False).count("name == 'lookup'") == 2, timeout=30)
    server.stop()
    loaded.close()  # the file is free for `workbench mcp`

    async def go() -> dict:
        async with Client(_stdio(db_path)) as client:
            return await _exercise(client, agent_trace=True)

    seen = _run(go())
    assert "annotate" not in seen["tools"]
    assert seen["summary"]["totals"]["errors"] == 1

    async def write() -> tuple[set, dict]:
        async with Client(_stdio(db_path, "--write")) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            trace_id = _json(await client.call_tool("find_traces", {"limit": 1}))["traces"][0]["trace_id"]
            return names, _json(await client.call_tool("annotate", {"name": "helpful", "trace_id": trace_id,
                                                                   "score": 1}))

    names, added = _run(write())
    assert "annotate" in names and added == {"added": 1}
