"""The self-contained trace view as HTML: what it holds, what it escapes, what it leaves out and says so."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import workbench
from tests.helpers import make_span
from tests.render.offline import markup_of
from workbench.errors import ConfigError
from workbench.model import Event, Link, Message, SpanKind, StatusCode, ToolCall
from workbench.read import Reader
from workbench.render import TraceHTML

DATA = re.compile(r"<script type='application/json' class='wbx-data'>(.*?)</script>", re.DOTALL)
ROW = re.compile(r"<div class='wbx-row[^']*' data-i='(\d+)' data-d='(\d+)' data-n='(\d+)' data-f='(\d+)'")
TAGS = {"div", "span", "b", "style", "script", "button"}  # all the markup a view is made of
HOSTILE = "</script><script>window.__pwned=1</script><img src=x onerror=alert(1)>\u2028&amp;<!--"


def data_of(fragment: str) -> dict[str, Any]:
    """The view's embedded data, each long text put back where its index stands for it."""
    (text,) = DATA.findall(fragment)
    data = json.loads(text)

    def resolve(item: dict[str, Any]) -> None:
        if item["t"] == "pre" and isinstance(item["v"], int):
            item["v"] = data["str"][item["v"]]
        elif item["t"] == "kv":
            item["rows"] = [[row[0], data["str"][row[1]] if isinstance(row[1], int) else row[1],
                             row[2] if len(row) > 2 else ""] for row in item["rows"]]
        elif item["t"] == "box":
            for child in item["body"]:
                resolve(child)

    for span in data["spans"]:
        for section in span["sec"]:
            for item in section["items"]:
                resolve(item)
    for item in data["res"]:
        resolve(item)
        item["rows"] = [row[:2] for row in item["rows"]]
    return data


def texts_of(entry: dict[str, Any]) -> str:
    """Every text a span's detail shows, one per line."""
    out: list[str] = []

    def walk(item: dict[str, Any]) -> None:
        if item["t"] == "kv":
            for key, value, note in item["rows"]:
                out.extend((key, value, note))
        elif item["t"] == "box":
            out.append(item["head"])
            for child in item["body"]:
                walk(child)
        else:
            out.extend((item["v"], item.get("note", "")))  # a note only where text was cut

    for section in entry["sec"]:
        out.append(section["h"])
        for item in section["items"]:
            walk(item)
    return "\n".join(out)


def section(entry: dict[str, Any], title: str) -> dict[str, Any]:
    return next(s for s in entry["sec"] if s["h"] == title)


@pytest.fixture
def reader(store: Any) -> Reader:
    return Reader(store, owns_store=False)


def _agent_spans() -> list[Any]:
    """An agent trace: a model call with a tool call, the tool, a retriever, a failed step."""
    return [
        make_span(0, kind=SpanKind.AGENT, name="agent", duration_ms=1000, input_value="Where is A-1?",
                  resource={"service.name": "support"}),
        make_span(1, parent=0, kind=SpanKind.LLM, name="chat", start_ms=10, duration_ms=300, model_name="gpt-4o",
                  input_messages=(Message("system", "Be brief."), Message("user", "Where is A-1?")),
                  output_messages=(Message("assistant", None, tool_calls=(ToolCall("c1", "lookup", '{"id":"A-1"}'),)),),
                  resource={"service.name": "support"}),
        make_span(2, parent=0, kind=SpanKind.TOOL, name="lookup", start_ms=320, duration_ms=50, tool_name="lookup",
                  input_value='{"id": "A-1"}', output_value='{"status": "shipped"}',
                  resource={"service.name": "support"}),
        make_span(3, parent=0, kind=SpanKind.RETRIEVER, name="search", start_ms=380, duration_ms=80,
                  input_value="refund policy", resource={"service.name": "support"},
                  attributes={"openinference.span.kind": "RETRIEVER",
                              "retrieval.documents.0.document.id": "kb-1",
                              "retrieval.documents.0.document.content": "Refunds within 30 days.",
                              "retrieval.documents.0.document.score": 0.91,
                              "retrieval.documents.1.document.id": "kb-2",
                              "retrieval.documents.1.document.content": "Invoices are monthly."}),
        make_span(4, parent=3, kind=SpanKind.EMBEDDING, name="embed", start_ms=385, duration_ms=10,
                  resource={"service.name": "support"},
                  attributes={"openinference.span.kind": "EMBEDDING",
                              "embedding.embeddings.0.embedding.text": "refund policy"}),
        make_span(5, parent=0, kind=SpanKind.TOOL, name="refund", start_ms=500, duration_ms=40,
                  status_code=StatusCode.ERROR, status_message="window closed", resource={"service.name": "support"},
                  events=(Event("exception", 1_763_884_800_530_000_000,
                                {"exception.type": "ValueError", "exception.message": "window closed",
                                 "exception.stacktrace": "Traceback ...\nValueError: window closed"}),),
                  links=(Link("ab" * 16, "cd" * 8, {"why": "retry of"}),)),
    ]


