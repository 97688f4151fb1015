"""A TLS (https) client at the plain-http port: answered at once, not left waiting.

A client given ``https://`` for ``workbench serve`` opens with a TLS handshake. The HTTP parser
waits for the end of a request line that never comes, so the client hung until its own timeout
(an OTLP exporter's 10 s, a judge's 60 s, each retry again) and then reported a timeout instead
of the cause. :class:`PlainHTTPServer` looks at each connection's first bytes before the HTTP
parser reads them (a peek: nothing is taken). A TLS handshake is read, answered with a plain
400 and closed, so the client's TLS library fails at once ("wrong version number"), and the
server logs the cause, once per client address.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, StreamClosedError

__all__ = ["PlainHTTPServer", "is_tls_hello"]

logger = logging.getLogger(__name__)

_HELLO_MAX = 64 * 1024  # a TLS record's most (16 KB) with room; read so that closing is a FIN, not a reset
_BODY = b"This server speaks plain http, not https: use an http:// address.\n"
_ANSWER = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
           b"Content-Length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY)


def is_tls_hello(first: bytes) -> bool:
    """Whether a connection's first bytes open a TLS handshake (record type 22, version 3.x)."""
    return len(first) >= 2 and first[0] == 0x16 and first[1] == 0x03


class PlainHTTPServer(HTTPServer):
    """Tornado's HTTP server, answering a TLS handshake with a 400 (see the module)."""

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self._waiting: dict[IOStream, object] = {}  # connections whose first bytes have not come: their deadline
        self._told: set[str] = set()  # addresses whose TLS attempt was logged

    def handle_stream(self, stream: IOStream, address: tuple) -> None:
        loop = IOLoop.current()
        sock = stream.socket

        def give_up() -> None:  # nothing sent within the time allowed for a request's headers
            loop.remove_handler(sock)
            self._waiting.pop(stream, None)
            stream.close()

        def readable(fd: Any, events: int) -> None:
            loop.remove_handler(sock)
            loop.remove_timeout(self._waiting.pop(stream))
            try:
                first = sock.recv(2, socket.MSG_PEEK)
            except OSError:  # reset, or not readable after all: the HTTP side sees it too
                first = b""
            if is_tls_hello(first):
                loop.add_callback(self._refuse, stream, address)
            else:
                super(PlainHTTPServer, self).handle_stream(stream, address)

        self._waiting[stream] = loop.call_later(self.conn_params.header_timeout or 3600, give_up)
        loop.add_handler(sock, readable, IOLoop.READ)

    async def _refuse(self, stream: IOStream, address: tuple) -> None:
        host = str(address[0]) if address else "?"
        if host not in self._told:
            self._told.add(host)
            logger.warning("A client at %s spoke TLS (https) to this plain-http server and was answered 400; "
                           "give it an http:// address.", host)
        try:
            await stream.read_bytes(_HELLO_MAX, partial=True)
            await stream.write(_ANSWER)
        except StreamClosedError:
            pass
        finally:
            stream.close()

    async def close_all_connections(self) -> None:
        loop = IOLoop.current()
        for stream, deadline in list(self._waiting.items()):
            loop.remove_timeout(deadline)
            loop.remove_handler(stream.socket)
            stream.close()
        self._waiting.clear()
        await super().close_all_connections()
