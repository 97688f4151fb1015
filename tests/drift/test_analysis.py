"""A drift analysis over the synthetic scenario, projected with PCA (UMAP has its own tests)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.drift import scenario
from workbench.drift import MemoryCache, PCAProjector, StoreCache, Window, analyze
from workbench.drift.analysis import DriftParams
from workbench.errors import ConfigError, NotFoundError
from workbench.query import Reader
from workbench.store import Store

PRIMARY = Window(start=scenario.PRIMARY_FROM, end=scenario.END)
REFERENCE = Window(start=scenario.START, end=scenario.PRIMARY_FROM)


def run(reader, primary=PRIMARY, reference=REFERENCE, **kwargs):
    kwargs.setdefault("projector", PCAProjector())
    return analyze(reader, primary, reference, **kwargs)


def topics_of(result, cluster, sc):
    queries = result.cluster_queries(cluster)
    return queries["point_id"].map(sc.query_topic)


def cluster_of_topic(result, topic, sc):
    points = result.points[result.points["source"] != "corpus"]
    topics = points["point_id"].map(sc.query_topic)
    return int(points.loc[topics == topic, "cluster"].mode()[0])


def test_the_planted_new_topic_is_found_and_ranked_first(reader, drift_scenario):
    result = run(reader)
    top = result.clusters.iloc[0]
    assert top["rank"] == 1
    topics = topics_of(result, int(top["cluster"]), drift_scenario)
    assert (topics == scenario.NEW_TOPIC).mean() >= 0.95
    assert top["reference"] == 0 and top["primary"] > 30
    assert top["drift_ratio"] == pytest.approx(1.0)
    new_points = result.points["point_id"].map(drift_scenario.query_topic) == scenario.NEW_TOPIC
    assert (result.points.loc[new_points, "cluster"] == top["cluster"]).mean() >= 0.9
    # The other topics were asked about in both windows: no strong drift.
    assert result.clusters.iloc[1:]["drift_ratio"].abs().max() < 0.5


def test_the_centroid_distance_rises_when_the_shift_begins(reader):
    result = run(reader)
    timeline = result.timeline
    assert list(timeline.columns) == ["time", "source", "count", "distance", "adjusted"]
    assert set(timeline["source"]) == {"primary", "reference"}
    assert (timeline["time"].diff().dropna() == pd.Timedelta(days=1)).all()  # six days: daily buckets
    before = timeline[timeline["time"] < scenario.SHIFT]["distance"]
    after = timeline[timeline["time"] >= scenario.SHIFT]["distance"]
    assert after.min() > 2 * before.max()
    adjusted_before = timeline[timeline["time"] < scenario.SHIFT]["adjusted"]
    assert timeline[timeline["time"] >= scenario.SHIFT]["adjusted"].min() > 3 * adjusted_before.max()
    assert (timeline["adjusted"] <= timeline["distance"]).all()
    assert result.centroid_distance > before.max()


def test_hourly_buckets_on_request(reader):
    result = run(reader, params=DriftParams(bucket="hour"))
    assert len(result.timeline) == 6 * 24
    assert result.timeline["count"].sum() == result.counts["primary"] + result.counts["reference"]


def test_coverage_gaps_are_the_unindexed_topics(reader, drift_scenario):
    result = run(reader)
    gaps = set(result.clusters.loc[result.clusters["coverage_gap"], "cluster"])
    assert gaps == {cluster_of_topic(result, scenario.NEW_TOPIC, drift_scenario),
                    cluster_of_topic(result, scenario.UNINDEXED_TOPIC, drift_scenario)}
    unindexed = result.clusters.set_index("cluster").loc[cluster_of_topic(result, scenario.UNINDEXED_TOPIC,
                                                                          drift_scenario)]
    assert unindexed["corpus"] == 0 and unindexed["corpus_ratio"] == pytest.approx(1.0)
    assert abs(unindexed["drift_ratio"]) < 0.5  # a gap that was always there, not drift


def test_clusters_carry_retrieval_scores_and_feedback(reader, drift_scenario):
    result = run(reader)
    clusters = result.clusters.set_index("cluster")
    new = clusters.loc[cluster_of_topic(result, scenario.NEW_TOPIC, drift_scenario)]
    known = clusters.loc[cluster_of_topic(result, 0, drift_scenario)]
    assert new["score_user_feedback"] == pytest.approx(0.0)
    assert known["score_user_feedback"] == pytest.approx(1.0)
    assert new["mean_retrieval_score"] < 0.8 < known["mean_retrieval_score"]
    queries = result.points[result.points["source"] != "corpus"]
    assert queries["retrieval_score"].notna().all()
    assert queries["retriever_span_id"].notna().all()
    assert (queries["latency_ms"] == 900.0).all()
    assert result.points.loc[result.points["source"] == "corpus", "retrieval_score"].isna().all()


def test_points_have_ids_coordinates_and_sources(reader):
    result = run(reader)
    points = result.points
    assert {"point_id", "source", "trace_id", "span_id", "time", "text", "x", "y", "cluster"} <= set(points.columns)
    assert "z" not in points
    assert points["source"].value_counts().to_dict() == {"primary": 180, "reference": 180, "corpus": 160}
    assert points.loc[points["source"] != "corpus", "span_name"].eq("embed_query").all()
    three = run(reader, projector=PCAProjector(3), params=DriftParams(n_components=3))
    assert "z" in three.points


def test_points_per_set_samples_with_a_fixed_seed(reader):
    params = DriftParams(points_per_set=50)
    first, second = run(reader, params=params), run(reader, params=params, cache=MemoryCache())
    assert first.points["source"].value_counts().to_dict() == {"primary": 50, "reference": 50, "corpus": 50}
    assert first.points["point_id"].tolist() == second.points["point_id"].tolist()
    assert first.counts["primary"] == 180  # the time series and diagnostics see every point


def test_a_second_look_comes_from_the_cache_and_is_identical(reader):
    first = run(reader)
    second = run(reader)
    assert not first.cached and second.cached
    assert first.key == second.key
    pd.testing.assert_frame_equal(first.points, second.points)
    pd.testing.assert_frame_equal(first.clusters, second.clusters)
    pd.testing.assert_frame_equal(first.timeline, second.timeline)
    # Other parameters are another projection.
    assert not run(reader, params=DriftParams(min_cluster_size=25)).cached


def test_the_cache_lives_in_the_store_file(drift_store, db_path):
    first = run(Reader(drift_store))
    drift_store.close()
    with Store(db_path) as again:
        second = run(Reader(again))
        assert second.cached
        pd.testing.assert_frame_equal(first.points, second.points)
        assert again.query("SELECT count(*) AS n FROM drift_cache").column(0)[0].as_py() == 1
        assert StoreCache(again).clear() == 1


def test_a_read_only_store_caches_in_memory(drift_store, db_path):
    drift_store.close()
    with Store(db_path, read_only=True) as store:
        reader = Reader(store)
        cache = StoreCache(store)
        assert not run(reader, cache=cache).cached
        assert run(reader, cache=cache).cached


def test_a_cluster_exports_to_a_dataframe_and_parquet(reader, tmp_path):
    result = run(reader)
    top = int(result.clusters.iloc[0]["cluster"])
    frame = result.export_cluster(top, tmp_path / "cluster.parquet")
    back = pd.read_parquet(tmp_path / "cluster.parquet")
    assert len(back) == len(frame) == result.clusters.iloc[0]["size"]
    assert back["point_id"].tolist() == frame["point_id"].tolist()
    assert back["time"].is_monotonic_decreasing
    with pytest.raises(NotFoundError, match="There is no cluster 99"):
        result.cluster_points(99)


def test_windows_select_by_span_name_project_and_filter(reader):
    with pytest.raises(NotFoundError, match="has no embeddings"):
        run(reader, Window(span_name="embed_document"))
    with pytest.raises(NotFoundError, match="has no embeddings"):
        run(reader, Window(project="elsewhere"))
    result = run(reader, Window(start=scenario.PRIMARY_FROM, filter="latency_ms < 20"), None)
    assert result.counts["primary"] == 180 and result.counts["reference"] == 0
    assert result.timeline.empty and result.clusters["drift_ratio"].isna().all()


def test_window_rules_are_explained():
    with pytest.raises(ConfigError, match="either baseline= or the other fields"):
        Window(start="7d", baseline="launch")
    with pytest.raises(ConfigError, match="choose 2 or 3"):
        DriftParams(n_components=4)
    with pytest.raises(ConfigError, match="choose 'hour', 'day'"):
        DriftParams(bucket="week")


def test_corpus_documents_without_vectors_are_left_out(reader, drift_store):
    drift_store.load_corpus([{"id": "no-vector", "text": "title only"}])
    result = run(reader)
    assert result.counts["corpus"] == 160
    assert "no-vector" not in set(result.points["point_id"])
