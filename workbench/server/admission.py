"""What the server lets in, decided from a request's headers before its body is read.

:class:`Admission` wraps the Tornado application:

* A request whose ``Content-Length`` is over the size limit gets a 413 with a message, on any
  route (rather than Tornado's bare 400 or a reset).
* An OTLP request (``POST /v1/...``) must fit in a :class:`ByteBudget` of bytes in flight
  (bodies being read, decoded, queued and written), and the database's disk must have room;
  otherwise the answer is 503 with ``Retry-After``. So memory stays bounded under overload,
  and a full disk is never written to.

A refusal is written at once, before the body is read. The body is then read and dropped,
so that a client still sending reads the answer rather than a reset; a body far over the
limit, or one the client waits to send (``Expect: 100-continue``), is not read, and the
connection is closed after the answer. The answer's format follows the route: an OTLP
``Status`` for OTLP protobuf, ``{"code", "message"}`` for OTLP JSON, ``{"error": ...}``
elsewhere.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from tornado import httputil

from workbench.server.proxy_parse import provider_error, proxy_provider

__all__ = ["Admission", "ByteBudget", "media_type", "refusal_body"]

PROTOBUF = "application/x-protobuf"
# Other names senders use for the same protobuf body (the IANA-registered one among them).
_PROTOBUF_ALIASES = frozenset({"application/protobuf", "application/vnd.google.protobuf"})


def media_type(headers: httputil.HTTPHeaders) -> str:
    """The request's media type, lower-cased and without parameters; protobuf by any of its names
    is ``application/x-protobuf``."""
    media = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    return PROTOBUF if media in _PROTOBUF_ALIASES else media

# A declared body up to this many times the size limit is read (and dropped) after a
# refusal, so the client sees it; beyond, the connection is closed after the answer.
_DRAIN_FACTOR = 4
_RETRY_AFTER_S = 1
_DISK_RETRY_AFTER_S = 10


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
        self.requests = 0  # requests holding a reservation (answered or not yet)
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
    """The Content-Type and body of a refusal (see the module's docstring)."""
    if path.startswith("/v1/"):
        code = {400: 3, 413: 3, 415: 3, 429: 8, 503: 14}.get(status, 2)
        if content_type == PROTOBUF:
            from google.rpc import status_pb2

            return PROTOBUF, status_pb2.Status(code=code, message=message).SerializeToString()
        return "application/json", json.dumps({"code": code, "message": message}).encode()
    provider = proxy_provider(path)
    if provider is not None:  # the provider's error format: its SDK raises its usual error
        return "application/json", json.dumps(provider_error(provider, status, message)).encode()
    return "application/json", json.dumps({"error": message}).encode()


def _mib(size: int) -> str:
    """A size in MiB as a person reads it: ``1.9 MiB``, never a rounded-down ``1 MiB`` over a 1 MiB limit."""
    mib = size / (1 << 20)
    return f"{mib:.1f} MiB" if mib < 10 else f"{mib:.0f} MiB"


_REASONS = {413: "Content Too Large", 503: "Service Unavailable"}


class _Tracked:
    """A request's connection that gives back its reservation when the answer is finished."""

    def __init__(self, connection: Any, done: Callable[[], None]) -> None:
        self._connection = connection
        self._done: Callable[[], None] | None = done

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def finish(self) -> None:
        try:
            self._connection.finish()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()


class _Guard(httputil.HTTPMessageDelegate):
    """One request: passed on to the application, or refused and its body dropped."""

    def __init__(self, admission: Admission, server_conn: object, connection: Any) -> None:
        self.admission = admission
        self.server_conn = server_conn
        self.connection = connection
        self.inner: httputil.HTTPMessageDelegate | None = None
        self.refused = False
        self.reserved = 0
        self.counted = False

    def headers_received(
        self, start_line: httputil.RequestStartLine | httputil.ResponseStartLine, headers: httputil.HTTPHeaders
    ) -> Any:
        admission = self.admission
        method = getattr(start_line, "method", "GET")
        path = getattr(start_line, "path", "/").split("?")[0]
        declared = headers.get("Content-Length")
        length = int(declared) if declared and declared.strip().isdigit() else 0
        refusal: tuple[int, str, int] | None = None
        if length > admission.limit:
            fix = ("send a smaller request, or raise the limit" if proxy_provider(path) is not None
                   else "send smaller batches")
            refusal = (
                413,
                f"The request body is {_mib(length)}, larger than the {admission.limit >> 20} MiB this "
                f"server takes (WORKBENCH_MAX_REQUEST_MB); {fix}.",
                0,
            )
        elif method == "POST" and path.startswith("/v1/"):
            low = admission.low_disk()
            if low is not None:
                refusal = (503, low, _DISK_RETRY_AFTER_S)
            elif not admission.budget.reserve(length):
                refusal = (
                    503,
                    f"The server holds {admission.budget.used >> 20} MiB of requests already (its limit is "
                    f"{admission.budget.limit >> 20} MiB, WORKBENCH_INFLIGHT_MB); retry shortly.",
                    _RETRY_AFTER_S,
                )
            else:
                self.reserved = length
                self.counted = True
                admission.budget.requests += 1
                self.connection = _Tracked(self.connection, self._release)
        if refusal is not None:
            self._refuse(*refusal, path, headers, length)
            return None
        self.inner = admission.application.start_request(self.server_conn, self.connection)
        return self.inner.headers_received(start_line, headers)

    def _refuse(self, status: int, message: str, retry_after: int, path: str,
                headers: httputil.HTTPHeaders, length: int) -> None:
        self.refused = True
        self.admission.refused += 1
        content_type = media_type(headers)
        kind, body = refusal_body(status, message, path, content_type)
        response = httputil.HTTPHeaders({"Content-Type": kind, "Content-Length": str(len(body))})
        if retry_after:
            response["Retry-After"] = str(retry_after)
        self.connection.write_headers(httputil.ResponseStartLine("HTTP/1.1", status, _REASONS[status]), response, body)
        # Tornado reads the declared body next: never refuse it a second time with a bare 400.
        self.connection.set_max_body_size(max(length, self.admission.limit))
        drain = 0 < length <= self.admission.limit * _DRAIN_FACTOR
        if not drain or headers.get("Expect", "").lower() == "100-continue":
            self.connection.finish()  # Tornado closes the connection after it, the body unread

    def data_received(self, chunk: bytes) -> Any:
        if self.inner is not None:
            return self.inner.data_received(chunk)
        return None  # a refused request's body: dropped

    def finish(self) -> None:
        if self.inner is not None:
            self.inner.finish()
        elif self.refused:  # the refusal's body has been read and dropped: end its answer
            self.connection.finish()

    def on_connection_close(self) -> None:
        if self.inner is not None:
            self.inner.on_connection_close()
        self._release()

    def _release(self) -> None:
        # The request, its connection and this guard refer to each other: let go, so the
        # body is freed now rather than at the next full garbage collection.
        self.inner = None
        if self.reserved:
            self.admission.budget.release(self.reserved)
            self.reserved = 0
        if self.counted:
            self.counted = False
            self.admission.budget.requests -= 1


class Admission(httputil.HTTPServerConnectionDelegate):
    """A Tornado application behind the checks of the module's docstring.

    Args:
        application: The application (any ``HTTPServerConnectionDelegate``).
        limit: The largest body, in bytes, a request may declare.
        budget: The bytes OTLP requests may hold at once.
        low_disk: Returns a sentence while the database's disk is too full to write, else None.
    """

    def __init__(
        self,
        application: httputil.HTTPServerConnectionDelegate,
        limit: int,
        budget: ByteBudget,
        low_disk: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.application = application
        self.limit = limit
        self.budget = budget
        self.low_disk = low_disk
        self.refused = 0

    def start_request(  # tornado's hook
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        return _Guard(self, server_conn, request_conn)

    def on_close(self, server_conn: object) -> None:
        self.application.on_close(server_conn)
