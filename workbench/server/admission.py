"""What the server lets in before it reads a body: a budget of bytes in flight, and a size limit.

:class:`ByteBudget` bounds the request bytes the OTLP receiver holds at once (bodies being
read, decoded, queued and written), so memory stays bounded under overload: a request that
does not fit is answered 503 with ``Retry-After`` before its body is read.

:class:`BodyLimit` wraps the Tornado application so that a request whose ``Content-Length``
is over the limit gets a 413 with a message (JSON under ``/api/`` and for OTLP JSON, an OTLP
``Status`` for OTLP protobuf) on any route, rather than Tornado's bare 400 or a reset. Its
body is read and dropped, so that the client, still sending, reads the answer; a body far
larger than the limit is not read, and the connection is closed after the answer.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from tornado import httputil

__all__ = ["BodyLimit", "ByteBudget", "refusal_body"]

PROTOBUF = "application/x-protobuf"

# A declared body up to this many times the limit is read (and dropped) so the client sees
# the 413; beyond, the connection is closed after the answer.
_DRAIN_FACTOR = 4


class ByteBudget:
    """Bytes in flight, reserved per request and released when it is answered.

    A request is always let in when nothing else is in flight, so one larger than the
    whole budget is still taken. Thread-safe.

    Args:
        limit: The bytes that may be in flight at once.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.peak = 0
        self._lock = threading.Lock()

    def reserve(self, n: int, *, force: bool = False) -> bool:
        """Reserve ``n`` bytes; False (nothing reserved) when they do not fit."""
        with self._lock:
            if not force and self.used and self.used + n > self.limit:
                return False
            self.used += n
            self.peak = max(self.peak, self.used)
            return True

    def release(self, n: int) -> None:
        """Give back ``n`` bytes reserved earlier."""
        with self._lock:
            self.used = max(0, self.used - n)


def refusal_body(status: int, message: str, path: str, content_type: str) -> tuple[str, bytes]:
    """The Content-Type and body of a refusal: an OTLP ``Status`` for OTLP protobuf, JSON
    ``{"code", "message"}`` for OTLP JSON, ``{"error": ...}`` elsewhere."""
    if path.startswith("/v1/"):
        code = {400: 3, 413: 3, 415: 3, 429: 8, 503: 14}.get(status, 2)
        if content_type == PROTOBUF:
            from google.rpc import status_pb2

            return PROTOBUF, status_pb2.Status(code=code, message=message).SerializeToString()
        return "application/json", json.dumps({"code": code, "message": message}).encode()
    return "application/json", json.dumps({"error": message}).encode()


class _Guard(httputil.HTTPMessageDelegate):
    """One request: passed on to the application, or answered 413 and its body dropped."""

    def __init__(self, inner: httputil.HTTPMessageDelegate, connection: Any, limit: int) -> None:
        self.inner = inner
        self.connection = connection
        self.limit = limit
        self.refusal: tuple[str, str] | None = None  # (path, content type)
        self.answered = False

    def headers_received(
        self, start_line: httputil.RequestStartLine | httputil.ResponseStartLine, headers: httputil.HTTPHeaders
    ) -> Any:
        declared = headers.get("Content-Length")
        length = int(declared) if declared and declared.strip().isdigit() else None
        if length is None or length <= self.limit:
            return self.inner.headers_received(start_line, headers)
        path = getattr(start_line, "path", "/").split("?")[0]
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        self.refusal = (path, content_type)
        if length <= self.limit * _DRAIN_FACTOR and headers.get("Expect", "").lower() != "100-continue":
            # Read and drop the body: a client that sends it all before reading (most do)
            # then sees the answer instead of a reset.
            self.connection.set_max_body_size(length)
        else:
            self._answer()  # Tornado closes the connection after it, without reading the body
        return None

    def _answer(self) -> None:
        if self.answered or self.refusal is None:
            return
        self.answered = True
        path, content_type = self.refusal
        message = (
            f"The request body is larger than {self.limit >> 20} MiB, the most this server takes "
            "(WORKBENCH_MAX_REQUEST_MB); send smaller batches."
        )
        kind, body = refusal_body(413, message, path, content_type)
        headers = httputil.HTTPHeaders({"Content-Type": kind, "Content-Length": str(len(body))})
        self.connection.write_headers(httputil.ResponseStartLine("HTTP/1.1", 413, "Content Too Large"), headers, body)
        self.connection.finish()

    def data_received(self, chunk: bytes) -> Any:
        if self.refusal is None:
            return self.inner.data_received(chunk)
        return None  # dropped

    def finish(self) -> None:
        if self.refusal is None:
            self.inner.finish()
        else:
            self._answer()

    def on_connection_close(self) -> None:
        if self.refusal is None:
            self.inner.on_connection_close()


class BodyLimit(httputil.HTTPServerConnectionDelegate):
    """A Tornado application behind a body-size limit (see the module's docstring).

    Args:
        application: The application (any ``HTTPServerConnectionDelegate``).
        limit: The largest body, in bytes, a request may declare.
    """

    def __init__(self, application: httputil.HTTPServerConnectionDelegate, limit: int) -> None:
        self.application = application
        self.limit = limit

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:  # noqa: D102
        return _Guard(self.application.start_request(server_conn, request_conn), request_conn, self.limit)

    def on_close(self, server_conn: object) -> None:  # noqa: D102
        self.application.on_close(server_conn)
