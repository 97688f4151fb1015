"""The writer rewrites settled stretches of interleaved, text-heavy spans in trace order."""

from __future__ import annotations

import datetime as dt
import time

import duckdb
import pytest

from tests.helpers import agent_runs, make_span, wait_for
from workbench.query import Reader
from workbench.store import Store, cluster, summary

HOUR_AGO_NS = time.time_ns() - 3600 * 10**9


def _conversations(traces: int, turns: int, *, base_ns: int = HOUR_AGO_NS, words: int = 80,
                   first_trace: int = 0) -> list:
    return agent_runs(traces, turns, words=words, seed=7, first_trace=first_trace, base_ns=base_ns)


def _write(store: Store, spans: list) -> None:
    for i in range(0, len(spans), 40):  # as exporters send them, in the order they end
        store.write(spans[i:i + 40])


def _runs(store: Store) -> int:
    """How many runs of one trace the rows make in the order they are stored."""
    ids = [t for (t,) in store.fetchall("SELECT trace_id FROM spans ORDER BY rowid")]
    return sum(1 for i, t in enumerate(ids) if i == 0 or ids[i - 1] != t)


def _rows(store: Store) -> list:
    return store.query("SELECT * FROM spans ORDER BY trace_id, span_id").to_pylist()


def _looked_past(store: Store, spans: list) -> bool:
    until = cluster.settled_until(store.get_meta(cluster.WATERMARK))
    return until is not None and until.timestamp() * 1e9 > max(s.start_time_ns for s in spans)


@pytest.mark.parametrize("batch", [cluster.BATCH, 60], ids=["one transaction", "a share of the traces at a time"])
def test_a_settled_stretch_of_interleaved_conversations_is_rewritten_trace_by_trace(tmp_path, monkeypatch, batch):
    monkeypatch.setattr(cluster, "BATCH", batch)
    spans = _conversations(traces=24, turns=10)
    with Store(tmp_path / "wb.duckdb") as store:
        _write(store, spans)
        before = _rows(store)
        writer = store.writer
        assert writer is not None
        wait_for(lambda: writer.spans_clustered == len(spans), timeout=60)
        assert _runs(store) == 24  # each trace's rows side by side
        assert _rows(store) == before  # the same rows, only their place changed
        # The trace summary had a row per trace and batch; it has one per trace, still current.
        assert store.fetchall("SELECT count(*), count(DISTINCT trace_id) FROM trace_summary")[0] == (24, 24)
        assert summary.is_current(store.db.cursor())
        assert Reader(store).count_traces(filter="'w' in input_value") == 24
        assert _looked_past(store, spans)
        # A span that arrives after its stretch was rewritten is stored where it lands.
        late = make_span(99, trace=0, start_ms=5, base_ns=HOUR_AGO_NS, input_value="late")
        store.write([late])
        assert store.fetchall("SELECT count(*) FROM spans")[0][0] == len(spans) + 1


@pytest.mark.parametrize("case", ["short text", "already together"])
def test_spans_that_gain_nothing_are_left_where_they_are(tmp_path, case):
    if case == "short text":
        spans = _conversations(traces=24, turns=10, words=2)
    else:
        spans = sorted(_conversations(traces=24, turns=10), key=lambda s: (s.trace_id, s.start_time_ns))
    with Store(tmp_path / "wb.duckdb") as store:
        _write(store, spans)
        runs = _runs(store)
        wait_for(lambda: _looked_past(store, spans), timeout=60)
        assert store.writer is not None and store.writer.spans_clustered == 0
        assert _runs(store) == runs


def test_a_stretch_that_has_not_settled_waits(tmp_path):
    recent = _conversations(traces=24, turns=10, base_ns=time.time_ns() - 60 * 10**9, first_trace=100)
    older = _conversations(traces=24, turns=10)
    with Store(tmp_path / "wb.duckdb") as store:
        _write(store, older)
        _write(store, recent)
        writer = store.writer
        assert writer is not None
        wait_for(lambda: writer.spans_clustered == len(older), timeout=60)
        until = cluster.settled_until(store.get_meta(cluster.WATERMARK))
        assert until is not None and until.timestamp() * 1e9 <= min(s.start_time_ns for s in recent)
        assert writer.spans_clustered == len(older)
        assert store.fetchall("SELECT count(*) FROM spans")[0][0] == len(older) + len(recent)


