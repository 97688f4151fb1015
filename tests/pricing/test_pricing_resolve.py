"""The table of prices per distinct key that the store joins against, and explain()."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from workbench.pricing import RESOLVED_COLUMNS, PriceRow, PriceTable


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


def test_resolve_has_the_documented_shape(table: PriceTable) -> None:
    keys = [
        ("gpt-4o-mini", "openai", date(2025, 1, 1)),
        ("gpt-4o-mini", "openai", date(2025, 1, 1)),  # repeated keys are priced once
        ("gpt-4o", None, date(2024, 9, 30)),
        ("gpt-4o", None, date(2024, 10, 1)),
        ("mystery-model", "acme", date(2025, 1, 1)),
        (None, None, date(2025, 1, 1)),
    ]
    prices = table.resolve(keys)
    assert tuple(prices.column_names) == RESOLVED_COLUMNS
    assert prices.schema.field("day").type == pa.date32()
    assert prices.schema.field("price_valid_from").type == pa.date32()
    assert prices.schema.field("input_per_mtok").type == pa.float64()
    assert prices.schema.field("priced").type == pa.bool_()
    rows = prices.to_pylist()
    assert len(rows) == 5
    mini, before, after, mystery, nameless = rows
    assert mini["model_name"] == "gpt-4o-mini" and mini["provider"] == "openai"
    assert (mini["input_per_mtok"], mini["output_per_mtok"], mini["cache_read_per_mtok"]) == (0.15, 0.60, 0.075)
    # Fallbacks are already applied: cache writes bill as input, reasoning as output.
    assert (mini["cache_write_per_mtok"], mini["reasoning_per_mtok"]) == (0.15, 0.60)
    assert (mini["price_model"], mini["price_origin"], mini["price_valid_from"]) == (
        "gpt-4o-mini",
        "shipped",
        date(2024, 7, 18),
    )
    assert (before["input_per_mtok"], after["input_per_mtok"]) == (5.00, 2.50)
    for unpriced in (mystery, nameless):
        assert unpriced["priced"] is False
        assert unpriced["input_per_mtok"] is None and unpriced["price_model"] is None
    assert mystery["provider"] == "acme"  # the key comes back exactly as given


def test_resolve_takes_dataframes_and_arrow_tables(table: PriceTable) -> None:
    frame = pd.DataFrame(
        {
            "model_name": ["gpt-4o", "claude-3-5-sonnet"],
            "provider": [None, "anthropic"],
            "day": pd.to_datetime(["2024-09-30", "2025-01-01"]),
        }
    )
    from_frame = table.resolve(frame)
    from_arrow = table.resolve(pa.Table.from_pandas(frame.assign(day=frame["day"].dt.date)))
    assert from_frame.equals(from_arrow)
    assert from_frame.column("input_per_mtok").to_pylist() == [5.00, 3.00]


def test_price_columns_align_with_spans(table: PriceTable) -> None:
    nanos = int(datetime(2024, 9, 30, 12, tzinfo=timezone.utc).timestamp() * 1e9)
    day = 86_400 * 10**9
    columns = table.price_columns(
        ["gpt-4o", "gpt-4o", "mystery", "claude-3-5-sonnet", "gpt-4o"],
        ["openai", None, None, "anthropic", "openai"],
        [nanos, nanos + day, nanos, nanos, nanos],
    )
    assert columns["priced"].tolist() == [True, True, False, True, True]
    np.testing.assert_array_equal(columns["input_per_mtok"], [5.00, 2.50, np.nan, 3.00, 5.00])
    np.testing.assert_array_equal(columns["cache_write_per_mtok"], [5.00, 2.50, np.nan, 3.75, 5.00])


def test_price_columns_take_datetimes_and_default_to_today(table: PriceTable) -> None:
    columns = table.price_columns(
        ["gpt-4o", "gpt-4o"],
        None,
        [datetime(2024, 9, 30, 23, 59), datetime(2024, 10, 1, 0, 0, tzinfo=timezone.utc)],
    )
    assert columns["input_per_mtok"].tolist() == [5.00, 2.50]
    assert table.price_columns(["gpt-4o-mini"])["input_per_mtok"].tolist() == [0.15]


def test_explain_names_the_winner_the_losers_and_the_rule(table: PriceTable) -> None:
    text = table.explain("gpt-4o-2024-05-13", at=date(2024, 11, 1))
    first, why, *rest = text.splitlines()
    assert first.startswith("'gpt-4o-2024-05-13' (provider not given) on 2024-11-01: priced by shipped row")
    assert "pattern 'gpt-4o-2024-05-13'" in first and "$5 in, $15 out" in first
    assert why == "Why: the winner's pattern is more specific (more literal characters): 17 against 6."
    losers = [line for line in rest if "[loses:" in line]
    assert len(losers) == 2 and all("pattern 'gpt-4o'" in line for line in losers)
    assert rest[-1].startswith("Rules: user rows beat shipped rows")


def test_explain_history_and_later_rows(table: PriceTable) -> None:
    text = table.explain("gpt-4o", at=date(2024, 10, 1))
    assert "Why: the winner's price is more recent: from 2024-10-01, the other from 2024-05-13." in text
    later = table.explain("o3", at=date(2025, 5, 1))
    assert "Matching rows that only apply from a later day:" in later
    assert "from 2025-06-10: $2 in, $8 out" in later


def test_explain_an_unpriced_name(table: PriceTable) -> None:
    text = table.explain("gpt-5", provider="openai", at=date(2025, 1, 1))
    assert text.splitlines()[0] == "'gpt-5' (provider openai) on 2025-01-01: unpriced, so its cost is unknown (not $0)."
    assert "only apply from a later day" in text and "from 2025-08-07" in text
    nothing = table.explain("mystery")
    assert "No row's pattern matches this name." in nothing
    assert "set_price(" in nothing


def test_explain_a_user_row_win() -> None:
    shipped = PriceRow(provider="openai", model="gpt-4o", pattern="gpt-4o", input=2.5, output=10.0)
    user = PriceRow(provider=None, model="our gpt-4o deal", pattern="gpt-4o", input=2.0, output=8.0)
    text = PriceTable([shipped], [user]).explain("azure/gpt-4o", provider="azure", at=date(2025, 1, 1))
    assert "priced by user row 'our gpt-4o deal' (any provider), pattern 'gpt-4o', always: $2 in, $8 out" in text
    assert "Why: a user row beats a shipped row." in text


def test_explain_a_dated_user_row_against_an_undated_one() -> None:
    always = PriceRow(provider=None, model="deal", pattern="acme", input=2.0, output=8.0)
    later = PriceRow(provider=None, model="deal", pattern="acme", input=1.0, output=4.0, valid_from=date(2025, 1, 1))
    text = PriceTable([], [always, later]).explain("acme", at=date(2025, 2, 1))
    assert "Why: the winner's price is more recent: from 2025-01-01, the other from always." in text
