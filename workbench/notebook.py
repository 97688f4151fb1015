"""``workbench.launch()``: the collector, the OTLP receiver and the app inside a notebook's process.

Everything shares one store (one DuckDB file stays in one process): spans made in the
notebook go straight into it, spans sent over OTLP to :attr:`Session.url` too, and the app
and the read API read it. The server runs on a background thread, so the notebook stays free::

    session = workbench.launch(project_name="support-bot")
    session.url                     # open the app in a browser tab
    session.view()                  # or show it in the notebook
    session.traces()                # the read API, as DataFrames
    session.stop()

A second ``launch()`` returns the running session.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from workbench import config
from workbench.errors import ServerError
from workbench.read import Reader
from workbench.server import Server
from workbench.store import Store

__all__ = ["Session", "active_session", "launch"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_active: Session | None = None

# The read API a session answers, handed to its reader.
_READ_METHODS = (
    "spans", "count", "traces", "count_traces", "trace", "span", "documents", "embeddings",
    "annotations", "corpus", "projects", "stats", "export_parquet",
)


class Session:
    """A running workbench inside this process: the store, the server and the tracer provider.

    The read API (``spans()``, ``traces()``, ``trace()``, ``documents()`` ...) answers from the
    session's store, exactly as :func:`workbench.open` would.

    Attributes:
        store: The store everything shares.
        server: The server of OTLP, the HTTP API and the app.
        provider: The OpenTelemetry ``TracerProvider`` writing into the store (also the global
            one), for instrumentors: ``OpenAIInstrumentor().instrument(tracer_provider=session.provider)``.
        reader: The read API over the store.
    """

    def __init__(self, store: Store, server: Server, provider: Any) -> None:
        self.store = store
        self.server = server
        self.provider = provider
        self.reader = Reader(store)
        self._stopped = False

    @property
    def url(self) -> str:
        """The app's address (and the OTLP endpoint's base), e.g. ``http://127.0.0.1:4318``."""
        return self.server.url

    @property
    def running(self) -> bool:
        """Whether the session still serves."""
        return not self._stopped

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<workbench.Session {state} at {self.url}, store {self.store.path}>"

    def _repr_html_(self) -> str:
        if not self.running:
            return f"<p>workbench session (stopped), store <code>{self.store.path}</code></p>"
        return (f"<p>workbench is running at <a href='{self.server.app_url}' target='_blank'>{self.url}/</a> "
                f"(store <code>{self.store.path}</code>). Show it here with <code>session.view()</code>.</p>")

    def __getattr__(self, name: str) -> Any:
        if name in _READ_METHODS:
            self.flush()
            return getattr(self.reader, name)
        raise AttributeError(f"'Session' object has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(_READ_METHODS))

    def flush(self, timeout: float = 30.0) -> None:
        """Write every span ended so far, so reads see them."""
        try:
            self.provider.force_flush(int(timeout * 1000))
        except Exception:  # pragma: no cover - a provider that cannot flush must not break reads
            logger.debug("flushing the tracer provider failed", exc_info=True)
        self.store.flush(timeout)

    def view(self, page: str = "traces", *, height: int | None = None, resources: str | None = None,
             **params: Any) -> Any:
        """The app as a Panel object, shown inline when it is a cell's value.

        It is as wide as the cell and ``height`` pixels high (the page scrolls inside it). Its
        scripts come from this session's server, so it works without internet; if the kernel
        restarts, the output says it is disconnected.

        Args:
            page: The page to open (``traces``, ``trace``, ``latency``, ``sessions`` ...).
            height: The height in pixels (default 800, at least 240).
            resources: Where the cell loads Bokeh's and Panel's JavaScript from: ``"server"``
                (default: this session's server, nothing added to the notebook file) or
                ``"inline"`` (written into the output, about 3 MB or more; for a Jupyter on
                another machine than the kernel, or a notebook read without the session).
            params: That page's parameters, e.g. ``trace_id=...`` for ``page="trace"``.

        Raises:
            ConfigError: ``height`` or ``resources`` has a value it cannot take.
            ServerError: The session is stopped.
        """
        from workbench.app.shell import inline_app

        if not self.running:
            raise ServerError(f"This session at {self.url} is stopped, so it has nothing to show; "
                              "start one with session = workbench.launch() and call session.view() on it.")
        self.flush()
        return inline_app(self.reader, query={"page": page, **params}, height=height,
                          resources=resources or "server", server_url=self.url)

    def stop(self) -> None:
        """Stop serving, write what is queued, and close the store. Safe to call twice."""
        global _active
        with _lock:
            if self._stopped:
                return
            self._stopped = True
            if _active is self:
                _active = None
        from workbench.collector.current import CURRENT
        from workbench.store.shared import process_store, set_process_store

        CURRENT.release(self.provider)
        if process_store() is self.store:
            set_process_store(None)
        try:
            self.provider.shutdown()
        except Exception:  # pragma: no cover
            logger.debug("shutting the tracer provider down failed", exc_info=True)
        self.server.stop()
        self.store.close()


def active_session() -> Session | None:
    """The running session of this process, if any."""
    return _active if _active is not None and _active.running else None


def launch(
    project_name: str | None = None,
    *,
    db: str | Path | None = None,
    host: str | None = None,
    port: int | None = None,
    sample: bool = False,
    redact: bool | None = None,
    capture_text: bool | None = None,
) -> Session:
    """Start workbench in this process (a notebook's, typically) and return the session.

    Starts the collector (a ``TracerProvider`` writing into the store, made the global one),
    the OTLP/HTTP receiver, the HTTP API and the app, all on one port, on a background thread.
    A second call returns the running session.

    Args:
        project_name: The project of the spans made here (default ``WORKBENCH_PROJECT``).
        db: The DuckDB file (default ``WORKBENCH_DB``); ``":memory:"`` keeps nothing. While the
            session runs, ``workbench.register()`` and ``workbench.open()`` without a file of
            their own use this store.
        host: The address to listen on (default ``WORKBENCH_HOST``).
        port: The port; by default ``WORKBENCH_PORT``, or any free port when that one is taken.
        sample: Load the sample data first. Without ``db``, the session then works on a file
            of its own (``sample.duckdb`` beside the default database), so the sample never
            mixes with your traces; pass ``db`` to load it into that file instead.
        redact: Redact personal data before storing (default ``WORKBENCH_REDACT``).
        capture_text: Store prompt and response text (default ``WORKBENCH_CAPTURE_TEXT``).

    Raises:
        StoreLockedError: Another process holds the file (a ``workbench serve``?); pass
            another ``db``, or read that server with ``workbench.open(url)``.
        ServerError: An explicitly chosen ``port`` is in use.
    """
    global _active
    with _lock:
        if _active is not None and _active.running:
            return _active
        from workbench.errors import StoreLockedError
        from workbench.instrument import register
        from workbench.store.shared import set_process_store

        if sample and db is None:
            from workbench.sample import sample_db_path

            db = sample_db_path()
        try:
            store = Store(db)
        except StoreLockedError as exc:
            raise exc.for_python() from None
        try:
            if sample:
                from workbench.sample import load_sample

                load_sample(store)
            try:
                server = Server(store, host=host, port=port, redact=redact, capture_text=capture_text)
            except ServerError:
                if port is not None:
                    raise
                logger.info("port %s is taken; workbench listens on a free port instead", config.get("port"))
                server = Server(store, host=host, port=0, redact=redact, capture_text=capture_text)
            server.start()
            provider = register(project_name, sink=store, set_global=True, redact=redact, capture_text=capture_text)
        except BaseException:
            store.close()
            raise
        set_process_store(store)
        _active = Session(store, server, provider)
        return _active
