"""Cross-origin pages and DNS rebinding in real headless chromium, against real servers.

An "attacker" page is served by a tiny HTTP server on 127.0.0.2 (another origin, another
site); it tries what any web page can: read the API, post spans and annotations, open the
app's websocket. The rebinding page is one the browser believes came from
``rebind.localhost`` (which chromium resolves to 127.0.0.1), so its requests reach workbench
under a foreign host name, exactly as a page whose DNS name was rebound would.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.app.browser import DEADLINE_MS, new_app_page
from tests.app.data import make_dataset

SPAN = {"resourceSpans": [{"scopeSpans": [{"spans": [{
    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "planted by a web page",
    "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
}]}]}]}

# What the attacker's page tries; each attempt ends as a string in window.results.
ATTEMPTS = """
async function attempts(target, annotation, span) {
  const out = {};
  const text = (r) => r.text().then((t) => `status ${r.status} ${t}`);
  const blocked = (e) => `blocked ${e.name}`;
  out.read = await fetch(target + '/api/spans?format=json').then(text, blocked);
  out.otlp_json = await fetch(target + '/v1/traces', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                     body: span}).then(text, blocked);
  out.otlp_simple = await fetch(target + '/v1/traces', {method: 'POST', mode: 'no-cors', body: span,
                                                       headers: {'Content-Type': 'text/plain'}})
    .then((r) => r.type, blocked);
  out.annotate_simple = await fetch(target + '/api/annotations', {method: 'POST', mode: 'no-cors', body: annotation,
                                                                 headers: {'Content-Type': 'text/plain'}})
    .then((r) => r.type, blocked);
  out.annotate_json = await fetch(target + '/api/annotations', {method: 'POST', body: annotation,
                                                               headers: {'Content-Type': 'application/json'}})
    .then(text, blocked);
  out.websocket = await new Promise((resolve) => {
    const ws = new WebSocket(target.replace('http', 'ws') + '/ws');
    ws.onopen = () => { ws.close(); resolve('open'); };
    ws.onerror = () => resolve('refused');
  });
  return out;
}
"""


def _attacker_page(target: str, annotation: dict) -> str:
    return (f"<!doctype html><html><body><h1>a page on another site</h1><script>{ATTEMPTS}"
            f"attempts({json.dumps(target)}, {json.dumps(json.dumps(annotation))}, {json.dumps(json.dumps(SPAN))})"
            ".then((r) => {{ window.results = r; }});</script></body></html>")


@contextlib.contextmanager
def _site(page: dict[str, str]) -> Iterator[str]:
    """A tiny web server on 127.0.0.2 serving ``page["html"]`` (read when asked for); yields its origin."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the stdlib's hook
            body = page.get("html", "").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.2", 0), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.2:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _results(page: Any) -> dict[str, str]:
    return page.wait_for_function("() => window.results", timeout=DEADLINE_MS).json_value()


def _counts(store: Any) -> tuple[int, int]:
    store.flush()
    counts = store.counts()
    return counts["spans"], counts["annotations"]


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: Any) -> Iterator[Any]:
    from workbench.store import Store

    store = Store(tmp_path_factory.mktemp("cross") / "workbench.duckdb")
    store.write(make_dataset(sessions=6).spans)
    yield store
    store.close()


@pytest.fixture(scope="module")
def beyond_server(small_store: Any) -> Iterator[Any]:
    """The app served on every interface, so with a token (reached here through 127.0.0.1)."""
    from workbench.server import Server

    server = Server(small_store, host="0.0.0.0", port=0, app=True, decode_workers=0).start()
    yield server
    server.stop()


def _annotation(store: Any) -> dict:
    span_id = store.fetchall("SELECT span_id FROM spans LIMIT 1")[0][0]
    return {"span_id": span_id, "name": "planted", "label": "bad", "annotator": "a web page"}


def test_a_page_on_another_site_can_neither_read_nor_write(browser, app_server, loaded_store):
    before = _counts(loaded_store)
    with _site({"html": _attacker_page(app_server.url, _annotation(loaded_store))}) as origin:
        tab = new_app_page(browser, origin)
        tab.page.goto(origin + "/")
        results = _results(tab.page)
        tab.page.context.close()
    assert results["read"].startswith("blocked"), results["read"]
    assert results["otlp_json"].startswith("blocked"), results["otlp_json"]  # its preflight is refused
    assert results["annotate_json"].startswith("blocked"), results["annotate_json"]
    assert results["otlp_simple"] == results["annotate_simple"] == "opaque"  # sent, answer unreadable ...
    assert results["websocket"] == "refused"
    assert _counts(loaded_store) == before  # ... and nothing was written
    assert requests.get(app_server.url + "/api/health", timeout=10).status_code == 200


