"""Dollars as every page shows them: one formatter, small costs keep their digits, and what has
no price never reads as $0. Checked through the functions the pages render with."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from tests.helpers import make_span
from workbench.model import SpanKind, StatusCode, TokenUsage
from workbench.pricing.money import usd


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.000033, "$0.000033"),
        (3.3e-05, "$0.000033"),
        (0.0000425, "$0.0000425"),
        (0.0123456, "$0.0123"),
        (0.5, "$0.50"),
        (0.999, "$0.999"),
        (0.99996, "$1.00"),
        (1, "$1.00"),
        (12.345678, "$12.35"),
        (1234.5678, "$1,235"),
        (1e-9, "$0.000000001"),
        (0, "$0"),
        (-0.0012, "-$0.0012"),
        (np.float64(0.00042), "$0.00042"),
        (Decimal("0.00042"), "$0.00042"),
        (None, "unknown"),
        (float("nan"), "unknown"),
        (pd.NA, "unknown"),
    ],
)
def test_usd_keeps_significant_digits(value, text):
    assert usd(value) == text


def test_usd_never_writes_scientific_notation_or_rounds_a_cost_to_zero():
    for exponent in range(-12, 6):
        for mantissa in (1, 1.5, 3.3, 9.99):
            value = mantissa * 10.0**exponent
            text = usd(value)
            assert re.fullmatch(r"\$[0-9,]+(\.[0-9]+)?", text), (value, text)
            assert float(text.strip("$").replace(",", "")) == pytest.approx(value, rel=0.006), (value, text)


def test_every_money_formatter_is_the_one():
    from workbench.app.cost import fmt_usd as cost_page
    from workbench.app.markup import fmt_usd
    from workbench.monitors.words import money

    for value in (0.000033, 0.5, 42.0, 1234.0, None):
        assert fmt_usd(value) == cost_page(value) == money(value) == usd(value)


def test_cost_html_marks_unpriced_parts_and_never_shows_zero_for_unknown():
    from workbench.app.markup import cost_html

    assert cost_html(0.000033) == "$0.000033"
    assert cost_html(None, 2).endswith(">unpriced</span>")
    partial = cost_html(0.0012, 2)
    assert partial.startswith("$0.0012") and "2 calls without a price" in partial
    assert cost_html(float("nan")) == "" and "\u2013" in cost_html(None, 0, missing="\u2013")
    assert "$0" not in cost_html(None, 3)


def test_the_traces_list_shows_small_costs_and_unpriced_parts(store):
    from workbench.app.traces import span_rows, trace_rows
    from workbench.query import Reader

    store.write([
        # gpt-4o-mini: 100 input tokens at $0.15 and 30 output at $0.60 per million: $0.000033.
        make_span(0, trace=0, model_name="gpt-4o-mini", provider="openai",
                  tokens=TokenUsage(prompt=100, completion=30)),
        make_span(0, trace=1, kind=SpanKind.CHAIN),
        make_span(1, trace=1, parent=0, model_name="gpt-4o-mini", provider="openai",
                  tokens=TokenUsage(prompt=100, completion=30)),
        make_span(2, trace=1, parent=0, model_name="homegrown-7b", tokens=TokenUsage(prompt=5)),
        make_span(0, trace=2, model_name="homegrown-7b", tokens=TokenUsage(prompt=5)),
        make_span(0, trace=3, model_name="gpt-4o-mini", provider="openai", tokens=TokenUsage(),
                  status_code=StatusCode.ERROR),
    ])
    reader = Reader(store)
    rows = trace_rows(reader.traces(limit=None)).set_index("trace_id")["Cost"]
    small, partial, unpriced, failed = (rows[f"{n:032x}"] for n in (1, 2, 3, 4))
    assert small == "$0.000033"
    assert partial.startswith("$0.000033<") and "a call without a price" in partial
    assert ">unpriced<" in unpriced and "$" not in unpriced
    assert "$" not in failed and "unpriced" not in failed  # no tokens: unknown, and no model to price
    spans = span_rows(reader.spans(order_by="trace_id")).set_index("span_id")["Cost"]
    assert spans[make_span(0, trace=0).span_id] == "$0.000033"
    assert ">unknown<" in spans[make_span(0, trace=2).span_id]
    assert spans[make_span(0, trace=1).span_id] == ""  # a chain is no model call


def test_the_trace_view_shows_a_small_cost_and_what_it_leaves_out(store):
    from workbench.analysis.cost import span_costs
    from workbench.app.trace import _cost_html, trace_cost_html
    from workbench.query import Reader

    store.write([
        make_span(0, kind=SpanKind.CHAIN),
        make_span(1, parent=0, model_name="gpt-4o-mini", provider="openai",
                  tokens=TokenUsage(prompt=100, completion=30)),
        make_span(2, parent=0, model_name="homegrown-7b", tokens=TokenUsage(prompt=5)),
        make_span(3, parent=0, model_name="gpt-4o-mini", provider="openai", tokens=TokenUsage(),
                  status_code=StatusCode.ERROR),
    ])
    frame = span_costs(Reader(store), make_span(0).trace_id)
    costs = {row["span_id"]: row for row in frame.to_dict(orient="records")}
    summary = trace_cost_html(costs)
    assert "$0.000033" in summary and "1 call without a price" in summary and "1 call reported no tokens" in summary
    ids = [make_span(n).span_id for n in range(4)]
    assert "$0.000033 this call" in _cost_html(costs[ids[1]])
    assert "$0.000033 with its children" in _cost_html(costs[ids[0]])
    assert "this call has no price" in _cost_html(costs[ids[2]])
    assert "reported no tokens" in _cost_html(costs[ids[3]])
    assert not re.search(r"\$0\.0+(?![0-9])", summary + "".join(_cost_html(c) for c in costs.values()))
    assert not math.isnan(frame.set_index("span_id").loc[ids[0], "subtree_cost"])


def test_a_cost_alert_writes_small_amounts_in_full():
    from workbench.monitors.words import money

    assert money(0.0004) == "$0.0004" and "e-" not in money(3.3e-05)


def test_the_cost_page_cards_count_the_calls_without_tokens_apart(store):
    from workbench.analysis.cost import burn_rate, cost_by, request_costs
    from workbench.app.cost import _cards
    from workbench.query import Reader

    store.write([
        make_span(0, trace=0, model_name="gpt-4o-mini", provider="openai",
                  tokens=TokenUsage(prompt=100, completion=30)),
        make_span(0, trace=1, model_name="gpt-4o-mini", provider="openai", tokens=TokenUsage(),
                  status_code=StatusCode.ERROR),
    ])
    reader = Reader(store)
    html = _cards(cost_by(reader, by=None).iloc[0], request_costs(reader)["cost"], burn_rate(reader))
    values = dict(zip(re.findall(r"class='l'>([^<]+)<", html), re.findall(r"class='v'>([^<]+)<", html), strict=True))
    assert values["spent"] == "$0.000033" and values["model calls"] == "2"
    assert values["calls without tokens"] == "1" and values["unpriced calls"] == "0"


@pytest.mark.parametrize(
    ("value", "text"),
    [(2.5, "$2.5"), (10.0, "$10"), (0.075, "$0.075"), (1.25e-05, "$1.25e-05"), (None, ""), (float("nan"), "")],
)
def test_a_price_per_million_tokens_reads_as_it_was_written(value, text):
    from workbench.pricing.money import rate

    assert rate(value) == text
    assert rate(value, symbol=False) == text.removeprefix("$")


def test_no_dollar_amount_is_formatted_outside_the_money_module():
    """A ``$`` in front of a formatted value is a dollar formatter of its own; it belongs in money.py.

    (``${...env}`` in a command's help names an environment variable, not an amount.)
    """
    import ast
    from pathlib import Path

    import workbench

    package = Path(workbench.__file__).parent
    found = []
    for path in package.rglob("*.py"):
        if path == package / "pricing" / "money.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("$0"):
                found.append(f"{path.relative_to(package)}:{node.lineno}")  # a chart axis's dollar format
            if not isinstance(node, ast.JoinedStr):
                continue
            for before, value in zip(node.values, node.values[1:]):
                if (isinstance(before, ast.Constant) and str(before.value).endswith("$")
                        and isinstance(value, ast.FormattedValue)
                        and not (isinstance(value.value, ast.Attribute) and value.value.attr == "env")):
                    found.append(f"{path.relative_to(package)}:{node.lineno}")
    assert found == [], f"format dollars with workbench.pricing.money: {found}"
