"""A drift cluster becomes a dataset, in a real browser, on the shipped sample: the Drift page's
top cluster (the sample's drift story: questions about a feature the documentation does not
cover) is added to a dataset whose examples' source traces are the cluster's queries' traces."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest

from tests.app.browser import new_app_page, serve_app

pytestmark = pytest.mark.browser

NEW_TOPIC = r"(?i)copilot|\bai\b"  # how the sample's drift story finds its new topic's questions


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    pytest.importorskip("umap", reason="the Drift page projects with UMAP: pip install 'llm-trace-workbench[drift]'")
    pytest.importorskip("sklearn", reason="the Drift page clusters with scikit-learn")
    from workbench.drift import DriftWorker
    from workbench.errors import StoreError
    from workbench.query import Reader
    from workbench.sample import load_sample, sample_path
    from workbench.store import Store

    try:
        sample_path()
    except StoreError:
        pytest.skip("the sample data is not installed")
    # The server runs in this process: compile UMAP first (up to minutes on a fresh machine,
    # whose numba cache is empty), so the page's wait below is the analysis alone.
    from workbench.drift.projection import warm_up

    warm_up()
    store = Store(tmp_path_factory.mktemp("drift-dataset") / "sample.duckdb")
    load_sample(store)
    reader = Reader(store)
    with serve_app(store) as server:
        yield server, reader
    DriftWorker.shared(reader, warm=False).stop()
    store.close()


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_top_drift_cluster_is_added_to_a_dataset(browser, served):
    from workbench.drift import Window, analyze
    from workbench.experiments import dataset

    server, reader = served
    # Fixed windows (the page's defaults: the last 7 days against the 21 before), so the page
    # and this test analyse the same queries.
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    windows = {"primary_start": _iso(now - dt.timedelta(days=7)), "primary_end": _iso(now + dt.timedelta(hours=1)),
               "reference_start": _iso(now - dt.timedelta(days=28)), "reference_end": _iso(now - dt.timedelta(days=7))}
    # The analysis the page runs for these windows (the store's cache then serves the page the
    # same projection): its top cluster is the drift story's.
    result = analyze(reader, Window(start=windows["primary_start"], end=windows["primary_end"]),
                     Window(start=windows["reference_start"], end=windows["reference_end"]))
    cluster = int(result.clusters.iloc[0]["cluster"])
    tab = new_app_page(browser, server.url)
    try:
        # The cluster's own link (what a click in the clusters table opens).
        tab.goto("page=drift&" + "&".join(f"{k}={quote(v)}" for k, v in windows.items()) + f"&cluster={cluster}",
                 ready=".bk-btn.bk-active >> text=Drift")
        tab.wait_for(".wb-drift-selected", timeout=240_000)  # the analysis, on a loaded machine
        tab.wait_for(".wb-add-to-dataset button", text="Add this cluster's", timeout=60_000)
        tab.page.locator(".wb-dataset-name input").fill("new-topic")
        tab.page.locator(".wb-add-to-dataset button").click()
        tab.wait_for(".wb-add-status", text="new-topic made", timeout=60_000)
        tab.assert_no_errors()
    finally:
        tab.page.context.close()

    top = result.clusters.iloc[0]
    assert int(top["cluster"]) == cluster and top["coverage_gap"]  # the drift story's cluster
    queries = result.cluster_queries(cluster)
    assert queries["text"].str.contains(NEW_TOPIC).mean() >= 0.8
    made = dataset(reader, "new-topic")
    assert made.version == 1
    assert set(made.examples["source_trace_id"]) == set(queries["trace_id"])
    assert len(made) == queries["trace_id"].nunique()