def test_an_allowed_origin_posts_spans_from_the_browser_and_reads_nothing(browser, tmp_path):
    from workbench.server import Server
    from workbench.store import Store

    store = Store(tmp_path / "allowed.duckdb")
    try:
        with contextlib.ExitStack() as stack:
            # The page's origin is known once its server listens; its HTML once workbench's does.
            holder: dict[str, str] = {}
            origin = stack.enter_context(_site(holder))
            server = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0,
                            allowed_origins=[origin]).start()
            stack.callback(server.stop)
            holder["html"] = _attacker_page(server.url, {"trace_id": "5b8efff798038103d269b633813fc60c",
                                                         "name": "planted", "label": "bad"})
            tab = new_app_page(browser, origin)
            tab.page.goto(origin + "/")
            results = _results(tab.page)
            tab.page.context.close()
        assert results["otlp_json"].startswith("status 200"), results["otlp_json"]
        assert results["read"].startswith("blocked") and results["annotate_json"].startswith("blocked"), results
        spans, annotations = _counts(store)
        assert spans == 1 and annotations == 0
        assert store.fetchall("SELECT name FROM spans")[0][0] == "planted by a web page"
    finally:
        store.close()


REBOUND = """<!doctype html><html><body><script>
fetch('/api/spans?format=json&limit=5').then(
  (r) => r.text().then((t) => { window.results = {status: r.status, body: t}; }),
  (e) => { window.results = {status: 0, body: String(e)}; });
</script></body></html>"""


def _rebound_read(browser: Any, port: int) -> dict[str, Any]:
    """What a page whose name was rebound to 127.0.0.1 reads from /api/spans on ``port``."""
    context = browser.new_context()
    page = context.new_page()
    origin = f"http://rebind.localhost:{port}"
    # The first answer for the name is the attacker's page; every later request goes to the
    # network, where the name now leads to 127.0.0.1.
    page.route(origin + "/", lambda route: route.fulfill(status=200, content_type="text/html", body=REBOUND))
    page.goto(origin + "/")
    try:
        return _results(page)
    finally:
        context.close()


def test_a_rebound_dns_name_reads_nothing(browser, app_server, tmp_path):
    from workbench.server import Server
    from workbench.store import Store

    refused = _rebound_read(browser, app_server.port)
    assert refused["status"] == 403, refused
    assert "host name" in json.loads(refused["body"])["error"]
    # The same page, once the user allows the name, reads spans: the request did reach the server.
    store = Store(tmp_path / "named.duckdb")
    store.write(make_dataset(sessions=6).spans)
    server = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0,
                    allowed_hosts=["rebind.localhost"]).start()
    try:
        allowed = _rebound_read(browser, server.port)
    finally:
        server.stop()
        store.close()
    assert allowed["status"] == 200 and json.loads(allowed["body"]), allowed


def test_beyond_loopback_the_browser_needs_the_token_once(browser, beyond_server):
    stranger = new_app_page(browser, beyond_server.url)
    response = stranger.page.goto(beyond_server.url + "/")
    assert response.status == 401 and "access token" in stranger.page.content()
    stranger.page.context.close()

    tab = new_app_page(browser, beyond_server.url)
    tab.page.goto(beyond_server.app_url)  # as printed: ends in ?token=...
    tab.wait_for(".wb-grid tbody tr[data-href]")  # the app rendered: its websocket was let in
    assert "token" not in tab.page.url
    tab.goto("page=latency", ready=".wb-card")  # the cookie carries the token from then on
    tab.assert_no_errors()
    tab.page.context.close()


def test_beyond_loopback_another_site_gets_nothing_even_from_a_signed_in_browser(browser, beyond_server, small_store):
    before = _counts(small_store)
    tab = new_app_page(browser, beyond_server.url)
    tab.page.goto(beyond_server.app_url)  # this browser holds the token's cookie
    tab.wait_for(".wb-brand")
    with _site({"html": _attacker_page(beyond_server.url, _annotation(small_store))}) as origin:
        attacker = tab.page.context.new_page()
        attacker.goto(origin + "/")
        results = _results(attacker)
    tab.page.context.close()
    assert results["read"].startswith("blocked") and results["otlp_json"].startswith("blocked"), results
    assert results["annotate_json"].startswith("blocked"), results
    assert results["websocket"] == "refused"
    assert _counts(small_store) == before


def test_the_websocket_origin_check_stays_on_beyond_loopback(beyond_server):
    origins = beyond_server._app_host.application.websocket_origins
    assert "*" not in origins and f"localhost:{beyond_server.port}" in origins
    handshake = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Authorization": f"Bearer {beyond_server.token}"}
    foreign = requests.get(beyond_server.url + "/ws", headers={**handshake, "Origin": "http://evil.example"},
                           timeout=10)
    assert foreign.status_code == 403
