"""Datasets from where examples are found, in a real browser: rows ticked on the Traces page,
the traces a filter matches, the Quality page's worst traces, a session's turns. Each add
writes a new version of the dataset chosen or typed."""

from __future__ import annotations

import pytest

from tests.app.browser import new_app_page, serve_dataset

pytestmark = pytest.mark.browser

ROWS = ".wb-grid tbody tr[data-href]"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serve_dataset(tmp_path_factory.mktemp("to-dataset"), sessions=8) as served:
        yield served


@pytest.fixture
def tab(browser, served):
    page = new_app_page(browser, served[0].url)
    yield page
    page.page.context.close()
    page.assert_no_errors()


def _add(tab, name: str, *, label: str) -> None:
    tab.page.locator(".wb-dataset-name input").fill(name)
    tab.page.locator(".wb-add-to-dataset button").filter(has_text=label).click()


def test_ticked_rows_then_a_filter_make_two_versions(tab, served):
    from workbench.experiments import dataset

    _, reader, _ = served
    tab.goto(ready=ROWS)
    ticks = tab.page.locator(f"{ROWS} a.wb-tick")
    chosen = [ticks.nth(i).get_attribute("data-id") for i in (0, 2)]
    ticks.nth(0).click()
    tab.wait_count(f"{ROWS} a.wb-tick.on", 1)
    ticks.nth(2).click()
    tab.wait_count(f"{ROWS} a.wb-tick.on", 2)
    assert "page=traces" in tab.page.url  # ticking is no navigation
    tab.wait_for(".wb-add-to-dataset button", text="Add 2 ticked traces")
    _add(tab, "picked", label="Add 2 ticked traces")
    tab.wait_for(".wb-add-status", text="picked made: 2 examples")
    made = dataset(reader, "picked")
    assert made.version == 1 and sorted(made.examples["source_trace_id"]) == sorted(chosen)

    # Unticked, the button adds what the filter matches: a new version of the dataset chosen.
    for _ in range(2):
        tab.page.locator(f"{ROWS} a.wb-tick.on").first.click()
    tab.wait_count(f"{ROWS} a.wb-tick.on", 0)
    errors = reader.traces("status_code == 'ERROR'", limit=None)
    tab.goto("status=ERROR", ready=ROWS)
    label = "Add this trace" if len(errors) == 1 else f"Add these {len(errors)} traces"
    tab.wait_for(".wb-add-to-dataset button", text=label)
    tab.page.locator(".wb-dataset-existing select").select_option("picked")
    tab.page.locator(".wb-add-to-dataset button").click()
    tab.wait_for(".wb-add-status", text="picked version 2")
    second = dataset(reader, "picked")
    assert second.version == 2
    assert set(second.examples["source_trace_id"]) == set(chosen) | set(errors["trace_id"])
    assert len(dataset(reader, "picked", 1)) == 2  # the old version is unchanged

    # The link opens the new version on the Experiments page.
    tab.page.locator("a.wb-dataset-link").click()
    tab.wait_url(page="experiments", dataset="picked", version="2")
    tab.wait_for("li.wb-version.on", text="v2")


def test_no_name_is_refused_and_nothing_is_written(tab, served):
    from workbench.experiments import list_datasets

    _, reader, _ = served
    before = len(list_datasets(reader))
    tab.goto(ready=ROWS)
    tab.page.locator(".wb-add-to-dataset button").click()
    tab.wait_for(".wb-add-status .wb-error-text", text="Type a dataset name")
    assert len(list_datasets(reader)) == before


def test_from_the_worst_traces_and_from_a_session(tab, served):
    from workbench.evals import annotate
    from workbench.experiments import dataset

    _, reader, data = served
    bad = data.trace_ids[:3]
    for trace_id in bad:
        annotate(reader, name="user_feedback", label="thumbs_down", score=0.0, trace_id=trace_id)
    tab.goto("page=quality&evaluation=user_feedback", ready=".wb-worst")
    _add(tab, "worst", label="Add these worst traces")
    tab.wait_for(".wb-add-status", text="worst made: 3 examples")
    assert set(dataset(reader, "worst").examples["source_trace_id"]) == set(bad)

    session, turns = next(iter(data.sessions.items()))
    tab.goto(f"page=sessions&session_id={session}", ready=".wb-turn")
    _add(tab, "turns", label="Add this session's turns")
    tab.wait_for(".wb-add-status", text=f"turns made: {len(turns)} examples")
    assert list(dataset(reader, "turns").examples["source_trace_id"]) == turns
