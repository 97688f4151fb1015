"""The ``log_records`` table and the merge of records into their spans, in the store."""

from __future__ import annotations

import json

from tests.helpers import make_span, wait_for
from workbench.model import LogRecord, SpanKind
from workbench.semconv import make_span as read_span
from workbench.store import Store


def _genai_span(n: int = 0, **attributes: object):
    base = make_span(n, kind=SpanKind.UNKNOWN)
    return read_span(
        trace_id=base.trace_id, span_id=base.span_id, parent_span_id=None, name="chat",
        start_time_ns=base.start_time_ns, end_time_ns=base.end_time_ns,
        attributes={"gen_ai.request.model": "gpt-4o", **attributes},
    )


def _records(span, question: str = "Where is my parcel?") -> list[LogRecord]:
    t = span.start_time_ns
    return [
        LogRecord(t + 1, span.trace_id, span.span_id, "gen_ai.user.message", {"content": question}),
        LogRecord(t + 2, span.trace_id, span.span_id, "gen_ai.choice",
                  {"index": 0, "message": {"role": "assistant", "content": "On its way."}}),
    ]


def _row(store: Store, span) -> dict:
    return store.query(
        "SELECT span_kind, input_value, input_mime_type, output_value, input_messages, events "
        "FROM spans WHERE span_id = ?", [span.span_id]
    ).to_pylist()[0]


def test_records_waiting_survive_a_restart_and_merge_when_the_span_comes(tmp_path):
    span = _genai_span()
    with Store(tmp_path / "w.duckdb") as store:
        store.submit_logs(_records(span)).result(10)
        store.flush()
        assert store.query("SELECT bool_or(attached) AS a FROM log_records").to_pylist() == [{"a": False}]
    with Store(tmp_path / "w.duckdb") as store:
        store.write([span])
        wait_for(lambda: _row(store, span)["output_value"] == "On its way.")  # no flush: the merge thread
        assert _row(store, span)["input_value"] == "Where is my parcel?"


def test_what_the_span_sent_itself_is_never_replaced(store):
    span = _genai_span(**{"input.value": '{"q": "parcel"}', "input.mime_type": "application/json",
                          "openinference.span.kind": "CHAIN"})
    store.write([span])
    store.submit_logs(_records(span)).result(10)
    store.flush()
    row = _row(store, span)
    assert (row["input_value"], row["input_mime_type"]) == ('{"q": "parcel"}', "application/json")
    assert row["span_kind"] == "CHAIN"
    assert row["output_value"] == "On its way."  # a gap, filled
    assert json.loads(row["input_messages"])[0]["content"] == "Where is my parcel?"


def test_the_same_records_sent_twice_add_their_events_once(store):
    span = _genai_span()
    store.write([span])
    for _ in range(2):
        store.submit_logs(_records(span)).result(10)
        store.flush()
    assert len(json.loads(_row(store, span)["events"])) == 2
    assert store.counts()["log_records"] == 4  # the table keeps what was sent


def test_records_of_other_spans_and_of_none_are_kept_waiting_or_alone(store):
    span, other = _genai_span(0), _genai_span(1)
    store.write([span])
    lone = LogRecord(span.start_time_ns, body="worker started", severity_text="INFO")
    store.submit_logs([*_records(other), lone]).result(10)
    store.flush()
    rows = store.query("SELECT span_id, attached FROM log_records ORDER BY time_ns, span_id").to_pylist()
    assert {r["span_id"] for r in rows} == {other.span_id, None} and not any(r["attached"] for r in rows)
    assert _row(store, span)["output_value"] is None
    assert store.logs.waiting
    store.write([other])
    store.flush()
    assert _row(store, other)["output_value"] == "On its way."


def test_a_span_stored_twice_is_merged_in_both_rows(store):
    span = _genai_span()
    store.write([span])
    store.write([span])  # a batch sent again, before the duplicate is removed
    store.submit_logs(_records(span)).result(10)
    store.flush()
    outputs = store.query("SELECT output_value FROM spans WHERE span_id = ?", [span.span_id]).to_pylist()
    assert [o["output_value"] for o in outputs] in (["On its way."], ["On its way."] * 2)


def test_records_stop_waiting_after_a_while_but_stay_and_wait_again_after_a_restart(tmp_path):
    import time

    from workbench.store.database import Database
    from workbench.store.logs import LogMerger
    from workbench.store.writer import Writer

    span = _genai_span()
    db = Database(str(tmp_path / "w.duckdb"))
    writer = Writer(db)
    merger = LogMerger(db, writer, wait_s=0.2)
    merger.submit(_records(span)).result(10)
    assert wait_for(lambda: merger.waiting)
    time.sleep(0.3)  # past wait_s: the records give up waiting
    writer.submit([span]).result(10)
    assert merger.attach() == 0 and not merger.waiting
    assert db.fetchall("SELECT count(*) FROM log_records WHERE NOT attached")[0][0] == 2
    merger.close()
    writer.close()
    db.close()
    with Store(tmp_path / "w.duckdb") as store:  # opened again: they wait again, and merge
        store.flush()
        wait_for(lambda: _row(store, span)["output_value"] == "On its way.")
