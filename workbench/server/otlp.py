"""``POST /v1/traces``: the OTLP/HTTP receiver, protobuf or JSON, gzip or not.

A request is decoded off the event loop and run through the ingest pipeline
(:class:`workbench.ingest.IngestPipeline`, the one the in-process collector runs: its
stateless stages in the decoding workers, sampling and the sink here), which queues it on the
store's writer; the answer waits for the commit (group commit), so a 200 means the spans are
on disk. When the writer's queue is full, or too many requests are being decoded, the
answer is 503 with ``Retry-After`` and standard exporters retry. A malformed request gets a
4xx with a message that says what is wrong; the server goes on serving.

Before a body is read, a request must fit in the budget of bytes in flight
(``WORKBENCH_INFLIGHT_MB``) and the database's disk must have room (``WORKBENCH_MIN_FREE_MB``);
otherwise the answer is 503 with ``Retry-After`` (see :mod:`workbench.server.admission`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from tornado.web import RequestHandler

from workbench.errors import DecodeError, DiskFullError, QueueFullError, StoreError
from workbench.ingest import BatchSampler, IngestPipeline
from workbench.server.admission import ByteBudget, media_type
from workbench.server.decode import DecodedBatch, DecodePool
from workbench.store import Store
from workbench.store.rows import SpanBatch

if TYPE_CHECKING:
    from workbench.collector.redaction import RedactionConfig
    from workbench.collector.sampling import SamplingPolicy
    from workbench.server.security import Access

__all__ = ["Ingest", "OtlpOtherSignalHandler", "OtlpTracesHandler"]

logger = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_RETRY_AFTER_S = 1
_DISK_RETRY_AFTER_S = 10


class Ingest:
    """Everything the receiver needs: the store, the decode pool, the policy, counters.

    Args:
        store: Where spans are written.
        redaction: The redaction policy applied before storing, or None.
        default_project: Project of spans whose resource names none.
        max_body_bytes: Largest body accepted after decompression.
        max_pending_requests: Requests being decoded at once before 503s.
        decode_workers: Worker processes that decode requests (0: a thread in this process).
        sampling: Outcome-based sampling; None keeps everything.
        max_inflight_bytes: Request bytes held at once (read, decoded, being written) before
            503s; None: four times ``max_body_bytes``.
    """

    def __init__(
        self,
        store: Store,
        *,
        redaction: RedactionConfig | None = None,
        default_project: str = "default",
        max_body_bytes: int = 64 << 20,
        max_pending_requests: int = 64,
        decode_workers: int = 0,
        sampling: SamplingPolicy | None = None,
        max_inflight_bytes: int | None = None,
    ) -> None:
        self.store = store
        self.pipeline = IngestPipeline(store, redaction=redaction, sampling=sampling)
        self.budget = ByteBudget(max_inflight_bytes if max_inflight_bytes is not None else 4 * max_body_bytes)
        self.redaction = redaction
        self.default_project = default_project
        self.max_body_bytes = max_body_bytes
        self.max_pending = max_pending_requests
        self.pending = 0
        self.accepted_spans = 0
        self.rejected_spans = 0
        self.refused_requests = 0
        self.redacted: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.pool = DecodePool(decode_workers)
        # Called with each batch taken in (e.g. the /metrics counters); each must not raise.
        self.observers: list[Callable[[SpanBatch], None]] = []

    @property
    def sampler(self) -> BatchSampler | None:
        """The pipeline's sampling stage, or None when every span is kept."""
        return self.pipeline.sampler

    def observe(self, batch: SpanBatch) -> None:
        """Tell every observer about a batch that was stored or handed to sampling."""
        for observer in self.observers:
            observer(batch)

    async def decode(self, body: bytes, content_type: str) -> DecodedBatch:
        """Decode a body and run the pipeline's stateless stages (redaction, Arrow rows), off the event loop."""
        decoded = await self.pool.decode(body, content_type, self.default_project, self.redaction)
        if decoded.redacted:
            self.redacted.update(decoded.redacted)
        return decoded

    def close(self) -> None:
        """Stop the decoders."""
        self.pool.close()


