"""Compaction and retention: readers never see a row twice or miss one, even mid-crash."""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pytest

from tests.helpers import make_span
from workbench.errors import LakeError
from workbench.lake import committed_files
from workbench.lake.location import locate
from workbench.lake.maintain import compact, retain
from workbench.lake.publish import Publisher
from workbench.read.lake import LakeReader
from workbench.store import Store

from .conftest import recording

DAY_MS = 24 * 3600 * 1000


def _published(tmp_path, publications: int = 4, per: int = 9) -> str:
    lake = str(tmp_path / "lake")
    with Store(tmp_path / "a.duckdb") as store:
        publisher = Publisher(store, lake)
        for p in range(publications):
            store.write([make_span(i, trace=p * 100 + i, start_ms=(i % 3) * DAY_MS, project=("a", "b")[i % 2])
                         for i in range(per)])
            publisher.publish()
    return lake


def _rows(lake: str) -> tuple[int, int]:
    files = committed_files(lake)
    query = f"SELECT count(*), count(DISTINCT trace_id || span_id) FROM read_parquet({files!r})"
    return duckdb.sql(query).fetchall()[0]


def test_compaction_merges_each_partition_into_one_file(tmp_path):
    lake = _published(tmp_path)
    before = len(committed_files(lake))
    report = compact(lake, grace_s=0)
    assert report.partitions_compacted == 6 and report.files_merged == before == 24
    assert len(committed_files(lake)) == 6
    assert _rows(lake) == (36, 36)
    assert report.files_deleted == 24  # the small files, once out of sight
    assert len(list((tmp_path / "lake").rglob("*.parquet"))) == 6
    assert compact(lake, grace_s=0).partitions_compacted == 0


def test_within_the_grace_period_replaced_files_stay_for_readers_still_reading(tmp_path):
    lake = _published(tmp_path)
    compact(lake)  # default grace: nothing deleted yet
    assert len(list((tmp_path / "lake").rglob("*.parquet"))) == 30
    assert _rows(lake) == (36, 36)


@pytest.mark.parametrize("seed", range(6))
def test_compaction_interrupted_at_a_random_point_loses_and_doubles_nothing(tmp_path, seed):
    lake = _published(tmp_path)
    fs, recorder = recording()
    crashes = 0
    rng = random.Random(seed)
    reader = LakeReader(lake, refresh_s=0)
    while True:
        recorder.changes, recorder.fail_after = 0, rng.randrange(0, 40)
        try:
            compact(locate(lake, filesystem=fs), grace_s=0, orphan_s=0)
            break
        except LakeError:
            crashes += 1
        assert _rows(lake) == (36, 36)  # after each crash, what readers see is whole
        assert reader.count() == 36
        assert crashes < 50
    assert _rows(lake) == (36, 36) and reader.count() == 36
    assert len(committed_files(lake)) == 6
    assert compact(lake, grace_s=0, orphan_s=0).partitions_compacted == 0
    # Nothing is left behind but the visible files.
    assert len(list((tmp_path / "lake").rglob("*.parquet"))) == 6
    reader.close()


def test_two_compactions_of_the_same_files_apply_once(tmp_path):
    from workbench.lake.commits import Commit, CommitLog, DataFile, new_commit_name
    from workbench.lake.layout import data_path

    lake = _published(tmp_path)
    location = locate(lake)
    stale = CommitLog(location).snapshot()  # a second compactor read the lake before the first committed
    compact(lake, grace_s=3600)
    partition = stale.of("spans")[:1][0]
    inputs = [f for f in stale.of("spans") if (f.project, f.day) == (partition.project, partition.day)]
    merged = data_path("spans", partition.project, partition.day, "compact-late")
    location.put(merged, location.get(inputs[0].path))
    CommitLog(location).write(Commit(new_commit_name("compact"), removes=tuple(f.path for f in inputs),
                                     adds=(DataFile(merged, "spans", partition.project, partition.day, 1, 1),)))
    assert _rows(lake) == (36, 36)


def test_retention_drops_old_partitions_at_once(tmp_path):
    lake = _published(tmp_path)
    now = dt.datetime(2025, 11, 25, 12, tzinfo=dt.timezone.utc)  # the spans are of 23, 24 and 25 Nov 2025
    report = retain(lake, 1, now=now, grace_s=0)
    assert report.cutoff == "2025-11-24"
    assert _rows(lake) == (24, 24)
    assert not list((tmp_path / "lake").rglob("day=2025-11-23/*.parquet"))
    compact(lake, grace_s=0)
    assert _rows(lake) == (24, 24)
