"""wb.sql on a file: one read-only SELECT over the documented tables, refusals in one sentence,
limits that cut and a deadline that interrupts."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from tests.helpers import make_span
from workbench.errors import FilterError, SqlError
from workbench.model import SpanKind, TokenUsage
from workbench.read import Reader
from workbench.read.sql import RELATIONS, Limits
from workbench.store.sqlsafe import check_sql


@pytest.fixture
def reader(store):
    spans = []
    for trace in range(3):
        base = 1_763_884_800_000_000_000 + trace * 86_400 * 10**9  # one trace a day
        spans += [
            make_span(0, trace=trace, kind=SpanKind.CHAIN, name="root", duration_ms=900, base_ns=base),
            make_span(1, trace=trace, parent=0, kind=SpanKind.LLM, name="llm", duration_ms=300, base_ns=base,
                      model_name="gpt-4o", provider="openai", tokens=TokenUsage(prompt=1000, completion=500)),
            make_span(2, trace=trace, parent=0, kind=SpanKind.LLM, name="local", duration_ms=30, base_ns=base,
                      model_name="my-own-model", tokens=TokenUsage(prompt=10, completion=5)),
        ]
    store.write(spans)
    return Reader(store, owns_store=False)


def test_sql_answers_a_dataframe_or_arrow(reader):
    frame = reader.sql("SELECT span_kind, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1")
    assert isinstance(frame, pd.DataFrame)
    assert frame.to_dict("records") == [{"span_kind": "CHAIN", "n": 3}, {"span_kind": "LLM", "n": 6}]
    table = reader.sql("SELECT count(*) AS n FROM spans WHERE span_kind = ?", ["LLM"], arrow=True)
    assert isinstance(table, pa.Table) and table.to_pylist() == [{"n": 6}]


def test_spans_cost_prices_each_call_now_and_agrees_with_the_trace_list(reader):
    costs = reader.sql("SELECT name, cost FROM spans_cost ORDER BY start_time, name")
    by_name = costs.groupby("name")["cost"].agg(lambda s: list(s))
    assert by_name["root"] == [None] * 3 or all(pd.isna(v) for v in by_name["root"])  # no model call
    assert all(pd.isna(v) for v in by_name["local"])  # a model without a price: unknown, never $0
    assert by_name["llm"] == [pytest.approx(0.0075)] * 3  # gpt-4o: 1000 in at $2.50/M, 500 out at $10/M
    per_day = reader.sql(
        "SELECT date_trunc('day', start_time) AS day, model_name, sum(cost) AS cost FROM spans_cost "
        "WHERE cost IS NOT NULL GROUP BY ALL ORDER BY day"
    )
    assert len(per_day) == 3 and per_day["model_name"].unique().tolist() == ["gpt-4o"]
    assert per_day["cost"].sum() == pytest.approx(reader.traces(limit=None)["cost"].sum())


@pytest.mark.parametrize("query, says", [
    ("DROP TABLE spans", "DROP statements are refused"),
    ("DELETE FROM spans", "DELETE statements are refused"),
    ("COPY spans TO '/tmp/out.csv'", "COPY statements are refused"),
    ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH statements are refused"),
    ("INSTALL httpfs", "LOAD statements are refused"),
    ("LOAD httpfs", "LOAD statements are refused"),
    ("PRAGMA enable_profiling", "PRAGMA statements are refused"),
    ("SET threads = 1", "SET statements are refused"),
    ("CALL checkpoint()", "CALL statements are refused"),
    ("SELECT 1; SELECT 2", "exactly one SQL statement"),
    ("SELECT * FROM read_csv('/etc/passwd')", "table function read_csv()"),
    ("SELECT * FROM read_parquet('/tmp/*.parquet')", "table function read_parquet()"),
    ("SELECT * FROM glob('/etc/*')", "table function glob()"),
    ("SELECT * FROM '/etc/passwd'", "'/etc/passwd' is not a table"),
    ("SELECT * FROM spans WHERE name IN (SELECT * FROM read_text('/etc/hostname'))", "read_text()"),
    ("SELECT * FROM query('SELECT 1')", "table function query()"),
    ("SELECT * FROM checkpoint()", "table function checkpoint()"),
    ("SELECT getenv('HOME')", "function getenv()"),
    ("SELECT current_setting('threads')", "function current_setting()"),
    ("SELECT * FROM workbench_meta", "'workbench_meta' is not a table"),
    ("SELECT st_point(1, 2)", "There is no function st_point()"),
    ("SELECT * FROM duckdb_settings()", "table function duckdb_settings()"),
    ("SELECT * FROM other.main.spans", "Only this store's tables"),
    ("SELEC 1", "does not parse"),
    ("", "Send a SQL query as text"),
])
def test_what_is_not_one_read_only_select_is_refused_in_one_sentence(reader, query, says):
    with pytest.raises(SqlError) as refused:
        reader.sql(query)
    message = str(refused.value)
    assert says in message
    assert message.endswith(".") and message.count(". ") == 0  # one sentence, saying what is allowed
    assert isinstance(refused.value, FilterError)
    assert reader.sql("SELECT count(*) AS n FROM spans")["n"][0] == 9  # nothing was lost


def test_what_is_allowed_reads(reader):
    assert check_sql("WITH t AS (SELECT * FROM spans) SELECT count(*) FROM t", RELATIONS) == {"spans"}
    assert len(reader.sql("SUMMARIZE spans")) > 10
    assert "trace_id" in reader.sql("DESCRIBE spans")["column_name"].tolist()
    assert reader.sql("FROM range(3) SELECT sum(range) AS s")["s"][0] == 3
    assert reader.sql("SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'spans'")["n"][0] > 20
    # A CTE may take a table's name inside its own query, and hides nothing outside it.
    assert reader.sql("WITH workbench_meta AS (SELECT 1 AS x) SELECT x FROM workbench_meta")["x"][0] == 1
    with pytest.raises(SqlError, match="workbench_meta"):
        reader.sql("SELECT * FROM (WITH workbench_meta AS (SELECT 1) SELECT * FROM workbench_meta), workbench_meta")


def test_a_row_cap_cuts_and_a_deadline_interrupts(reader):
    assert len(reader.sql("SELECT * FROM spans", max_rows=4)) == 4
    answer = reader.sql_answer("SELECT * FROM spans", limits=Limits(max_rows=2))
    assert answer.truncated == "rows" and "first 2 rows" in answer.note
    bytes_cut = reader.sql_answer("SELECT repeat('x', 10000) AS big FROM range(1000)",
                                  limits=Limits(max_bytes=200_000))
    assert bytes_cut.truncated == "bytes" and 0 < bytes_cut.table.num_rows < 1000
    with pytest.raises(SqlError, match=r"ran longer than 0\.2 s and was stopped"):
        reader.sql("SELECT count(*) FROM range(10000000000) a, range(10) b", timeout_s=0.2)
    assert reader.sql("SELECT count(*) AS n FROM spans")["n"][0] == 9  # the store still answers


def test_the_analyses_own_sql_is_another_door(reader):
    # query() reads any table and registered Arrow tables, as analyses need; sql() does not.
    assert reader.query("SELECT count(*) AS n FROM workbench_meta").column(0)[0].as_py() >= 1
    with reader.registered(extra=pa.table({"x": [1, 2]})) as names:
        assert reader.query(f"SELECT sum(x) FROM {names['extra']}").column(0)[0].as_py() == 3
        with pytest.raises(SqlError, match="is not a table"):
            reader.sql(f"SELECT sum(x) FROM {names['extra']}")


def test_spans_cost_follows_new_spans_and_a_new_price(reader, store, db_path):
    from workbench.pricing.effective import price_file
    from workbench.pricing.userfile import set_price

    query = "SELECT model_name, sum(cost) AS usd FROM spans_cost WHERE span_kind = 'LLM' GROUP BY 1 ORDER BY 1"
    before = dict(zip(*reader.sql(query).to_dict("list").values(), strict=True))
    assert pd.isna(before["my-own-model"])
    # A new model on a new day is priced at the next query ...
    store.write([make_span(5, trace=9, kind=SpanKind.LLM, model_name="gpt-4o-mini", provider="openai",
                           base_ns=1_764_400_000_000_000_000, tokens=TokenUsage(prompt=1_000_000, completion=0))])
    after = dict(zip(*reader.sql(query).to_dict("list").values(), strict=True))
    assert after["gpt-4o-mini"] == pytest.approx(0.15)
    # ... and a price the user adds re-costs history.
    set_price(price_file(), pattern="my-own-model", input=1.0, output=2.0)
    priced = dict(zip(*reader.sql(query).to_dict("list").values(), strict=True))
    assert priced["my-own-model"] == pytest.approx(3 * (10 * 1.0 + 5 * 2.0) / 1e6)


@pytest.mark.parametrize("kwargs, says", [
    ({"params": "LLM"}, "params must be a list of values"),
    ({"params": b"LLM"}, "params must be a list of values"),
    ({"max_rows": -1}, "max_rows=-1 is not valid"),
    ({"max_rows": True}, "max_rows=True is not valid"),
    ({"timeout_s": -0.5}, "timeout_s=-0.5 is not valid"),
    ({"timeout_s": float("nan")}, "timeout_s=nan is not valid"),
])
def test_bad_arguments_are_refused_in_one_sentence_not_bent(reader, server, store, kwargs, says):
    from workbench.remote import RemoteReader

    query = "SELECT count(*) AS n FROM spans WHERE span_kind = ?" if "params" in kwargs else "SELECT 1 AS n"
    with pytest.raises(SqlError, match=says):
        reader.sql(query, **kwargs)
    with pytest.raises(SqlError) as remote:
        RemoteReader(server.url).sql(query, **kwargs)
    assert str(remote.value).endswith(".") and "\n" not in str(remote.value)
