"""Serving the app inside workbench's own Tornado server, on the port it has already bound.

Panel's own ``serve`` binds its port itself; workbench binds first (so "port in use" is one
sentence before anything starts) and routes OTLP, the API and the app through one Tornado
application. :class:`AppHost` builds that application: Bokeh's server application with
Panel's handlers and the app at ``/``, plus the routes it is given.

Threading contract: construct it on any thread; call :meth:`AppHost.start` on the thread
running the event loop that serves it, and :meth:`AppHost.stop` on that same thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import panel as pn
from bokeh.server.tornado import BokehTornado
from panel.io.application import build_applications
from panel.io.server import INDEX_HTML  # importing panel.io.server installs Panel's handlers
from tornado.ioloop import IOLoop

from workbench.app.registry import ordered
from workbench.app.shell import served_app
from workbench.read import Reader

__all__ = ["AppHost", "prepare_first_page", "warm_up"]

logger = logging.getLogger(__name__)

TITLE = "workbench"
_WARM_UP_AFTER_S = 1.0
_DRIFT_WARM_AFTER_S = 5.0


def _origins(host: str, port: int) -> list[str]:
    """The browser origins allowed to open the app's websocket when the server names none:
    loopback ones, and the address listened on. Never any origin, whatever ``host`` is."""
    names = {"localhost", "127.0.0.1"}
    if host not in ("0.0.0.0", "::", ""):
        names.add(f"[{host}]" if ":" in host else host)
    return sorted(f"{name}:{port}" for name in names)


class AppHost:
    """The Tornado application serving the app at ``/`` beside ``extra_patterns``.

    Args:
        reader: What the app reads.
        extra_patterns: Tornado routes to serve too (OTLP and the HTTP API).
        host: The address listened on; port: the port (for the websocket origin check).
        url: The server's base URL.
        websocket_origins: The ``host:port`` patterns of pages that may open the app's
            websocket (Bokeh's allowlist); by default loopback ones and ``host``.
    """

    def __init__(
        self,
        reader: Reader,
        *,
        extra_patterns: Sequence[tuple[Any, ...]],
        host: str,
        port: int,
        url: str,
        ingest_status: Callable[[], Mapping[str, Any]] | None = None,
        websocket_origins: Sequence[str] | None = None,
    ) -> None:
        self.reader = reader
        self.ingest_status = ingest_status
        pn.config.design = None  # the plain design: the app brings its own stylesheet
        # Every page's extensions, registered up front; each browser document then includes the
        # JavaScript of its first page's only (see served_app), and a page needing another one
        # is loaded as a new document.
        _load_extensions(tuple(sorted({name for page in ordered() for name in page.extensions})), url)
        applications = build_applications({"/": self._session}, title=TITLE, location=True)
        self.application = BokehTornado(
            applications,
            extra_patterns=list(extra_patterns),
            extra_websocket_origins=list(websocket_origins) if websocket_origins else _origins(host, port),
            absolute_url=url,
            index=INDEX_HTML,
            websocket_max_message_size_bytes=64 << 20,
        )
        self._started = False
        self._sessions = 0
        self._drift: Any = None

    def _session(self) -> Any:
        self._sessions += 1
        if self._sessions == 1:
            # UMAP's compilation (10-45 s of CPU) starts once someone uses the app, and a
            # little after its first page, which it must not slow down: an idle server does not
            # pay it, nor does a store with no embeddings to project.
            timer = threading.Timer(_DRIFT_WARM_AFTER_S, self._warm_drift)
            timer.daemon = True
            timer.start()
        return served_app(self.reader, self.ingest_status)

    def _warm_drift(self) -> None:
        if not self._started:
            return
        try:
            from workbench.drift import DriftWorker

            self._drift = DriftWorker.shared(self.reader)
        except ImportError:  # the drift extra is not installed; the page says how to get it
            pass
        except Exception:  # pragma: no cover - a warm-up must never break serving
            logger.debug("warming drift up failed", exc_info=True)

    def start(self) -> None:
        """Start serving sessions on the current thread's event loop; warm up on another thread."""
        self.application.initialize(IOLoop.current())
        self.application.start()
        self._started = True
        # A browser opened at once does this work itself; the warm-up is for the one opened a
        # little later, and must not compete with the first page for the cores.
        timer = threading.Timer(_WARM_UP_AFTER_S, self._warm_up)
        timer.daemon = True
        timer.start()

    def _warm_up(self) -> None:
        if not self._sessions:
            warm_up(self.reader)

    def stop(self) -> None:
        """Stop the sessions' callbacks (the HTTP server is stopped by its owner)."""
        if self._drift is not None:
            self._drift.stop(timeout=5)
            self._drift = None
        if self._started:
            self._started = False
            try:
                self.application.stop(wait=False)
            except Exception:  # pragma: no cover - shutting down anyway
                logger.debug("stopping the app's sessions failed", exc_info=True)


def _load_extensions(extensions: tuple[str, ...], url: str) -> None:
    """Load the Panel extensions the pages need.

    In a kernel (``workbench.launch()`` in a notebook) this also loads Panel's notebook support,
    as ``pn.extension`` would, but with the scripts from this server instead of public CDNs
    (:mod:`workbench.app.inline`): views shown in the notebook then work without internet.
    """
    from workbench.app.inline import in_kernel, load_notebook_resources

    if in_kernel():
        load_notebook_resources("server", url, extensions)
    elif extensions:
        pn.extension(*extensions)


def prepare_first_page() -> None:
    """Do ahead of the first browser session what it would do first and needs no data: import
    the Traces page and the helpers it calls (feedback, datasets, costs), and read the price table.

    ``workbench serve --sample`` runs this while the sample loads, on the CPU the load leaves
    idle: 0.08 s of CPU that the first session's page (0.35 s) spent before. Safe on any
    thread; no panel objects are made.
    """
    try:
        import workbench.analysis.quality
        import workbench.app.traces
        import workbench.experiments  # noqa: F401
        from workbench.pricing.effective import effective_table

        effective_table()
    except Exception:  # pragma: no cover - a warm-up must never break serving
        logger.debug("preparing the first page failed", exc_info=True)


def warm_up(reader: Reader) -> None:
    """Do ahead of the first browser session what it would do first: import the first page, read
    the filter values (kept a minute), and bring the first page's columns into DuckDB's cache.

    Safe on any thread (no panel objects are made); failures only cost the first page's speed.
    """
    prepare_first_page()
    try:
        from workbench.app.page import cached_facets

        cached_facets(reader)
        reader.count_traces()
        reader.traces(limit=50)
    except Exception:  # pragma: no cover - a warm-up must never break serving
        logger.debug("warming the app up failed", exc_info=True)
