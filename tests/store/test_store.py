"""The store: writing spans, reading them back, and the errors a user can meet."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.helpers import make_span, wait_for
from workbench.errors import ImportFormatError, QueueFullError, SchemaVersionError, StoreError, StoreLockedError
from workbench.store import Store


def test_spans_documents_and_embeddings_are_stored_in_their_tables(store, rag_spans):
    assert store.write(rag_spans) == 4
    assert store.counts() == {"spans": 4, "documents": 2, "embeddings": 1, "annotations": 0, "corpus": 0,
                              "drift_baselines": 0, "log_records": 0, "datasets": 0, "dataset_examples": 0,
                              "experiments": 0, "experiment_runs": 0, "prompts": 0}
    llm = store.query("SELECT * FROM spans WHERE name = 'llm'").to_pylist()[0]
    assert llm["model_name"] == "gpt-4o"
    assert llm["prompt_tokens"] == 120 and llm["cache_read_tokens"] == 100 and llm["prompt_includes_cache"] is True
    assert llm["latency_ms"] == pytest.approx(650.0)
    assert str(llm["start_time"].tzinfo) == "UTC"
    assert json.loads(llm["input_messages"]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "How do refunds work?"},
    ]
    docs = store.query("SELECT document_id, score, metadata FROM documents ORDER BY position").to_pylist()
    assert [d["document_id"] for d in docs] == ["kb-1", "kb-2"]
    assert json.loads(docs[0]["metadata"]) == {"topic": "billing"}
    vector = store.query("SELECT vector FROM embeddings").column(0).to_pylist()[0]
    assert vector == pytest.approx([0.6, 0.8, 0.0])


def test_vectors_are_kept_once_in_embeddings_and_other_attributes_whole(store, rag_spans):
    store.write(rag_spans)
    attrs = json.loads(store.query("SELECT attributes FROM spans WHERE name = 'embed'").column(0)[0].as_py())
    assert "embedding.embeddings.0.embedding.vector" not in attrs
    assert attrs["embedding.embeddings.0.embedding.text"] == "How do refunds work?"
    custom = store.query("SELECT attributes FROM spans WHERE name = 'llm'").column(0)[0].as_py()
    assert json.loads(custom)["custom.key"] == 3


def test_a_store_reopens_with_its_data(db_path, rag_spans):
    with Store(db_path) as store:
        store.write(rag_spans)
    with Store(db_path, read_only=True) as again:
        assert again.counts()["spans"] == 4


def test_a_file_of_another_schema_version_is_refused(db_path):
    Store(db_path).close()
    con = duckdb.connect(str(db_path))
    con.execute("UPDATE workbench_meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(SchemaVersionError, match=r"schema version 999.*export it"):
        Store(db_path)


def test_a_corrupt_file_gets_one_sentence(tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="is not a DuckDB database"):
        Store(bad)


def test_a_file_held_by_another_process_names_the_holder_and_the_fix(db_path):
    Store(db_path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, duckdb
            con = duckdb.connect({str(db_path)!r})
            print("held", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreLockedError) as caught:
            Store(db_path, read_only=True)
        message = str(caught.value)
        assert f"PID {holder.pid}" in message
        # Not a workbench server: no address is guessed, and the fix is to stop it.
        assert "http://" not in message
        assert "stop that process" in message
    finally:
        holder.stdin.close()
        holder.wait(10)


def test_writes_beyond_the_queue_limit_are_refused_not_lost(db_path):
    store = Store(db_path, max_queued_spans=10)
    try:
        # Hold the writer inside a transaction so submissions pile up.
        futures = []
        refused = 0
        for i in range(200):
            try:
                futures.append(store.submit([make_span(j, trace=i) for j in range(5)]))
            except QueueFullError as exc:
                refused += 1
                assert "retry" in str(exc)
        accepted = sum(f.result(30) for f in futures)
        assert refused > 0
        assert store.counts()["spans"] == accepted == 5 * len(futures)
    finally:
        store.close()


def test_an_exports_day_files_hold_each_trace_together_in_time_order(tmp_path, store):
    # Two traces whose calls interleave in time, on two days.
    spans = [make_span(n, trace=t, start_ms=day * 86_400_000 + n * 1000 + t)
             for day in (0, 1) for n in range(day * 10, day * 10 + 6) for t in (0, 1)]
    store.write(spans)
    store.export_parquet(tmp_path / "out")
    files = sorted((tmp_path / "out" / "spans").rglob("*.parquet"))
    assert len(files) == 2
    for f in files:
        rows = pq.read_table(f, columns=["trace_id", "start_time"]).to_pylist()
        keys = [(r["trace_id"], r["start_time"]) for r in rows]
        assert keys == sorted(keys) and len({k[0] for k in keys}) == 2


def test_parquet_round_trip_is_lossless(tmp_path, store, rag_spans):
    store.write(rag_spans)
    store.add_annotations([{"span_id": rag_spans[3].span_id, "trace_id": rag_spans[3].trace_id,
                            "name": "faithfulness", "score": 0.5, "annotator_kind": "LLM"}])
    store.load_corpus([{"id": "kb-1", "text": "Refunds within 30 days.", "vector": [0.1, 0.2], "topic": "billing"}])
    from workbench.model import LogRecord

    llm = rag_spans[3]
    store.submit_logs([
        LogRecord(llm.start_time_ns + 1, llm.trace_id, llm.span_id, "gen_ai.user.message", {"content": "Hi"}),
        LogRecord(llm.start_time_ns + 2, body="a plain line", severity_number=9, severity_text="INFO"),
    ]).result(10)
    store.flush()
    from workbench.drift import Window, save_baseline
    from workbench.query import Reader

    assert save_baseline(Reader(store), "launch", Window()) == 1
    from workbench.experiments import create_dataset

    create_dataset(store, "qa", [{"input": "Refunds?", "expected": "Within 30 days.", "example_id": "e1"},
                                 {"input": {"q": "Invoices?"}, "example_id": "e2"}]).add([{"input": "Plans?"}])
    from workbench.playground import ChatRequest, save_prompt

    for text in ("Answer: {input}", "Answer briefly: {input}"):
        save_prompt(store, "answer", ChatRequest([{"role": "user", "content": text}], "gpt-4o", {"temperature": 0}))
    first = tmp_path / "first"
    counts = store.export_parquet(first)
    assert counts == {"spans": 4, "documents": 2, "embeddings": 1, "annotations": 1, "corpus": 1,
                      "drift_baselines": 1, "log_records": 2, "datasets": 2, "dataset_examples": 5, "experiments": 0,
                      "experiment_runs": 0, "prompts": 2}
    day_dirs = sorted(p.name for p in (first / "spans").iterdir())
    assert day_dirs == ["day=2025-11-23"]

    with Store(tmp_path / "second.duckdb") as second:
        assert second.import_parquet(first) == counts
        again = tmp_path / "again"
        second.export_parquet(again)
    for table in [t for t, n in counts.items() if n]:
        a = pq.read_table(first / table).sort_by([(c, "ascending") for c in _key(table)])
        b = pq.read_table(again / table).sort_by([(c, "ascending") for c in _key(table)])
        assert a.drop_columns([c for c in ("day",) if c in a.column_names]).equals(
            b.drop_columns([c for c in ("day",) if c in b.column_names])), table


def _key(table: str) -> list[str]:
    return {"annotations": ["annotation_id"], "corpus": ["document_id"],
            "drift_baselines": ["name", "span_id"], "log_records": ["time_ns"], "datasets": ["version"],
            "dataset_examples": ["version", "example_id"], "prompts": ["version"]}.get(table, ["span_id"])


def test_importing_twice_adds_nothing_the_second_time(tmp_path, store, rag_spans):
    store.write(rag_spans)
    store.export_parquet(tmp_path / "out")
    with Store(tmp_path / "b.duckdb") as other:
        assert other.import_parquet(tmp_path / "out")["spans"] == 4
        assert other.import_parquet(tmp_path / "out")["spans"] == 0
        assert other.counts()["spans"] == 4


def test_a_big_import_goes_into_the_file_not_the_log(tmp_path):
    from workbench.sample import sample_path

    with Store(tmp_path / "big.duckdb") as store:
        added = store.import_parquet(sample_path())
        assert added["spans"] > 10_000
        # Logged, the sample's rows made a 165 MB log that an idle checkpoint then compressed again.
        assert store.db.log_bytes() < 1 << 20
        assert store.fetchall("SELECT current_setting('checkpoint_threshold')")[0][0] == "488.2 MiB"  # set back
        span = make_span(900, trace=900)
        store.write([span])
        assert store.counts()["spans"] == added["spans"] + 1
        assert 0 < store.db.log_bytes() < 1 << 20  # small commits are logged again
    with Store(tmp_path / "big.duckdb") as again:
        assert again.counts()["spans"] == added["spans"] + 1


def test_import_with_a_missing_column_says_which(tmp_path, store, rag_spans):
    store.write(rag_spans)
    store.export_parquet(tmp_path / "out")
    table = pq.read_table(tmp_path / "out" / "spans").drop_columns(["model_name", "day"])
    broken = tmp_path / "broken.parquet"
    pq.write_table(table, broken)
    with Store(tmp_path / "c.duckdb") as other, pytest.raises(ImportFormatError, match=r"lacks the column.*model_name"):
        other.import_parquet(broken)


def test_import_of_a_folder_without_tables_explains(tmp_path, store):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportFormatError, match="No workbench Parquet tables"):
        store.import_parquet(tmp_path / "empty")


def test_import_can_shift_times(tmp_path, store, rag_spans):
    import datetime as dt

    store.write(rag_spans)
    store.export_parquet(tmp_path / "out")
    with Store(tmp_path / "d.duckdb") as other:
        other.import_parquet(tmp_path / "out", shift=dt.timedelta(days=2))
        before = store.fetchall("SELECT min(start_time) FROM spans")[0][0]
        after = other.fetchall("SELECT min(start_time) FROM spans")[0][0]
        assert after - before == dt.timedelta(days=2)


def test_annotations_need_a_name_and_a_target(store):
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError, match="has no name"):
        store.add_annotations([{"score": 1, "span_id": "ab" * 8}])
    with pytest.raises(ConfigError, match="neither a score nor a label"):
        store.add_annotations([{"name": "x", "span_id": "ab" * 8}])
    with pytest.raises(ConfigError, match="does not say what it annotates"):
        store.add_annotations([{"name": "x", "score": 1}])


def _stall_first_transaction(writer):
    """Hold the writer's first transaction open until the returned event is set; the list
    returned with it fills once that transaction has started."""
    import threading

    release = threading.Event()
    insert = writer._insert
    stalled = []

    def first_one_stalls(*args):
        if not stalled:
            stalled.append(True)
            release.wait(10)
        insert(*args)

    writer._insert = first_one_stalls
    return release, stalled


def test_a_slow_transaction_does_not_hold_up_the_next_one(db_path):
    store = Store(db_path)
    writer = store.writer
    assert writer.threads == 2
    release, stalled_once = _stall_first_transaction(writer)
    try:
        slow = writer.submit([make_span(0, trace=0)])
        wait_for(lambda: stalled_once and writer.queued_spans == 0)
        fast = writer.submit([make_span(j, trace=1) for j in range(3)])
        assert fast.result(10) == 3  # committed while the first transaction is still open
        assert not slow.done()
        assert store.fetchall("SELECT count(*) FROM spans")[0][0] == 3
        release.set()
        assert slow.result(10) == 1
        assert store.counts()["spans"] == 4
    finally:
        release.set()
        store.close()


def test_an_idle_writer_checkpoints_the_log(db_path):
    from workbench.store.database import Database
    from workbench.store.writer import Writer

    db = Database(db_path)
    writer = Writer(db, idle_checkpoint_s=0.1, idle_checkpoint_bytes=1)
    try:
        assert writer.submit([make_span(j, trace=t) for t in range(50) for j in range(4)]).result(10) == 200
        assert db.log_bytes() > 1  # committed into the log, not yet checkpointed
        wait_for(lambda: writer.checkpoints >= 1)
        assert db.log_bytes() == 0
        assert db.fetchall("SELECT count(*) FROM spans")[0][0] == 200
    finally:
        writer.close()
        db.close()


def test_under_sustained_load_duckdb_writes_on_one_thread_until_ingest_pauses(db_path):
    from workbench.store.database import Database
    from workbench.store.writer import Writer

    db = Database(db_path)
    db.fetchall("SET threads = 2")
    writer = Writer(db, idle_checkpoint_s=0.1)
    release, stalled = _stall_first_transaction(writer)
    threads = lambda: int(db.fetchall("SELECT current_setting('threads')")[0][0])  # noqa: E731
    try:
        slow = writer.submit([make_span(0, trace=0)])
        wait_for(lambda: stalled and writer.queued_spans == 0)
        assert threads() == 2  # one transaction at a time is not sustained load
        writer.submit([make_span(1, trace=1)]).result(10)  # written beside the stalled one
        assert threads() == 1
        writer.submit([make_span(1, trace=1)]).result(10)  # the same span again, as a retry sends it
        release.set()
        slow.result(10)
        wait_for(lambda: threads() == 2)  # back once nothing has been written for a moment
        # ... and the pause removed the copy written under load.
        wait_for(lambda: db.fetchall("SELECT count(*) FROM spans")[0][0] == 2)
        wait_for(lambda: writer.duplicates_removed == 1)  # counted just after the commit
    finally:
        release.set()
        writer.close()
        db.close()


def test_readers_see_committed_rows_while_the_writer_works(store):
    store.write([make_span(0, trace=0)])
    future = store.submit([make_span(j, trace=t) for t in range(1, 200) for j in range(4)])
    seen = store.fetchall("SELECT count(*) FROM spans")[0][0]
    assert seen >= 1
    future.result(30)
    wait_for(lambda: store.fetchall("SELECT count(*) FROM spans")[0][0] == 1 + 199 * 4)


def test_import_fills_optional_columns_an_older_export_lacks(tmp_path, store, rag_spans):
    store.write(rag_spans)
    store.export_parquet(tmp_path / "out")
    older = pq.read_table(tmp_path / "out" / "spans").drop_columns(["sample_weight", "day"])
    pq.write_table(older, tmp_path / "older.parquet")
    with Store(tmp_path / "e.duckdb") as other:
        assert other.import_parquet(tmp_path / "older.parquet")["spans"] == 4
        assert other.fetchall("SELECT count(*) FROM spans WHERE sample_weight IS NULL")[0][0] == 4


def test_closing_interrupts_a_query_running_on_another_thread(db_path):
    import threading

    store = Store(db_path)
    store.write([make_span(j, trace=t) for t in range(50) for j in range(4)])
    started = threading.Event()
    outcome: list[object] = []

    def slow_reader():
        started.set()
        try:
            # A long query on this thread's own cursor.
            store.fetchall("SELECT count(*) FROM range(2000000000) a, spans b WHERE a.range % 7 = 3")
            outcome.append("finished")
        except Exception as exc:  # noqa: BLE001 - interrupted, as intended
            outcome.append(exc)

    before = len(store.db._cursors)  # the writer's own cursor is there already
    thread = threading.Thread(target=slow_reader)
    thread.start()
    started.wait(5)
    wait_for(lambda: len(store.db._cursors) > before)  # the reader's cursor exists
    store.close()  # must neither raise nor wait for the whole query
    thread.join(10)
    assert not thread.is_alive() and outcome and outcome[0] != "finished"


def test_no_cursor_is_handed_out_once_the_database_is_closed(db_path):
    # A query starting while close() runs would escape its interrupts: it is refused instead.
    from workbench.errors import StoreError

    store = Store(db_path)
    db = store.db
    store.close()
    for ask in (db.cursor, db.new_cursor):
        with pytest.raises(StoreError, match="was closed"):
            ask()


def test_a_file_made_before_drift_baselines_existed_exports_and_gains_the_table(tmp_path, rag_spans):
    import duckdb

    path = tmp_path / "older.duckdb"
    with Store(path) as older:
        older.write(rag_spans)
    con = duckdb.connect(str(path))  # as a file of the first release: no drift_baselines table
    con.execute("DROP TABLE drift_baselines")
    con.close()
    with Store(path, read_only=True) as store:  # read-only: the table cannot be added
        assert store.counts()["drift_baselines"] == 0
        assert store.export_parquet(tmp_path / "out")["spans"] == 4
    assert not (tmp_path / "out" / "drift_baselines").exists()
    with Store(path) as store:  # opened to write: the table is there
        assert "drift_baselines" in store.db.tables()
        assert store.counts()["drift_baselines"] == 0
