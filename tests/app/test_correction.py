"""A correction typed in the app, in a real browser: the "Correct this answer" box of an LLM
span's detail saves an annotation named ``correction``, the detail shows it, and a dataset made
from the trace afterwards (on the Traces page) takes it as the example's expected output."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.app.browser import new_app_page, serve_dataset

pytestmark = pytest.mark.browser

ROWS = ".wb-grid tbody tr[data-href]"
CARD = ".wb-correction-card"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serve_dataset(tmp_path_factory.mktemp("correction"), sessions=4) as served:
        yield served


@pytest.fixture
def tab(browser, served):
    page = new_app_page(browser, served[0].url)
    yield page
    page.page.context.close()
    page.assert_no_errors()


def _span_id(data, trace_id: str, name: str) -> str:
    return next(s.span_id for s in data.spans if s.trace_id == trace_id and s.name == name)


def test_a_correction_typed_on_an_llm_span_is_the_datasets_expected_output(tab, served):
    from workbench.experiments import dataset, from_spans

    _, reader, data = served
    trace_id = data.llm_trace
    answer = _span_id(data, trace_id, "answer")
    text = "Refunds of a double charge reach the original card within 5-10 business days."

    tab.goto(f"page=trace&trace_id={trace_id}&span_id={answer}", ready=".wf-row.sel")
    tab.wait_for(f"{CARD} .card-header", text="Correct this answer")
    tab.page.locator(f"{CARD} .card-header").first.click()  # folded until wanted
    # Nothing typed: refused, nothing written.
    tab.page.locator(".wb-correction-save button").click()
    tab.wait_for(".wb-correction-status .wb-error-text", text="Type the answer")
    assert reader.annotations("correction", trace_ids=[trace_id]).empty

    tab.page.locator(".wb-correction-text textarea").fill(text)
    tab.page.locator(".wb-correction-save button").click()
    tab.wait_for(".wb-correction-status", text="Saved")
    tab.wait_for(".wb-span-detail .wb-correction", text=text)  # the detail shows it
    notes = reader.annotations("correction", trace_ids=[trace_id])
    assert len(notes) == 1
    note = notes.iloc[0]
    assert (note["span_id"], note["label"], note["explanation"], note["annotator_kind"]) == (
        answer, "corrected", text, "HUMAN")

    # A dataset made afterwards from the trace, on the Traces page, expects the correction.
    tab.goto("filter=" + quote(f"trace_id == '{trace_id}'"), ready=ROWS)
    tab.wait_for(".wb-add-to-dataset button", text="Add this trace")
    tab.page.locator(".wb-dataset-name input").fill("corrected")
    tab.page.locator(".wb-add-to-dataset button").click()
    tab.wait_for(".wb-add-status", text="corrected made: 1 example")
    made = dataset(reader, "corrected")
    assert list(made.examples["source_trace_id"]) == [trace_id]
    assert list(made.examples["expected"]) == [text]
    # And one made from the span itself.
    spans = from_spans(reader, "corrected-span", [answer])
    assert list(spans.examples["expected"]) == [text]


def test_the_box_is_offered_on_answers_not_on_retrievals(tab, served):
    _, _, data = served
    trace_id = data.trace_ids[-1]
    retrieval = _span_id(data, trace_id, "search_knowledge_base")
    tab.goto(f"page=trace&trace_id={trace_id}&span_id={retrieval}", ready=".wf-row.sel")
    tab.wait_for(".wb-span-detail", text="Documents")
    assert tab.page.locator(f"{CARD}:visible").count() == 0
    tab.page.locator(".wf-row[data-id]", has_text="support_chat").first.click()  # the CHAIN root
    tab.wait_for(f"{CARD} .card-header", text="Correct this answer")
