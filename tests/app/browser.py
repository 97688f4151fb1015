"""The one way browser tests reach the app: serve a store on a free port, open pages in
headless chromium, and wait for conditions with a deadline (never a fixed sleep)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEADLINE_MS = 30_000  # generous: two shared cores, and the first session imports panel's pages


@contextlib.contextmanager
def serve_app(store: Any) -> Iterator[Any]:
    """A real :class:`workbench.server.Server` with the app, on a free port of 127.0.0.1."""
    from workbench.server import Server

    server = Server(store, host="127.0.0.1", port=0, app=True).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def serve_dataset(directory: Path, **options: Any) -> Iterator[tuple[Any, Any, Any]]:
    """The test dataset (``make_dataset(**options)``) in a store of its own in ``directory``,
    served with the app: ``(server, reader, dataset)``; for tests that write to the store."""
    from tests.app.data import make_dataset
    from workbench.query import Reader
    from workbench.store import Store

    data = make_dataset(**options)
    store = Store(directory / "workbench.duckdb")
    store.write(data.spans)
    try:
        with serve_app(store) as server:
            yield server, Reader(store), data
    finally:
        store.close()


@dataclass
class AppPage:
    """A browser tab on the app, recording console errors and uncaught exceptions."""

    page: Any
    base_url: str
    errors: list[str] = field(default_factory=list)

    def goto(self, query: str = "", *, ready: str = ".wb-brand") -> AppPage:
        """Open ``/?{query}`` and wait until ``ready`` (a CSS selector) is visible."""
        self.page.goto(f"{self.base_url}/{('?' + query) if query else ''}")
        return self.wait_for(ready)

    def wait_for(self, selector: str, *, text: str | None = None, timeout: int = DEADLINE_MS) -> AppPage:
        """Wait until an element matching ``selector`` (and containing ``text``) is visible."""
        locator = self.page.locator(selector)
        if text is not None:
            locator = locator.filter(has_text=text)
        locator.first.wait_for(state="visible", timeout=timeout)
        return self

    def wait_count(self, selector: str, count: int, *, timeout: int = DEADLINE_MS) -> AppPage:
        """Wait until exactly ``count`` elements match ``selector`` (shadow roots included)."""
        from playwright.sync_api import expect

        expect(self.page.locator(selector)).to_have_count(count, timeout=timeout)
        return self

    def wait_url(self, **params: str | None) -> AppPage:
        """Wait until the URL's query has these values (None: absent)."""
        self.page.wait_for_function(
            "want => Object.entries(want).every(([k, v]) => new URLSearchParams(location.search).get(k) === v)",
            arg=params, timeout=DEADLINE_MS,
        )
        return self

    def wait_until(self, script: str, arg: Any = None, *, timeout: int = DEADLINE_MS) -> Any:
        """Wait until the JavaScript function ``script`` returns something truthy; return it.

        ``document.querySelector`` does not reach into Panel's shadow roots: use
        :meth:`wait_for` or :meth:`wait_count` for elements.
        """
        return self.page.wait_for_function(script, arg=arg, timeout=timeout).json_value()

    def text(self, selector: str) -> str:
        """The visible text of the first element matching ``selector``."""
        return self.page.locator(selector).first.inner_text()

    def screenshot(self, path: Path | None) -> None:
        """Save the viewport (when a path is given)."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(path))

    def assert_no_errors(self) -> None:
        """Fail on any console error or uncaught exception seen so far."""
        assert not self.errors, "errors in the browser:\n" + "\n".join(self.errors)


def new_app_page(browser: Any, base_url: str, *, width: int = 1440, height: int = 900) -> AppPage:
    """A fresh tab (own context) at a laptop's size, recording errors."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    app_page = AppPage(page, base_url)
    page.on("console", lambda m: app_page.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: app_page.errors.append(f"page error: {e}"))
    return app_page


class ReadyHold:
    """Keeps a tab's "document ready" message from reaching the server until :meth:`release`.

    The browser sends it once every view of the page has rendered; until the server has it,
    Panel on its own counts the session as not connected (see :mod:`workbench.app.connection`).
    Holding it widens, deterministically, the
    moment between the browser having the page (it pulled the document, and can be clicked)
    and the server hearing that it is ready, in which the server may still change the page: a
    result computed in the background, or what a click asks for. Every other message passes.

    Args:
        page: The Playwright page, before it opens the app.
        on_pulled: Called (on Playwright's thread) once the server has sent the document.
    """

    def __init__(self, page: Any, *, on_pulled: Any = None) -> None:
        self.held: list[list[Any]] = []
        self.pulled = False
        self._released = False
        self._on_pulled = on_pulled
        self._servers: list[Any] = []
        page.route_web_socket(re.compile(r"/ws(\?.*)?$"), self._route)

    def _route(self, ws: Any) -> None:
        server = ws.connect_to_server()
        self._servers.append(server)
        frames: list[Any] = []
        expected = [3]

        def from_page(message: Any) -> None:
            # Bokeh's messages: header, metadata and content, then two frames per buffer.
            frames.append(message)
            if len(frames) == 1 and isinstance(message, str):
                expected[0] = 3 + 2 * int(json.loads(message).get("num_buffers") or 0)
            if len(frames) < expected[0]:
                return
            whole = frames[:]
            frames.clear()
            if not self._released and isinstance(whole[2], str) and "document_ready" in whole[2]:
                self.held.append([server, whole])
                return
            for frame in whole:
                server.send(frame)

        def from_server(message: Any) -> None:
            if not self.pulled and isinstance(message, str) and '"PULL-DOC-REPLY"' in message:
                self.pulled = True
                if self._on_pulled is not None:
                    self._on_pulled()
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    def release(self) -> None:
        """Let the held messages (and every later one) through."""
        self._released = True
        for server, whole in self.held:
            for frame in whole:
                server.send(frame)
        self.held.clear()
