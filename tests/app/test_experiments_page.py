"""The Experiments page in a real browser: datasets and their versions, the experiments of a
dataset with pass rates and scores, and two compared (a word diff of the outputs, score and
latency deltas, each run one click from its trace), the selection kept in the URL."""

from __future__ import annotations

import pytest

from tests.app.browser import new_app_page, serve_app
from tests.app.data import make_dataset

pytestmark = pytest.mark.browser


def _v1(input):
    return f"Please write to support about: {input}"


def _v2(input):
    return f"Refunds arrive in 5-10 days. About: {input}"


@pytest.fixture(scope="module")
def experiments_server(tmp_path_factory):
    from workbench.experiments import Contains, from_traces, run_experiment
    from workbench.query import Reader
    from workbench.store import Store

    data = make_dataset(sessions=6)
    store = Store(tmp_path_factory.mktemp("experiments") / "workbench.duckdb")
    store.write(data.spans)
    reader = Reader(store)
    traces = data.trace_ids[:5]
    made = from_traces(reader, "support-qa", traces[:3], description="questions of the first sessions")
    made.add([{"input": "Do you refund annual plans?"}])  # version 2
    for name, task in (("answer-v1", _v1), ("answer-v2", _v2)):
        run_experiment(reader, "support-qa", task, [Contains("refund")], name=name, progress=False)
    with serve_app(store) as server:
        yield server, reader, traces
    store.close()


@pytest.fixture
def tab(browser, experiments_server):
    page = new_app_page(browser, experiments_server[0].url)
    yield page
    page.page.context.close()
    page.assert_no_errors()


def test_datasets_versions_experiments_and_a_comparison(tab, experiments_server):
    _, reader, _ = experiments_server
    tab.goto("page=experiments", ready=".wb-datasets")
    tab.wait_for(".wb-datasets a.wb-dataset", text="support-qa")
    tab.wait_url(page="experiments", dataset="support-qa")
    tab.wait_for("li.wb-version.on", text="v2")
    tab.wait_count("table.wb-examples tbody tr", 4)
    tab.wait_for("table.wb-experiments", text="answer-v1")
    listed = tab.text("table.wb-experiments")
    assert "answer-v2" in listed and "100%" in listed and "0%" in listed  # the pass rates

    # An old version stays readable.
    tab.page.locator("li.wb-version a").filter(has_text="v1").click()
    tab.wait_url(page="experiments", dataset="support-qa", version="1")
    tab.wait_count("table.wb-examples tbody tr", 3)

    # Tick two experiments: the comparison shows the diff and the deltas, and the URL holds them.
    tab.page.locator("a.wb-tick[data-experiment='answer-v1']").click()
    tab.wait_url(compare="answer-v1")
    tab.page.locator("a.wb-tick[data-experiment='answer-v2']").click()
    tab.wait_url(compare="answer-v1,answer-v2")
    tab.wait_for("table.wb-compare-summary", text="answer-v2")
    summary = tab.text("table.wb-compare-summary")
    assert "+75 pts" in summary  # v2 passes where v1 failed (but for the one question that says refund)
    tab.wait_count("table.wb-compare tbody tr", 4)
    tab.wait_for("table.wb-compare ins.wb-ins", text="Refunds")
    tab.wait_for("table.wb-compare del.wb-del", text="Please")
    tab.wait_for("table.wb-compare .wb-up", text="+1.00")  # the score delta of contains

    # Back and Forward step through the selections.
    tab.page.go_back()
    tab.wait_url(compare="answer-v1")
    tab.wait_for(".wb-muted", text="Tick one more experiment")
    tab.page.go_forward()
    tab.wait_url(compare="answer-v1,answer-v2")
    tab.wait_for("table.wb-compare ins.wb-ins")

    # Each run is a trace: its link opens it.
    first = tab.page.locator("table.wb-compare a.wb-run-trace").nth(1)
    first.click()
    tab.wait_url(page="trace")
    tab.wait_for(".wf-row[data-id]")
    runs = reader.traces("project == 'experiments'", limit=None)
    assert len(runs) >= 8
    assert any(tid in tab.page.url for tid in runs["trace_id"])


def test_compare_with_production(tab, experiments_server):
    tab.goto("page=experiments&dataset=support-qa&version=1&compare=answer-v2", ready="a.wb-with-production")
    tab.page.locator("a.wb-with-production").click()
    tab.wait_url(compare="answer-v2,production")
    tab.wait_for("table.wb-compare-summary", text="production")
    tab.wait_count("table.wb-compare tbody tr", 4)
    # What production answered on the source traces, diffed against the experiment's output.
    tab.wait_for("table.wb-compare ins.wb-ins", text="anything")


@pytest.fixture(scope="module")
def sample_server(tmp_path_factory):
    from pathlib import Path

    from workbench.store import Store

    store = Store(tmp_path_factory.mktemp("sample-experiments") / "sample.duckdb")
    store.import_parquet(Path(__file__).resolve().parents[2] / "sample_data" / "traces")  # as load_sample does
    with serve_app(store) as server:
        yield server
    store.close()


def test_the_samples_two_prompts_compared(browser, sample_server, shots):
    tab = new_app_page(browser, sample_server.url)
    try:
        tab.goto("page=experiments", ready="table.wb-experiments")
        tab.wait_url(dataset="support-bad-answers")
        tab.page.locator("a.wb-tick[data-experiment='support-prompt-v2']").click()
        tab.wait_url(compare="support-prompt-v2")
        tab.page.locator("a.wb-tick[data-experiment='support-prompt-v1']").click()
        tab.wait_url(compare="support-prompt-v2,support-prompt-v1")
        tab.wait_count("table.wb-compare tbody tr", 20)
        tab.wait_for("table.wb-compare ins.wb-ins")
        summary = tab.text("table.wb-compare-summary")
        assert "support-prompt-v1" in summary and "pts" in summary
        tab.page.locator("table.wb-compare-summary").first.scroll_into_view_if_needed()
        tab.screenshot(shots("experiments"))
        tab.assert_no_errors()
    finally:
        tab.page.context.close()
