"""The Cost page over the shipped sample, in a real browser: the ticket-draft feature's burn
jump shows without configuration, a model without a price gets one from the form (and
history is re-costed), a model name is tested, and a costly trace is one click away. The
editable price table is driven through the view's own methods."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlparse

import pytest
from playwright.sync_api import expect

from tests.app.browser import serve_app
from tests.helpers import make_span, wait_for
from workbench.app.registry import PAGES
from workbench.model import SpanKind, TokenUsage


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlparse(url).query or url.lstrip("?")))


@pytest.fixture(scope="module")
def price_file(tmp_path_factory: Any) -> Iterator[Any]:
    path = tmp_path_factory.mktemp("prices") / "prices.json"
    before = os.environ.get("WORKBENCH_PRICES")
    os.environ["WORKBENCH_PRICES"] = str(path)
    yield path
    if before is None:
        os.environ.pop("WORKBENCH_PRICES", None)
    else:
        os.environ["WORKBENCH_PRICES"] = before


@pytest.fixture(scope="module")
def cost_store(tmp_path_factory: Any, price_file: Any) -> Iterator[Any]:
    """The sample, plus three calls to an in-house model that no price row knows."""
    from workbench.sample import load_sample
    from workbench.store import Store

    store = Store(tmp_path_factory.mktemp("cost") / "workbench.duckdb")
    load_sample(store)
    now_ns = time.time_ns()
    store.write([
        make_span(0, trace=90_000 + i, kind=SpanKind.LLM, name="homegrown", model_name="homegrown-7b",
                  provider="local", base_ns=now_ns - 3_600_000_000_000, start_ms=i * 1000,
                  tokens=TokenUsage(prompt=400_000, completion=100_000))
        for i in range(3)
    ])
    yield store
    store.close()


@pytest.fixture(scope="module")
def app_server(cost_store: Any) -> Iterator[Any]:
    assert "cost" in PAGES  # listed in the app's registry
    with serve_app(cost_store) as server:
        yield server


def _cards(app: Any) -> dict[str, str]:
    labels = app.page.locator(".wb-cost-cards .wb-card .l").all_inner_texts()
    values = app.page.locator(".wb-cost-cards .wb-card .v").all_inner_texts()
    return dict(zip((label.lower() for label in labels), values, strict=True))


@pytest.mark.browser
def test_the_ticket_draft_burn_jump_shows_without_configuration(app, shots):
    app.goto("page=cost", ready=".wb-cost-groups")
    rows = {line.split("\t")[0]: line for line in app.text(".wb-cost-groups").splitlines()[1:]}
    assert set(rows) >= {"ticket_draft", "support_chat", "billing_assistant", "help_center_search"}, rows
    rising = [name for name, line in rows.items() if line.split("\t")[-1].startswith("+")
              and int(line.split("\t")[-1].strip("+%")) >= 100]
    assert rising == ["ticket_draft"], rows
    assert app.page.locator(".wb-cost-groups .wb-up").count() == 1
    cards = _cards(app)
    # The three homegrown calls, and the sample's local embedding calls (no price, no tokens).
    assert cards["spent"].startswith("$") and int(cards["unpriced calls"].replace(",", "")) > 3, cards
    models = {line.split("\t")[0]: line.split("\t") for line in app.text(".wb-unpriced-models").splitlines()[1:]}
    assert list(models) == ["homegrown-7b", "all-MiniLM-L6-v2"], models  # the one a price would cost first
    assert models["homegrown-7b"][2] == "3" and "report no tokens" in models["all-MiniLM-L6-v2"][-1]
    app.screenshot(shots("cost"))


@pytest.mark.browser
def test_a_price_added_from_the_form_recosts_history(app, price_file, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PRICES", str(price_file))  # the autouse isolation unset it for this test
    app.goto("page=cost", ready=".wb-unpriced-models")
    spent_before = float(_cards(app)["spent"].strip("$").replace(",", ""))
    unpriced_before = int(_cards(app)["unpriced calls"].replace(",", ""))
    assert app.page.locator(".wb-form-pattern input").input_value() == "homegrown-7b"
    app.page.locator(".wb-form-input input").fill("2")
    app.page.locator(".wb-form-output input").fill("10")
    app.page.locator(".wb-form-output input").press("Tab")
    app.page.locator(".wb-form-add button").click()
    app.wait_for(".wb-form-status", text="Added")
    expect(app.page.locator(".wb-unpriced-models").first).not_to_contain_text("homegrown-7b", timeout=30_000)
    wait_for(lambda: int(_cards(app)["unpriced calls"].replace(",", "")) == unpriced_before - 3, timeout=30)
    # Three calls of 400k input and 100k output tokens at $2 and $10 per million: $5.40.
    spent_after = float(_cards(app)["spent"].strip("$").replace(",", ""))
    assert spent_after == pytest.approx(spent_before + 5.40, abs=0.01)
    assert "homegrown-7b" in price_file.read_text()
    app.wait_for(".wb-user-prices", text="homegrown-7b")


@pytest.mark.browser
def test_testing_a_model_name_says_which_row_and_why(app):
    app.goto("page=cost", ready=".wb-test-name")
    app.page.locator(".wb-test-name input").fill("us.anthropic.claude-3-5-sonnet-20241022-v2:0")
    app.page.locator(".wb-test-button button").click()
    app.wait_for(".wb-test-result", text="priced by shipped row 'claude-3-5-sonnet'")


@pytest.mark.browser
def test_the_costliest_trace_is_one_click_away(app):
    app.goto("page=cost&by=model&every=hour", ready=".wb-top-traces")
    link = app.page.locator(".wb-top-traces a[href*='page=trace']").first
    trace_id = _query(link.get_attribute("href"))["trace_id"]
    link.click()
    app.wait_for(".wf-row[data-id]")
    app.wait_url(page="trace", trace_id=trace_id)


def test_editing_the_price_table_saves_and_recosts(cost_store, tmp_path):
    from workbench.app.cost import CostView
    from workbench.pricing.prices import Prices
    from workbench.query import Reader

    prices = Prices(tmp_path / "prices.json")
    prices.set("homegrown-7b", input=1, output=1, provider="local")
    prices.set("spare-model", input=3, output=3)
    view = CostView(Reader(cost_store), prices=prices, by="model")
    view.__panel__()
    assert list(view._user_table.value["pattern"]) == ["homegrown-7b", "spare-model"]
    spent = _spent(view)

    edited = view._user_table.value.copy()
    edited.loc[0, "output"] = 11.0  # 300k more output tokens at $10 more per million: $3 more
    view._user_table.value = edited
    assert view.save_user_table()
    assert prices.match("homegrown-7b", "local").row.output == 11.0
    assert _spent(view) == pytest.approx(spent + 3.0, abs=0.01)

    broken = view._user_table.value.copy()
    broken.loc[1, "input"] = -1.0
    view._user_table.value = broken
    assert not view.save_user_table()
    assert "negative" in view._prices_status.object and prices.match("spare-model").row.input == 3

    view._user_table.selection = [1]
    assert view.remove_selected() == 1
    assert [r.pattern for r in prices.table().rows if r.origin == "user"] == ["homegrown-7b"]


def _spent(view) -> float:
    text = view._cards.object.split("<div class='v'>")[1].split("<")[0]
    return float(text.strip("$").replace(",", ""))