def test_a_resent_batch_is_stored_once_and_its_traces_kept_together(tmp_path):
    spans = _conversations(traces=24, turns=10)
    with Store(tmp_path / "wb.duckdb") as store:
        _write(store, spans)
        store.write(spans[100:140])  # an exporter sends a batch again after losing its answer
        writer = store.writer
        assert writer is not None
        wait_for(lambda: writer.spans_clustered == len(spans), timeout=60)
        assert store.fetchall("SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans")[0] == (
            len(spans), len(spans))
        assert _runs(store) == 24


def test_a_pass_that_stops_goes_on_from_where_it_stopped(tmp_path):
    # Three stretches, two days ahead so the writer's own passes leave them alone: short
    # spans, then two stretches of interleaved runs.
    ahead = time.time_ns() + 2 * 86_400 * 10**9
    stretch_ns = int(cluster.STRETCH.total_seconds() * 10**9)
    first = ahead - ahead % stretch_ns
    short = _conversations(traces=10, turns=6, base_ns=first, words=2)
    one = _conversations(traces=12, turns=6, base_ns=first + stretch_ns, first_trace=100)
    two = _conversations(traces=12, turns=6, base_ns=first + 2 * stretch_ns, first_trace=200)
    path = tmp_path / "wb.duckdb"
    with Store(path) as store:
        _write(store, short + one + two)
    now = dt.datetime.fromtimestamp((first + 4 * stretch_ns) / 1e9, dt.timezone.utc) + cluster.SETTLE_AFTER
    with duckdb.connect(str(path)) as con:
        def watermark() -> dt.datetime | None:
            rows = con.execute("SELECT value FROM workbench_meta WHERE key = ?", [cluster.WATERMARK]).fetchall()
            return cluster.settled_until(rows[0][0] if rows else None)

        def runs(spans: list) -> int:
            ids = {s.trace_id for s in spans}
            order = [t for (t,) in con.execute("SELECT trace_id FROM spans ORDER BY rowid").fetchall() if t in ids]
            return sum(1 for i, t in enumerate(order) if i == 0 or order[i - 1] != t)

        # No room: nothing is rewritten; the short stretch is passed, the next waits.
        assert cluster.cluster_settled(con, now, keep_going=lambda need: False) == 0
        assert watermark() == dt.datetime.fromtimestamp((first + stretch_ns) / 1e9, dt.timezone.utc)
        # A budget of one span: the first stretch of runs, then the pass stops before the next.
        assert cluster.cluster_settled(con, now, budget=1) == len(one)
        assert (runs(one), runs(two)) == (12, len(two))
        assert watermark() == dt.datetime.fromtimestamp((first + 2 * stretch_ns) / 1e9, dt.timezone.utc)
        assert cluster.cluster_settled(con, now) == len(two)
        assert runs(two) == 12
        assert watermark() == dt.datetime.fromtimestamp((first + 4 * stretch_ns) / 1e9, dt.timezone.utc)
        assert cluster.cluster_settled(con, now) == 0


def test_a_trace_across_the_end_of_a_stretch_is_rewritten_whole_once(tmp_path):
    ahead = time.time_ns() + 2 * 86_400 * 10**9
    stretch_ns = int(cluster.STRETCH.total_seconds() * 10**9)
    boundary = ahead - ahead % stretch_ns + stretch_ns
    # Ten turns a second apart, from five seconds before a stretch ends: each run lies in two.
    spans = _conversations(traces=16, turns=10, base_ns=boundary - 5 * 10**9)
    assert {s.start_time_ns >= boundary for s in spans} == {True, False}
    path = tmp_path / "wb.duckdb"
    with Store(path) as store:
        _write(store, spans)
    now = dt.datetime.fromtimestamp((boundary + 2 * stretch_ns) / 1e9, dt.timezone.utc) + cluster.SETTLE_AFTER
    with duckdb.connect(str(path)) as con:
        assert cluster.cluster_settled(con, now) == len(spans)
        order = [t for (t,) in con.execute("SELECT trace_id FROM spans ORDER BY rowid").fetchall()]
        assert sum(1 for i, t in enumerate(order) if i == 0 or order[i - 1] != t) == 16
        assert con.execute("SELECT count(*), count(DISTINCT trace_id) FROM trace_summary").fetchall()[0] == (16, 16)
