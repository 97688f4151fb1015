"""Cost through the whole path: spans written to a store, priced when queried.

Every figure here is worked out by hand from the shipped table (USD per million tokens) or
from a user row the test sets, so a change in the maths or the join shows up as a number.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from tests.helpers import make_span
from workbench.analysis import cost
from workbench.model import SpanKind, StatusCode, TokenUsage
from workbench.pricing import PriceTable
from workbench.pricing import cost as span_cost

M = 1_000_000


def _ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1e9)


def _call(trace: int, model: str | None, provider: str | None = None, n: int = 0, **fields):
    fields.setdefault("tokens", TokenUsage(prompt=M, completion=M, prompt_includes_cache=True))
    return make_span(n, trace=trace, kind=fields.pop("kind", SpanKind.LLM), model_name=model, provider=provider,
                     **fields)


# Real spellings of model names, as instrumentors and gateways send them, with what one
# million input plus one million output tokens cost at the shipped price.
VARIANTS = [
    ("gpt-4o-2024-08-06", "openai", 2.5 + 10),
    ("openai/gpt-4o-mini", None, 0.15 + 0.6),
    ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "aws.bedrock", 3 + 15),
    ("publishers/google/models/gemini-2.0-flash-001", "gcp.vertex_ai", 0.1 + 0.4),
    ("claude-sonnet-4-5-20250929", "anthropic", 3 + 15),
    ("mistral-large-latest", "mistralai", 2 + 6),
    ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "together", 0.88 + 0.88),
    ("o3-mini-2025-01-31", "openai", 1.1 + 4.4),
    ("ft:gpt-4o-mini:acme::abc123", "openai", None),  # fine-tunes bill differently: unpriced
]


def test_model_name_variants_are_priced_through_the_store(store, reader):
    store.write([_call(i, model, provider) for i, (model, provider, _) in enumerate(VARIANTS)])

    spans = reader.spans(order_by="trace_id")
    by_model = cost.cost_by(reader, by="model").set_index("model")
    traces = reader.traces(order_by="start_time", limit=None).set_index("trace_id")
    for i, (model, _, expected) in enumerate(VARIANTS):
        row = spans.iloc[i]
        assert row["model_name"] == model
        if expected is None:
            assert math.isnan(row["cost"]) and math.isnan(by_model.loc[model, "cost"])
            assert by_model.loc[model, "unpriced_calls"] == 1 and traces.loc[row["trace_id"], "unpriced"]
        else:
            assert row["cost"] == pytest.approx(expected), model
            assert by_model.loc[model, "cost"] == pytest.approx(expected), model
            assert traces.loc[row["trace_id"], "cost"] == pytest.approx(expected), model
            assert not traces.loc[row["trace_id"], "unpriced"]


def test_a_user_price_recosts_history_at_once(store, reader, prices):
    store.write([_call(0, "acme-large", "acme"), _call(1, "gpt-4o-mini", "openai")])
    before = cost.cost_by(reader, by="model").set_index("model")
    assert math.isnan(before.loc["acme-large", "cost"])
    assert before.loc["gpt-4o-mini", "cost"] == pytest.approx(0.75)

    prices.set("acme-large", input=1, output=2)
    prices.set("gpt-4o-mini", input=10, output=20, provider="openai")  # a user row beats the shipped one
    after = cost.cost_by(reader, by="model").set_index("model")
    assert after.loc["acme-large", "cost"] == pytest.approx(3.0)
    assert after.loc["gpt-4o-mini", "cost"] == pytest.approx(30.0)
    assert cost.unpriced_models(reader).empty

    prices.set("acme-large", input=4, output=2)  # same key: replaced, and history follows
    assert reader.spans("model_name == 'acme-large'")["cost"].iloc[0] == pytest.approx(6.0)
    prices.remove("gpt-4o-mini", provider="openai")
    assert reader.traces("model_name == 'gpt-4o-mini'")["cost"].iloc[0] == pytest.approx(0.75)


def test_a_dated_row_prices_old_calls_at_the_old_price(store, reader, prices):
    store.write([
        _call(0, "acme-large", base_ns=_ns("2024-12-15T12:00")),  # before any price: unpriced
        _call(1, "acme-large", base_ns=_ns("2025-01-10T12:00")),
        _call(2, "acme-large", base_ns=_ns("2025-03-10T12:00")),
    ])
    prices.set("acme-large", input=1, output=1, valid_from="2025-01-01")
    prices.set("acme-large", input=2, output=2, valid_from="2025-03-01")

    per_day = cost.cost_by(reader, by=None, every="day").set_index("bucket")["cost"]
    assert math.isnan(per_day[pd.Timestamp("2024-12-15", tz="UTC")])
    assert per_day[pd.Timestamp("2025-01-10", tz="UTC")] == pytest.approx(2.0)
    assert per_day[pd.Timestamp("2025-03-10", tz="UTC")] == pytest.approx(4.0)
    listed = cost.unpriced_models(reader)
    assert list(listed["model_name"]) == ["acme-large"] and list(listed["calls"]) == [1]
    assert "only from a later day" in listed["reason"].iloc[0]


def test_the_shipped_price_history_changes_at_utc_midnight(store, reader):
    # gpt-4o cost $5/$15 until 30 September 2024 and $2.50/$10 from 1 October (UTC).
    store.write([
        _call(0, "gpt-4o", "openai", base_ns=_ns("2024-09-30T23:30")),
        _call(1, "gpt-4o", "openai", base_ns=_ns("2024-10-01T00:30")),
    ])
    assert list(reader.spans(order_by="start_time")["cost"]) == pytest.approx([20.0, 12.5])


def test_unpriced_calls_are_unknown_never_zero(store, reader):
    store.write([
        _call(0, "mystery-model", "acme", tokens=TokenUsage(prompt=1200, completion=300, cache_read=200)),
        _call(1, "mystery-model", "acme", tokens=TokenUsage(prompt=800, completion=100)),
        _call(2, None, None, tokens=TokenUsage(prompt=10, completion=5)),  # a call without a model name
        make_span(0, trace=3, kind=SpanKind.CHAIN),  # no calls at all: nothing was spent
    ])
    traces = reader.traces(limit=None).set_index("trace_id")
    first, third, fourth = (f"{n:032x}" for n in (1, 3, 4))
    assert math.isnan(traces.loc[first, "cost"]) and traces.loc[first, "unpriced"]
    assert math.isnan(traces.loc[third, "cost"]) and traces.loc[third, "unpriced"]
    assert traces.loc[fourth, "cost"] == 0 and not traces.loc[fourth, "unpriced"]
    totals = cost.cost_by(reader, by=None)
    assert math.isnan(totals["cost"].iloc[0]) and totals["unpriced_calls"].iloc[0] == 3
    assert math.isnan(cost.burn_rate(reader)["cost"].iloc[0])

    listed = cost.unpriced_models(reader)
    mystery = listed[listed["model_name"] == "mystery-model"].iloc[0]
    assert (mystery["provider"], mystery["calls"], mystery["prompt_tokens"], mystery["completion_tokens"],
            mystery["cache_read_tokens"]) == ("acme", 2, 2000, 400, 200)
    assert mystery["fix"] == "workbench prices set 'mystery-model' --input USD --output USD --provider acme"
    nameless = listed[listed["model_name"].isna()].iloc[0]
    assert nameless["calls"] == 1 and "no model name" in nameless["reason"]


def test_an_unpriced_model_is_unpriced_everywhere_even_without_tokens(store, reader):
    store.write([
        _call(0, "all-MiniLM-L6-v2", None, kind=SpanKind.EMBEDDING, tokens=TokenUsage()),
        _call(0, "gpt-4o-mini", "openai", n=1),
    ])
    spans = reader.spans(order_by="span_id")
    assert math.isnan(spans["cost"].iloc[0]) and spans["cost"].iloc[1] == pytest.approx(0.75)
    trace = reader.traces().iloc[0]
    # The priced part is summed, and the trace says a part of it is unknown.
    assert trace["cost"] == pytest.approx(0.75) and trace["unpriced"] and trace["unpriced_calls"] == 1
    by_model = cost.cost_by(reader, by="model").set_index("model")
    mini_lm = by_model.loc["all-MiniLM-L6-v2"]
    assert math.isnan(mini_lm["cost"]) and (mini_lm["unpriced_calls"], mini_lm["priced_calls"]) == (1, 0)
    totals = cost.cost_by(reader, by=None).iloc[0]
    assert totals["cost"] == pytest.approx(0.75) and totals["unpriced_calls"] == 1
    listed = cost.unpriced_models(reader).iloc[0]
    assert (listed["model_name"], listed["calls"], listed["unpriced_calls"]) == ("all-MiniLM-L6-v2", 1, 1)
    assert "report no tokens" in listed["reason"]
    tree = cost.span_costs(reader, f"{1:032x}").set_index("span_id")
    assert math.isnan(tree["cost"].iloc[0]) and tree["unpriced_calls"].iloc[0] == 1


def test_a_failed_call_without_tokens_is_no_priced_call_of_zero(store, reader):
    store.write([
        # A priced model's call that failed before any token was counted, alone in its trace.
        _call(0, "gpt-4o-mini", "openai", tokens=TokenUsage(), status_code=StatusCode.ERROR),
        # Beside a successful call of the same model in another trace.
        _call(1, "gpt-4o-mini", "openai", tokens=TokenUsage(total=None)),
        _call(1, "gpt-4o-mini", "openai", n=1),
        # A total alone bills nothing: which price would it be billed at?
        _call(2, "gpt-4o-mini", "openai", tokens=TokenUsage(total=500)),
    ])
    costs = reader.spans(order_by="trace_id")["cost"].tolist()
    assert math.isnan(costs[0]) and math.isnan(costs[1]) and costs[2] == pytest.approx(0.75) and math.isnan(costs[3])
    traces = reader.traces(limit=None).set_index("trace_id")
    failed, mixed, total_only = (f"{n:032x}" for n in (1, 2, 3))
    assert math.isnan(traces.loc[failed, "cost"]) and not traces.loc[failed, "unpriced"]  # unknown, not unpriced
    assert traces.loc[mixed, "cost"] == pytest.approx(0.75) and traces.loc[mixed, "unpriced_calls"] == 0
    assert math.isnan(traces.loc[total_only, "cost"])
    mini = cost.cost_by(reader, by="model").iloc[0]
    assert (mini["calls"], mini["priced_calls"], mini["no_usage_calls"], mini["unpriced_calls"]) == (4, 1, 3, 0)
    assert mini["cost"] == pytest.approx(0.75)
    assert cost.unpriced_models(reader).empty  # the model has a price: nothing to add
    per_request = cost.cost_per_request(reader).iloc[0]
    assert (per_request["requests"], per_request["unknown"]) == (3, 2)


def test_a_failed_call_with_a_sent_cost_keeps_it(store, reader):
    store.write([_call(0, "gpt-4o-mini", "openai", tokens=TokenUsage(), client_cost=0.002)])
    assert reader.spans()["cost"].iloc[0] == pytest.approx(0.002)
    row = cost.cost_by(reader, by=None).iloc[0]
    assert row["cost"] == pytest.approx(0.002) and (row["priced_calls"], row["no_usage_calls"]) == (0, 0)


def test_a_free_price_costs_every_call_zero_tokens_or_not(store, reader, prices):
    store.write([
        _call(0, "all-MiniLM-L6-v2", None, kind=SpanKind.EMBEDDING, tokens=TokenUsage()),
        _call(1, "all-MiniLM-L6-v2", None, kind=SpanKind.EMBEDDING, tokens=TokenUsage(prompt=9)),
    ])
    assert cost.cost_by(reader, by=None)["unpriced_calls"].iloc[0] == 2
    prices.set("all-MiniLM-L6-v2", input=0, output=0)
    assert reader.spans()["cost"].tolist() == [0.0, 0.0]
    row = cost.cost_by(reader, by=None).iloc[0]
    assert (row["cost"], row["priced_calls"], row["unpriced_calls"], row["no_usage_calls"]) == (0.0, 2, 0, 0)
    assert not reader.traces(limit=None)["unpriced"].any()


def test_the_python_rule_agrees_with_the_views(store, reader):
    from workbench.pricing import call_cost

    table = PriceTable.load()
    cases = [("gpt-4o-mini", "openai", TokenUsage(prompt=1000, completion=10), None),
             ("gpt-4o-mini", "openai", TokenUsage(), None),
             ("gpt-4o-mini", "openai", TokenUsage(), 0.5),
             ("mystery-model", None, TokenUsage(prompt=1000), None),
             ("mystery-model", None, TokenUsage(prompt=1000), 0.25)]
    store.write([_call(i, m, p, tokens=t, client_cost=c) for i, (m, p, t, c) in enumerate(cases)])
    got = reader.spans(order_by="trace_id")["cost"].tolist()
    for value, (model, provider, tokens, client) in zip(got, cases, strict=True):
        match = table.match(model, provider, _call(0, model).start_time_ns)
        want = call_cost(tokens, match.price if match else None, client)
        assert (math.isnan(value) and want is None) or value == pytest.approx(want), (model, tokens, client)


@pytest.mark.parametrize(
    "tokens",
    [
        # OpenAI, OTel GenAI, OpenInference: the prompt count includes the cache tokens.
        TokenUsage(prompt=1000, completion=100, cache_read=600, cache_write=200, prompt_includes_cache=True),
        # Anthropic's own usage: cache tokens are on top of the prompt count.
        TokenUsage(prompt=200, completion=100, cache_read=600, cache_write=200, prompt_includes_cache=False),
        # Unknown: taken as inclusive, which never bills more input than was reported.
        TokenUsage(prompt=1000, completion=100, cache_read=600, cache_write=200),
    ],
    ids=["inclusive", "exclusive", "unknown"],
)
def test_cached_tokens_are_billed_once_under_each_convention(store, reader, tokens):
    # claude-3-5-sonnet: $3 input, $15 output, $0.30 cache read, $3.75 cache write.
    store.write([_call(0, "claude-3-5-sonnet-20241022", "anthropic", tokens=tokens)])
    expected = (200 * 3 + 600 * 0.30 + 200 * 3.75 + 100 * 15) / M
    assert reader.spans()["cost"].iloc[0] == pytest.approx(expected)
    assert cost.cost_by(reader, by="model")["cost"].iloc[0] == pytest.approx(expected)


def test_reasoning_tokens_bill_at_their_own_price_or_as_output(store, reader, prices):
    prices.set("thinker", input=1, output=2, reasoning=10)
    store.write([
        _call(0, "thinker", tokens=TokenUsage(prompt=0, completion=1000, reasoning=400)),
        _call(1, "o3-mini", "openai", tokens=TokenUsage(prompt=0, completion=1000, reasoning=800)),
        # Counted apart (as Gemini's thoughts are): more reasoning than completion tokens.
        _call(2, "gemini-2.0-flash", "google", tokens=TokenUsage(prompt=0, completion=100, reasoning=500)),
    ])
    costs = list(reader.spans(order_by="trace_id")["cost"])
    assert costs == pytest.approx([(600 * 2 + 400 * 10) / M, 1000 * 4.4 / M, 600 * 0.4 / M])


def test_client_cost_is_shown_beside_and_used_when_unpriced(store, reader):
    store.write([
        _call(0, "in-house-llm", None, client_cost=0.42),
        _call(1, "gpt-4o-mini", "openai", client_cost=9.99),  # priced: the computed cost is used
    ])
    by_model = cost.cost_by(reader, by="model").set_index("model")
    house, mini = by_model.loc["in-house-llm"], by_model.loc["gpt-4o-mini"]
    assert (house["cost"], house["client_cost"], house["unpriced_calls"]) == (0.42, 0.42, 0)
    assert math.isnan(house["computed_cost"])
    assert mini["cost"] == pytest.approx(0.75) and mini["client_cost"] == 9.99
    listed = cost.unpriced_models(reader)
    assert list(listed["model_name"]) == ["in-house-llm"] and listed["calls_with_client_cost"].iloc[0] == 1
    assert not reader.traces(limit=None).set_index("trace_id").loc[f"{1:032x}", "unpriced"]


def test_every_span_costs_what_the_python_maths_says(store, reader):
    rng = np.random.default_rng(7)
    models = [("gpt-4o-2024-08-06", "openai"), ("claude-3-5-sonnet-20241022", "anthropic"),
              ("o3-mini", "openai"), ("gemini-2.0-flash", "google")]
    spans = []
    for i in range(60):
        def count():
            return None if rng.random() < 0.2 else int(rng.integers(0, 5000))

        model, provider = models[i % len(models)]
        tokens = TokenUsage(prompt=count(), completion=count(), cache_read=count(), cache_write=count(),
                            reasoning=count(), prompt_includes_cache=[True, False, None][i % 3])
        spans.append(_call(i, model, provider, tokens=tokens, start_ms=i))
    store.write(spans)
    table = PriceTable.load()
    got = reader.spans(order_by="start_time")["cost"].to_numpy()
    want = [span_cost(s.tokens, table.match(s.model_name, s.provider, s.start_time_ns).price).total for s in spans]
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert cost.cost_by(reader, by=None)["cost"].iloc[0] == pytest.approx(sum(want), rel=1e-12)


def test_spans_and_traces_carry_cost_columns(store, reader, rag_spans):
    store.write(rag_spans)
    assert list(reader.spans(columns=["name", "cost"]).columns) == ["name", "cost"]
    assert "cost" not in reader.spans(columns=["name"]).columns
    spans = reader.spans(arrow=True)
    assert spans.column_names[-1] == "cost"
    llm = reader.spans("span_kind == 'LLM'")
    # gpt-4o: 20 uncached input at $2.50, 100 cache reads at $1.25, 30 output at $10.
    assert llm["cost"].iloc[0] == pytest.approx((20 * 2.5 + 100 * 1.25 + 30 * 10) / M)
    assert reader.spans("span_kind == 'CHAIN'")["cost"].isna().all()  # not a call
    trace = reader.traces().iloc[0]
    # The embedding model has no price: its call is unpriced (unknown, not $0), tokens or not.
    assert trace["cost"] == pytest.approx(llm["cost"].iloc[0]) and trace["unpriced"]
    assert math.isnan(reader.spans("span_kind == 'EMBEDDING'")["cost"].iloc[0])


def test_traces_sort_and_page_by_cost(store, reader):
    store.write([_call(0, "gpt-4o-mini", "openai"), _call(1, "gpt-4o", "openai"), _call(2, "nobody-knows")])
    ordered = reader.traces(order_by="cost", limit=None)
    assert list(ordered["cost"].round(2).fillna(-1)) == [12.5, 0.75, -1]  # unknown cost last
    assert list(reader.traces(order_by="cost", descending=False, limit=1)["cost"]) == [0.75]
    assert list(reader.traces(order_by="cost", limit=1, offset=1)["cost"]) == [0.75]
