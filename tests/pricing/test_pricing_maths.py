"""Cost maths by hand-computed cases, and the columnar and SQL forms agreeing with it."""

from __future__ import annotations

import math
import sqlite3
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from workbench.model import TokenUsage
from workbench.pricing import CostBreakdown, Price, PriceTable, cost, cost_columns, cost_sql

GPT_4O = Price(input=2.50, output=10.00, cache_read=1.25)
SONNET = Price(input=3.00, output=15.00, cache_read=0.30, cache_write=3.75)


def _approx(breakdown: CostBreakdown, **expected: float) -> None:
    for name, value in expected.items():
        assert getattr(breakdown, name) == pytest.approx(value, abs=1e-12), name


def test_openai_convention_prompt_includes_cached_tokens() -> None:
    tokens = TokenUsage(prompt=10_000, completion=1_000, cache_read=4_000, prompt_includes_cache=True)
    # 6,000 uncached x $2.50 + 4,000 cached x $1.25 + 1,000 out x $10, per million.
    _approx(cost(tokens, GPT_4O), input=0.015, cache_read=0.005, output=0.01, cache_write=0, total=0.03)


def test_anthropic_convention_bills_cache_tokens_on_top() -> None:
    tokens = TokenUsage(prompt=2_000, completion=500, cache_read=10_000, cache_write=5_000, prompt_includes_cache=False)
    # 2,000 x $3 + 10,000 x $0.30 + 5,000 x $3.75 + 500 x $15, per million.
    _approx(
        cost(tokens, SONNET),
        input=0.006,
        cache_read=0.003,
        cache_write=0.01875,
        output=0.0075,
        total=0.03525,
    )


def test_both_conventions_agree_on_the_same_call() -> None:
    native = TokenUsage(prompt=2_000, completion=500, cache_read=10_000, cache_write=5_000, prompt_includes_cache=False)
    inclusive = TokenUsage(
        prompt=17_000, completion=500, cache_read=10_000, cache_write=5_000, prompt_includes_cache=True
    )
    assert cost(native, SONNET) == cost(inclusive, SONNET)


def test_unknown_convention_is_taken_as_inclusive() -> None:
    tokens = TokenUsage(prompt=10_000, completion=0, cache_read=4_000)
    _approx(cost(tokens, GPT_4O), input=0.015, cache_read=0.005, total=0.02)


def test_uncached_input_never_goes_negative() -> None:
    tokens = TokenUsage(prompt=100, cache_read=150, prompt_includes_cache=True)
    _approx(cost(tokens, GPT_4O), input=0.0, cache_read=150 * 1.25 / 1e6)


def test_cache_prices_fall_back_to_input() -> None:
    mini = Price(input=0.15, output=0.60, cache_read=0.075)  # no cache-write price
    tokens = TokenUsage(prompt=3_000, cache_write=1_000, prompt_includes_cache=True)
    _approx(cost(tokens, mini), input=2_000 * 0.15 / 1e6, cache_write=0.00015)
    plain = Price(input=1.0, output=2.0)
    _approx(cost(TokenUsage(prompt=0, cache_read=1_000, prompt_includes_cache=False), plain), cache_read=0.001)


def test_reasoning_is_part_of_completion_and_bills_at_output() -> None:
    o3_mini = Price(input=1.10, output=4.40, cache_read=0.55)
    tokens = TokenUsage(prompt=1_000, completion=3_000, reasoning=2_000)
    breakdown = cost(tokens, o3_mini)
    _approx(breakdown, input=0.0011, output=0.0044, reasoning=0.0088, total=0.0143)
    assert breakdown.output + breakdown.reasoning == pytest.approx(3_000 * 4.40 / 1e6)


def test_reasoning_with_a_price_of_its_own() -> None:
    flash_preview = Price(input=0.15, output=0.60, reasoning=3.50)
    tokens = TokenUsage(prompt=1_000, completion=1_500, reasoning=1_000)
    # 1,000 in x $0.15 + 500 plain out x $0.60 + 1,000 reasoning x $3.50, per million.
    _approx(cost(tokens, flash_preview), input=0.00015, output=0.0003, reasoning=0.0035, total=0.00395)


def test_reasoning_counted_apart_from_completion_bills_both() -> None:
    # Gemini reports thoughts beside candidates: reasoning > completion gives it away.
    tokens = TokenUsage(prompt=0, completion=200, reasoning=500)
    _approx(cost(tokens, Price(input=1.0, output=10.0)), output=0.002, reasoning=0.005, total=0.007)


