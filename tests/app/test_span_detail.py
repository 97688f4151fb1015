"""A span's detail as HTML, by kind; and the formatting it is built from."""

from __future__ import annotations

import datetime as dt
import json

from workbench.app.markup import GridColumn, fmt_ms, fold, grid, href, json_block, pretty_json, tabs
from workbench.app.span_detail import attributes_html, detail_html, events_html, messages_html, overview_html

START = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.timezone.utc)


def _span(**fields):
    base = {
        "trace_id": "ab" * 16, "span_id": "cd" * 8, "parent_span_id": None, "name": "span", "span_kind": "CHAIN",
        "status_code": "OK", "status_message": "", "start_time": START, "latency_ms": 120.0, "project": "p",
        "attributes": "{}", "resource": "{}", "events": "[]", "links": "[]",
    }
    base.update(fields)
    return base


def test_llm_detail_shows_messages_tool_calls_parameters_and_timing():
    span = _span(
        span_kind="LLM", model_name="gpt-4o", provider="openai", prompt_tokens=120, completion_tokens=30,
        total_tokens=150, cache_read_tokens=100, time_to_first_token_ms=200.0, latency_ms=800.0,
        input_messages=json.dumps([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Refund?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "name": "lookup_invoice", "arguments": '{"invoice_id": "inv_1"}'}]},
            {"role": "tool", "content": '{"status": "paid"}', "tool_call_id": "call_1"},
        ]),
        output_messages=json.dumps([{"role": "assistant", "content": "Within 30 days."}]),
        attributes=json.dumps({"llm.invocation_parameters": '{"temperature": 0.2}'}),
    )
    html = overview_html(span)
    assert html.index("wb-role-system") < html.index("wb-role-user") < html.index("wb-role-assistant")
    assert "calls lookup_invoice" in html and "call_1" in html
    assert '&quot;invoice_id&quot;: &quot;inv_1&quot;' in html  # arguments pretty-printed, escaped
    assert "for call <span class='wb-mono'>call_1</span>" in html  # the tool result names its call
    assert "Invocation parameters" in html and "&quot;temperature&quot;: 0.2" in html
    assert "Time to first token" in html and "200 ms" in html
    assert "Output tokens/s" in html and "50.0" in html  # 30 tokens in (800 - 200) ms
    assert "Cache read" in html


def test_retriever_detail_lists_documents_in_order_with_scores():
    span = _span(span_kind="RETRIEVER", input_value="refund policy")
    docs = [
        {"position": 0, "document_id": "kb-1", "content": "Refunds within 30 days.", "score": 0.91,
         "metadata": '{"topic": "billing"}'},
        {"position": 1, "document_id": "kb-2", "content": "Invoices are monthly.", "score": 0.42, "metadata": None},
    ]
    html = overview_html(span, documents=docs)
    assert "Query" in html and "refund policy" in html
    assert html.index("kb-1") < html.index("kb-2")
    assert "#1" in html and "score <b>0.910</b>" in html and "&quot;topic&quot;" in html
    assert "2, in the order returned" in html


def test_embedding_detail_shows_texts_model_and_dimensions():
    span = _span(span_kind="EMBEDDING", model_name="all-MiniLM-L6-v2")
    embeddings = [{"position": 0, "text": "hello", "vector": [0.1] * 384, "model": "all-MiniLM-L6-v2"}]
    html = overview_html(span, embeddings=embeddings)
    assert "Dimensions" in html and "384" in html and "all-MiniLM-L6-v2" in html and "hello" in html


def test_tool_detail_shows_name_arguments_and_result():
    span = _span(span_kind="TOOL", tool_name="lookup_invoice", input_value='{"id": 7}', output_value='{"ok": true}')
    html = overview_html(span)
    assert "<b>lookup_invoice</b>" in html and "Arguments" in html and "Result" in html
    assert "&quot;id&quot;: 7" in html and "&quot;ok&quot;: true" in html


def test_exceptions_show_type_message_and_stack_trace():
    event = {"name": "exception", "time_ns": int(START.timestamp() * 1e9) + 50_000_000, "attributes": {
        "exception.type": "TimeoutError", "exception.message": "too slow",
        "exception.stacktrace": 'Traceback (most recent call last):\n  File "tools.py", line 3\n'
                                'TimeoutError: too slow'}}
    span = _span(status_code="ERROR", status_message="too slow", events=json.dumps([event]))
    overview = overview_html(span)
    assert "Exception" in overview and "TimeoutError" in overview and "tools.py" in overview
    assert "wb-status-ERROR" in overview
    assert "+50 ms" in events_html(span)


def test_values_from_the_sender_are_escaped():
    span = _span(input_value="<script>alert(1)</script>", attributes=json.dumps({"x": "<img src=x onerror=alert(1)>"}))
    html = detail_html(span)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html
    assert "<b>" not in messages_html([{"role": "<b>", "content": "<i>hi</i>"}])


def test_attributes_are_sorted_and_json_pretty_printed():
    html = attributes_html(_span(attributes=json.dumps({"b": 1, "a": '{"k": [1, 2]}'})))
    assert html.index(">a<") < html.index(">b<")
    assert '&quot;k&quot;: [\n    1,' in html


def test_long_values_fold_behind_an_expander():
    text = "line\n" * 400
    html = fold(text, limit=600)
    assert html.startswith("<details") and "more characters" in html
    assert fold("short") == '<pre class="wb-pre">short</pre>'
    assert not fold("x" * 800, limit=600).startswith("<details")  # a little over: shown whole


def test_json_and_times_and_links():
    assert pretty_json('{"a": 1}') == '{\n  "a": 1\n}'
    assert pretty_json("not json") is None and pretty_json("{broken") is None
    assert "none" in json_block(None)
    assert [fmt_ms(v) for v in (0.5, 850, 1240, 12_345, 125_000, 3_900_000)] == [
        "0.50 ms", "850 ms", "1.24 s", "12.3 s", "2m 05s", "1h 05m"]
    assert href("trace", trace_id="ab", span_id=None) == "?page=trace&trace_id=ab"


def test_grid_rows_link_and_headers_sort():
    columns = [GridColumn("name", "Name", 100, sort_href="?page=traces&sort=name", sorted="desc"),
               GridColumn("n", "Count", 60, numeric=True)]
    html = grid(columns, [{"name": "<b>x</b>", "n": 3}], ["?page=trace&trace_id=1"])
    assert 'data-href="?page=trace&amp;trace_id=1"' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and 'class="num"' in html
    assert '>Name</span><span class="wb-th-arrow"> \u25bc</span>' in html  # the arrow outside the cut label
    assert "Nothing matches" in grid(columns, [], [])


def test_tabs_name_each_pane():
    html = tabs([("a", "A", "<p>1</p>"), ("b", "B", "<p>2</p>")])
    assert 'data-tab="a"' in html and 'data-pane="b"' in html
