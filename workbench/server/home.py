"""What ``/`` answers besides the app: a plain page when the app's packages are missing, the
first page while the app loads (then the app itself), and the first page's "is the app
loaded?" question."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tornado.web import RequestHandler

from workbench.version import __version__

if TYPE_CHECKING:
    from workbench.server.server import Server

__all__ = ["AppLoadingHandler", "AppReadyHandler", "HomeHandler"]


class HomeHandler(RequestHandler):
    """A plain page at ``/`` when the app is not served (``--no-app``, or its packages missing)."""

    def initialize(self, server: Server) -> None:
        self.server = server

    def get(self) -> None:
        stats = self.server.info()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            "<!doctype html><html><head><title>workbench</title></head><body style='font-family:sans-serif'>"
            f"<h1>workbench {__version__}</h1>"
            f"<p>Store: <code>{stats['db']}</code>: {stats['spans']} spans.</p>"
            f"<p>Send OTLP/HTTP to <code>{self.server.url}/v1/traces</code>. "
            "Read spans at <a href='/api/spans?format=json&limit=20'>/api/spans</a> and traces at "
            "<a href='/api/traces?format=json'>/api/traces</a>.</p>"
            "<p>The app needs its packages: <code>pip install 'llm-trace-workbench[app]'</code>.</p></body></html>"
        )


class AppLoadingHandler(RequestHandler):
    """``/`` until the app is loaded: the unfiltered Traces page gets the first page at once
    (:mod:`workbench.app.first_page`) while the app loads; any other address waits for the app,
    then is sent to the same address again, which the app now answers."""

    def initialize(self, server: Server) -> None:
        self.server = server

    async def get(self) -> None:
        if self.server.wants_first_page(self.request.query_arguments):
            # The Traces page's first rows, drawn without the app; the app loads meanwhile.
            page = self.server.prepared_first_page()
            if page is None:
                page = await asyncio.get_running_loop().run_in_executor(self.server.read_executor,
                                                                       self.server.first_page)
            if page is not None:
                self.set_header("Content-Type", "text/html; charset=utf-8")
                self.set_header("Cache-Control", "no-store")
                await self.finish(page)
                self.server.load_app_soon()  # once the page is on its way, not competing with it
                return
            self.server.load_app_soon()
        if await self.server.load_app():
            self.redirect(self.request.uri or "/")
        else:  # the app's packages are missing: the plain page says so
            HomeHandler.get(self)  # type: ignore[arg-type]


class AppReadyHandler(RequestHandler):
    """Answers once the app is loaded (or failed to load): the first page then loads itself again."""

    def initialize(self, server: Server) -> None:
        self.server = server

    async def get(self) -> None:
        served = await self.server.load_app()
        self.set_header("Cache-Control", "no-store")
        self.finish({"app": served})