def _inflate(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise DecodeError(f"The body is marked Content-Encoding: gzip but is not gzip data ({exc}).") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise _TooLarge(limit)
    return data


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class OtlpTracesHandler(RequestHandler):
    """The OTLP/HTTP traces endpoint (requests reach it once admitted: see
    :mod:`workbench.server.admission`)."""

    def initialize(self, ingest: Ingest, access: Access | None = None) -> None:  # tornado's hook
        self.ingest = ingest
        self.access = access
        self.set_default_headers()  # tornado set the defaults before this hook gave the rules
        self._inflated = 0  # bytes reserved for what a gzip body inflated to

    def on_finish(self) -> None:  # tornado's hook
        if self._inflated:
            self.ingest.budget.release(self._inflated)
            self._inflated = 0

    def on_connection_close(self) -> None:  # tornado's hook
        self.on_finish()
        super().on_connection_close()

    def set_default_headers(self) -> None:
        # Browser apps instrumented with OTel JS post here from another origin: only from the
        # origins the user allows (WORKBENCH_ALLOWED_ORIGINS), never from any web page.
        access = getattr(self, "access", None)
        if access is None:
            return
        headers = self.request.headers
        cors = access.cors_headers(headers.get("Origin"), headers.get("Access-Control-Request-Headers"))
        for name, value in cors.items():
            self.set_header(name, value)

    def options(self) -> None:
        if "Access-Control-Allow-Origin" not in self._headers:
            self.set_status(403)
            self.set_header("Content-Type", JSON)
            message = "This origin may not post spans here; add it to WORKBENCH_ALLOWED_ORIGINS."
            self.finish(json.dumps({"code": 7, "message": message}))
            return
        self.set_status(204)

    def get(self) -> None:
        self._fail(405, f"{self.request.path} takes OTLP with POST; open / for the app, or /api/ to read.", JSON)

    def _fail(self, status: int, message: str, content_type: str, retry_after: int = _RETRY_AFTER_S) -> None:
        self.set_status(status)
        if status in (429, 503):
            self.set_header("Retry-After", str(retry_after))
        if content_type == PROTOBUF:
            self.set_header("Content-Type", PROTOBUF)
            self.finish(status_pb2.Status(code=_rpc_code(status), message=message).SerializeToString())
        else:
            self.set_header("Content-Type", JSON)
            self.finish(json.dumps({"code": _rpc_code(status), "message": message}))

    def _read_body(self, what: str) -> tuple[bytes, str] | None:
        """The request's body, inflated, and its content type; None once a 4xx has been sent.

        Args:
            what: What the body holds, for the 415 message ("OTLP", "OTLP logs").
        """
        ingest = self.ingest
        content_type = media_type(self.request.headers)
        if content_type not in (PROTOBUF, JSON):
            self._fail(
                415,
                f"Content-Type {content_type or '(none)'!r} is not supported; send {what} as "
                f"{PROTOBUF} or {JSON}.",
                JSON,
            )
            return None
        body = self.request.body
        encoding = (self.request.headers.get("Content-Encoding") or "identity").strip().lower()
        try:
            if encoding == "gzip":
                compressed = len(body)
                body = _inflate(body, ingest.max_body_bytes)
                # What was inflated is held too: counted, though the request is taken anyway.
                if len(body) > compressed:
                    self._inflated = len(body) - compressed
                    ingest.budget.reserve(self._inflated, force=True)
            elif encoding not in ("identity", ""):
                self._fail(415, f"Content-Encoding {encoding!r} is not supported; use gzip or none.", content_type)
                return None
            elif len(body) > ingest.max_body_bytes:
                raise _TooLarge(ingest.max_body_bytes)
        except _TooLarge as exc:
            self._fail(413, f"The body is larger than {exc.limit >> 20} MiB; send smaller batches.", content_type)
            return None
        except DecodeError as exc:
            self._fail(400, str(exc), content_type)
            return None
        return body, content_type

    async def post(self) -> None:
        ingest = self.ingest
        read = self._read_body("OTLP")
        if read is None:
            return
        body, content_type = read
        with ingest._lock:
            if ingest.pending >= ingest.max_pending:
                ingest.refused_requests += 1
                busy = True
            else:
                ingest.pending += 1
                busy = False
        if busy:
            self._fail(503, "The server is busy decoding other requests; retry shortly.", content_type)
            return
        decoded: DecodedBatch | None = None
        try:
            decoded = await ingest.decode(body, content_type)
            if not decoded.spans and decoded.rejected:
                ingest.rejected_spans += decoded.rejected
                self._fail(400, f"No span was accepted: {decoded.error}.", content_type)
                return
            batch = decoded.to_batch()
            try:
                committed = ingest.pipeline.admit(batch)  # sampling, then the sink
            except QueueFullError as exc:
                ingest.refused_requests += 1
                self._fail(503, str(exc), content_type)
                return
            if committed.future is None:
                # Held by sampling until the trace is decided (or nothing to store): the
                # answer cannot wait for that.
                ingest.observe(batch)
                ingest.accepted_spans += decoded.spans
                ingest.rejected_spans += decoded.rejected
                self._answer(decoded, content_type)
                return
            stored = await asyncio.wrap_future(committed.future)
            left_out = decoded.spans - stored  # spans the store refused for their data (rare)
            if left_out > 0:
                decoded.spans -= left_out
                decoded.rejected += left_out
                decoded.error = decoded.error or getattr(stored, "error", "") or "spans could not be stored"
            ingest.observe(batch)
        except DecodeError as exc:
            self._fail(400, str(exc), content_type)
            return
        except DiskFullError as exc:  # logged once, by the store
            self._fail(503, str(exc), content_type, _DISK_RETRY_AFTER_S)
            return
        except StoreError as exc:  # the writer logs each cause once
            logger.debug("spans could not be written: %s", exc)
            self._fail(503, f"The spans could not be written ({exc}); retry later.", content_type)
            return
        finally:
            if decoded is not None:
                decoded.discard()  # a spool file not read (nothing to write, or an error)
            with ingest._lock:
                ingest.pending -= 1
        ingest.accepted_spans += decoded.spans
        ingest.rejected_spans += decoded.rejected
        self._answer(decoded, content_type)

    def _answer(self, decoded: DecodedBatch, content_type: str) -> None:
        response = ExportTraceServiceResponse()
        if decoded.rejected:
            response.partial_success.rejected_spans = decoded.rejected
            response.partial_success.error_message = decoded.error
        if content_type == PROTOBUF:
            self.set_header("Content-Type", PROTOBUF)
            self.finish(response.SerializeToString())
            return
        self.set_header("Content-Type", JSON)
        payload = {}
        if decoded.rejected:
            payload = {"partialSuccess": {"rejectedSpans": str(decoded.rejected), "errorMessage": decoded.error}}
        self.finish(json.dumps(payload))


class OtlpOtherSignalHandler(RequestHandler):
    """``/v1/metrics`` and any other OTLP path: an exporter configured with the one
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` sends every signal here, so say which ones are taken."""

    def prepare(self) -> None:  # tornado's hook: every method
        content_type = media_type(self.request.headers)
        path = self.request.path
        if path.rstrip("/") == "/v1/metrics":
            fix = "Turn the metrics exporter off (OTEL_METRICS_EXPORTER=none) or send metrics elsewhere."
        else:  # an OpenAI-style client pointed at the server's root, say
            fix = "An OpenAI or Anthropic client is recorded through /proxy/openai/v1 or /proxy/anthropic."
        message = f"workbench does not receive {path}; it takes traces at /v1/traces and logs at /v1/logs. {fix}"
        # The Python exporters log the reason phrase, not the body: it carries the message too.
        self.set_status(404, reason=message)
        if content_type == PROTOBUF:
            self.set_header("Content-Type", PROTOBUF)
            self.finish(status_pb2.Status(code=5, message=message).SerializeToString())  # NOT_FOUND
        else:
            self.set_header("Content-Type", JSON)
            self.finish(json.dumps({"code": 5, "message": message}))


def _rpc_code(status: int) -> int:
    # google.rpc.Code values, as OTLP's error body carries them.
    return {400: 3, 413: 3, 415: 3, 429: 8, 503: 14}.get(status, 2)
