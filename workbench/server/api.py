"""The HTTP read API under ``/api``: the same questions :class:`workbench.query.Reader` answers.

Tables come back as Arrow IPC streams by default (``?format=parquet|json|csv`` for others),
so ``workbench.open("http://...")`` gets the same DataFrames a local file gives.

=================================  ============================================
``GET /api/health``                ``{"status": "ok", ...}``
``GET /api/stats``                 row counts and time range
``GET /api/projects``              project names
``GET /api/spans``                 spans; query: filter, start, end, project (repeatable),
                                   trace_id (repeatable), root_only, columns, order_by,
                                   descending, limit, offset
``GET /api/traces``                one row per trace; same filters
``GET /api/traces/{trace_id}``     the spans of one trace; limit, offset
``GET /api/spans/{span_id}``       one span with its documents and embeddings, as JSON
``GET /api/documents``             retrieved documents; filter, span_id, trace_id, start, end
``GET /api/embeddings``            embeddings; same
``GET /api/annotations``           annotations; name, span_id, trace_id, limit, offset
``POST /api/annotations``          add annotations: a JSON object or list of objects
``GET /api/tables``                the names of the stored tables
``GET /api/tables/{name}``         every row of one stored table (docs/schema.md), for export
=================================  ============================================

Every answer under ``/api/`` is JSON when it is an error: ``{"error": "..."}`` with a 4xx for
what the client sent (400 a bad argument or body, 404 an unknown route or id, 405 a method the
route does not take) and 5xx only for the server's own trouble. ``limit`` and ``offset`` are
whole numbers from 0 up; every list takes ``limit``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import re
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
from tornado.web import HTTPError, RequestHandler

from workbench import config
from workbench.errors import (
    CapabilityError,
    ConfigError,
    DiskFullError,
    FilterError,
    NotFoundError,
    QueueFullError,
    WorkbenchError,
)
from workbench.read import Reader, Selection
from workbench.read.tablefile import csv_bytes, parquet_bytes
from workbench.store.schema import TABLES

__all__ = ["ARROW_STREAM", "api_handlers"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
_MAX_ROWS = 2**63 - 1  # what DuckDB's LIMIT and OFFSET take
_TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")
_SPAN_ID = re.compile(r"[0-9a-fA-F]{16}")
_ROUTES = ("health, stats, projects, spans, spans/{span_id}, traces, traces/{trace_id}, documents, "
           "embeddings, annotations, tables, tables/{name}, sql (POST)")


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _finite(value: Any) -> Any:
    """``value`` with every NaN and infinity replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class _ApiHandler(RequestHandler):
    def initialize(self, reader: Reader, executor: ThreadPoolExecutor, info: Callable[[], dict[str, Any]]) -> None:
        self.reader = reader
        self.executor = executor
        self.info = info

    async def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: func(*args, **kwargs))

    def error(self, status: int, message: str, kind: str | None = None) -> None:
        """Answer ``{"error": message, "type": kind}``; ``kind`` names the WorkbenchError class."""
        self.clear()
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        if status == 503:
            self.set_header("Retry-After", "1")
        self.finish(json.dumps({"error": message, **({"type": kind} if kind else {})}))

    def send_json(self, payload: Any) -> None:
        self.set_header("Content-Type", "application/json")
        try:
            text = json.dumps(payload, default=_json_default, allow_nan=False)
        except ValueError:  # a NaN or an infinity (from an imported file, say): null, as standard JSON has it
            text = json.dumps(_finite(payload), default=_json_default, allow_nan=False)
        self.finish(text)

    def send_table(self, table: pa.Table) -> None:
        fmt = self.get_query_argument("format", "arrow")
        if fmt == "arrow":
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            self.set_header("Content-Type", ARROW_STREAM)
            self.finish(sink.getvalue().to_pybytes())
        elif fmt == "parquet":
            self.set_header("Content-Type", "application/vnd.apache.parquet")
            self.finish(parquet_bytes(table))
        elif fmt == "json":
            self.send_json(table.to_pylist())
        elif fmt == "csv":
            self.set_header("Content-Type", "text/csv")
            self.finish(csv_bytes(table))
        else:
            self.error(400, f"format={fmt!r} is not known; use arrow, parquet, json or csv.")

    def json_body(self, example: str) -> Any:
        """The request body read as JSON, inflated first when it is sent gzipped.

        Args:
            example: What to send, for the message when the body is not JSON.

        Raises:
            ConfigError: The body is not JSON in UTF-8 (or is marked gzip and is not).
            _BodyRefused: Another Content-Encoding (415), or more than the server takes (413).
        """
        body = self.request.body or b""
        encoding = (self.request.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding == "gzip":
            body = _inflate(body, config.get("max_request_mb") << 20)
        elif encoding not in ("identity", ""):
            raise _BodyRefused(
                415, f"Content-Encoding {encoding!r} is not supported; send the body gzipped or as it is."
            )
        try:
            return json.loads(body or b"null")
        except UnicodeDecodeError:
            raise ConfigError(f"The body is not JSON text in UTF-8; send {example}.") from None
        except ValueError as exc:
            raise ConfigError(f"The body is not valid JSON ({exc}); send {example}.") from None

    def arg(self, name: str) -> str | None:
        value = self.get_query_argument(name, None)
        return value if value not in (None, "") else None

    def args(self, name: str) -> list[str] | None:
        values = [v for v in self.get_query_arguments(name) if v]
        return values or None

    def selection(self) -> Selection:
        """The spans the query asks about: ``filter``, ``start``, ``end`` and ``project`` (repeatable)."""
        return Selection(self.arg("filter"), self.arg("start"), self.arg("end"), self.args("project"))

    def int_arg(self, name: str, default: int | None) -> int | None:
        value = self.arg(name)
        if value is None:
            return default
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or int(text) > _MAX_ROWS:
            raise FilterError(
                f"{name}={value!r} is not valid; give a whole number from 0 to {_MAX_ROWS}, like {name}=100."
            )
        return int(text)

    def bool_arg(self, name: str) -> bool:
        return (self.arg(name) or "").lower() in ("1", "true", "yes")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error under /api/ as JSON, Tornado's own (405, 400 ...) included."""
        _json_error(self, status_code, kwargs.get("exc_info"))

    async def guarded(self, coro: Any) -> None:
        try:
            await coro
        except NotFoundError as exc:
            self.error(404, str(exc), type(exc).__name__)
        except (FilterError, ConfigError) as exc:
            self.error(400, str(exc), type(exc).__name__)
        except (QueueFullError, DiskFullError) as exc:  # for now: the client may retry later
            self.error(503, str(exc), type(exc).__name__)
        except RecursionError:
            self.error(400, "The request is nested too deeply to read; send something flatter.", "ConfigError")
        except _BodyRefused as exc:
            self.error(exc.status, str(exc))
        except CapabilityError as exc:  # what this server's source cannot do (a lake takes no annotations ...)
            writes = self.request.method in ("POST", "PUT", "PATCH", "DELETE")
            self.error(405 if writes else 501, str(exc), type(exc).__name__)
        except WorkbenchError as exc:
            self.error(500, str(exc), type(exc).__name__)


class _BodyRefused(Exception):
    """A request body the API does not read: the status to answer, and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _inflate(body: bytes, limit: int) -> bytes:
    """A gzipped body inflated, refused past ``limit`` bytes (a small body can inflate to gigabytes)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise ConfigError("The body is marked Content-Encoding: gzip but is not gzip data; gzip it, "
                          "or leave that header out.") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise _BodyRefused(413, f"The body inflates to more than {limit >> 20} MiB; send less at once.")
    return data


def _json_error(handler: RequestHandler, status_code: int, exc_info: Any) -> None:
    """Answer ``{"error": message}`` for a status Tornado or a handler raised."""
    request = handler.request
    exc = exc_info[1] if exc_info else None
    if status_code == 404:
        message = f"There is no API route {request.path}; the routes are /api/ + {_ROUTES}."
    elif status_code == 405:
        allowed = {"/api/annotations": "GET and POST", "/api/sql": "POST"}.get(request.path.rstrip("/"), "GET")
        message = f"{request.method} is not allowed on {request.path}; use {allowed}."
    elif isinstance(exc, HTTPError) and exc.log_message and status_code < 500:
        message = f"{exc.log_message % exc.args if exc.args else exc.log_message}."
    elif status_code < 500:
        message = f"The request cannot be answered ({handler._reason}); check the URL and its arguments."
    else:
        message = f"The server failed to answer ({handler._reason}); its log has the cause."
    handler.clear()
    handler.set_status(status_code)
    handler.set_header("Content-Type", "application/json")
    handler.finish(json.dumps({"error": message}))


class HealthHandler(_ApiHandler):
    async def get(self) -> None:
        self.send_json({"status": "ok", **self.info()})


class StatsHandler(_ApiHandler):
    async def get(self) -> None:
        async def go() -> None:
            self.send_json(await self.run(self.reader.stats))

        await self.guarded(go())


class ProjectsHandler(_ApiHandler):
    async def get(self) -> None:
        async def go() -> None:
            projects = await self.run(self.reader.projects)
            offset, limit = self.int_arg("offset", 0) or 0, self.int_arg("limit", None)
            self.send_json(projects[offset:None if limit is None else offset + limit])

        await self.guarded(go())


class SpansHandler(_ApiHandler):
    async def get(self) -> None:
        async def go() -> None:
            columns = self.arg("columns")
            table = await self.run(
                self.reader.spans,
                self.selection(),
                trace_ids=self.args("trace_id"),
                root_only=self.bool_arg("root_only"),
                columns=columns.split(",") if columns else None,
                order_by=self.arg("order_by") or "start_time",
                descending=self.bool_arg("descending"),
                limit=self.int_arg("limit", None),
                offset=self.int_arg("offset", 0) or 0,
                arrow=True,
            )
            self.send_table(table)

        await self.guarded(go())


class TracesHandler(_ApiHandler):
    async def get(self) -> None:
        async def go() -> None:
            table = await self.run(
                self.reader.traces,
                self.selection(),
                order_by=self.arg("order_by") or "start_time",
                descending=self.arg("descending") is None or self.bool_arg("descending"),
                limit=self.int_arg("limit", 100),
                offset=self.int_arg("offset", 0) or 0,
                arrow=True,
            )
            self.send_table(table)

        await self.guarded(go())


class TraceHandler(_ApiHandler):
    async def get(self, trace_id: str) -> None:
        async def go() -> None:
            _check_id(trace_id, "trace", _TRACE_ID, 32)
            offset, limit = self.int_arg("offset", 0) or 0, self.int_arg("limit", None)
            table = await self.run(self.reader.spans, None, trace_ids=[trace_id.lower()], limit=limit,
                                   offset=offset, arrow=True)
            if not table.num_rows and not (offset or limit == 0):
                raise NotFoundError(f"There is no trace {trace_id!r}; check the id.")
            self.send_table(table)

        await self.guarded(go())


class SpanHandler(_ApiHandler):
    async def get(self, span_id: str) -> None:
        async def go() -> None:
            _check_id(span_id, "span", _SPAN_ID, 16)
            self.send_json(await self.run(self.reader.span, span_id))

        await self.guarded(go())


def _check_id(value: str, kind: str, pattern: re.Pattern[str], digits: int) -> None:
    if not pattern.fullmatch(value):
        raise FilterError(f"{value!r} is not a {kind} id; a {kind} id is {digits} hex digits.")


class _ChildRowsHandler(_ApiHandler):
    method = "documents"

    async def get(self) -> None:
        async def go() -> None:
            table = await self.run(
                getattr(self.reader, self.method),
                self.selection(),
                span_ids=self.args("span_id"),
                trace_ids=self.args("trace_id"),
                limit=self.int_arg("limit", None),
                arrow=True,
            )
            self.send_table(table)

        await self.guarded(go())


class DocumentsHandler(_ChildRowsHandler):
    method = "documents"


class EmbeddingsHandler(_ChildRowsHandler):
    method = "embeddings"


class AnnotationsHandler(_ApiHandler):
    async def get(self) -> None:
        async def go() -> None:
            table = await self.run(
                self.reader.annotations,
                self.arg("name"),
                span_ids=self.args("span_id"),
                trace_ids=self.args("trace_id"),
                limit=self.int_arg("limit", None),
                offset=self.int_arg("offset", 0) or 0,
                arrow=True,
            )
            self.send_table(table)

        await self.guarded(go())

    async def post(self) -> None:
        media = (self.request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media != "application/json":
            # A web page can post text/plain to any origin without asking; JSON it cannot.
            self.error(
                415, f"Content-Type {media or '(none)'!r} is not accepted; send annotations as application/json."
            )
            return

        async def go() -> None:
            payload = self.json_body("an object or a list of objects")
            if not isinstance(payload, (dict, list)):
                raise ConfigError("Send an annotation object, or a list of them, as JSON.")
            added = await self.run(self.reader.add_annotations, payload)
            self.set_status(201)
            self.send_json({"added": added})

        await self.guarded(go())


class NotFoundHandler(_ApiHandler):
    """Any other path under /api/: a JSON 404, whatever the method."""

    def prepare(self) -> None:
        raise HTTPError(404)


class TablesHandler(_ApiHandler):
    async def get(self) -> None:
        self.send_json({"tables": list(TABLES)})


class TableHandler(_ApiHandler):
    async def get(self, name: str) -> None:
        async def go() -> None:
            table = await self.run(self.reader.table, name)
            offset, limit = self.int_arg("offset", 0) or 0, self.int_arg("limit", None)
            self.send_table(table.slice(min(offset, table.num_rows), limit))

        await self.guarded(go())


def api_handlers(
    reader: Reader, executor: ThreadPoolExecutor, info: Callable[[], dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """The Tornado URL patterns of the read API."""
    from workbench.server.sql_api import SqlHandler  # it builds on this module's handler

    kwargs = {"reader": reader, "executor": executor, "info": info}
    return [
        (r"/api/sql", SqlHandler, kwargs),
        (r"/api/health", HealthHandler, kwargs),
        (r"/api/stats", StatsHandler, kwargs),
        (r"/api/projects", ProjectsHandler, kwargs),
        (r"/api/spans", SpansHandler, kwargs),
        (r"/api/spans/([^/]+)", SpanHandler, kwargs),
        (r"/api/traces", TracesHandler, kwargs),
        (r"/api/traces/([^/]+)", TraceHandler, kwargs),
        (r"/api/documents", DocumentsHandler, kwargs),
        (r"/api/embeddings", EmbeddingsHandler, kwargs),
        (r"/api/annotations", AnnotationsHandler, kwargs),
        (r"/api/tables", TablesHandler, kwargs),
        (r"/api/tables/([^/]+)", TableHandler, kwargs),
        (r"/api(?:/.*)?", NotFoundHandler, kwargs),  # last: what no route above takes
    ]
