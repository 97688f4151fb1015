"""Retention on a real DuckDB file: whole traces removed by age and by count, per project, and a
file that really shrinks once compacted, with the store working on afterwards."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from tests.helpers import make_span
from workbench.errors import ConfigError
from workbench.model import SpanKind
from workbench.store import Store
from workbench.store.retention import Limits, Retention, Sweeper, apply, compact, load_retention

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
DAY_NS = 86_400 * 10**9
_BIG = "x" * 2000  # enough text per span for the file's size to be the spans'


def _fill(store: Store, *, project: str, traces: int, first_day: int, days: int, spans_per_trace: int = 3) -> None:
    """``traces`` traces of ``spans_per_trace`` spans, spread over ``days`` days from ``first_day`` days ago."""
    base = int(NOW.timestamp() * 1e9) - first_day * DAY_NS
    offset = {"a": 0, "b": 1 << 20}.get(project, 2 << 20)
    batch = []
    for t in range(traces):
        start = base + int(t * days * DAY_NS / traces)
        for n in range(spans_per_trace):
            batch.append(make_span(n, trace=offset + t, parent=None if n == 0 else 0, kind=SpanKind.LLM,
                                   base_ns=start, start_ms=n, project=project,
                                   attributes={"input.value": f"{t}-{n}-{_BIG}"}))
        if len(batch) >= 5000:
            store.write(batch)
            batch = []
    store.write(batch)


def _checkpoint(store: Store) -> None:
    """Fold the write-ahead log into the file, so its size is the data's."""
    store.flush()
    store.db.cursor().execute("CHECKPOINT").fetchall()


def _projects(store: Store) -> dict[str, int]:
    return dict(store.fetchall("SELECT project, count(*) FROM spans GROUP BY project ORDER BY project"))


def test_age_limit_removes_whole_old_traces_per_project(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        _fill(store, project="a", traces=100, first_day=10, days=10)  # one trace every 2.4 h over 10 days
        _fill(store, project="b", traces=100, first_day=10, days=10)
        retention = Retention(Limits(max_age=dt.timedelta(days=5)), {"b": Limits(max_age=dt.timedelta(days=2))})
        removed = apply(store, retention, now=NOW)

        oldest = {p: t for p, t in store.fetchall("SELECT project, min(start_time) FROM spans GROUP BY project")}
        assert oldest["a"] >= NOW - dt.timedelta(days=5) and oldest["b"] >= NOW - dt.timedelta(days=2)
        assert oldest["a"] < NOW - dt.timedelta(days=4)  # what is younger is kept
        kept = _projects(store)
        assert removed.spans == 600 - sum(kept.values()) and removed.by_project["b"] == 300 - kept["b"]
        # traces go whole: every kept trace still has its three spans
        assert {n for (n,) in store.fetchall("SELECT count(*) FROM spans GROUP BY trace_id")} == {3}


def test_count_limit_keeps_the_newest_traces_whole(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        _fill(store, project="a", traces=50, first_day=5, days=5)
        _fill(store, project="b", traces=10, first_day=5, days=5)
        removed = apply(store, Retention(Limits(max_spans=100)), now=NOW)
        assert _projects(store) == {"a": 99, "b": 30}  # 33 whole traces of 3 fit under 100
        assert removed.traces == 17
        newest = store.fetchall("SELECT max(start_time) FROM spans WHERE project = 'a'")[0][0]
        assert newest > NOW - dt.timedelta(hours=3)


def test_annotations_and_log_records_of_removed_traces_go_too(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        _fill(store, project="a", traces=10, first_day=10, days=10)
        traces = [t for (t,) in store.fetchall("SELECT DISTINCT trace_id FROM spans ORDER BY trace_id")]
        store.add_annotations([{"trace_id": t, "span_id": None, "name": "ok", "label": "good"} for t in traces])
        apply(store, Retention(Limits(max_age=dt.timedelta(days=5))), now=NOW)
        left = {t for (t,) in store.fetchall("SELECT DISTINCT trace_id FROM spans")}
        annotated = {t for (t,) in store.fetchall("SELECT trace_id FROM annotations")}
        assert annotated == left and 0 < len(left) < 10


def test_compacting_gives_the_space_back_and_the_store_works_on(tmp_path):
    path = tmp_path / "big.duckdb"
    with Store(path) as store:
        _fill(store, project="a", traces=4000, first_day=30, days=30)
        _checkpoint(store)
        full = os.path.getsize(path)
        apply(store, Retention(Limits(max_age=dt.timedelta(days=3))), now=NOW)
        _checkpoint(store)
        deleted = os.path.getsize(path)  # a delete and a checkpoint give back only part of it

        before, after = compact(store)
        assert before == deleted and after == os.path.getsize(path)
        assert after < full * 0.4 and after < deleted * 0.8, (full, deleted, after)
        assert not os.path.exists(str(path) + ".compact")
        # the same store, handle and writer go on: reads, span writes, and keyed updates
        assert _projects(store)["a"] == 3 * 400
        _fill(store, project="c", traces=5, first_day=1, days=1)
        store.set_meta("k", "1")
        store.set_meta("k", "2")  # needs the primary key the copy kept
        assert store.get_meta("k") == "2" and _projects(store)["c"] == 15
    with Store(path, read_only=True) as again:  # and it opens again from disk
        assert _projects(again) == {"a": 1200, "c": 15}


def test_the_sweeper_applies_and_compacts_in_the_background(tmp_path):
    path = tmp_path / "served.duckdb"
    with Store(path) as store:
        _fill(store, project="a", traces=2000, first_day=30, days=30)
        _checkpoint(store)
        full = os.path.getsize(path)
        sweeper = Sweeper(store, Retention(Limits(max_spans=300))).start()
        try:
            from tests.helpers import wait_for

            wait_for(lambda: sweeper.passes >= 1, timeout=120)
        finally:
            sweeper.stop()
        assert sweeper.last is not None and sweeper.last.spans == 6000 - 300
        assert _projects(store) == {"a": 300}
        assert os.path.getsize(path) < full * 0.5


def test_limits_from_the_config_file_and_the_command_line(tmp_path):
    file = tmp_path / "config.toml"
    file.write_text('[retention]\nmax_age = "30d"\nevery = "10m"\n\n'
                    '[retention.projects.support-bot]\nmax_spans = 5000\n')
    retention = load_retention(config_path=file)
    assert retention.default == Limits(max_age=dt.timedelta(days=30))
    assert retention.limits_for("support-bot") == Limits(dt.timedelta(days=30), 5000)
    assert retention.every == dt.timedelta(minutes=10)
    given = load_retention(max_age="7d", project="support-bot", config_path=file)
    assert given.limits_for("support-bot") == Limits(dt.timedelta(days=7), 5000)
    assert given.limits_for("other") == Limits(max_age=dt.timedelta(days=30))
    assert load_retention(max_spans=10, config_path=file).default == Limits(dt.timedelta(days=30), 10)


@pytest.mark.parametrize(("text", "message"), [
    ('[retention]\nmax_age = "soon"\n', "max_age of [retention] of the config file is 'soon'"),
    ('[retention]\nmax_spans = -3\n', "must be a whole number of spans from 1"),
    ('[retention]\nmax_ages = "3d"\n', "has no setting 'max_ages'"),
    ('[retention.projects.x]\nkeep = 1\n', "[retention.projects.x] has no setting 'keep'"),
])
def test_bad_limits_say_what_to_write(tmp_path, text, message):
    file = tmp_path / "config.toml"
    file.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_retention(config_path=file)
    assert message in str(caught.value)
