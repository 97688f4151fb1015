"""POST /api/sql over real HTTP: the same answers as a file, refusals as JSON 400s in one
sentence, caps the server sets, and a notebook that analyses while `workbench serve` holds the file."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pytest
import requests

import workbench
from tests.helpers import wait_for
from tests.server.processes import Served
from workbench.errors import SqlError
from workbench.read import Reader
from workbench.remote import RemoteReader


def _post(url: str, body: object, fmt: str = "json", **kwargs: object) -> requests.Response:
    return requests.post(f"{url}/api/sql?format={fmt}", data=json.dumps(body),
                         headers={"Content-Type": "application/json"}, timeout=60, **kwargs)


def test_sql_over_http_answers_as_a_file_does(server, store, rag_spans):
    store.write(rag_spans)
    query = "SELECT span_kind, count(*) AS n, sum(cost) AS cost FROM spans_cost GROUP BY 1 ORDER BY 1"
    local = Reader(store, owns_store=False).sql(query)
    answer = _post(server.url, {"sql": query})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["columns"] == ["span_kind", "n", "cost"] and body["truncated"] is None
    assert [r["n"] for r in body["rows"]] == local["n"].tolist()
    remote = RemoteReader(server.url).sql(query)
    assert remote["span_kind"].tolist() == local["span_kind"].tolist()
    assert remote["cost"].fillna(-1).tolist() == pytest.approx(local["cost"].fillna(-1).tolist())
    arrow = RemoteReader(server.url).sql("SELECT count(*) AS n FROM spans WHERE span_kind = ?", ["LLM"], arrow=True)
    assert isinstance(arrow, pa.Table) and arrow.to_pylist() == [{"n": 1}]
    csv = _post(server.url, {"sql": "SELECT name FROM spans ORDER BY name"}, fmt="csv")
    assert csv.headers["Content-Type"].startswith("text/csv") and csv.text.splitlines()[0] == '"name"'
    assert _post(server.url, {"query": "SELECT 7 AS x"}).json()["rows"] == [{"x": 7}]
    stream = _post(server.url, {"sql": "SELECT 42 AS x"}, fmt="arrow")
    assert pa.ipc.open_stream(io.BytesIO(stream.content)).read_all().to_pylist() == [{"x": 42}]


@pytest.mark.parametrize("body, says", [
    ({"sql": "DROP TABLE spans"}, "DROP statements are refused"),
    ({"sql": "COPY spans TO '/tmp/stolen.csv'"}, "COPY statements are refused"),
    ({"sql": "SELECT * FROM read_csv('/etc/passwd')"}, "read_csv()"),
    ({"sql": "SELECT getenv('WORKBENCH_TOKEN')"}, "getenv()"),
    ({"sql": "ATTACH '/tmp/x.duckdb'"}, "ATTACH statements are refused"),
    ({"sql": "SELECT 1; DROP TABLE spans"}, "exactly one SQL statement"),
    ({"sql": "SELECT nope FROM spans"}, "query failed"),
    ({"statement": "SELECT 1"}, "Send a JSON object"),
    ({"sql": "SELECT ?", "params": "x"}, '"params" must be a list'),
    ({"sql": "SELECT 1", "max_rows": -1}, '"max_rows" must be a number'),
    ([1, 2], "Send a JSON object"),
])
def test_refusals_are_json_400s_in_one_sentence_and_the_server_keeps_serving(server, store, rag_spans, body, says):
    store.write(rag_spans)
    answer = _post(server.url, body)
    assert answer.status_code == 400 and answer.headers["Content-Type"] == "application/json"
    error = answer.json()
    assert says in error["error"] and error["error"].endswith(".") and error["error"].count(". ") == 0
    assert _post(server.url, {"sql": "SELECT count(*) AS n FROM spans"}).json()["rows"] == [{"n": 4}]


def test_a_broken_body_and_a_wrong_method_get_json_errors(server):
    broken = requests.post(f"{server.url}/api/sql", data=b"{not json", headers={"Content-Type": "application/json"},
                           timeout=30)
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]
    get = requests.get(f"{server.url}/api/sql", timeout=30)
    assert get.status_code == 405 and "use POST" in get.json()["error"]
    form = requests.post(f"{server.url}/api/sql", data=b"sql=SELECT 1", timeout=30,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415


def test_the_servers_caps_cut_and_say_so(server, store, rag_spans, monkeypatch):
    store.write(rag_spans)
    monkeypatch.setenv("WORKBENCH_SQL_MAX_ROWS", "3")
    monkeypatch.setenv("WORKBENCH_SQL_TIMEOUT_S", "0.3")
    answer = _post(server.url, {"sql": "SELECT * FROM range(100)"}, fmt="arrow")
    assert answer.headers["X-Workbench-Truncated"] == "rows" and "first 3 rows" in answer.headers["X-Workbench-Note"]
    assert _post(server.url, {"sql": "SELECT * FROM range(100)", "max_rows": 1000}).json()["row_count"] == 3
    assert _post(server.url, {"sql": "SELECT * FROM range(100)", "max_rows": 2}).json()["row_count"] == 2
    with pytest.warns(UserWarning, match="first 3 rows"):
        frame = RemoteReader(server.url).sql("SELECT * FROM range(10)")
    assert len(frame) == 3 and frame.attrs["truncated"] == "rows"
    slow = _post(server.url, {"sql": "SELECT count(*) FROM range(10000000000) a, range(10) b"})
    assert slow.status_code == 400 and "ran longer than 0.3 s" in slow.json()["error"]
    with pytest.raises(SqlError, match="ran longer than"):
        RemoteReader(server.url).sql("SELECT count(*) FROM range(10000000000) a, range(10) b")
    assert requests.get(f"{server.url}/api/health", timeout=30).json()["status"] == "ok"


def test_a_notebook_analyses_with_sql_while_serve_holds_the_file(tmp_path):
    """Spans sent by the real OTel SDK's OTLP exporter to `workbench serve` in its own process."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    db = tmp_path / "held.duckdb"
    served = Served(db, tmp_path / "logs")
    try:
        provider = TracerProvider(resource=Resource.create({"service.name": "sql-bot"}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=served.url + "/v1/traces")))
        tracer = provider.get_tracer("t")
        for i in range(5):
            llm = {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.provider": "openai",
                   "llm.token_count.prompt": 1000 * (i + 1), "llm.token_count.completion": 100}
            with tracer.start_as_current_span("agent", attributes={"openinference.span.kind": "AGENT"}), \
                    tracer.start_as_current_span("llm", attributes=llm):
                pass
        provider.shutdown()
        with pytest.raises(workbench.errors.StoreLockedError):
            workbench.open(str(db))
        wb = workbench.open(served.url)
        wait_for(lambda: wb.sql("SELECT count(*) AS n FROM spans")["n"][0] == 10, timeout=60)
        cost = wb.sql("SELECT model_name, count(*) AS calls, sum(cost) AS usd FROM spans_cost "
                      "WHERE span_kind = 'LLM' GROUP BY 1")
        assert cost.to_dict("records")[0]["calls"] == 5
        assert cost["usd"][0] == pytest.approx(15_000 * 2.5 / 1e6 + 500 * 10 / 1e6)
    finally:
        served.kill_group()


_ODD_TYPES = ("SELECT [1, 2] AS l, {'x': 1} AS s, map([1], ['a']) AS m, INTERVAL 3 DAY AS i, 'a'::BLOB AS b, "
              "1.5::DECIMAL(10, 2) AS d, 'x' AS v")


@pytest.mark.parametrize("fmt", ["csv", "parquet", "arrow", "json"])
def test_every_format_answers_columns_of_any_type(server, fmt):
    answer = _post(server.url, {"sql": _ODD_TYPES}, fmt=fmt)
    assert answer.status_code == 200, answer.text
    if fmt == "csv":
        header, row = answer.text.splitlines()
        assert header == '"l","s","m","i","b","d","v"' and row.startswith('"[1, 2]","{""x"": 1}"')
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(answer.content))
        assert table.column_names == ["l", "s", "m", "i", "b", "d", "v"]
        assert table.to_pylist()[0]["s"] == {"x": 1} and table.to_pylist()[0]["v"] == "x"
    assert _post(server.url, {"sql": "SELECT 1 AS n"}).json()["rows"] == [{"n": 1}]
