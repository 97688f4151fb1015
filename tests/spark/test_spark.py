"""workbench.spark in Spark local mode: the same figures as DuckDB on the same lake."""

from __future__ import annotations

import math
import random
import shutil

import pytest

from tests.helpers import make_span
from workbench.analysis.cost import cost_by
from workbench.lake.publish import Publisher
from workbench.model import SpanKind, StatusCode, TokenUsage
from workbench.read.lake import LakeReader
from workbench.store import Store

if shutil.which("java") is None:
    pytest.skip("Spark needs Java, and there is no java here: apt-get install openjdk-17-jre-headless "
                "(.ci/run installs it)", allow_module_level=True)
pyspark = pytest.importorskip("pyspark", reason="pip install -e '.[test]' installs pyspark")

from workbench.spark import Lake  # noqa: E402 - only once pyspark is there

DAY_MS = 24 * 3600 * 1000
MODELS = [("gpt-4o", "openai"), ("claude-3-5-sonnet-20241022", "anthropic"), ("my-own-model", None), (None, None)]


@pytest.fixture(scope="module")
def spark():
    session = (pyspark.sql.SparkSession.builder.master("local[1]").appName("workbench-tests")
               .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    yield session
    session.stop()


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark")
    rng = random.Random(7)
    spans = []
    for t in range(120):
        base = rng.randrange(0, 5) * DAY_MS + rng.randrange(0, DAY_MS - 60_000)
        session = f"s{t % 9}"
        spans.append(make_span(0, trace=t, kind=SpanKind.CHAIN, start_ms=base, duration_ms=rng.uniform(50, 5000),
                               session_id=session, user_id=f"u{t % 4}", project=("shop", "support")[t % 2]))
        for i in range(1, 4):
            model, provider = MODELS[rng.randrange(len(MODELS))]
            prompt, completion = rng.randrange(0, 3000), rng.randrange(0, 800)
            spans.append(make_span(
                i, trace=t, parent=0, kind=SpanKind.LLM, start_ms=base + i * 10, duration_ms=rng.uniform(100, 9000),
                name=f"llm-{i % 2}", model_name=model, provider=provider, session_id=session,
                project=("shop", "support")[t % 2],
                tokens=TokenUsage(prompt=prompt or None, completion=completion or None,
                                  cache_read=rng.choice([None, prompt // 3])),
                client_cost=rng.choice([None, None, 0.01]),
                status_code=StatusCode.ERROR if rng.random() < 0.1 else StatusCode.OK))
    with Store(folder / "a.duckdb") as store:
        store.write(spans)
        Publisher(store, str(folder / "lake")).publish()
    return str(folder / "lake")


def _close(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _same(spark_rows, duck_rows, keys) -> None:
    assert len(spark_rows) == len(duck_rows) > 0
    index = {tuple(r[k] for k in keys): r for r in duck_rows}
    for row in spark_rows:
        other = index[tuple(row[k] for k in keys)]
        for column, value in row.items():
            assert _close(value, other[column]), (column, row, other)


def _pandas_rows(frame) -> list[dict]:
    return [{k: (None if v is None or (isinstance(v, float) and math.isnan(v)) else v) for k, v in r.items()}
            for r in frame.to_dict("records")]


def test_cost_by_model_project_and_day_equals_duckdbs(spark, lake):
    reader = LakeReader(lake)
    duck = _pandas_rows(cost_by(reader, by=["model", "project"], every="day"))
    rows = [r.asDict() for r in Lake(spark, lake).cost(("model", "project"), every="day").collect()]
    for r in duck:
        r["bucket"] = r["bucket"].to_pydatetime().replace(tzinfo=None)
    for r in rows:
        r["bucket"] = r["bucket"].replace(tzinfo=None)
    _same(rows, duck, ["bucket", "model", "project"])
    assert any(r["unpriced_calls"] for r in rows) and any(r["cost"] for r in rows)
    reader.close()


def test_latency_errors_tokens_and_sessions_equal_duckdbs(spark, lake):
    reader = LakeReader(lake)
    spark_lake = Lake(spark, lake)

    def duck(sql: str) -> list[dict]:
        table = reader.query(sql)
        return table.to_pylist()

    latency = duck("""SELECT name, model_name, count(*) AS spans, quantile_cont(latency_ms, 0.5) AS p50_ms,
                      quantile_cont(latency_ms, 0.95) AS p95_ms, quantile_cont(latency_ms, 0.99) AS p99_ms,
                      max(latency_ms) AS max_ms FROM spans GROUP BY ALL""")
    _same([r.asDict() for r in spark_lake.latency().collect()], latency, ["name", "model_name"])
    errors = duck("""SELECT name, count(*) AS spans, count(*) FILTER (WHERE status_code = 'ERROR') AS errors,
                     (count(*) FILTER (WHERE status_code = 'ERROR')) / count(*) AS error_rate
                     FROM spans GROUP BY ALL""")
    _same([r.asDict() for r in spark_lake.error_rates().collect()], errors, ["name"])
    burn = duck("""SELECT CAST(start_time AS DATE) AS day, model_name, count(*) AS calls,
                   sum(COALESCE(prompt_tokens, 0))::BIGINT AS prompt_tokens,
                   sum(COALESCE(completion_tokens, 0))::BIGINT AS completion_tokens,
                   sum(COALESCE(total_tokens, COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)))::BIGINT
                     AS total_tokens
                   FROM spans WHERE span_kind IN ('LLM', 'EMBEDDING') GROUP BY ALL""")
    _same([r.asDict() for r in spark_lake.token_burn().collect()], burn, ["day", "model_name"])
    sessions = duck("""SELECT session_id, count(DISTINCT trace_id) AS traces, count(*) AS spans,
                       count(*) FILTER (WHERE status_code = 'ERROR') AS errors,
                       sum(COALESCE(total_tokens, 0))::BIGINT AS total_tokens, min(start_time) AS first_start,
                       max(end_time) AS last_end, arg_min(user_id, start_time) AS user_id
                       FROM spans WHERE session_id IS NOT NULL GROUP BY ALL""")
    for r in sessions:
        r["first_start"], r["last_end"] = r["first_start"].replace(tzinfo=None), r["last_end"].replace(tzinfo=None)
    _same([r.asDict() for r in spark_lake.sessions().collect()], sessions, ["session_id"])
    reader.close()


def test_the_tables_have_the_schemas_columns(spark, lake):
    from workbench.store.schema import TABLES

    spark_lake = Lake(spark, lake)
    assert spark_lake.spans.columns == TABLES["spans"].column_names
    assert spark_lake.spans.count() == 480
    assert spark_lake.annotations.count() == 0  # no file yet: an empty table with its columns
    assert spark_lake.annotations.columns == TABLES["annotations"].column_names
