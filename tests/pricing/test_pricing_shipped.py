"""The shipped price table: valid, sourced, dated, and covering what the workload uses."""

from __future__ import annotations

import json
from datetime import date
from importlib.resources import files

import pytest

from workbench.pricing import PriceTable, shipped_rows, shipped_version


def test_the_table_has_a_date_version_and_loads() -> None:
    assert date.fromisoformat(shipped_version())
    raw = json.loads(files("workbench.pricing").joinpath("prices.json").read_text("utf-8"))
    assert len(shipped_rows()) == len(raw["rows"]) >= 90


def test_every_row_is_sourced_and_dated() -> None:
    version = date.fromisoformat(shipped_version())
    for row in shipped_rows():
        assert row.origin == "shipped"
        assert row.source and row.source.startswith("https://"), row
        assert row.valid_from is not None and row.retrieved is not None
        assert row.valid_from <= row.retrieved <= version, row
        assert row.output >= 0 and row.input > 0, row
        for cached in (row.cache_read, row.cache_write):
            assert cached is None or cached <= row.input * 1.25, row  # caches never cost more than a write premium


def test_the_providers_asked_for_are_covered() -> None:
    providers = {row.provider for row in shipped_rows()}
    assert {
        "openai",
        "anthropic",
        "google",
        "mistral",
        "deepseek",
        "xai",
        "together",
        "fireworks",
        "groq",
        "bedrock",
        "cohere",
    } <= providers


@pytest.mark.parametrize("name", ["gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet", "llama-3.1-8b-instruct"])
def test_the_workloads_model_names_are_priced(name: str) -> None:
    assert PriceTable.load().match(name, at=date(2025, 6, 1)) is not None


def test_gpt_4o_price_cut_is_two_dated_rows() -> None:
    history = sorted((row.valid_from, row.input, row.output) for row in shipped_rows() if row.pattern == "gpt-4o")
    assert history == [(date(2024, 5, 13), 5.00, 15.00), (date(2024, 10, 1), 2.50, 10.00)]


def test_every_rows_own_model_name_prices_as_that_model() -> None:
    # Guards against a new row's pattern swallowing a neighbour's names.
    table = PriceTable.load()
    for row in shipped_rows():
        found = table.match(row.model, provider=row.provider, at=row.valid_from)
        assert found is not None, table.explain(row.model, row.provider, row.valid_from)
        assert found.model == row.model, table.explain(row.model, row.provider, row.valid_from)
