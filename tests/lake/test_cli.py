"""The command line over a lake: compact, retain, files, and serve --from-lake (read-only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import make_span, otlp_body, wait_for
from workbench.cli import main
from workbench.lake.publish import Publisher
from workbench.store import Store

from .test_s3 import _port

ROOT = Path(__file__).resolve().parents[2]
DAY_MS = 24 * 3600 * 1000


def _lake(tmp_path) -> str:
    lake = str(tmp_path / "lake")
    with Store(tmp_path / "a.duckdb") as store:
        publisher = Publisher(store, lake)
        for p in range(2):
            store.write([make_span(i, trace=p * 10 + i, start_ms=i * DAY_MS) for i in range(3)])
            publisher.publish()
    return lake


def test_lake_commands_compact_retain_and_list_files(tmp_path):
    lake = _lake(tmp_path)
    runner = CliRunner()
    def files() -> list[str]:  # the listing is stdout: one file per line
        listed = runner.invoke(main, ["lake", "files", lake])
        assert listed.exit_code == 0, listed.output
        return listed.stdout.split()

    assert len(files()) == 6, files()
    compacted = runner.invoke(main, ["lake", "compact", lake, "--grace-s", "0"])
    assert compacted.exit_code == 0, compacted.output
    assert "Compacted 3 partitions (6 files into 3)" in compacted.output
    assert len(files()) == 3, files()
    retained = runner.invoke(main, ["lake", "retain", lake, "--days", "0", "--grace-s", "0"])
    assert retained.exit_code == 0 and "Partitions before" in retained.output, retained.output
    assert files() == []


def test_a_lake_that_is_no_lake_is_one_line_of_error(tmp_path):
    result = CliRunner().invoke(main, ["lake", "files", "ftp://host/lake"])
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: The lake 'ftp://host/lake' is neither a folder nor s3://bucket/prefix; "
                                     "give one of those.")


def test_serve_from_a_lake_answers_reads_and_refuses_spans(tmp_path):
    lake = _lake(tmp_path)
    port = _port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--from-lake", lake, "--port", str(port),
                             "--no-app"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        def spans() -> list | None:
            try:
                with urllib.request.urlopen(f"{base}/api/spans?format=json&limit=100", timeout=5) as response:
                    return json.loads(response.read())
            except OSError:
                return None

        body = wait_for(spans, timeout=120, interval=0.3)
        rows = body["rows"] if isinstance(body, dict) and "rows" in body else body
        assert len(rows) == 6
        request = urllib.request.Request(f"{base}/v1/traces", data=otlp_body(lambda t: t.start_span("x").end()),
                                         headers={"Content-Type": "application/x-protobuf"}, method="POST")
        try:
            urllib.request.urlopen(request, timeout=10)
            raise AssertionError("a read-only server took spans")
        except urllib.error.HTTPError as exc:
            assert exc.code == 405
            assert "only reads the lake" in json.loads(exc.read())["error"]
    finally:
        proc.terminate()
        proc.wait(60)


def test_sql_and_traces_read_a_lake_from_the_command_line(tmp_path):
    lake = _lake(tmp_path)
    runner = CliRunner()
    counted = runner.invoke(main, ["sql", "SELECT count(*) AS n FROM spans", "--lake", lake, "--format", "json"])
    assert counted.exit_code == 0, counted.output
    assert json.loads(counted.output)["rows"] == [{"n": 6}]
    listed = runner.invoke(main, ["traces", "--lake", lake, "--json"])
    assert listed.exit_code == 0, listed.output
    trace_ids = [t["trace_id"] for t in json.loads(listed.output)]
    assert len(trace_ids) == 6
    shown = runner.invoke(main, ["trace", trace_ids[0], "--lake", lake, "--md"])
    assert shown.exit_code == 0 and trace_ids[0] in shown.output


def test_a_folder_that_holds_no_lake_is_an_error_and_is_left_alone(tmp_path):
    runner = CliRunner()
    empty = tmp_path / "empty"
    empty.mkdir()
    for where in (str(tmp_path / "typo"), str(empty)):
        for args in (["lake", "files", where], ["lake", "compact", where], ["lake", "retain", where, "--days", "3"],
                     ["traces", "--lake", where], ["sql", "SELECT count(*) FROM spans", "--lake", where]):
            result = runner.invoke(main, args)
            assert result.exit_code == 1, (args, result.output)
            assert result.output.startswith(f"Error: There is no lake at {where}: nothing was ever published"), args
            assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "typo").exists() and list(empty.iterdir()) == []  # no lake started by a typo
    import workbench
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError, match="is a folder, neither a DuckDB file nor a lake"):
        workbench.open(empty)
    lake = _lake(tmp_path)
    assert len(runner.invoke(main, ["lake", "files", lake]).output.split()) == 6
    assert runner.invoke(main, ["traces", "--lake", lake, "--json"]).exit_code == 0


def test_a_server_over_a_lake_refuses_writes_with_a_4xx_and_offers_only_what_it_serves(tmp_path):
    import requests

    from workbench.read.lake import LakeReader
    from workbench.server import Server
    from workbench.server.run import banner

    lake = _lake(tmp_path)
    with Store(":memory:") as store:
        srv = Server(store, reader=LakeReader(lake), host="127.0.0.1", port=0, app=False, decode_workers=0).start()
        try:
            posted = requests.post(f"{srv.url}/api/annotations", json={"name": "x", "span_id": "0" * 16, "score": 1},
                                   timeout=30)
            assert posted.status_code == 405 and "cannot take annotations" in posted.json()["error"]
            lines = banner(srv, f"the lake {lake} (read-only)")
            assert not [line for line in lines if "/v1/traces" in line or "/proxy/" in line]
            assert [line for line in lines if "/metrics" in line] == [
                f"  metrics:     {srv.url}/metrics  (Prometheus; this server's own counters)"]
            assert any("read-only" in line and "workbench serve --lake" in line for line in lines)
            assert f"  MCP:         {srv.url}/mcp  (streamable HTTP, for agents; read tools only)" in lines
        finally:
            srv.stop()
    result = CliRunner().invoke(main, ["serve", "--from-lake", str(tmp_path / "typo"), "--port", "0"])
    assert result.exit_code == 1 and result.output.startswith("Error: There is no lake at")


def test_a_server_over_a_lake_answers_metrics_and_refuses_the_proxy_in_the_providers_format(tmp_path):
    import anthropic
    import openai
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    from workbench.read.lake import LakeReader
    from workbench.server import Server

    lake = _lake(tmp_path)
    with Store(":memory:") as store:
        srv = Server(store, reader=LakeReader(lake), host="127.0.0.1", port=0, app=False, decode_workers=0).start()
        try:
            scrape = requests.get(f"{srv.url}/metrics", timeout=30)
            assert scrape.status_code == 200
            assert any(f.name.startswith("workbench_") for f in text_string_to_metric_families(scrape.text))
            client = openai.OpenAI(base_url=f"{srv.url}/proxy/openai/v1", api_key="k", max_retries=0)
            with pytest.raises(openai.APIStatusError, match="only reads the lake") as raised:
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
            assert raised.value.status_code == 405
            with pytest.raises(anthropic.APIStatusError, match="cannot record proxied calls"):
                anthropic.Anthropic(base_url=f"{srv.url}/proxy/anthropic", api_key="k", max_retries=0).messages.create(
                    model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
            other_signal = requests.post(f"{srv.url}/v1/metrics", json={}, timeout=30)
            assert other_signal.status_code == 405 and "only reads the lake" in other_signal.json()["error"]
            for method in ("GET", "OPTIONS"):
                for path in ("/proxy/openai/v1/models", "/v1/traces", "/v1/metrics"):
                    answer = requests.request(method, srv.url + path, timeout=30)
                    assert answer.status_code == 405, (method, path)
                    assert "only reads the lake" in answer.text
                    assert answer.headers["Content-Type"].startswith("application/json")
        finally:
            srv.stop()


def test_a_server_over_a_lake_answers_mcp_clients(tmp_path, monkeypatch):
    pytest.importorskip("mcp")
    monkeypatch.setenv("WORKBENCH_MCP_WRITE", "1")  # still no annotate: a lake takes no annotations
    import asyncio
    import concurrent.futures

    from mcp import Client

    from workbench.read.lake import LakeReader
    from workbench.server import Server

    lake = _lake(tmp_path)

    async def ask(url: str) -> tuple[list[str], str]:
        async with Client(url + "/mcp") as client:
            tools = [tool.name for tool in (await client.list_tools()).tools]
            counted = await client.call_tool("sql", {"query": "SELECT count(*) AS n FROM spans"})
            return tools, counted.content[0].text

    with Store(":memory:") as store:
        srv = Server(store, reader=LakeReader(lake), host="127.0.0.1", port=0, app=False, decode_workers=0).start()
        try:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                tools, counted = pool.submit(asyncio.run, ask(srv.url)).result(timeout=120)
            assert "sql" in tools and "annotate" not in tools
            assert json.loads(counted)["rows"][0]["n"] == LakeReader(lake).count()
        finally:
            srv.stop()


def test_serve_from_a_lake_refuses_options_that_cannot_apply(tmp_path):
    lake = _lake(tmp_path)
    for extra in (["--lake", str(tmp_path / "other")], ["--db", str(tmp_path / "x.duckdb")], ["--max-age", "3d"],
                  ["--sample"], ["--no-redact"]):
        result = CliRunner().invoke(main, ["serve", "--from-lake", lake, "--port", "0", *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert "--from-lake serves a lake read-only, so --" in result.output and extra[0] in result.output
    assert not (tmp_path / "other").exists() and not (tmp_path / "x.duckdb").exists()
