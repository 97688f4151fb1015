"""Reading a lake: the same answers as the local file, partition pruning, read-only refusals."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import workbench
from tests.helpers import make_span
from workbench.analysis.latency import latency_summary
from workbench.errors import CapabilityError, StoreError
from workbench.lake.location import locate
from workbench.lake.publish import Publisher
from workbench.model import SpanKind, StatusCode, TokenUsage
from workbench.read import Reader, require
from workbench.read.lake import LakeReader
from workbench.store import Store

from .conftest import recording

ROOT = Path(__file__).resolve().parents[2]
DAY_NS = 24 * 3600 * 10**9
BASE_NS = 1_763_884_800_000_000_000  # 2025-11-23T08:00:00Z


def _lake(tmp_path, days: int = 1, per_day: int = 6, publications: int = 1) -> tuple[str, Store]:
    store = Store(tmp_path / "a.duckdb")
    lake = str(tmp_path / "lake")
    publisher = Publisher(store, lake)
    n = 0
    for _ in range(publications):
        for day in range(days):
            spans = []
            for i in range(per_day):
                trace = n // 3
                spans.append(make_span(
                    n, trace=trace, parent=None if n % 3 == 0 else n - n % 3,
                    base_ns=BASE_NS + day * DAY_NS, start_ms=i * 1000, duration_ms=100 + 10 * i,
                    project=("alpha", "beta")[i % 2], kind=SpanKind.LLM, model_name="gpt-4o", provider="openai",
                    tokens=TokenUsage(prompt=1000, completion=100),
                    status_code=StatusCode.ERROR if i == 5 else StatusCode.OK))
                n += 1
            store.write(spans)
        publisher.publish()
    return lake, store


def test_a_lake_answers_like_the_file_it_was_published_from(tmp_path):
    lake, store = _lake(tmp_path, days=3)
    local = Reader(store)
    with workbench.open(lake) as remote:
        assert isinstance(remote, LakeReader)
        assert remote.count() == local.count() == 18
        assert remote.projects() == local.projects()
        cols = ["span_id", "name", "latency_ms", "cost"]
        assert remote.spans(columns=cols).equals(local.spans(columns=cols))
        assert remote.traces(limit=None).drop(columns=["models"]).equals(
            local.traces(limit=None).drop(columns=["models"]))
        trace_id = local.spans(limit=1)["trace_id"][0]
        assert len(remote.trace(trace_id)) == len(local.trace(trace_id)) == 3
        assert latency_summary(remote) == latency_summary(local)
        # The SQL door reads the same rows: the checked path runs on a cursor of its own.
        query = "SELECT model_name, count(*) AS n, sum(cost) AS usd FROM spans_cost GROUP BY 1 ORDER BY 1"
        assert remote.sql(query).equals(local.sql(query)) and remote.sql(query)["n"].sum() == 18
    store.close()


def _spoil(files) -> None:
    """Overwrite data files with bytes that are no Parquet: reading one fails."""
    for f in files:
        f.write_bytes(b"not parquet")


def test_a_one_week_view_of_a_ninety_day_lake_opens_only_that_weeks_files(tmp_path):
    lake, store = _lake(tmp_path, days=90, per_day=2)
    store.close()
    with LakeReader(lake) as reader:
        assert reader.count() == 180
    week_days = {f"day=2025-12-{d:02d}" for d in range(23, 30)}
    spans = sorted((tmp_path / "lake" / "table=spans").rglob("*.parquet"))
    assert len(spans) == 180  # 90 days x 2 projects
    # Every file outside the week becomes unreadable: a read that opened one would fail.
    _spoil(f for f in spans if f.parent.name not in week_days)
    start = dt.datetime(2025, 11, 23, tzinfo=dt.timezone.utc) + dt.timedelta(days=30)
    end = start + dt.timedelta(days=7)
    with LakeReader(lake) as reader:
        week = reader.spans(start=start, end=end)
        assert len(week) == 14 and week["start_time"].between(start, end).all()
        # And then the beta files of that week: a read bounded to alpha opens none of them.
        _spoil(f for f in spans if f.parent.name in week_days and f.parent.parent.name == "project=beta")
        assert reader.count(project="alpha", start=start, end=end) == 7
        # Unbounded, the files outside the week are read.
        with pytest.raises(StoreError, match=r"could not read its data.*restore the file it names"):
            reader.count()


def test_reads_through_a_python_filesystem_open_only_the_files_they_need(tmp_path):
    lake, store = _lake(tmp_path, days=90, per_day=2)
    store.close()
    fs, recorder = recording()
    with LakeReader(locate(lake, filesystem=fs)) as reader:
        assert reader.count() == 180
        assert len(set(recorder.opened)) >= 180  # 90 days x 2 projects
        recorder.opened.clear()
        start = dt.datetime(2025, 11, 23, tzinfo=dt.timezone.utc) + dt.timedelta(days=30)
        week = reader.spans(start=start, end=start + dt.timedelta(days=7))
        assert len(week) == 14
        data_files = {p for p in recorder.opened if p.endswith(".parquet")}
        assert len(data_files) == 14  # 7 days x 2 projects, and none of the other 83 days
        assert all(any(f"day=2025-12-{d:02d}" in p for d in range(23, 30)) for p in data_files)
        recorder.opened.clear()
        assert reader.count(project="alpha", start=start, end=start + dt.timedelta(days=7)) == 7
        alpha = {p for p in recorder.opened if p.endswith(".parquet")}
        assert len(alpha) == 7 and alpha <= data_files and all("project=alpha" in p for p in alpha)
        assert reader.sql("SELECT count(*) AS n FROM spans WHERE project = 'beta'")["n"][0] == 90
        spoiled = sorted((tmp_path / "lake" / "table=spans" / "project=beta").rglob("*.parquet"))[0]
        _spoil([spoiled])
        with pytest.raises(StoreError, match=r"could not read its data.*" + re.escape(spoiled.name)):
            reader.count(project="beta")


# DuckDB starts a scan of a pyarrow dataset holding the GIL, and pyarrow's I/O threads open the
# files; through a filesystem written in Python they need the GIL too. With other threads waking
# often (as in any server), reads through such a filesystem deadlocked in 4 runs of this script in 5.
_BUSY_READS = """
import datetime as dt, sys, tempfile, threading, time
from pathlib import Path
from tests.lake.conftest import recording
from tests.lake.test_read import _lake
from workbench.lake.location import locate
from workbench.read.lake import LakeReader

