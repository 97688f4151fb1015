"""Matching real model-name spellings against the shipped table, history and rank rules."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from workbench.pricing import PriceRow, PriceTable

DAY = date(2025, 12, 1)


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


@pytest.mark.parametrize(
    ("name", "model", "provider", "input_price", "output_price"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o-2024-08-06", "openai", 2.50, 10.00),
        ("openai/gpt-4o-mini", "gpt-4o-mini", "openai", 0.15, 0.60),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini", "openai", 0.15, 0.60),
        ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet", "anthropic", 3.00, 15.00),
        ("anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku", "anthropic", 0.25, 1.25),
        ("claude-3-5-sonnet@20240620", "claude-3-5-sonnet", "anthropic", 3.00, 15.00),
        ("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet", "anthropic", 3.00, 15.00),
        ("anthropic/claude-3.5-sonnet", "claude-3-5-sonnet", "anthropic", 3.00, 15.00),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet", "anthropic", 3.00, 15.00),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku", "anthropic", 0.80, 4.00),
        ("claude-sonnet-4-20250514", "claude-sonnet-4", "anthropic", 3.00, 15.00),
        ("claude-sonnet-4@20250514", "claude-sonnet-4", "anthropic", 3.00, 15.00),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5", "anthropic", 3.00, 15.00),
        ("claude-opus-4-1-20250805", "claude-opus-4-1", "anthropic", 15.00, 75.00),
        ("claude-haiku-4-5", "claude-haiku-4-5", "anthropic", 1.00, 5.00),
        ("models/gemini-1.5-pro-002", "gemini-1.5-pro", "google", 1.25, 5.00),
        ("publishers/google/models/gemini-2.0-flash-001", "gemini-2.0-flash", "google", 0.10, 0.40),
        ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite", "google", 0.10, 0.40),
        ("accounts/fireworks/models/llama-v3p1-70b-instruct", "llama-3.1-70b-instruct", "fireworks", 0.90, 0.90),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b-instruct", "together", 0.18, 0.18),
        ("meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo", "llama-3.1-405b-instruct", "together", 3.50, 3.50),
        ("llama-3.1-8b-instruct", "llama-3.1-8b-instruct", "together", 0.18, 0.18),
        ("us.meta.llama3-3-70b-instruct-v1:0", "llama-3.3-70b-instruct", "bedrock", 0.72, 0.72),
        ("llama-3.3-70b-versatile", "llama-3.3-70b-versatile", "groq", 0.59, 0.79),
        ("o1-mini", "o1-mini", "openai", 1.10, 4.40),
        ("o1", "o1", "openai", 15.00, 60.00),
        ("o1-2024-12-17", "o1", "openai", 15.00, 60.00),
        ("o4-mini-2025-04-16", "o4-mini", "openai", 1.10, 4.40),
        ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano", "openai", 0.10, 0.40),
        ("gpt-5-chat-latest", "gpt-5", "openai", 1.25, 10.00),
        ("gpt-5-mini", "gpt-5-mini", "openai", 0.25, 2.00),
        ("text-embedding-3-small", "text-embedding-3-small", "openai", 0.02, 0.0),
        ("text-embedding-3-large", "text-embedding-3-large", "openai", 0.13, 0.0),
        ("mistral-large-latest", "mistral-large", "mistral", 2.00, 6.00),
        ("mistral.mistral-large-2407-v1:0", "mistral-large", "mistral", 2.00, 6.00),
        ("codestral-2501", "codestral", "mistral", 0.30, 0.90),
        ("mistral-embed", "mistral-embed", "mistral", 0.10, 0.0),
        ("deepseek-reasoner", "deepseek-reasoner", "deepseek", 0.28, 0.42),
        ("xai/grok-3-mini-beta", "grok-3-mini", "xai", 0.30, 0.50),
        ("grok-4-0709", "grok-4", "xai", 3.00, 15.00),
        ("grok-2-1212", "grok-2", "xai", 2.00, 10.00),
        ("amazon.titan-embed-text-v2:0", "titan-embed-text-v2", "bedrock", 0.02, 0.0),
        ("cohere.embed-english-v3", "embed-english-v3.0", "cohere", 0.10, 0.0),
        ("GPT-4O-MINI", "gpt-4o-mini", "openai", 0.15, 0.60),
    ],
)
def test_real_name_variants_find_their_row(
    table: PriceTable, name: str, model: str, provider: str, input_price: float, output_price: float
) -> None:
    found = table.match(name, at=DAY)
    assert found is not None, table.explain(name, at=DAY)
    assert (found.model, found.row.provider) == (model, provider)
    assert (found.price.input, found.price.output) == (input_price, output_price)


@pytest.mark.parametrize(
    ("name", "not_model"),
    [
        ("gpt-4o-mini", "gpt-4o"),
        ("o1-mini", "o1"),
        ("o3-mini", "o3"),
        ("claude-3-5-haiku", "claude-3-haiku"),
        ("claude-opus-4-1", "claude-opus-4"),
        ("gemini-1.5-flash-8b", "gemini-1.5-flash"),
        ("gpt-4.1-mini", "gpt-4.1"),
    ],
)
def test_a_longer_family_name_never_takes_the_shorter_ones_row(table: PriceTable, name: str, not_model: str) -> None:
    found = table.match(name, at=DAY)
    assert found is not None
    assert found.model != not_model
    assert found.model == name


@pytest.mark.parametrize(
    "name",
    [
        "unknown-model",
        "ft:gpt-4o-mini-2024-07-18:acme::abc123",  # fine-tunes bill differently
        "meta-llama/llama-3.1-8b-instruct:free",  # a free tier is not the paid price
        "gpt-4o-audio-preview",
        "gemini-2.0-flash-exp",
        "my-azure-deployment",
    ],
)
def test_unpriced_names_return_none(table: PriceTable, name: str) -> None:
    assert table.match(name, at=DAY) is None


def test_empty_and_missing_names_are_unpriced(table: PriceTable) -> None:
    assert table.match(None) is None
    assert table.match("   ") is None


def test_gpt_4o_history_prices_each_call_at_its_days_price(table: PriceTable) -> None:
    before = table.match("gpt-4o", at=date(2024, 9, 30))
    after = table.match("gpt-4o", at=date(2024, 10, 1))
    assert before is not None and after is not None
    assert (before.price.input, before.price.output) == (5.00, 15.00)
    assert (after.price.input, after.price.output) == (2.50, 10.00)
    assert after.row.valid_from == date(2024, 10, 1)
    # The May snapshot kept its price after the cut; its own row is more specific.
    snapshot = table.match("gpt-4o-2024-05-13", at=date(2025, 1, 1))
    assert snapshot is not None and snapshot.price.input == 5.00


def test_moments_are_taken_as_utc_days(table: PriceTable) -> None:
    # 23:30 on Sept 30 in New York is already Oct 1 in UTC, after the cut.
    from zoneinfo import ZoneInfo

    evening = datetime(2024, 9, 30, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    assert table.match("gpt-4o", at=evening).price.input == 2.50  # type: ignore[union-attr]
    naive = datetime(2024, 9, 30, 23, 30)
    assert table.match("gpt-4o", at=naive).price.input == 5.00  # type: ignore[union-attr]
    nanos = int(datetime(2024, 10, 1, tzinfo=timezone.utc).timestamp() * 1e9)
    assert table.match("gpt-4o", at=nanos).price.input == 2.50  # type: ignore[union-attr]
    assert table.match("gpt-4o", at="2024-09-30").price.input == 5.00  # type: ignore[union-attr]


def test_a_row_valid_only_later_does_not_price_earlier_calls(table: PriceTable) -> None:
    assert table.match("gpt-5", at=date(2025, 8, 6)) is None
    assert table.match("gpt-5", at=date(2025, 8, 7)) is not None
    o3 = table.match("o3", at=date(2025, 5, 1))
    assert o3 is not None and (o3.price.input, o3.price.output) == (10.00, 40.00)


def _row(pattern: str, provider: str | None, input_price: float, **kwargs: object) -> PriceRow:
    return PriceRow(provider=provider, model=pattern, pattern=pattern, input=input_price, output=1.0, **kwargs)  # type: ignore[arg-type]


def test_user_rows_win_over_shipped_rows_even_when_less_specific() -> None:
    shipped = [_row("gpt-4o-2024-08-06", "openai", 2.5), _row("gpt-4o", "openai", 2.5)]
    table = PriceTable(shipped, [_row("gpt-4o.*", None, 1.0)])
    found = table.match("gpt-4o-2024-08-06")
    assert found is not None and found.origin == "user" and found.price.input == 1.0
    assert found.reason == "a user row beats a shipped row"


def test_a_user_row_that_starts_later_leaves_earlier_calls_to_the_shipped_row() -> None:
    table = PriceTable(
        [_row("gpt-4o", "openai", 2.5, valid_from=date(2024, 1, 1))],
        [_row("gpt-4o", None, 1.0, valid_from=date(2025, 1, 1))],
    )
    assert table.match("gpt-4o", at=date(2024, 12, 31)).price.input == 2.5  # type: ignore[union-attr]
    assert table.match("gpt-4o", at=date(2025, 1, 1)).price.input == 1.0  # type: ignore[union-attr]


def test_the_provider_asked_for_beats_a_more_specific_row_of_another() -> None:
    table = PriceTable(
        [
            _row("llama-3[.-]1-8b-instruct", "together", 0.18),
            _row("llama-3.*", "bedrock", 0.22),
        ]
    )
    assert table.match("llama-3.1-8b-instruct").price.input == 0.18  # type: ignore[union-attr]
    on_bedrock = table.match("llama-3.1-8b-instruct", provider="aws.bedrock")
    assert on_bedrock is not None and on_bedrock.price.input == 0.22
    assert on_bedrock.reason == "the winner is for the provider asked for"
    # An unknown provider changes nothing: the name alone decides.
    assert table.match("llama-3.1-8b-instruct", provider="azure").price.input == 0.18  # type: ignore[union-attr]


def test_specificity_then_pattern_length_then_file_order() -> None:
    table = PriceTable([_row("gpt-.*", None, 1.0), _row("gpt-4o", None, 2.0)])
    assert table.match("gpt-4o").price.input == 2.0  # type: ignore[union-attr]
    # Text in an optional group counts too: 8 literal characters beat 6.
    table = PriceTable([_row("gpt-4o", None, 1.0), _row("gpt-4o(?:-x)?", None, 2.0)])
    assert table.match("gpt-4o").price.input == 2.0  # type: ignore[union-attr]
    # Same literal text (6), so the longer pattern wins.
    table = PriceTable([_row("gpt-4o", None, 1.0), _row("(?:gpt-4o)", None, 2.0)])
    found = table.match("gpt-4o")
    assert found is not None and found.price.input == 2.0
    assert found.reason == "the winner's pattern is longer, at equal literal characters"
    table = PriceTable([_row("gpt-4o|zz", None, 1.0), _row("gpt-4o|yy", None, 2.0)])
    assert table.match("gpt-4o").price.input == 1.0  # type: ignore[union-attr]  # a full tie: first listed


def test_matches_are_cached_per_name_provider_and_day(table: PriceTable) -> None:
    fresh = PriceTable(table.rows)
    fresh.match("gpt-4o", at=DAY)
    fresh.match("gpt-4o", at=DAY)
    fresh.match("gpt-4o", at=date(2024, 1, 1))
    info = fresh.cache_info()
    assert (info.hits, info.misses) == (1, 2)


def test_matching_many_distinct_names_is_fast(table: PriceTable) -> None:
    import time

    fresh = PriceTable(table.rows)
    names = [f"gpt-4o-{n:04d}" for n in range(1000)] + [f"no-such-model-{n}" for n in range(1000)]
    start = time.perf_counter()
    for name in names:
        fresh.match(name, at=DAY)
    assert time.perf_counter() - start < 5.0  # about 0.1 s on a laptop; generous for CI