def test_a_trace_shows_itself_in_a_cell_as_one_fragment_that_loads_nothing(store, reader):
    store.write(_agent_spans())
    trace = reader.trace(f"{1:032x}")
    fragment = trace._repr_html_()
    tags = markup_of(fragment)
    assert set(tags) - {"linked"} <= TAGS and tags["script"] == 2 and tags["style"] == 1
    assert tags["linked"] == 0
    rows = ROW.findall(fragment)
    assert [(int(d), int(n), int(f)) for _, d, n, f in rows] == [
        (0, 5, 1), (1, 0, 0), (1, 0, 0), (1, 1, 0), (2, 0, 0), (1, 0, 0)]  # depth, below, failed below
    data = data_of(fragment)
    assert [s["name"] for s in data["spans"]] == ["agent", "chat", "lookup", "search", "embed", "refund"]
    assert data["res"] == [{"t": "kv", "rows": [["service.name", "support"]]}]  # one resource, embedded once
    assert {s.get("res") for s in data["spans"]} == {0}
    assert "6 spans" in fragment and "1 failed" in fragment and "1 LLM call" in fragment
    assert repr(trace).startswith(f"<Trace {1:032x}: 6 spans")
    bundle = trace._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"} and "class='wbx'" in bundle["text/html"]
    assert bundle["text/plain"] == f"<trace {1:032x}: 6 spans, 1.00 s>"


def test_each_kind_of_span_shows_what_matters_for_it(store, reader):
    store.write(_agent_spans())
    spans = data_of(reader.trace(f"{1:032x}").view().html)["spans"]
    agent, chat, lookup, search, embed, refund = spans
    assert section(agent, "Input")["items"][0]["v"] == "Where is A-1?"
    messages = section(chat, "Input messages")
    assert messages["n"] == "2" and [b["head"] for b in messages["items"]] == ["system", "user"]
    assert [b["cls"] for b in messages["items"]] == ["system", "user"]
    reply = section(chat, "Output messages")["items"][0]
    assert reply["body"][0]["head"] == "calls lookup · c1" and '"id": "A-1"' in reply["body"][0]["body"][0]["v"]
    assert "gpt-4o" in texts_of(chat)
    assert section(lookup, "Arguments")["items"][0]["v"] == '{\n  "id": "A-1"\n}'
    assert '"status": "shipped"' in section(lookup, "Result")["items"][0]["v"]
    documents = section(search, "Documents")
    assert documents["n"] == "2"
    assert [d["head"] for d in documents["items"]] == ["#1 · kb-1 · score 0.910", "#2 · kb-2"]
    assert section(search, "Query")["items"][0]["v"] == "refund policy"
    assert section(embed, "Embedded texts")["items"][0]["body"][0]["v"] == "refund policy"
    error = section(refund, "Error")["items"][0]
    assert error["cls"] == "err" and error["head"] == "ValueError: window closed"
    assert "Traceback" in error["body"][0]["v"]
    assert section(refund, "Events")["items"][0]["head"].startswith("exception · +30")
    assert section(refund, "Links")["items"][0]["rows"][0][0] == f"{'ab' * 16} / {'cd' * 8}"
    assert "custom.key" in texts_of(agent)  # every attribute, as sent


