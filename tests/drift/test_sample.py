"""On the shipped sample, with default parameters: the new topic of its drift story comes first.

The sample's story: from a Monday two weeks in, users ask about "Lumen Copilot", a feature the
knowledge base does not document, in a growing share of questions. Comparing the last 7 days
with the 14 before must rank a cluster of those questions first, flag it as a coverage gap,
and show the centroid distance up in the primary days.
"""

from __future__ import annotations

import pytest

from workbench.drift import MemoryCache, Window, analyze
from workbench.errors import StoreError
from workbench.query import Reader

NEW_TOPIC = r"(?i)copilot|\bai\b"  # how the sample finds its new topic's questions (stories.py)


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    pytest.importorskip("umap")
    from workbench.sample import load_sample, sample_path
    from workbench.store import Store

    try:
        sample_path()
    except StoreError:
        pytest.skip("the sample data is not installed")
    with Store(tmp_path_factory.mktemp("sample") / "sample.duckdb") as store:
        load_sample(store)
        yield store


@pytest.fixture(scope="module")
def sample_result(sample_store):
    return analyze(Reader(sample_store), Window(start="7d"), Window(start="21d", end="7d"), cache=MemoryCache())


def test_the_new_topic_cluster_is_ranked_first(sample_result):
    top = sample_result.clusters.iloc[0]
    queries = sample_result.cluster_queries(int(top["cluster"]))
    assert queries["text"].str.contains(NEW_TOPIC).mean() >= 0.8
    assert top["drift_ratio"] > 0.9
    assert top["coverage_gap"]
    assert top["score_user_feedback"] < 0.3
    assert top["mean_retrieval_score"] < sample_result.points["retrieval_score"].mean()


def test_the_adjusted_centroid_distance_is_up_in_the_primary_window(sample_result):
    timeline = sample_result.timeline.groupby("source")["adjusted"].mean()
    assert timeline["primary"] > 2 * timeline["reference"]


def test_the_farthest_queries_are_about_the_new_topic(sample_result):
    far = sample_result.far_queries(limit=20)
    assert far["text"].str.contains(NEW_TOPIC).mean() >= 0.7


@pytest.mark.parametrize("minutes", [10, 20])
def test_the_story_holds_when_the_windows_move_a_little(sample_store, minutes):
    # The same data checked a little later: the clustering must not fold the new topic away.
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    week = dt.timedelta(days=7)
    result = analyze(Reader(sample_store), Window(start=now - week, end=now),
                     Window(start=now - 3 * week, end=now - week), cache=MemoryCache())
    top = result.clusters.iloc[0]
    assert top["drift_ratio"] > 0.9 and top["coverage_gap"]
    assert result.cluster_queries(int(top["cluster"]))["text"].str.contains(NEW_TOPIC).mean() >= 0.8
