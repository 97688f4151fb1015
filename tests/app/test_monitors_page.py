"""The Monitors page: what fired, when, and a link to its spans; on its own and in a browser."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import panel as pn
import pytest

from tests.app.browser import serve_app
from tests.monitors.world import Deprecation, World, fill
from workbench.app.js_components import parse_href
from workbench.app.monitors import MonitorsView, results_html
from workbench.app.registry import PAGES
from workbench.query import Reader

DAY = dt.timedelta(days=1)
OLD, NEW = "gpt-4o-2024-05-13", "gpt-4.1-2025-04-14"


@pytest.fixture(autouse=True)
def _default_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "monitors.toml").write_text("")  # the default rules, whatever the user's home holds
    monkeypatch.setenv("WORKBENCH_MONITORS", str(tmp_path / "monitors.toml"))
    monkeypatch.setenv("WORKBENCH_PRICES", str(tmp_path / "prices.json"))


@pytest.fixture(scope="module")
def monitored_store(tmp_path_factory: Any) -> Iterator[Any]:
    """Ten days of traffic up to now; a model retired two days ago after an afternoon of 404s."""
    from workbench.store import Store

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    # An afternoon three days ago, whatever the hour now: a brownout in the night floor of
    # traffic (or a weekend's) could make fewer than min_errors calls.
    afternoon = (now - 3 * DAY).replace(hour=12, minute=0, second=0)
    brownouts = ((afternoon, afternoon + dt.timedelta(hours=4)),)
    store = Store(tmp_path_factory.mktemp("monitors") / "workbench.duckdb")
    fill(store, World(now=now, days=10, models={OLD: 0.6, "claude-3-5-haiku-20241022": 0.4},
                      deprecation=Deprecation(OLD, NEW, brownouts, now - 2 * DAY)))
    yield store
    store.close()


def _render(view: Any) -> Any:
    return pn.panel(view).get_root()


def test_the_page_shows_what_fired_with_a_link_to_its_spans(monitored_store):
    view = MonitorsView(Reader(monitored_store))
    _render(view)
    fired = view.results.fired
    assert [r.rule for r in fired] == ["model_deprecation"]
    html = view._list.html
    assert "CRITICAL" in html and f"Model &#x27;{OLD}&#x27; looks deprecated" in html
    assert html.index("model_deprecation") < html.index("cost_jump")  # fired first, quiet after
    assert "1 of 5 rules fired" in view._status.object
    assert "5 rules, from" in view._rules.object
    # The link opens the trace list with the rule's filter over its time range.
    page, params = parse_href(html.split("class='wb-monitor-spans' href='")[1].split("'")[0].replace("&amp;", "&"))
    assert page == "traces" and params["filter"] == fired[0].filter and params["range"] == "custom"
    view._follow(page, params)
    traces = view.links.view
    assert traces.scope.filter == fired[0].filter
    # Every failing call of the model in the window: the not-found ones the rule counted, and
    # any other error the background traffic had.
    assert traces.total >= fired[0].values["errors"] > 0


def test_a_shorter_window_and_quiet_rules_hidden(monitored_store):
    view = MonitorsView(Reader(monitored_store), window="1h", show_quiet=False)
    _render(view)
    [result] = view.results.fired
    assert result.severity == "warning" and "stopped being called" in result.message
    assert "ok" not in view._list.html.lower().split("wb-badge")[-1][:40]
    assert view._list.html.count("<tr class=") == 1
    view.show_quiet = True
    assert view._list.html.count("<tr class=") == 5


def test_a_bad_monitors_file_is_shown_not_raised(monitored_store, tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text("[rules.latency_slo]\npercentile = 200\n")
    monkeypatch.setenv("WORKBENCH_MONITORS", str(bad))
    view = MonitorsView(Reader(monitored_store))
    _render(view)
    assert view.results is None and "percentile = 200" in view.error
    assert "wb-error-text" in view._status.object and view._list.html == ""
    bad.write_text("")
    view.refresh()
    assert view.error is None and view.results.fired


def test_nothing_to_show(monitored_store):
    assert "No rules ran" in results_html([])
    view = MonitorsView(Reader(monitored_store), window="1h")
    _render(view)
    quiet = [r for r in view.results if not r.fired]
    assert "Every rule is quiet" in results_html(quiet, show_quiet=False)


# In a browser --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_server(monitored_store: Any) -> Iterator[Any]:
    assert "monitors" in PAGES  # listed in the app's registry
    with serve_app(monitored_store) as server:
        yield server


@pytest.mark.browser
def test_from_a_fired_rule_to_its_spans(app, shots):
    app.goto("page=monitors", ready=".wb-monitor-results")
    text = app.text(".wb-monitor-results")
    assert "model_deprecation" in text and "looks deprecated" in text and "CRITICAL" in text
    app.screenshot(shots("monitors"))
    app.page.locator("a.wb-monitor-spans").first.click()
    app.wait_url(page="traces")
    query = app.wait_until("() => new URLSearchParams(location.search).get('filter')")
    assert query == f"model_name == {OLD!r} and status_code == 'ERROR'"
