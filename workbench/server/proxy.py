"""The recording proxy: ``/proxy/openai/v1/...`` and ``/proxy/anthropic/...``.

Point a client's base URL here and each call is forwarded to the provider (or the base URL
in ``WORKBENCH_PROXY_OPENAI_URL`` / ``WORKBENCH_PROXY_ANTHROPIC_URL``) and recorded as an LLM
span. The answer passes through as it comes: status, headers and body, a streamed (SSE)
body chunk by chunk as each arrives, never buffered. Upstream errors (4xx, 5xx) pass through
unchanged and are recorded as errors; no answer in ``WORKBENCH_PROXY_TIMEOUT_S`` gives a 504,
an unreachable upstream a 502, in the provider's error format.

The span is built after the caller has its answer, as an OTLP request, and goes through the
same decoding, redaction, sampling and writer as spans sent to ``/v1/traces``. Time to first
token is measured here, from the request's arrival to the first body chunk of a streamed
answer. API keys (``Authorization``, ``x-api-key``, ``api-key``) are forwarded and nothing
else: request headers are never stored or logged.

Headers read, and not forwarded: ``X-Workbench-Project``, ``X-Workbench-Session``,
``X-Workbench-User``, ``X-Workbench-Tags`` (comma-separated), ``X-Workbench-Property-<Name>``
(a custom property, kept in the span's metadata), ``X-Workbench-Token`` (this server's token,
when it requires one: ``Authorization`` carries the provider's key). A W3C ``traceparent``
makes the span a child of the caller's span.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import httpx
from tornado.iostream import StreamClosedError
from tornado.web import RequestHandler

from workbench.errors import QueueFullError, StoreError
from workbench.server.otlp import PROTOBUF, Ingest
from workbench.server.proxy_parse import call_kind, parse_call, provider_error, proxy_provider
from workbench.server.proxy_span import calls_request

__all__ = ["Exchange", "Proxy", "ProxyHandler", "ProxyReadOnly", "proxy_handlers"]

logger = logging.getLogger(__name__)

# Hop-by-hop headers (RFC 9110 7.6.1) and what this server rewrites: never forwarded.
_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length", "accept-encoding",
})
_GATHER_S = 0.2  # finished calls wait this long to be recorded together
_GATHER_MAX = 256  # ... or until this many have finished
# What marks a streamed event carrying generated output, so time to first token is measured to
# it rather than to a stream's opening events (Anthropic's message_start, OpenAI's role chunk):
# OpenAI chat deltas with text, tool arguments or reasoning; Responses API ``*.delta`` events;
# Anthropic's text, tool-input and thinking deltas.
_TOKEN = re.compile(rb'"(?:content|arguments|reasoning_content|reasoning|refusal)"\s*:\s*"[^"]'
                    rb'|\.delta"|"(?:text|input_json|thinking)_delta"')
_RECORD_LIMIT = 16 << 20  # bytes of a body kept for recording; the rest passes through unrecorded


@dataclass
class Exchange:
    """One proxied call: what the recorder needs once the caller has its answer."""

    provider: str
    method: str
    path: str
    request: bytes
    headers: dict[str, str]
    start_ns: int
    end_ns: int = 0
    status: int | None = None
    first_chunk_ns: int | None = None
    first_token_ns: int | None = None  # the first chunk that carries generated output
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    failure: tuple[str, str] | None = None  # (error type, message) when no whole answer came
    encoding: str = ""  # the answer's Content-Encoding, when the upstream compressed it anyway
    request_encoding: str = ""  # the request's Content-Encoding, when the caller compressed it

    @property
    def request_body(self) -> bytes:
        """The request's body as the recorder reads it: uncompressed."""
        return _decoded(self.request, self.request_encoding)

    @property
    def response(self) -> bytes:
        """The answer's body as the recorder reads it: uncompressed."""
        return _decoded(b"".join(self.chunks), self.encoding)


