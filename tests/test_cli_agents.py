"""`workbench sql`, `traces`, `trace` and `tail`: a file and a server answer alike, JSON is stable,
colour only on a terminal, and every refusal is one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from tests.helpers import wait_for
from tests.mcp.test_mcp import _send_agent_traces
from workbench.cli import main
from workbench.cli.traces import SPAN_JSON_FIELDS, TRACE_JSON_FIELDS
from workbench.read import Reader
from workbench.store import Store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def served(server, store):
    """Agent traces sent by the real OTel SDK to a real server; yields (server, trace ids)."""
    _send_agent_traces(server.url)
    reader = Reader(store, owns_store=False)
    wait_for(lambda: reader.count() == 6, timeout=30)
    return server, reader


def test_sql_prints_a_table_csv_json_or_parquet(runner, served, tmp_path):
    server, _ = served
    query = "SELECT name, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1"
    table = runner.invoke(main, ["sql", query, "--url", server.url])
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[0].split() == ["name", "n"] and "(3 rows)" in table.output
    csv = runner.invoke(main, ["sql", query, "--url", server.url, "--format", "csv"])
    assert csv.output.splitlines() == ["name,n", "agent,2", "llm,2", "lookup,2"]
    answer = json.loads(runner.invoke(main, ["sql", query, "--url", server.url, "--format", "json"]).output)
    assert answer == {"columns": ["name", "n"], "rows": [{"name": "agent", "n": 2}, {"name": "llm", "n": 2},
                                                          {"name": "lookup", "n": 2}], "row_count": 3}
    out = tmp_path / "cost.parquet"
    done = runner.invoke(main, ["sql", "SELECT span_id, cost FROM spans_cost", "--url", server.url,
                                "--format", "parquet", "--out", str(out)])
    assert done.exit_code == 0 and pq.read_table(out).num_rows == 6
    refused = runner.invoke(main, ["sql", "DROP TABLE spans", "--url", server.url])
    assert refused.exit_code == 1 and refused.output.startswith("Error: Only reading is allowed")
    assert len(refused.output.strip().splitlines()) == 1
    capped = runner.invoke(main, ["sql", "SELECT * FROM range(50)", "--url", server.url, "--max-rows", "4",
                                  "--format", "csv"])
    assert capped.stdout.splitlines() == ["range", "0", "1", "2", "3"] and "first 4 rows" in capped.stderr


def test_sql_on_a_file_and_a_held_file(runner, tmp_path, rag_spans):
    db = tmp_path / "w.duckdb"
    with Store(db) as store:
        store.write(rag_spans)
    result = runner.invoke(main, ["sql", "SELECT count(*) AS n FROM spans", "--db", str(db), "--format", "json"])
    assert json.loads(result.output)["rows"] == [{"n": 4}]
    with Store(db):  # held by this process for writing: a second, read-only opener still reads it here
        result = runner.invoke(main, ["sql", "SELECT read_csv FROM spans", "--db", str(db)])
        assert result.exit_code == 1 and result.output.startswith("Error: The query failed")


def test_traces_and_trace_print_lines_markdown_and_stable_json(runner, served):
    server, reader = served
    rows = json.loads(runner.invoke(main, ["traces", "--url", server.url, "--json"]).output)
    assert len(rows) == 2 and all(list(r) == list(TRACE_JSON_FIELDS) for r in rows)
    assert rows[0]["start_time"].endswith("Z") and rows[0]["models"] == ["gpt-4o"]
    failed = json.loads(runner.invoke(main, ["traces", "status_code == 'ERROR'", "--url", server.url,
                                             "--since", "1h", "--json"]).output)
    assert [r["error_count"] for r in failed] == [1]
    plain = runner.invoke(main, ["traces", "--url", server.url])
    assert "\x1b[" not in plain.output and plain.output.count("\n") == 2 and " agent " in plain.output
    coloured = CliRunner().invoke(main, ["traces", "--url", server.url], color=True)
    assert "\x1b[" in coloured.output  # on a terminal
    trace_id = failed[0]["trace_id"]
    md = runner.invoke(main, ["trace", trace_id, "--url", server.url, "--md"])
    assert md.output == reader.trace(trace_id).to_markdown()
    tree = runner.invoke(main, ["trace", trace_id, "--url", server.url]).output.splitlines()
    assert tree[0].split()[:2] == ["AGENT", "agent"] and tree[2].startswith("  TOOL") and "ERROR" in tree[2]
    spans = json.loads(runner.invoke(main, ["trace", trace_id, "--url", server.url, "--json"]).output)
    assert spans["trace_id"] == trace_id and len(spans["spans"]) == 3
    assert list(spans["spans"][0]) == [*SPAN_JSON_FIELDS, "depth", "self_time_ms"]
    missing = runner.invoke(main, ["trace", "0" * 32, "--url", server.url])
    assert missing.exit_code == 1 and missing.output.startswith("Error: ") and "check the id" in missing.output


def test_tail_prints_new_spans_as_they_arrive(server, store):
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "tail", "--url", server.url, "--json", "--count", "3", "--for", "120",
         "--interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: proc.poll() is None, timeout=30)
        sender = threading.Thread(target=_send_agent_traces, args=(server.url,), daemon=True)
        sender.start()
        assert proc.wait(120) == 0, proc.stderr.read()
        reader.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    spans = [json.loads(line) for line in lines]
    assert len(spans) == 3 and all("\x1b[" not in line for line in lines)  # plain when piped
    assert {s["name"] for s in spans} <= {"agent", "llm", "lookup"}
    assert all(list(s) == [c for c in SPAN_JSON_FIELDS if c not in ("cost", "input_value", "output_value")]
               for s in spans)


def test_a_trace_line_says_which_calls_have_no_price_never_hiding_them(runner, tmp_path):
    from tests.helpers import make_span
    from workbench.model import SpanKind, TokenUsage

    db = tmp_path / "costs.duckdb"
    with Store(db) as store:
        store.write([
            make_span(0, trace=0, name="mixed", model_name="gpt-4o-mini", provider="openai",
                      tokens=TokenUsage(prompt=1, completion=0, total=1)),
            make_span(1, trace=0, parent=0, model_name="acme-llm-7", tokens=TokenUsage(prompt=100, completion=10)),
            make_span(0, trace=1, name="only-unpriced", kind=SpanKind.LLM, start_ms=10, model_name="acme-llm-7",
                      tokens=TokenUsage(prompt=100, completion=10)),
        ])
    lines = {line.split()[3]: line for line in runner.invoke(main, ["traces", "--db", str(db)]).output.splitlines()}
    assert lines["mixed"].endswith("$0.00000015 + 1 call unpriced")
    assert lines["only-unpriced"].endswith("acme-llm-7 1 call unpriced") and "$" not in lines["only-unpriced"]
    rows = {r["name"]: r for r in json.loads(runner.invoke(main, ["traces", "--db", str(db), "--json"]).output)}
    assert (rows["mixed"]["cost"], rows["mixed"]["unpriced_calls"]) == (pytest.approx(1.5e-7), 1)
    assert (rows["only-unpriced"]["cost"], rows["only-unpriced"]["unpriced_calls"]) == (None, 1)


def test_sql_writes_parquet_and_csv_of_any_column_type(runner, tmp_path, rag_spans):
    db = tmp_path / "w.duckdb"
    with Store(db) as store:
        store.write(rag_spans)
    query = "SELECT INTERVAL 3 DAY AS i, {'x': 1} AS s, [1, 2] AS l, count(*) AS n FROM spans"
    out = tmp_path / "odd.parquet"
    done = runner.invoke(main, ["sql", query, "--db", str(db), "--format", "parquet", "--out", str(out)])
    assert done.exit_code == 0, done.output
    row = pq.read_table(out).to_pylist()[0]
    assert row["n"] == 4 and row["s"] == {"x": 1} and row["l"] == [1, 2] and row["i"]
    csv = runner.invoke(main, ["sql", query, "--db", str(db), "--format", "csv"])
    assert csv.exit_code == 0 and csv.output.splitlines()[0] == "i,s,l,n"


@pytest.mark.parametrize("bad", ["span_kind ===", "name == 'a') or (1 == 1"])
def test_tail_reports_a_bad_filter_in_the_users_own_words(runner, tmp_path, rag_spans, bad):
    db = tmp_path / "w.duckdb"
    with Store(db) as store:
        store.write(rag_spans)
    result = runner.invoke(main, ["tail", bad, "--db", str(db), "--for", "1"])
    assert result.exit_code == 1 and result.output.startswith(f"Error: The filter {bad!r} is not valid")
    assert "end_time" not in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [
    ["sql", "SELECT 1", "--db", "a.duckdb", "--url", "127.0.0.1:9"],
    ["traces", "--db", "a.duckdb", "--lake", "lake"],
    ["trace", "0" * 32, "--url", "127.0.0.1:9", "--lake", "lake"],
    ["tail", "--db", "a.duckdb", "--url", "127.0.0.1:9", "--for", "1"],
    ["check", "--db", "a.duckdb", "--url", "127.0.0.1:9"],
    ["mcp", "--db", "a.duckdb", "--lake", "lake"],
    ["trace", "0" * 32, "--md", "--json", "--db", "a.duckdb"],
])
def test_two_answers_to_one_question_are_a_usage_error_not_a_guess(runner, args):
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Error: Give " in result.output and "not " in result.output
