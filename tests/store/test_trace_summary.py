"""The trace summary: kept by every way spans change, and the trace list answers the same
from it as from the spans."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pytest

from tests.helpers import make_span, wait_for
from workbench.model import SpanKind, StatusCode
from workbench.query import Reader
from workbench.read.heads import TraceHeads
from workbench.read.tracefilter import summary_filter
from workbench.store import Store
from workbench.store.retention import Limits, Retention, apply
from workbench.store.summary import NAME, is_current

# Filters the summary answers, and ones it must leave to the spans.
ANSWERED = [
    "model_name == 'gpt-4o'",
    "model_name == 'claude'",
    "status_code == 'error'",
    "status_code != 'OK'",
    "span_kind == 'TOOL'",
    "model_name in ['claude', 'nope']",
    "model_name in []",
    "model_name is not None",
    "user_id == 'u-2'",
    "session_id != None",
    "project == 'other'",
    "'refund' in input_value",
    "'ÉCLAIR' in input_value",
    "'50%_off' in input_value",
    "contains(output_value, 'sorry')",
    "('declined' in input_value or 'declined' in output_value)",
    "model_name == 'claude' or status_code == 'ERROR'",
    "output_value is not None",
    "'' in output_value",
    "contains(input_value, '')",
]
SPANS_ONLY = [
    "model_name == 'gpt-4o' and status_code == 'ERROR'",
    "not model_name == 'gpt-4o'",
    "startswith(input_value, 'refund')",
    "latency_ms > 500",
    "'x' not in input_value",
    "model_name is None",
    "input_value == 'Refund please'",
    "attributes['custom.key'] == 1",
    "'' in status_message",
]


def _trace(t: int, *, model: str, text: str, error: bool = False, user: str = "u-1",
           project: str = "test", root: bool = True) -> list[Any]:
    """A root, an LLM call and a tool call; the root is left out with ``root=False``."""
    base = t * 10_000.0
    spans = [
        make_span(1, trace=t, parent=0, kind=SpanKind.LLM, name="llm", start_ms=base + 10, duration_ms=300,
                  model_name=model, input_value=text, output_value=f"answer {t}", project=project),
        make_span(2, trace=t, parent=0, kind=SpanKind.TOOL, name="tool", start_ms=base + 400, duration_ms=50,
                  status_code=StatusCode.ERROR if error else StatusCode.OK, project=project),
    ]
    if root:
        spans.insert(0, make_span(0, trace=t, kind=SpanKind.CHAIN, name="chat", start_ms=base, duration_ms=600,
                                  input_value=text, user_id=user, session_id=f"s-{t % 2}", project=project))
    return spans


def _fill(store: Store) -> None:
    """Traces whose spans arrive in several batches and out of order, a rootless one, two roots."""
    a = _trace(0, model="gpt-4o", text="Refund please")
    b = _trace(1, model="claude", text="My card was DECLINED", error=True, user="u-2")
    c = _trace(2, model="gpt-4o", text="Une éclair, 50%_off?")
    d = _trace(3, model="gemini", text="nothing here", project="other")
    d.append(make_span(3, trace=3, parent=0, kind=SpanKind.TOOL, name="empty", start_ms=30_500, output_value="",
                       project="other"))
    e = _trace(4, model="claude", text="rootless", root=False)
    f = _trace(5, model="gpt-4o", text="second root")
    f.append(make_span(9, trace=5, kind=SpanKind.CHAIN, name="late root", start_ms=50_000 + 700, duration_ms=10,
                       output_value="sorry, declined"))
    # Children before their roots, each trace split across writes.
    store.write([a[1], b[2], c[1], e[0]])
    store.write([b[1], d[0], d[1], f[1], f[3]])
    store.write([a[2], a[0], c[2], e[1], f[2]])
    store.write([b[0], c[0], d[2], d[3], f[0]])


@contextmanager
def _spans_only() -> Iterator[None]:
    """Readers answer from the spans, as if there were no summary."""
    original = TraceHeads.summary
    TraceHeads.summary = lambda self, filter: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        TraceHeads.summary = original  # type: ignore[method-assign]


def _both(reader: Reader, expression: str) -> tuple[Any, Any]:
    """The trace list and count from the summary, then from the spans."""
    assert reader.heads.summary(expression) == NAME
    fast = reader.traces(expression, limit=None), reader.count_traces(expression)
    with _spans_only():
        slow = reader.traces(expression, limit=None), reader.count_traces(expression)
    return fast, slow


def _same(reader: Reader, expression: str) -> int:
    (fast, fast_count), (slow, slow_count) = _both(reader, expression)
    assert fast_count == slow_count
    assert fast.equals(slow), expression
    return fast_count


def _current(store: Store) -> bool:
    return is_current(store.db.cursor())


def test_the_summary_answers_as_the_spans_do_for_spans_in_many_batches(store):
    _fill(store)
    assert _current(store)
    reader = Reader(store, owns_store=False)
    counts = {expression: _same(reader, expression) for expression in ANSWERED}
    assert counts["model_name == 'claude'"] == 2  # one of them rootless
    assert counts["status_code == 'error'"] == 1
    assert counts["'ÉCLAIR' in input_value"] == 1
    assert counts["'50%_off' in input_value"] == 1
    assert counts["model_name in []"] == 0
    assert counts["('declined' in input_value or 'declined' in output_value)"] == 2
    # Paged and sorted as the page asks, with time and project bounds.
    for kwargs in ({"limit": 2, "offset": 1}, {"order_by": "latency_ms"}, {"project": "test"},
                   {"start": "2025-11-23T08:00:20Z"}):
        fast = reader.traces("model_name == 'gpt-4o'", **kwargs)
        with _spans_only():
            slow = reader.traces("model_name == 'gpt-4o'", **kwargs)
        assert len(fast) and fast.equals(slow), kwargs


@pytest.mark.parametrize("expression", ANSWERED)
def test_filters_the_summary_answers(expression):
    assert summary_filter(expression) is not None


@pytest.mark.parametrize("expression", SPANS_ONLY)
def test_filters_left_to_the_spans_still_work(store, expression):
    assert summary_filter(expression) is None
    _fill(store)
    reader = Reader(store, owns_store=False)
    assert reader.count_traces(expression) == len(reader.traces(expression, limit=None))


def test_a_store_made_before_the_summary_is_summarized_after_opening(db_path):
    with Store(db_path) as store:
        _fill(store)
        expected = Reader(store, owns_store=False).traces("model_name == 'claude'", limit=None)
    con = duckdb.connect(str(db_path))
    con.execute(f"DROP TABLE {NAME}")
    con.close()
    with Store(db_path, read_only=True) as old:  # read-only: no summary, the spans answer
        reader = Reader(old, owns_store=False)
        assert reader.heads.summary("model_name == 'claude'") is None
        assert reader.traces("model_name == 'claude'", limit=None).equals(expected)
    with Store(db_path) as store:
        wait_for(lambda: _current(store), timeout=60)
        reader = Reader(store, owns_store=False)
        assert reader.traces("model_name == 'claude'", limit=None).equals(expected)
        _same(reader, "model_name == 'claude'")


def test_spans_written_by_sql_of_its_own_are_summarized_in_a_pause(store):
    _fill(store)
    store.execute_write(lambda cur: cur.execute(
        "INSERT INTO spans BY NAME SELECT * REPLACE ('f' || substr(trace_id, 2) AS trace_id, 'gpt-5' AS model_name) "
        "FROM spans").fetchall())
    reader = Reader(store, owns_store=False)
    # Until the writer catches up, the spans answer; after, the summary does, the same.
    assert reader.count_traces("model_name == 'gpt-5'") == 6
    wait_for(lambda: _current(store), timeout=60)
    assert _same(reader, "model_name == 'gpt-5'") == 6


def test_a_span_sent_twice_is_counted_once_after_the_pause(store):
    _fill(store)
    again = _trace(0, model="gpt-4o", text="Refund please")
    store.write(again)  # a client that lost the answer sends its batch again
    wait_for(lambda: store.fetchall("SELECT count(*) FROM spans")[0][0] == 19, timeout=60)
    assert _current(store)
    rows = store.fetchall(f"SELECT sum(span_count) FROM {NAME} WHERE trace_id = ?", [again[0].trace_id])
    assert rows[0][0] == 3
    _same(Reader(store, owns_store=False), "model_name == 'gpt-4o'")


def test_retention_removes_the_summary_of_removed_traces(store):
    _fill(store)
    now = dt.datetime(2025, 11, 23, 8, 0, 40, tzinfo=dt.timezone.utc)  # traces 0-3 are older than 5 s
    removed = apply(store, Retention(default=Limits(max_age=dt.timedelta(seconds=5))), now=now)
    assert removed.traces == 4
    assert _current(store)
    assert store.fetchall(f"SELECT count(DISTINCT trace_id) FROM {NAME}")[0][0] == 2
    _same(Reader(store, owns_store=False), "model_name == 'gpt-4o' or model_name == 'claude'")


def test_text_that_log_records_add_to_a_span_is_found(store):
    from workbench.model import LogRecord

    span = make_span(0, kind=SpanKind.LLM, name="chat gpt-4o", model_name="gpt-4o")
    store.write([span])
    record = LogRecord(
        time_ns=span.start_time_ns + 1000, trace_id=span.trace_id, span_id=span.span_id,
        event_name="gen_ai.user.message",
        body={"content": "Where is my Parcel?"}, attributes={"gen_ai.system": "openai"},
    )
    store.submit_logs([record]).result(30)
    reader = Reader(store, owns_store=False)
    wait_for(lambda: reader.count_traces("'parcel' in input_value") == 1, timeout=30)
    assert _current(store)
    _same(reader, "'parcel' in input_value")


def test_a_parquet_import_is_summarized(store, tmp_path):
    _fill(store)
    out = tmp_path / "export"
    store.export_parquet(out)
    with Store(tmp_path / "other.duckdb") as other:
        added = other.import_parquet(out)
        assert added["spans"] == 19
        assert _current(other)
        _same(Reader(other, owns_store=False), "'declined' in output_value or model_name == 'gemini'")