def _decoded(body: bytes, encoding: str) -> bytes:
    """``body`` uncompressed (gzip or deflate), at most :data:`_RECORD_LIMIT` bytes of it; the
    body as it is when it is not compressed or cannot be read."""
    name = encoding.strip().lower()
    if not body or name not in ("gzip", "x-gzip", "deflate"):
        return body
    try:  # 32 + 15: zlib and gzip headers alike; a raw deflate stream below
        return zlib.decompressobj(47).decompress(body, _RECORD_LIMIT)
    except zlib.error:
        try:
            return zlib.decompressobj(-15).decompress(body, _RECORD_LIMIT)
        except zlib.error:
            return body


class Proxy:
    """The proxy's settings, its HTTP client and its recorder.

    Args:
        ingest: Where recorded spans go (the OTLP receiver's pipeline).
        upstreams: Base URL per provider (``{"openai": "https://api.openai.com/v1", ...}``).
        timeout_s: Seconds an upstream may take to answer in full.
    """

    def __init__(self, ingest: Ingest, upstreams: dict[str, str], timeout_s: float) -> None:
        self.ingest = ingest
        self.upstreams = {name: url.rstrip("/") for name, url in upstreams.items()}
        self.timeout_s = timeout_s
        self.requests: dict[tuple[str, str], int] = {}
        self.recorded = 0
        self.unrecorded = 0
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: list[Exchange] = []
        self._timer: asyncio.TimerHandle | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:  # made on the server's loop, on first use
            # Connections to the provider are kept and reused: no new TLS handshake per call.
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_s, connect=min(30.0, self.timeout_s)),
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=32),
                follow_redirects=False, trust_env=False,
            )
        return self._client

    def count(self, provider: str, status: str) -> None:
        key = (provider, status)
        self.requests[key] = self.requests.get(key, 0) + 1

    def record_later(self, exchange: Exchange) -> None:
        """Record a finished exchange soon, after the caller's answer.

        Exchanges are gathered for up to :data:`_GATHER_S` and recorded as one OTLP request:
        one decode and one commit for many calls, which keeps the work off the calls that
        follow (measured in benchmarks/bench_proxy.py).
        """
        self._pending.append(exchange)
        if len(self._pending) >= _GATHER_MAX:
            self._record_pending()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(_GATHER_S, self._record_pending)

    def _record_pending(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        exchanges, self._pending = self._pending, []
        if exchanges:
            task = asyncio.ensure_future(self.record(exchanges))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def record(self, exchanges: list[Exchange]) -> None:
        """Build the exchanges' spans and store them like an OTLP request. Never raises."""
        ingest = self.ingest
        try:
            calls = [
                (e, parse_call(e.provider, e.path, e.request_body, e.status, e.response)) for e in exchanges
            ]
            body = calls_request(calls, ingest.default_project)
            decoded = await ingest.decode(body, PROTOBUF)
            try:
                batch = decoded.to_batch()
                admitted = ingest.pipeline.admit(batch)  # the OTLP receiver's road: sampling, then the sink
                if admitted.future is not None:
                    await asyncio.wrap_future(admitted.future)
            finally:
                decoded.discard()
            ingest.accepted_spans += decoded.spans
            ingest.observe(batch)
            self.recorded += len(exchanges)
        except (QueueFullError, StoreError) as exc:
            self.unrecorded += len(exchanges)
            logger.warning("%d proxied calls were not recorded: %s", len(exchanges), exc)
        except Exception:  # the callers have their answers: recording must not break serving
            self.unrecorded += len(exchanges)
            logger.exception("%d proxied calls could not be recorded", len(exchanges))

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the recordings under way, then close the connections to providers (on stop)."""
        self._record_pending()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


_METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")


class _ProviderErrors(RequestHandler):
    """Every error this server makes under ``/proxy/`` (Tornado's own 405 and 400 included) in
    the provider's JSON error format, so the client's SDK raises its usual error; never HTML."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:  # tornado's hook
        method = self.request.method or ""
        if status_code == 405:
            message = (f"The workbench proxy does not forward {method} requests; send "
                       f"{', '.join(_METHODS)} (see docs/proxy.md).")
            self.set_header("Allow", ", ".join(_METHODS))
        elif status_code < 500:
            message = (f"The request to {self.request.path} could not be read ({self._reason}); "
                       "fix it and send it again.")
        else:
            message = "The workbench proxy failed on this request; see the server's log, and send it again."
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(provider_error(proxy_provider(self.request.path), status_code, message)))


class ProxyHandler(_ProviderErrors):
    """Forwards one request to a provider and passes its answer back as it arrives."""

    SUPPORTED_METHODS = _METHODS

    def initialize(self, proxy: Proxy, provider: str) -> None:  # tornado's hook
        self.proxy = proxy
        self.provider = provider
        self.exchange: Exchange | None = None
        self._sent_headers = False
        self._client_gone = False

    def on_connection_close(self) -> None:  # tornado's hook
        self._client_gone = True

    async def get(self, rest: str | None = None) -> None:
        await self._forward(rest or "")

    head = options = post = put = patch = delete = get

    async def _forward(self, rest: str) -> None:
        start_ns = time.time_ns()
        request = self.request
        method = request.method or "GET"
        path = "/" + rest.lstrip("/")
        url = self.proxy.upstreams[self.provider] + path + (f"?{request.query}" if request.query else "")
        headers: list[tuple[str, str]] = []
        mine: dict[str, str] = {}
        for name, value in request.headers.get_all():
            lower = name.lower()
            if lower.startswith("x-workbench-"):
                mine[lower[12:]] = value
            elif lower not in _HOP:
                headers.append((name, value))
        headers.append(("Accept-Encoding", "identity"))  # the body passes through as the caller reads it
        if "traceparent" in request.headers:
            mine["traceparent"] = request.headers["traceparent"]
        body = request.body if method in ("POST", "PUT", "PATCH") else None
        self.exchange = exchange = Exchange(self.provider, method, path, body or b"", mine, start_ns,
                                            request_encoding=request.headers.get("Content-Encoding", ""))
        stream = getattr(request.connection, "stream", None)
        if stream is not None:
            # Each chunk leaves at once: without this, a chunk written while the previous one
            # is unacknowledged waits for the caller's delayed ACK (Nagle), some 40 ms.
            stream.set_nodelay(True)
        try:
            await asyncio.wait_for(self._relay(method, url, headers, body), self.proxy.timeout_s)
        except asyncio.TimeoutError:
            exchange.failure = ("timeout", f"{self.provider} did not answer within {self.proxy.timeout_s:g} s")
        except _ClientGone:
            exchange.failure = ("client_disconnected", "the caller went away before the answer ended")
        except httpx.TimeoutException:
            exchange.failure = ("timeout", f"{self.provider} did not answer within {self.proxy.timeout_s:g} s")
        except (httpx.ConnectError, OSError) as exc:
            exchange.failure = ("upstream_unreachable", f"cannot reach {self.proxy.upstreams[self.provider]}: {exc}")
        except httpx.HTTPError as exc:
            exchange.failure = ("upstream_error", f"{self.provider}: {type(exc).__name__}: {exc}")
        exchange.end_ns = time.time_ns()
        self.proxy.count(self.provider, str(exchange.status) if exchange.failure is None else exchange.failure[0])
        if exchange.failure is not None:
            self._fail(*exchange.failure)
        elif not self._client_gone:
            self.finish()
        if method in ("POST", "PUT", "PATCH") and call_kind(self.provider, path) is not None:
            self.proxy.record_later(exchange)  # a model call; counting tokens, files ... are not recorded

    async def _relay(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes | None) -> None:
        client = self.proxy.client
        exchange = self.exchange
        assert exchange is not None
        upstream = client.build_request(method, url, headers=headers, content=body)
        response = await client.send(upstream, stream=True)
        try:
            exchange.status = response.status_code
            exchange.encoding = response.headers.get("content-encoding", "")
            self.set_status(response.status_code, response.reason_phrase or None)
            self.clear_header("Content-Type")
            self.clear_header("Server")
            for name, value in response.headers.multi_items():
                if name.lower() not in _HOP or name.lower() == "content-length":
                    self.add_header(name, value)
            self._sent_headers = True
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                await self._flush()  # a stream's headers reach the caller at once
            tail = b""
            async for chunk in response.aiter_raw():
                if exchange.first_chunk_ns is None:
                    exchange.first_chunk_ns = time.time_ns()
                if exchange.first_token_ns is None:
                    if _TOKEN.search(tail + chunk):
                        exchange.first_token_ns = time.time_ns()
                    tail = chunk[-64:]  # a mark split between two chunks is still found
                self.write(chunk)
                await self._flush()
                if exchange.size + len(chunk) <= _RECORD_LIMIT:
                    exchange.chunks.append(chunk)
                exchange.size += len(chunk)
        finally:
            await response.aclose()

    async def _flush(self) -> None:
        if self._client_gone:
            raise _ClientGone
        try:
            await self.flush()
        except StreamClosedError:
            raise _ClientGone from None

    def _fail(self, kind: str, message: str) -> None:
        if self._client_gone:
            return
        if self._sent_headers:
            # Part of the answer is out: end the connection so the caller sees it cut short,
            # never a shorter answer that looks whole.
            self.request.connection.close()  # type: ignore[union-attr]
            return
        status = 504 if kind == "timeout" else 502
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        anthropic_kind = "timeout_error" if kind == "timeout" else "api_error"
        error_kind = anthropic_kind if self.provider == "anthropic" else kind
        self.finish(json.dumps(provider_error(self.provider, status, message + " (workbench proxy)", error_kind)))


class _ProxyNotFound(_ProviderErrors):
    """Any other path under ``/proxy/``: a 404 in the provider's format that names the base URLs."""

    SUPPORTED_METHODS = _METHODS

    def prepare(self) -> None:  # tornado's hook
        path = self.request.path
        provider = proxy_provider(path)
        base = f"{self.request.protocol}://{self.request.host}/proxy"
        message = (f"There is no proxy route {path}; give your client the base URL {base}/openai/v1 (OpenAI and "
                   f"OpenAI-compatible clients) or {base}/anthropic (Anthropic clients), see docs/proxy.md.")
        self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(provider_error(provider, 404, message)))


class ProxyReadOnly(_ProviderErrors):
    """``/proxy/...`` on a server that reads a lake: it stores nothing, so it records nothing.

    Refused in the provider's format (405) rather than forwarded unrecorded.
    """

    SUPPORTED_METHODS = _METHODS

    def initialize(self, source: str) -> None:  # tornado's hook
        self.source = source

    def prepare(self) -> None:  # tornado's hook
        message = (f"This server only reads the lake {self.source}, so it cannot record proxied calls; point your "
                   "client's base URL at a server that stores spans (workbench serve, or serve --lake).")
        self.set_status(405)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(provider_error(proxy_provider(self.request.path), 405, message)))


class _ClientGone(Exception):
    """The caller closed its connection mid-answer."""


def proxy_handlers(proxy: Proxy) -> list[tuple[Any, ...]]:
    """The proxy's Tornado routes."""
    return [
        (r"/proxy/openai/v1(/.*)?", ProxyHandler, {"proxy": proxy, "provider": "openai"}),
        (r"/proxy/anthropic(/.*)?", ProxyHandler, {"proxy": proxy, "provider": "anthropic"}),
        (r"/proxy(/.*)?", _ProxyNotFound),
    ]