def test_span_content_never_becomes_markup_wherever_it_is(store, reader):
    store.write([
        make_span(0, kind=SpanKind.CHAIN, name=HOSTILE, input_value=HOSTILE, session_id=HOSTILE,
                  attributes={HOSTILE: HOSTILE, "openinference.span.kind": "CHAIN"}, resource={HOSTILE: HOSTILE}),
        make_span(1, parent=0, kind=SpanKind.LLM, name="chat",
                  input_messages=(Message(HOSTILE, HOSTILE, name=HOSTILE),),
                  events=(Event(HOSTILE, 1_763_884_800_010_000_000, {HOSTILE: HOSTILE}),)),
    ])
    fragment = reader.trace(f"{1:032x}").view().html
    tags = markup_of(fragment)
    assert set(tags) - {"linked"} <= TAGS and tags["script"] == 2 and tags["linked"] == 0
    assert fragment.count("</script>") == 2 and "<!--" not in fragment
    (embedded,) = DATA.findall(fragment)
    assert not set(embedded) & set("<>&\u2028\u2029")  # nothing that could end or bend the script element
    data = data_of(fragment)  # the text arrives whole, as text
    assert data["spans"][0]["name"] == HOSTILE and data["res"] == [{"t": "kv", "rows": [[HOSTILE, HOSTILE]]}]
    assert HOSTILE in texts_of(data["spans"][0]) and HOSTILE in texts_of(data["spans"][1])
    assert [b["cls"] for b in section(data["spans"][1], "Input messages")["items"]] == ["other"]


def test_long_values_are_cut_and_the_cut_is_stated(store, reader):
    store.write([make_span(0, kind=SpanKind.CHAIN, input_value="x" * 10_000, output_value="short")])
    view = reader.trace(f"{1:032x}").view(max_chars=500)
    entry = data_of(view.html)["spans"][0]
    cut = section(entry, "Input")["items"][0]
    assert cut["v"] == "x" * 500 and cut["note"] == "cut to the first 500 of 10,000 characters (max_chars=500)"
    assert section(entry, "Output")["items"][0] == {"t": "pre", "v": "short"}
    assert "long value(s) cut to 500 characters (max_chars)" in view.html
    assert "x" * 501 not in view.html


def test_a_large_trace_shows_its_first_spans_and_says_how_many_it_left_out(store, reader):
    spans = [make_span(0, kind=SpanKind.AGENT, duration_ms=10_000)]
    spans += [make_span(i, parent=0 if i % 10 == 1 else i - 1, kind=SpanKind.TOOL, start_ms=i, duration_ms=2,
                        status_code=StatusCode.ERROR if i == 2400 else StatusCode.UNSET)
              for i in range(1, 2500)]
    store.write(spans)
    trace = reader.trace(f"{1:032x}")
    fragment = trace._repr_html_()
    assert len(ROW.findall(fragment)) == 1000 and len(data_of(fragment)["spans"]) == 1000
    assert "Showing the first 1,000 of 2,500 spans in tree order (max_spans=1,000)." in fragment
    assert "1,500 more span(s) not shown" in fragment
    # Where spans are left out, their parent says how many, and that one of them failed.
    assert fragment.count("class='wbx-off'") == 2
    assert "<span class='wbx-off'>+1,499 not shown · <b>1 failed</b></span>" in fragment  # the root's later chains
    assert "<span class='wbx-off'>+1 not shown</span>" in fragment  # the chain cut at its ninth span
    assert len(ROW.findall(trace.view(max_spans=2500).html)) == 2500
    # A parent whose children are all left out has nothing to fold.
    last = trace.view(max_spans=2).html
    assert last.count("wbx-tog wbx-leaf") == 1 and last.count("title='fold or unfold'") == 1


