"""The HTML behind the daily-use features, without a browser: error boxes, one colour per
value, message views and copy buttons, tokens per node."""

from __future__ import annotations

from workbench.app.markup import copy_button, error_html
from workbench.app.span_detail import messages_html
from workbench.app.style import color_of
from workbench.app.trace import waterfall_rows
from workbench.tree import Trace


def test_a_long_error_is_shortened_with_the_whole_text_in_details():
    message = "The filter 'x == 1' cannot be used: there is no field 'x' (fields: " + ", ".join(
        f"field_{i}" for i in range(42)) + ") (at column 1); write conditions like a == 'b'."
    html = error_html(message)
    line = html.split("<details")[0]
    assert "field_41" not in line and "field_41" in html and "<details class='wb-error-more'>" in html
    assert "<pre class='wb-caret'>x == 1\n<span class='wb-caret-mark'>^</span></pre>" in html


def test_a_short_error_has_no_details_and_html_in_it_is_text():
    html = error_html("The filter '<b>' is not valid: invalid syntax at column 1")
    assert "<details" not in html and "<b>" not in html and "&lt;b&gt;" in html


def test_one_value_keeps_one_colour_and_values_differ():
    first = color_of("prompt-v7", "prompt_version")
    assert color_of("prompt-v7", "prompt_version") == first
    others = {color_of(f"prompt-v7-{i}", "prompt_version") for i in range(8)}
    assert first not in others and len(others) == 8
    assert color_of("LLM", "kind") == "#7c3aed" and color_of("other", "model") == color_of("other", "tool")


def test_messages_offer_text_markdown_and_json_and_never_run_html():
    html = messages_html([{"role": "assistant", "content": "**bold** <script>alert(1)</script>"}])
    assert "data-view='md'" in html and "data-view='json'" in html and "data-v='raw'" in html
    assert "<strong>bold</strong>" in html and "<script>" not in html
    assert "&quot;role&quot;: &quot;assistant&quot;" in html  # the JSON view, escaped
    assert copy_button("<b>x</b>").endswith(
        '<textarea class="wb-copy-src" hidden aria-hidden="true">&lt;b&gt;x&lt;/b&gt;</textarea>')


def test_waterfall_rows_carry_tokens_of_the_node_and_its_subtree():
    spans = [
        {"trace_id": "t", "span_id": "a", "parent_span_id": None, "name": "root", "start_time": 0,
         "end_time": 10_000_000, "span_kind": "CHAIN"},
        {"trace_id": "t", "span_id": "b", "parent_span_id": "a", "name": "llm", "start_time": 1_000_000,
         "end_time": 5_000_000, "span_kind": "LLM", "total_tokens": 120, "input_value": "Refund please"},
        {"trace_id": "t", "span_id": "c", "parent_span_id": "a", "name": "llm2", "start_time": 5_000_000,
         "end_time": 9_000_000, "span_kind": "LLM", "prompt_tokens": 30, "completion_tokens": 5},
    ]
    rows = {r["id"]: r for r in waterfall_rows(Trace("t", spans), {"b": {"cost": 0.002, "subtree_cost": 0.002}})}
    assert rows["a"]["tokens"] is None and rows["a"]["sub_tokens"] == 155
    assert rows["b"]["tokens"] == 120 and rows["b"]["cost"] == 0.002 and rows["c"]["tokens"] == 35
    assert "refund please" in rows["b"]["text"]


def test_waterfall_rows_count_the_failed_spans_below_each_node():
    spans = [
        {"trace_id": "t", "span_id": "a", "parent_span_id": None, "name": "root", "start_time": 0,
         "end_time": 10_000_000, "status_code": "ERROR"},
        {"trace_id": "t", "span_id": "b", "parent_span_id": "a", "name": "step", "start_time": 1_000_000,
         "end_time": 5_000_000, "status_code": "OK"},
        {"trace_id": "t", "span_id": "c", "parent_span_id": "b", "name": "tool", "start_time": 2_000_000,
         "end_time": 3_000_000, "status_code": "ERROR"},
        {"trace_id": "t", "span_id": "d", "parent_span_id": "b", "name": "tool2", "start_time": 3_000_000,
         "end_time": 4_000_000, "status_code": "ERROR"},
    ]
    rows = {r["id"]: r for r in waterfall_rows(Trace("t", spans))}
    # A node's own failure is not "below" it: only its descendants count.
    assert [rows[k]["sub_errors"] for k in "abcd"] == [2, 2, 0, 0]


def test_waterfall_rows_take_tokens_and_search_text_from_fuller_spans():
    tree = [{"trace_id": "t", "span_id": "a", "parent_span_id": None, "name": "llm", "start_time": 0,
             "end_time": 1_000_000, "span_kind": "LLM"}]
    full = {"a": {**tree[0], "prompt_tokens": 7, "completion_tokens": 3, "output_value": "The Invoice is paid"}}
    bare = waterfall_rows(Trace("t", tree))[0]
    assert bare["tokens"] is None and "invoice" not in bare["text"]
    row = waterfall_rows(Trace("t", tree), spans=full)[0]
    assert row["tokens"] == 10 and "the invoice is paid" in row["text"]
