import time
import pytest
from tests.app.browser import new_app_page, serve_app

pytestmark = pytest.mark.browser
ROWS = ".wb-grid tbody tr[data-href]"


@pytest.mark.parametrize("n", range(3))
def test_rapid(browser, tmp_path, n):
    import workbench
    from workbench.store import Store
    store = Store(tmp_path / "x.duckdb")
    with serve_app(store) as server:
        tab = new_app_page(browser, server.url)
        tab.goto(ready=".wb-brand")
        nav = tab.page.locator(".bk-btn-group").first
        for t in nav.locator(".bk-btn").all_inner_texts():
            nav.locator(".bk-btn", has_text=t).first.click()
            nav.locator(".bk-btn.bk-active", has_text=t).first.wait_for(timeout=30_000)
        nav.locator(".bk-btn", has_text="Traces").first.click()
        tab.page.locator(".wb-muted >> text=/match/").first.wait_for(timeout=20_000)
        tab.page.context.close()
