"""``POST /v1/logs``: the OTLP/HTTP logs receiver, protobuf or JSON, gzip or not.

The OTel GenAI conventions send a model call's messages as log records tied to its span
(``gen_ai.user.message``, ``gen_ai.choice`` ...). Records are decoded off the event loop,
redacted by the same policy as spans, written to ``log_records``, and merged into their
spans (see :mod:`workbench.store.logs`); the answer waits for both, so after a 200 a
stored span shows its messages. Content types, encodings, size limits and error answers
are those of ``/v1/traces``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import weakref
from typing import TYPE_CHECKING

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from workbench.collector.logs import DecodedLogs, decode_logs_json, decode_logs_protobuf, redact_records
from workbench.collector.pipeline import Pipeline
from workbench.errors import DecodeError, QueueFullError, StoreError
from workbench.server.otlp import JSON, PROTOBUF, OtlpTracesHandler

if TYPE_CHECKING:
    from workbench.server.otlp import Ingest
    from workbench.server.security import Access

__all__ = ["OtlpLogsHandler"]

logger = logging.getLogger(__name__)


# One redaction pipeline per receiver (Tornado makes a handler per request).
_pipelines: weakref.WeakKeyDictionary[Ingest, Pipeline | None] = weakref.WeakKeyDictionary()
_pipelines_lock = threading.Lock()


def _pipeline(ingest: Ingest) -> Pipeline | None:
    with _pipelines_lock:
        if ingest not in _pipelines:
            pipeline = None
            if ingest.redaction is not None:
                from workbench.collector.redaction import Redactor

                pipeline = Pipeline(redactor=Redactor(ingest.redaction))
            _pipelines[ingest] = pipeline
        return _pipelines[ingest]


def _decode(body: bytes, content_type: str, pipeline: Pipeline | None) -> DecodedLogs:
    decoded = (decode_logs_json if content_type == JSON else decode_logs_protobuf)(body)
    if pipeline is not None and decoded.records:
        decoded.records = redact_records(pipeline, decoded.records)
    return decoded


class OtlpLogsHandler(OtlpTracesHandler):
    """The OTLP/HTTP logs endpoint (CORS, OPTIONS and error bodies as for traces)."""

    def initialize(self, ingest: Ingest, access: Access | None = None) -> None:  # tornado's hook
        super().initialize(ingest, access)  # the traces handler's options (access rules ...)
        self.pipeline = _pipeline(ingest)

    async def post(self) -> None:
        ingest = self.ingest
        read = self._read_body("OTLP logs")
        if read is None:
            return
        body, content_type = read
        loop = asyncio.get_running_loop()
        store = ingest.store
        try:
            decoded = await loop.run_in_executor(None, _decode, body, content_type, self.pipeline)
            if not decoded.records and decoded.rejected:
                self._fail(400, f"No log record was accepted: {decoded.error}.", content_type)
                return
            if decoded.records:
                await asyncio.wrap_future(store.submit_logs(decoded.records))
                merger = store.logs
                if merger is not None:
                    await loop.run_in_executor(None, merger.attach)
        except DecodeError as exc:
            self._fail(400, str(exc), content_type)
            return
        except QueueFullError as exc:
            ingest.refused_requests += 1
            self._fail(503, str(exc), content_type)
            return
        except StoreError as exc:
            logger.error("log records could not be written: %s", exc)
            self._fail(503, f"The log records could not be written ({exc}); retry later.", content_type)
            return
        self._answer_logs(decoded, content_type)

    def _answer_logs(self, decoded: DecodedLogs, content_type: str) -> None:
        if content_type == PROTOBUF:
            response = ExportLogsServiceResponse()
            if decoded.rejected:
                response.partial_success.rejected_log_records = decoded.rejected
                response.partial_success.error_message = decoded.error
            self.set_header("Content-Type", PROTOBUF)
            self.finish(response.SerializeToString())
            return
        payload = {}
        if decoded.rejected:
            payload = {
                "partialSuccess": {"rejectedLogRecords": str(decoded.rejected), "errorMessage": decoded.error}
            }
        self.set_header("Content-Type", JSON)
        self.finish(json.dumps(payload))
