"""Metric definitions on frames small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.drift.metrics import auto_bucket, centroid_distance, centroid_timeline, cluster_table


def points(rows):
    frame = pd.DataFrame(rows, columns=["cluster", "source", "text"])
    frame["retrieval_score"] = np.where(frame["source"] == "corpus", np.nan, 0.5)
    return frame


def test_drift_and_corpus_ratios_use_shares_of_each_set():
    # primary: 4 points (3 in cluster 0); reference: 2 points (none in cluster 0); corpus: 2.
    rows = [(0, "primary", "new")] * 3 + [(1, "primary", "old")] + [(1, "reference", "old")] * 2 \
        + [(1, "corpus", "doc")] * 2
    table = cluster_table(points(rows)).set_index("cluster")
    assert table.loc[0, "drift_ratio"] == pytest.approx(1.0)
    # cluster 1: primary share 1/4, reference share 2/2 -> (0.25 - 1) / 1.25
    assert table.loc[1, "drift_ratio"] == pytest.approx(-0.6)
    # cluster 0: query share 3/6, corpus share 0 -> 1; cluster 1: 3/6 vs 2/2 -> -1/3
    assert table.loc[0, "corpus_ratio"] == pytest.approx(1.0)
    assert table.loc[1, "corpus_ratio"] == pytest.approx(-1 / 3)
    assert table["coverage_gap"].tolist() == [True, False]
    assert table.loc[0, "example"] == "new" and table.loc[1, "example"] == "old"
    assert table["rank"].tolist() == [1, 2]


def test_noise_is_listed_last_without_rank_and_ties_go_to_the_larger_cluster():
    rows = [(-1, "primary", "a")] * 5 + [(0, "primary", "b")] * 2 + [(1, "primary", "c")] * 4 \
        + [(2, "reference", "d")] * 3
    table = cluster_table(points(rows))
    assert table["cluster"].tolist() == [1, 0, 2, -1]
    assert table["rank"].tolist()[:3] == [1, 2, 3] and pd.isna(table["rank"].iloc[3])
    assert not table["coverage_gap"].any()  # no corpus: no gaps can be told
    assert table["corpus_ratio"].isna().all()


def test_without_a_reference_there_is_no_drift_ratio():
    table = cluster_table(points([(0, "primary", "a"), (0, "corpus", "b")]))
    assert table["drift_ratio"].isna().all()
    assert table["rank"].tolist() == [1]


def test_centroid_timeline_measures_each_bucket_against_the_reference_centroid():
    times = pd.Series(pd.to_datetime(["2026-01-01T00:10Z", "2026-01-01T00:50Z", "2026-01-01T01:30Z"]))
    vectors = np.array([[0.0, 0.0], [2.0, 0.0], [3.0, 4.0]], dtype=np.float32)
    reference = np.array([[0.0, 0.0], [2.0, 0.0]], dtype=np.float32)  # centroid (1, 0)
    frame = centroid_timeline(times, pd.Series(["reference", "reference", "primary"]), vectors, reference, "hour")
    assert frame["time"].dt.hour.tolist() == [0, 1]
    assert frame["source"].tolist() == ["reference", "primary"]
    assert frame["count"].tolist() == [2, 1]
    assert frame["distance"].tolist() == pytest.approx([0.0, np.hypot(2, 4)])
    # The reference bucket's centroid is the reference centroid: nothing left after noise.
    assert frame["adjusted"].iloc[0] == 0.0
    assert np.isnan(frame["adjusted"].iloc[1])  # one point: no spread to estimate
    assert centroid_distance(vectors[2:], reference) == pytest.approx(np.hypot(2, 4))
    assert np.isnan(centroid_distance(vectors[:0], reference))


def test_buckets_are_hours_for_three_days_and_days_beyond():
    start = pd.Timestamp("2026-01-01", tz="UTC")
    assert auto_bucket(pd.Series([start, start + pd.Timedelta(days=3)])) == "hour"
    assert auto_bucket(pd.Series([start, start + pd.Timedelta(days=4)])) == "day"


def test_adjusted_distance_takes_out_sampling_noise():
    rng = np.random.default_rng(3)
    dims = 200
    reference = rng.normal(size=(2000, dims)).astype(np.float32)
    small = rng.normal(size=(20, dims)).astype(np.float32)          # same distribution, few points
    shifted = (rng.normal(size=(500, dims)) + 0.05).astype(np.float32)  # truly moved by 0.05 * sqrt(200)
    times = pd.Series(pd.to_datetime(["2026-01-01T00:00Z"] * 20 + ["2026-01-01T01:00Z"] * 500))
    frame = centroid_timeline(times, pd.Series(["primary"] * 520), np.vstack([small, shifted]), reference, "hour")
    noise, moved = frame.iloc[0], frame.iloc[1]
    assert noise["distance"] > 2.5  # sqrt(200 / 20): pure noise looks like a large distance
    assert noise["adjusted"] < noise["distance"] / 2
    assert moved["adjusted"] == pytest.approx(0.05 * np.sqrt(dims), rel=0.25)