def test_missing_counts_bill_nothing() -> None:
    assert cost(TokenUsage(), GPT_4O) == CostBreakdown(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_cost_of_a_real_match() -> None:
    found = PriceTable.load().match("gpt-4o-mini", at=date(2025, 1, 1))
    assert found is not None
    # 1,200 prompt x $0.15 + 300 completion x $0.60, per million.
    assert cost(TokenUsage(prompt=1_200, completion=300), found.price).total == pytest.approx(0.00036)


CASES = [
    TokenUsage(prompt=10_000, completion=1_000, cache_read=4_000, prompt_includes_cache=True),
    TokenUsage(prompt=2_000, completion=500, cache_read=10_000, cache_write=5_000, prompt_includes_cache=False),
    TokenUsage(prompt=10_000, completion=0, cache_read=4_000),
    TokenUsage(prompt=100, cache_read=150, prompt_includes_cache=True),
    TokenUsage(prompt=1_000, completion=3_000, reasoning=2_000),
    TokenUsage(prompt=0, completion=200, reasoning=500),
    TokenUsage(),
    TokenUsage(prompt=7, completion=None, cache_write=3, prompt_includes_cache=None),
]
PRICES = [
    GPT_4O,
    SONNET,
    GPT_4O,
    Price(input=0.15, output=0.60),
    Price(input=0.15, output=0.60, reasoning=3.50),
    Price(input=1.0, output=10.0),
    SONNET,
    Price(input=1.0, output=2.0, cache_write=4.0),
]
FIELDS = ["prompt", "completion", "cache_read", "cache_write", "reasoning", "prompt_includes_cache"]


def _price_frame(prices: list[Price | None]) -> dict[str, list[float | None]]:
    def col(name: str, fallback: str | None = None) -> list[float | None]:
        out: list[float | None] = []
        for p in prices:
            value = None if p is None else getattr(p, name)
            out.append(getattr(p, fallback) if p is not None and value is None and fallback else value)
        return out

    return {
        "input_per_mtok": col("input"),
        "output_per_mtok": col("output"),
        "cache_read_per_mtok": col("cache_read"),  # left null: cost_columns falls back itself
        "cache_write_per_mtok": col("cache_write"),
        "reasoning_per_mtok": col("reasoning"),
    }


@pytest.mark.parametrize("kind", ["list", "pandas", "arrow"])
def test_cost_columns_agree_with_cost(kind: str) -> None:
    token_lists = {f: [getattr(t, f) for t in CASES] for f in FIELDS}
    if kind == "pandas":
        frame = pd.DataFrame(token_lists).astype(
            {f: "Int64" for f in FIELDS[:-1]} | {"prompt_includes_cache": "boolean"}
        )
        tokens: dict = {f: frame[f] for f in FIELDS}
    elif kind == "arrow":
        tokens = {f: pa.array(v) for f, v in token_lists.items()}
    else:
        tokens = token_lists
    columns = cost_columns(tokens, _price_frame(PRICES))
    for i, (usage, price) in enumerate(zip(CASES, PRICES, strict=False)):
        expected = cost(usage, price)
        for part in ["input", "output", "cache_read", "cache_write", "reasoning", "total"]:
            assert columns[f"{part}_cost"][i] == pytest.approx(getattr(expected, part), abs=1e-15), (i, part)


def test_cost_columns_leave_unpriced_rows_nan() -> None:
    columns = cost_columns({"prompt": [10, 10]}, _price_frame([GPT_4O, None]))
    assert columns["total_cost"][0] == pytest.approx(25 / 1e6)
    assert math.isnan(columns["total_cost"][1])
    assert isinstance(columns["total_cost"], np.ndarray)


def test_cost_sql_agrees_with_cost_through_a_join() -> None:
    table = PriceTable.load()
    models = ["gpt-4o", "claude-3-5-sonnet", "gpt-4o", "gpt-4o-mini", "o3-mini", "grok-4", "gpt-4o", "nope"]
    day = date(2025, 12, 1)
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE TABLE spans (id INTEGER, model_name TEXT, provider TEXT, day TEXT, tokens_prompt INTEGER,"
        " completion_tokens INTEGER, cache_read_tokens INTEGER, cache_write_tokens INTEGER,"
        " reasoning_tokens INTEGER, prompt_includes_cache BOOLEAN)"
    )
    for i, (usage, model) in enumerate(zip(CASES, models, strict=False)):
        connection.execute(
            "INSERT INTO spans VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
            (i, model, day.isoformat(), *[getattr(usage, f) for f in FIELDS]),
        )
    prices = table.resolve((m, None, day) for m in models)
    names = prices.column_names
    connection.execute(f"CREATE TABLE prices ({', '.join(names)})")
    for record in prices.to_pylist():
        record["day"] = record["day"].isoformat()
        record["price_valid_from"] = record["price_valid_from"] and record["price_valid_from"].isoformat()
        connection.execute(f"INSERT INTO prices VALUES ({', '.join('?' * len(names))})", list(record.values()))
    expressions = cost_sql("s", "p", columns={"prompt": "tokens_prompt"})
    select = ", ".join(f"{expr} AS {name}" for name, expr in expressions.items())
    query = (
        f"SELECT s.id, {select} FROM spans s LEFT JOIN prices p ON p.model_name = s.model_name"
        " AND p.provider IS s.provider AND p.day = s.day ORDER BY s.id"
    )
    results = connection.execute(query).fetchall()
    assert len(results) == len(CASES)
    for (i, *parts), usage, model in zip(results, CASES, models, strict=False):
        found = table.match(model, at=day)
        if found is None:
            assert parts == [None] * 6  # unpriced: unknown, not $0
            continue
        expected = cost(usage, found.price)
        got = dict(zip(expressions, parts, strict=False))
        for part in ["input", "output", "cache_read", "cache_write", "reasoning", "total"]:
            assert got[f"{part}_cost"] == pytest.approx(getattr(expected, part), abs=1e-15), (i, part)