def tick():
    while True:
        time.sleep(0.0005)

for _ in range(6):
    threading.Thread(target=tick, daemon=True).start()
lake, store = _lake(Path(sys.argv[1]), days=40, per_day=2)
store.close()
start = dt.datetime(2025, 11, 23, tzinfo=dt.timezone.utc) + dt.timedelta(days=3)
for _ in range(40):
    fs, _ = recording()
    with LakeReader(locate(lake, filesystem=fs)) as reader:
        assert reader.count(start=start, end=start + dt.timedelta(days=7)) == 14
        assert reader.count() == 80
print("done")
"""


def test_reads_through_a_python_filesystem_never_deadlock_beside_busy_threads(tmp_path):
    script = tmp_path / "busy_reads.py"
    script.write_text(_BUSY_READS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        pytest.fail("reads through a Python filesystem hung (a deadlock)")
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr[-2000:]


def test_the_trace_list_of_a_lake_follows_its_commits(tmp_path):
    lake, store = _lake(tmp_path, days=3)
    reader = LakeReader(lake, refresh_s=0)
    assert len(reader.traces(limit=None)) == 6
    version = reader.store.data_version()
    assert len(reader.traces(limit=None)) == 6
    assert reader.store.data_version() == version  # nothing new: the traces without one root are known
    # A trace whose root has not arrived, published: the list shows it under its earliest span.
    store.write([make_span(200, trace=200, parent=7, base_ns=BASE_NS, start_ms=500)])
    Publisher(store, lake).publish()
    assert reader.store.data_version() != version
    listed = reader.traces(limit=None)
    assert len(listed) == 7 and listed.loc[listed["root_missing"], "span_count"].tolist() == [1]
    assert reader.count_traces() == 7
    reader.close()
    store.close()


def test_a_lake_reader_sees_new_publications_and_refuses_what_it_cannot_do(tmp_path):
    lake, store = _lake(tmp_path)
    reader = LakeReader(lake, refresh_s=0)
    assert reader.count() == 6
    store.write([make_span(100, trace=100)])
    Publisher(store, lake).publish()
    assert reader.count() == 7
    assert require(reader, "sql") is reader
    with pytest.raises(CapabilityError, match="reads a Parquet lake, which cannot take annotations; post them"):
        require(reader, "annotate")
    with pytest.raises(CapabilityError, match="drift"):
        require(reader, "store")
    with pytest.raises(CapabilityError):
        reader.add_annotations([{"name": "x", "target": "span"}])
    reader.close()
    store.close()


def test_export_from_a_lake_writes_the_usual_folder(tmp_path):
    lake, store = _lake(tmp_path, days=2)
    store.close()
    with workbench.open(lake) as reader:
        counts = reader.export_parquet(str(tmp_path / "out"))
    assert counts["spans"] == 12
    assert len(list((tmp_path / "out" / "spans").glob("day=*/*.parquet"))) == 2


def test_spark_over_a_folder_that_holds_no_lake_says_so_before_spark_starts(tmp_path):
    from workbench.errors import LakeError
    from workbench.spark import Lake

    with pytest.raises(LakeError, match="There is no lake at"):
        Lake(None, str(tmp_path / "typo"))  # no session is touched: the lake is checked first
    lake, _ = _lake(tmp_path)
    assert Lake(None, lake)._files["spans"]
