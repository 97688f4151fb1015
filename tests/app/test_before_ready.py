"""What happens on a served page before the browser has told the server it is ready.

The browser can show and be clicked on a page (it has the document) some time before it
reports the page ready (every view rendered). :class:`~tests.app.browser.ReadyHold` holds
that report, so the moment lasts as long as a test needs: what the server changes in it,
in answer to a click or from work done in the background, must reach the page.
"""

from __future__ import annotations

import pytest

from tests.app.browser import ReadyHold, new_app_page

pytestmark = pytest.mark.browser

ROWS = ".wb-grid tbody tr[data-href]"


@pytest.fixture
def held(browser, app_server):
    tab = new_app_page(browser, app_server.url)
    hold = ReadyHold(tab.page)
    yield tab, hold
    tab.page.context.close()
    tab.assert_no_errors()


def test_a_span_clicked_before_the_page_is_ready_shows_its_detail(held, dataset):
    tab, hold = held
    tab.goto(f"page=trace&trace_id={dataset.llm_trace}", ready=".wf-row[data-id]")
    tab.page.locator(".wf-row[data-id]", has_text="answer").first.click()
    tab.wait_for(".wf-row.sel", text="answer")
    tab.wait_for(".wb-msg-head", text="system")  # the answer's messages, while the report is held
    assert hold.pulled
    hold.release()
    tab.wait_until("() => new URLSearchParams(location.search).get('span_id') !== null")


def test_a_link_followed_before_the_page_is_ready_opens_its_page(held, dataset):
    tab, hold = held
    tab.goto(ready=ROWS)
    tab.page.locator(ROWS).first.locator("td").nth(3).click()
    tab.wait_for(".wf-row[data-id]")  # the trace's tree, while the report is held
    assert hold.pulled
    hold.release()
    tab.wait_url(page="trace")
