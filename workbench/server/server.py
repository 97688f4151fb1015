""":class:`Server`: one port for the OTLP receiver, the HTTP API and the app.

It runs on its own thread with its own event loop (so a notebook can host it)
or on the calling thread (the command line). The port is bound before anything else starts,
so "port in use" is reported at once, as one sentence.

Stopping (Ctrl-C, SIGTERM, :meth:`Server.stop`): the server stops accepting connections,
answers the OTLP requests it has accepted (their spans committed), then closes the rest,
stops its decode workers and writes what is queued. Connections that send nothing, or
a request too slowly, are closed (``WORKBENCH_IDLE_TIMEOUT_S``, ``WORKBENCH_BODY_TIMEOUT_S``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tornado.ioloop import PeriodicCallback
from tornado.web import Application, RequestHandler

from workbench import config
from workbench.collector.pipeline import redaction_config
from workbench.collector.sampling import SamplingPolicy, sampling_policy
from workbench.mcp.http import McpEndpoint, McpHandler
from workbench.read import Reader
from workbench.server.admission import Admission
from workbench.server.api import api_handlers
from workbench.server.decode import remove_orphan_spools
from workbench.server.home import AppLoadingHandler, AppReadyHandler, HomeHandler
from workbench.server.listen import listen
from workbench.server.logs import OtlpLogsHandler
from workbench.server.metrics import Metrics, MetricsHandler
from workbench.server.otlp import Ingest, OtlpOtherSignalHandler, OtlpTracesHandler
from workbench.server.plain_http import PlainHTTPServer
from workbench.server.proxy import Proxy, ProxyReadOnly, proxy_handlers
from workbench.server.security import Access, Guard
from workbench.store import Store
from workbench.store.holder import forget_holder, write_holder
from workbench.version import __version__

__all__ = ["Server"]

logger = logging.getLogger(__name__)

_DRAIN_S = 15.0  # how long a stop waits for accepted requests to be answered


class _ReadOnlyHandler(RequestHandler):
    """Answers OTLP posts to a server that reads a lake: it stores nothing, so it takes nothing."""

    SUPPORTED_METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")

    def initialize(self, source: str) -> None:
        self.source = source

    def prepare(self) -> None:  # tornado's hook: every method gets the same JSON sentence
        self.set_status(405)
        self.set_header("Content-Type", "application/json")
        self.finish({"error": f"This server only reads the lake {self.source}; send spans to an ingester "
                              "started with workbench serve --lake."})


class Server:
    """A workbench server over one store.

    Args:
        store: The store to serve (opened for writing).
        host: Address to listen on (default ``WORKBENCH_HOST``, 127.0.0.1).
        port: Port to listen on (default ``WORKBENCH_PORT``, 4318); 0 picks a free one.
        app: Serve the app at ``/`` (needs the ``app`` extra); False serves a plain page.
        app_on_demand: Import the app when a browser first opens ``/`` instead of at start, so
            an idle server holds only what OTLP and the API need (``workbench serve`` does).
            Meanwhile ``/`` answers with the Traces page's first rows drawn without the app
            (:mod:`workbench.app.first_page`), which hands over to the app once it is loaded;
            other addresses wait for it (about 1.5 s of CPU).
        redact: Redact personal data on the way in (default ``WORKBENCH_REDACT``).
        capture_text: Keep prompt and response text (default ``WORKBENCH_CAPTURE_TEXT``).
        default_project: Project of spans whose resource names none.
        decode_workers: Processes that decode OTLP requests (default ``WORKBENCH_DECODE_WORKERS``);
            0 decodes on a thread of this process.
        sampling: Outcome-based sampling: a policy, or the share of healthy traces kept
            (default ``WORKBENCH_SAMPLE_RATE``, 1: keep everything).
        token: The token every request must present (default ``WORKBENCH_TOKEN``); listening
            beyond loopback requires one, and one is made up when none is given.
        allowed_hosts: Host names answered besides loopback ones (default ``WORKBENCH_ALLOWED_HOSTS``).
        allowed_origins: Web page origins that may post spans to ``/v1/traces``
            (default ``WORKBENCH_ALLOWED_ORIGINS``).
        mcp_write: Let MCP clients of ``/mcp`` annotate spans and traces (default
            ``WORKBENCH_MCP_WRITE``, off).
        reader: Read another source (a lake) instead of ``store``; the server then takes no spans.
        sockets: Sockets already listening on ``host`` (:func:`~workbench.server.listen.listen`),
            used instead of binding ``port``; the server closes them when it stops.

    Raises:
        ServerError: The port is in use or the address cannot be bound.
    """

    def __init__(
        self,
        store: Store,
        *,
        host: str | None = None,
        port: int | None = None,
        app: bool = True,
        redact: bool | None = None,
        capture_text: bool | None = None,
        default_project: str | None = None,
        decode_workers: int | None = None,
        sampling: SamplingPolicy | float | None = None,
        token: str | None = None,
        allowed_hosts: Sequence[str] | str | None = None,
        allowed_origins: Sequence[str] | str | None = None,
        app_on_demand: bool = False,
        mcp_write: bool | None = None,
        reader: Any = None,
        sockets: list[socket.socket] | None = None,
    ) -> None:
        self.store = store
        # A reader of another source (a lake) makes the server read-only: OTLP posts are refused.
        self.reader = Reader(store) if reader is None else reader
        self.read_only_source: str | None = None if reader is None else str(getattr(reader, "uri", reader))
        # Over a lake, MCP only reads (WORKBENCH_MCP_WRITE cannot offer annotate where nothing is written).
        self.mcp = McpEndpoint(self.reader, write=mcp_write if reader is None else False)
        self.host = config.get("host", host)
        requested = config.get("port", port)
        self.started_at = time.time()
        self._sockets = sockets if sockets else listen(self.host, requested)
        self.port = self._sockets[0].getsockname()[1]
        try:
            self.access = Access.for_server(
                self.host, self.port, token=token, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins
            )
        except BaseException:
            for sock in self._sockets:
                sock.close()
            raise
        self.with_app = app
        self._app_host: Any = None
        self._app_error: str | None = None
        self._guard: Guard | None = None
        self._app_loading: asyncio.Future[bool] | None = None
        self._app_on_demand = app_on_demand
        self._first_page_ok = True  # False once drawing it failed: the app is waited for then
        self._prepared: tuple[int, str] | None = None  # (what was written, the first page)
        self._app_task: asyncio.Future[bool] | None = None
        if app and app_on_demand:
            # The app (panel, every page) is imported when a browser first asks for it: an
            # idle server holds only what OTLP and the API need (see load_app).
            self._check_app()
        elif app:
            # Import the app (panel) before the decode workers start: on a small machine the
            # two would share the cores and the first page would wait for both.
            self._import_app()
        self.ingest = Ingest(
            store,
            redaction=redaction_config(redact=redact, capture_text=capture_text),
            default_project=config.get("project", default_project),
            max_body_bytes=config.get("max_request_mb") << 20,
            decode_workers=config.get("decode_workers", decode_workers),
            sampling=sampling_policy(sampling),
            max_inflight_bytes=config.get("inflight_mb") << 20,
        )
        self.proxy = Proxy(
            self.ingest,
            {"openai": config.get("proxy_openai_url"), "anthropic": config.get("proxy_anthropic_url")},
            config.get("proxy_timeout_s"),
        )
        self.metrics = Metrics(config.get("metrics_label_values"), ingest_counters=self.ingest_counters)
        self.ingest.observers.append(self.metrics.observe)
        # What a server killed with kill -9 left behind (its decode workers exit by themselves).
        remove_orphan_spools()
        self._release: PeriodicCallback | None = None
        self.read_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="workbench-read")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: PlainHTTPServer | None = None
        self._admission: Admission | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        # Last: a refused opener of the file can then name this server; a server that failed to
        # start (a bad setting above) leaves no note claiming the file.
        write_holder(store.path, self.url)

    @property
    def url(self) -> str:
        """The base URL from this machine, e.g. ``http://127.0.0.1:4318`` (also when listening on 0.0.0.0)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def token(self) -> str | None:
        """The token requests must present, or None."""
        return self.access.token

    @property
    def app_url(self) -> str:
        """The app's address for a browser, with ``?token=`` when a token is required."""
        return self.access.app_url(self.url)

    def info(self) -> dict[str, Any]:
        """Counters shown by ``/api/health`` and the home page."""
        writer = self.store.writer
        try:
            spans: int | None = self.reader.count()
            problem = None
        except Exception as exc:  # noqa: BLE001 - health must answer, whatever the store's state
            spans, problem = None, str(exc)
        low_disk = self.store.db.low_disk()
        return {
            "version": __version__,
            "db": self.store.path,
            "spans": spans,
            # None when all is well; else what stops writes or reads now (a full disk ...).
            "problem": problem or low_disk or self.store.db.broken,
            "free_disk_mb": _mib(self.store.db.free_bytes()),
            "accepted_spans": self.ingest.accepted_spans,
            "rejected_spans": self.ingest.rejected_spans,
            "refused_requests": self.ingest.refused_requests + (self._admission.refused if self._admission else 0),
            "inflight_mb": self.ingest.budget.used >> 20,
            "queued_spans": writer.queued_spans if writer else 0,
            # Worker processes start with the first request and are used once they answer.
            "decode_workers": {
                "configured": self.ingest.pool.workers,
                "running": self.ingest.pool.ready.is_set(),
            },
            "redaction": bool(self.ingest.redaction is not None and self.ingest.redaction.enabled),
            "redacted": dict(self.ingest.redacted),
            "sampling": self.ingest.sampler.sampler.stats() if self.ingest.sampler else None,
            "uptime_s": round(time.time() - self.started_at, 1),
        }

    def ingest_counters(self) -> dict[str, Any]:
        """The ingest counters ``/metrics`` shows: cheap to read, no query of the store."""
        writer = self.store.writer
        sampler = self.ingest.sampler
        return {
            "accepted_spans": self.ingest.accepted_spans,
            "rejected_spans": self.ingest.rejected_spans,
            "refused_requests": self.ingest.refused_requests + (self._admission.refused if self._admission else 0),
            "queued_spans": writer.queued_spans if writer else 0,
            "sampling_dropped_spans": sampler.sampler.stats()["dropped_spans"] if sampler else 0,
            "redacted": dict(self.ingest.redacted),
            "proxy_requests": dict(self.proxy.requests),
        }

    def handlers(self) -> list[tuple[Any, ...]]:
        """Every Tornado route except the app's."""
        if self.read_only_source is not None:
            refuse = {"source": self.read_only_source}
            return [(r"/api/app/ready", AppReadyHandler, {"server": self}),
                    (r"/v1/traces", _ReadOnlyHandler, refuse),
                    *api_handlers(self.reader, self.read_executor, self.info),
                    (r"/v1/logs", _ReadOnlyHandler, refuse),
                    (r"/v1/.*", _ReadOnlyHandler, refuse),
                    (r"/mcp/?", McpHandler, {"endpoint": self.mcp}),
                    # Scrapes keep working (the server's own counters; it ingests nothing), and a
                    # client pointed at the proxy hears why it is refused, in its provider's format.
                    (r"/metrics", MetricsHandler, {"metrics": self.metrics, "executor": self.read_executor}),
                    (r"/proxy(/.*)?", ProxyReadOnly, refuse)]
        return [
            (r"/api/app/ready", AppReadyHandler, {"server": self}),
            (r"/v1/traces", OtlpTracesHandler, {"ingest": self.ingest, "access": self.access}),
            *api_handlers(self.reader, self.read_executor, self.info),
            (r"/v1/logs", OtlpLogsHandler, {"ingest": self.ingest, "access": self.access}),
            (r"/v1/.*", OtlpOtherSignalHandler),
            (r"/mcp/?", McpHandler, {"endpoint": self.mcp}),
            (r"/metrics", MetricsHandler, {"metrics": self.metrics, "executor": self.read_executor}),
            *proxy_handlers(self.proxy),
        ]

    def _check_app(self) -> None:
        """Find out, without importing it, whether the app can be served."""
        import importlib.util

        missing = [name for name in ("panel", "bokeh") if importlib.util.find_spec(name) is None]
        if missing:
            self._app_error = f"No module named {missing[0]!r}"
            logger.warning("The app is not served (%s); install it with pip install 'llm-trace-workbench[app]'.",
                           self._app_error)

    def _import_app(self) -> None:
        try:
            import workbench.app.hosting  # noqa: F401
        except ImportError as exc:
            self._app_error = str(exc)
            logger.warning("The app is not served (%s); install it with pip install 'llm-trace-workbench[app]'.", exc)

    def wants_first_page(self, query: dict[str, list[bytes]]) -> bool:
        """Whether a request for ``/`` with ``query`` gets the first page (the app is still loading).

        Only the unfiltered Traces page has one: any other address waits for the app.
        """
        if self._app_host is not None or self._app_error is not None or not self._first_page_ok:
            return False
        page = query.get("page", [b"traces"])
        return set(query) <= {"page", "token"} and page == [b"traces"]

    def first_page(self) -> str | None:
        """The HTML of the first page, or None when it cannot be drawn (the app is then waited for)."""
        try:
            from workbench.app.first_page import first_page_html

            return first_page_html(self.reader)
        except Exception:  # the app, loading meanwhile, answers instead
            logger.exception("the first page could not be drawn; waiting for the app")
            self._first_page_ok = False
            return None

    def prepare_first_page(self) -> None:
        """Draw the first page now, before serving, for a browser known to come right away
        (``serve --sample``): it is then answered at once, while the app is imported."""
        if self.with_app and self._app_error is None:
            page = self.first_page()
            if page is not None:
                self._prepared = (self._written(), page)

    def prepared_first_page(self) -> str | None:
        """The page :meth:`prepare_first_page` drew, if nothing was written since."""
        if self._prepared is not None and self._prepared[0] == self._written():
            return self._prepared[1]
        self._prepared = None
        return None

    def _written(self) -> int:
        writer = self.store.writer
        return writer.committed_spans + writer.failed_batches if writer else 0

    def load_app_soon(self) -> None:
        """Start loading the app, without waiting for it."""
        if self._app_host is None and self._app_loading is None and self._app_error is None:
            self._app_task = asyncio.ensure_future(self.load_app())

    async def load_app(self) -> bool:
        """Import the app and serve it at ``/`` from now on (once; later calls wait for the first).

        The import runs on another thread, so OTLP and the API keep being answered meanwhile.
        Returns whether the app is served (False when its packages are missing).
        """
        if self._app_host is not None:
            return True
        if self._app_loading is None:
            self._app_loading = asyncio.get_running_loop().create_future()
            try:
                await asyncio.get_running_loop().run_in_executor(None, self._import_app)
                if self._app_error is None:
                    from workbench.app.hosting import AppHost

                    host = AppHost(
                        self.reader, extra_patterns=self.handlers(), host=self.host, port=self.port, url=self.url,
                        ingest_status=self.info, websocket_origins=self.access.websocket_origins(),
                    )
                    host.start()
                    self._app_host = host
                    if self._guard is not None:  # on demand: the app's routes replace the plain ones
                        self._guard.application = host.application
            except Exception as exc:
                logger.exception("the app could not be loaded")
                self._app_error = str(exc)
            self._app_loading.set_result(self._app_host is not None)
        return await asyncio.shield(self._app_loading)

    def _application(self) -> Application:
        routes = self.handlers()
        if self.with_app and self._app_error is None:
            routes.append((r"/", AppLoadingHandler, {"server": self}))
        else:
            routes.append((r"/", HomeHandler, {"server": self}))
        return Application(routes)

    async def _start(self) -> None:
        application = self._application()
        if self.with_app and not self._app_on_demand and self._app_error is None:
            await self.load_app()
        # Admission (sizes, bytes in flight, disk) outside the guard, which needs the application.
        guarded = self._guard = Guard(application if self._app_host is None else self._app_host.application,
                                      self.access)  # host, origin, token and content-type rules first
        self._admission = Admission(guarded, self.ingest.max_body_bytes, self.ingest.budget, self.store.db.low_disk)
        self._http = PlainHTTPServer(
            self._admission,
            max_body_size=self.ingest.max_body_bytes,
            xheaders=False,
            # Also the time allowed for a request's headers: a half-sent request is dropped.
            idle_connection_timeout=config.get("idle_timeout_s"),
            body_timeout=config.get("body_timeout_s"),
        )
        self._http.add_sockets(self._sockets)
        if self.ingest.sampler is not None:
            pipeline = self.ingest.pipeline

            def release() -> None:  # sampling's decided traces
                pipeline.release()

            self._release = PeriodicCallback(release, 500)
            self._release.start()

    def _serve_forever(self, own_process: bool = False) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._start())
        except Exception:
            self._ready.set()
            raise
        if own_process:
            _settle_garbage_collector()
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown())
            loop.close()
            self._stopped.set()

    async def _shutdown(self) -> None:
        await self.mcp.stop()
        if self._release is not None:
            self._release.stop()
            self.ingest.pipeline.release(everything=True)  # decide and store what is held
        if self._app_task is not None and not self._app_task.done():
            try:  # an app still loading is let finish, then stopped with the rest
                await asyncio.wait_for(asyncio.shield(self._app_task), _DRAIN_S)
            except Exception:  # stopping anyway
                logger.debug("the app was still loading at the stop", exc_info=True)
        if self._app_host is not None:
            self._app_host.stop()
        if self._http is not None:
            self._http.stop()  # no new connections
            # Answer what was accepted: each OTLP request's spans are committed first.
            deadline = time.monotonic() + _DRAIN_S
            while self.ingest.budget.requests > 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if self.ingest.budget.requests > 0:
                logger.warning("stopping with %d OTLP requests unanswered", self.ingest.budget.requests)
            await self.proxy.drain()  # record the calls already answered
            await self._http.close_all_connections()

    def start(self) -> Server:
        """Serve on a background thread; return once the server answers."""
        self._thread = threading.Thread(target=self._serve_forever, name="workbench-server", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        return self

    def run(self, stay_quiet: bool = False) -> None:
        """Serve on this thread until interrupted (Ctrl-C or SIGTERM), then stop cleanly.

        Args:
            stay_quiet: Keep this server's signal handlers after it stops (a second Ctrl-C
                then exits at once, without a traceback), for a process that ends with it.
        """
        previous = self._stop_on_signals()
        try:
            self._serve_forever(own_process=True)
        except KeyboardInterrupt:
            pass
        finally:
            try:
                self._close_resources()
            except KeyboardInterrupt:
                pass
            # The handlers stay: what follows (closing the store) ends as quietly on a second
            # Ctrl-C. A process that goes on after serving gets its own back.
            if not stay_quiet:
                for signum, handler in previous.items():
                    signal.signal(signum, handler)
            # What was frozen is collected at exit again, so extensions see their objects freed.
            gc.unfreeze()

    def _stop_on_signals(self) -> dict[int, Any]:
        # Ctrl-C, `kill` and service managers: stop as the event loop's next step (never a
        # KeyboardInterrupt in the middle of a request or a commit), answer what was
        # accepted, write what is queued and close the database, not left to be recovered
        # from its log. A second signal stops at once, with what was committed kept.
        if threading.current_thread() is not threading.main_thread():
            return {}
        signals = [signal.SIGINT, signal.SIGTERM]
        previous: dict[int, Any] = {signum: signal.getsignal(signum) for signum in signals}
        stopping = threading.Event()

        def handle(signum: int, frame: object) -> None:
            if stopping.is_set():
                os._exit(130 if signum == signal.SIGINT else 143)
            stopping.set()
            loop = self._loop
            if loop is not None and loop.is_running():
                loop.call_soon_threadsafe(loop.stop)
            else:
                raise KeyboardInterrupt

        for signum in signals:
            signal.signal(signum, handle)
        return previous

    def stop(self, timeout: float = 30.0) -> None:
        """Stop serving, write what is queued, and release the port."""
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
        self._close_resources()

    def _close_resources(self) -> None:
        forget_holder(self.store.path)
        self.ingest.close()
        self.read_executor.shutdown(wait=False)
        for sock in self._sockets:
            sock.close()
        self.store.flush()


def _mib(n: int | None) -> int | None:
    return None if n is None else n >> 20


def _settle_garbage_collector() -> None:
    """Keep the cycle collector off what the server imported, and let it run less often.

    Only in a process of the server's own (``workbench serve``), never in a notebook's. All
    that is loaded by the time the server answers stays for the process's life, yet every full
    collection walked it again; and each request's short-lived objects (Arrow wrappers,
    futures, Tornado's request) triggered a young collection every few requests. Measured on a
    burst of the shared 40,000-span workload: 0.22 s of the server's CPU in the collector
    (three full collections, 300 young ones); 0.11 s with the imports frozen; none with the
    young threshold raised too.

    ``workbench serve`` turns the collector off while it starts (it only walked the objects
    being imported: 0.17 s of the 1.4 s of imports before the first page); it is on from here.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    gc.enable()


_YOUNG_THRESHOLD = 10_000  # Python's default is 700 allocations