def test_the_detail_keeps_to_its_byte_budget_and_says_which_spans_it_left_out(store, reader):
    def history(span: int) -> tuple[Message, ...]:
        return tuple(Message("user" if i % 2 else "assistant", f"span {span} turn {i} " + "y" * 900)
                     for i in range(40))

    store.write([make_span(0, kind=SpanKind.AGENT, duration_ms=5000)] + [
        make_span(i, parent=0, kind=SpanKind.LLM, start_ms=i * 10, input_messages=history(i)) for i in range(1, 30)])
    view = reader.trace(f"{1:032x}").view(max_bytes=200_000)
    (embedded,) = DATA.findall(view.html)
    assert len(embedded.encode()) <= 200_000 * 1.05  # the limit, and the keys around it
    spans = data_of(view.html)["spans"]
    full = [s for s in spans if s["sec"][-1]["h"] != "Detail left out"]
    short = [s for s in spans if s["sec"][-1]["h"] == "Detail left out"]
    assert full and short and spans.index(short[0]) > spans.index(full[-1])  # the first spans keep theirs
    assert all(s["sec"][0]["h"] == "Span" for s in short)  # each still says what it is
    assert f"Detail of {len(short)} span(s) left out to keep this output under 200,000 bytes (max_bytes)." in view.html


def test_a_conversation_repeated_in_every_model_call_is_embedded_once(store, reader):
    turns = [Message("user" if i % 2 else "assistant", f"turn {i} " + "z" * 500) for i in range(30)]
    store.write([make_span(0, kind=SpanKind.AGENT, duration_ms=5000)] + [
        make_span(i, parent=0, kind=SpanKind.LLM, start_ms=i * 10, input_messages=tuple(turns[:i]))
        for i in range(1, 31)])
    fragment = reader.trace(f"{1:032x}")._repr_html_()
    assert fragment.count("turn 7 " + "z" * 500) == 1  # shown by 23 spans, embedded once
    spans = data_of(fragment)["spans"]
    assert [b["body"][0]["v"] for b in section(spans[30], "Input messages")["items"]] == [m.content for m in turns[:30]]
    assert len(fragment) < 30 * 520 + 200_000


def test_a_span_list_is_grouped_into_its_traces(store, reader):
    store.write([*_agent_spans(), make_span(0, trace=1, kind=SpanKind.CHAIN, name="other", start_ms=5000)])
    frame = reader.spans()
    for spans in (frame, reader.spans(arrow=True), frame.to_dict(orient="records")):
        data = data_of(workbench.show(spans).html)
        assert [s["name"] for s in data["spans"]] == ["agent", "chat", "lookup", "search", "embed", "refund", "other"]
    only_tools = workbench.show(reader.spans("span_kind == 'TOOL'"))
    assert [s["name"] for s in data_of(only_tools.html)["spans"]] == ["lookup", "refund"]
    assert only_tools.html.count("class='wbx-trace'") == 1 and "root span not among these spans" in only_tools.html
    assert repr(workbench.show(frame)) == "<2 traces, 7 spans>"
    one = workbench.show(reader.span(f"{4:016x}"))  # one span, with the documents the reader attached
    assert section(data_of(one.html)["spans"][0], "Documents")["items"][0]["head"].startswith("#1 · kb-1")
    assert "No spans to show." in workbench.show([]).html


@pytest.mark.parametrize(("spans", "message"), [
    (42, "Cannot show int; pass a trace"),
    ("abc", "Cannot show str"),
    ([1, 2], "Cannot show a span list holding int"),
    ([{"span_id": "a", "start_time": 1}], "A span lacks trace_id"),
])
def test_what_is_no_span_list_gets_a_clear_error(spans, message):
    with pytest.raises(ConfigError, match=message):
        workbench.show(spans)


