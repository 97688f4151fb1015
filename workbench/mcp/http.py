"""``/mcp`` on ``workbench serve``: MCP's streamable HTTP transport inside the Tornado server.

The SDK speaks streamable HTTP as an ASGI application (its session manager). Tornado runs on
asyncio, so rather than a second web server on a side port, :class:`McpHandler` hands each
request to that ASGI callable on Tornado's own event loop: the request becomes an ASGI scope
and body, and what the application sends (status, headers, body chunks, SSE included) is
written back and flushed as it comes. So ``/mcp`` has the server's port, and passes the same
guard as every route first (host names, origins, the access token).

The session manager runs stateless with JSON answers: each POST carries one JSON-RPC message
and gets its answer, and nothing is kept between requests (no sessions to expire). It is
started on the first request, so a server whose ``/mcp`` is never used never loads the SDK.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from tornado.web import RequestHandler

from workbench.errors import WorkbenchError

__all__ = ["McpEndpoint", "McpHandler"]

logger = logging.getLogger(__name__)


class McpEndpoint:
    """The MCP server of one ``workbench serve``, started on first use.

    Args:
        reader: The server's reader.
        write: Offer the ``annotate`` tool (``--mcp-write``).
    """

    def __init__(self, reader: Any, *, write: bool | None = None) -> None:
        self.reader = reader
        self.write = write
        self._manager: Any = None
        self._ready: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._problem: str | None = None

    async def manager(self) -> Any:
        """The SDK's session manager, running on this event loop.

        Raises:
            WorkbenchError: The SDK is not installed (the message names the extra).
        """
        if self._problem is not None:
            raise WorkbenchError(self._problem)
        if self._ready is None:
            self._ready, self._stop = asyncio.Event(), asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())
        await self._ready.wait()
        if self._problem is not None:
            raise WorkbenchError(self._problem)
        return self._manager

    async def _run(self) -> None:
        assert self._ready is not None and self._stop is not None
        try:
            from mcp.server.transport_security import TransportSecuritySettings

            from workbench.mcp.server import build_server

            server = build_server(self.reader, write=self.write)
            # The server's guard has checked host, origin and token already.
            server.streamable_http_app(stateless_http=True, json_response=True,
                                       transport_security=TransportSecuritySettings(
                                           enable_dns_rebinding_protection=False))
            manager = server.session_manager
        except WorkbenchError as exc:
            self._problem = str(exc)
            self._ready.set()
            return
        except ImportError:
            self._problem = "The MCP endpoint needs the MCP Python SDK; install pip install 'llm-trace-workbench[mcp]'."
            self._ready.set()
            return
        async with manager.run():
            self._manager = manager
            self._ready.set()
            await self._stop.wait()

    async def stop(self) -> None:
        """Stop the session manager, if it was started."""
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except Exception:  # stopping must not fail the server's stop (logged)
                logger.debug("the MCP endpoint did not stop cleanly", exc_info=True)


class McpHandler(RequestHandler):
    """Passes a request to the SDK's ASGI session manager; see the module docstring."""

    def initialize(self, endpoint: McpEndpoint) -> None:
        self.endpoint = endpoint
        self._gone = asyncio.Event()
        self._started = False

    def check_xsrf_cookie(self) -> None:
        pass  # the guard's content-type and origin rules apply instead

    def on_connection_close(self) -> None:
        self._gone.set()

    async def get(self) -> None:
        await self._asgi()

    async def post(self) -> None:
        await self._asgi()

    async def delete(self) -> None:
        await self._asgi()

    async def _asgi(self) -> None:
        try:
            manager = await self.endpoint.manager()
        except WorkbenchError as exc:
            self.set_status(501)
            self.set_header("Content-Type", "application/json")
            self.finish({"error": str(exc)})
            return
        request = self.request
        host, _, port = (request.host or "127.0.0.1").rpartition(":")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.version.removeprefix("HTTP/") or "1.1",
            "method": request.method,
            "scheme": request.protocol,
            "path": request.path,
            "raw_path": request.path.encode(),
            "query_string": (request.query or "").encode(),
            "root_path": "",
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.get_all()],
            "client": (request.remote_ip or "127.0.0.1", 0),
            "server": (host or request.host, int(port) if port.isdigit() else 80),
        }
        body_sent = False

        async def receive() -> dict[str, Any]:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": request.body or b"", "more_body": False}
            await self._gone.wait()  # a streaming answer ends when the client goes away
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if self._finished:
                return
            if message["type"] == "http.response.start":
                self._started = True
                self.set_status(message["status"])
                self.clear_header("Content-Type")
                for key, value in message.get("headers", []):
                    name = key.decode("latin-1")
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.add_header(name, value.decode("latin-1"))
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                if body:
                    self.write(body)
                if message.get("more_body", False):
                    await self.flush()
                else:
                    self.finish()

        await manager.handle_request(scope, receive, send)
        if not self._finished:
            self.finish()
