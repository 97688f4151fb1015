"""The word diff of two outputs the Experiments page shows."""

from __future__ import annotations

from workbench.app.diff import diff_counts, diff_html, output_text


def test_insertions_and_deletions_are_marked_and_the_rest_kept():
    html = diff_html("Refunds take 5 days.", "Refunds take 5-10 business days, <b>always</b>.")
    assert html.startswith("Refunds take ")
    assert "<del class='wb-del'>5</del>" in html
    assert "<ins class='wb-ins'>5-10 business</ins>" in html
    assert "&lt;b&gt;always&lt;/b&gt;" in html and "<b>" not in html  # the outputs' text is escaped
    assert diff_counts("Refunds take 5 days.", "Refunds take 5-10 business days, <b>always</b>.") == (1, 11)


def test_same_outputs_have_no_marks_and_other_values_compare_as_json():
    assert diff_html("same text", "same text") == "same text"
    assert diff_counts("same", "same") == (0, 0)
    assert output_text({"a": 1}) == '{"a": 1}' and output_text(None) == "" and output_text(float("nan")) == ""
    assert "<ins class='wb-ins'>2</ins>" in diff_html({"a": 1}, {"a": 2})