def test_a_span_list_without_ids_or_times_says_which_columns_it_needs(store, reader):
    store.write(_agent_spans())
    with pytest.raises(ConfigError, match=r"lacks trace_id, span_id, start_time.*without columns="):
        workbench.show(reader.spans(columns=["name"]))


@pytest.mark.parametrize("limit", ["max_spans", "max_chars", "max_bytes"])
@pytest.mark.parametrize("value", [0, -1, 2.5, "10", True])
def test_a_limit_must_be_a_whole_number_from_one(limit, value):
    with pytest.raises(ConfigError, match=f"{limit}={value!r} must be a whole number of at least 1"):
        TraceHTML([], **{limit: value})


def test_to_html_writes_a_page_whose_policy_lets_it_fetch_nothing(store, reader, tmp_path: Path):
    store.write(_agent_spans())
    trace = reader.trace(f"{1:032x}")
    written = trace.to_html(tmp_path / "trace.html", max_spans=3)
    page = written.read_text(encoding="utf-8")
    assert written == tmp_path / "trace.html"
    assert page.startswith("<!DOCTYPE html>") and "<title>agent · workbench trace</title>" in page
    assert "default-src 'none'" in page and len(ROW.findall(page)) == 3
    assert trace.to_html().startswith("<!DOCTYPE html>")


def test_a_servers_trace_shows_itself_the_same_way(store, server):
    from workbench.remote import RemoteReader

    store.write(_agent_spans())
    store.flush()
    trace = RemoteReader(server.url).trace(f"{1:032x}")
    spans = data_of(trace._repr_html_())["spans"]
    assert [s["name"] for s in spans] == ["agent", "chat", "lookup", "search", "embed", "refund"]
    assert section(spans[3], "Documents")["n"] == "2"


def test_a_lone_surrogate_in_span_text_does_not_break_the_output(tmp_path: Path):
    from workbench.tree import Trace

    spans = [{"trace_id": "t", "span_id": "a", "start_time": 0, "end_time": 1000, "name": "bad \ud800 text",
              "input_value": "\udfff", "span_kind": "CHAIN"}]
    written = Trace("t", spans).to_html(tmp_path / "t.html")
    assert "bad \ufffd text" in written.read_text(encoding="utf-8")


def test_a_retrievers_stored_documents_show_when_its_attributes_do_not_hold_them(store, reader, rag_spans):
    store.write(rag_spans)  # documents in the documents table only
    entry = data_of(workbench.show(reader.span(f"{3:016x}")).html)["spans"][0]
    assert [d["head"] for d in section(entry, "Documents")["items"]] == ["#1 · kb-1 · score 0.910",
                                                                         "#2 · kb-2 · score 0.420"]


def test_a_frame_that_gives_its_rows_as_dicts_shows_too(store, reader):
    """polars is not installed here: a frame with polars' ``to_dicts()`` stands in for one."""
    store.write(_agent_spans())

    class Frame:
        def __init__(self, rows: list[dict[str, Any]]) -> None:
            self.rows = rows

        def to_dicts(self) -> list[dict[str, Any]]:
            return self.rows

    frame = Frame(reader.spans(arrow=True).to_pylist())
    assert [s["name"] for s in data_of(workbench.show(frame).html)["spans"]][:2] == ["agent", "chat"]


def test_showing_a_trace_loads_neither_panel_nor_bokeh(tmp_path: Path):
    import subprocess
    import sys

    code = (
        "import sys, workbench\n"
        "from workbench.tree import Trace\n"
        "html = Trace('t', [{'trace_id': 't', 'span_id': 'a', 'start_time': 0, 'name': 'x'}])._repr_html_()\n"
        "assert 'wbx-row' in html\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('panel', 'bokeh', 'duckdb', 'pandas')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
