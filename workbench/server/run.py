"""serve(): open the store, optionally load the sample, and run the server until interrupted.

Shared by ``workbench serve`` and anything else that wants a blocking server.
"""

from __future__ import annotations

import functools
import gc
import socket
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from workbench import config
from workbench.errors import DiskFullError
from workbench.server.listen import listen
from workbench.store import Store
from workbench.store.fresh import remover_if_new
from workbench.store.retention import Retention, Sweeper

if TYPE_CHECKING:
    from workbench.server.server import Server

__all__ = ["banner", "serve"]

P = ParamSpec("P")
R = TypeVar("R")


def _collector_off_while_starting(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` with the cycle collector off, as it was after (a served server turns it
    on once it serves): while starting, it only walked what was being imported, again and again
    (0.17 s of the 1.4 s of CPU that imports take before the first page)."""
    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        collecting = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if collecting:
                gc.enable()

    return run


@_collector_off_while_starting
def serve(
    *,
    db: str | Path | None = None,
    host: str | None = None,
    port: int | None = None,
    sample: bool = False,
    app: bool = True,
    redact: bool | None = None,
    sample_rate: float | None = None,
    token: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
    allowed_origins: Sequence[str] | None = None,
    mcp_write: bool | None = None,
    lake: str | None = None,
    lake_endpoint: str | None = None,
    lake_keep_hours: int | None = None,
    from_lake: str | None = None,
    echo: Callable[[str], None] = print,
    retention: Retention | None = None,
    sockets: list[socket.socket] | None = None,
) -> None:
    """Serve a store on this thread until Ctrl-C.

    ``sockets``, already listening on ``host`` (:func:`~workbench.server.listen.listen`), are
    served instead of binding ``port`` (the command line binds them before its imports).

    With ``retention`` limits, a background thread applies them every ``retention.every``
    through the store's writer and compacts the file once enough was removed.

    Listening beyond loopback (``host`` such as ``0.0.0.0``) requires a token, made up when
    none is given; the banner prints it, the address it is reached at, and a warning.

    Raises:
        StoreLockedError: Another process holds the file.
        DiskFullError: The database's disk has less free space than workbench keeps free.
        ServerError: The port is in use.
        LakeError: The lake cannot be reached.

    With ``lake`` (a folder or ``s3://bucket/prefix``), what the store commits is also
    published to that Parquet lake (:class:`workbench.lake.publish.Publisher`). With
    ``from_lake``, the server reads a lake instead of a store, and takes no spans.
    """
    if from_lake:
        _serve_lake(from_lake, lake_endpoint, host=host, port=port, app=app, token=token,
                    allowed_hosts=allowed_hosts, allowed_origins=allowed_origins, echo=echo)
        return
    # The port first: a browser opened right away then waits for its answer, not refused.
    host = config.get("host", host)
    if sockets is None:
        sockets = listen(host, config.get("port", port))
    if sample and db is None:
        from workbench.sample import sample_db_path

        db = sample_db_path()
    try:
        undo = remover_if_new(db)  # a server that cannot start leaves no new, empty file behind
        store = Store(db)
    except BaseException:
        _close(sockets)
        raise
    try:
        _check_disk(store)
        loading = None
        if sample:
            # The sample loads (in DuckDB, mostly off the GIL) while this thread imports the
            # server; the store's readers see it once it is committed, before the server serves.
            # When it has to be loaded, the app is imported meanwhile; when it is there already,
            # once the first rows are sent, so that it does not slow the start.
            loading = _SampleLoad(store, before=_start_app_import if app else None).start()
        from workbench.server.server import Server

        if loading is not None:
            added = loading.result()
            if added:
                echo(f"Loaded the sample data: {added.get('spans', 0)} spans of a fictional support assistant.")
            else:
                echo("The sample data is already in this store.")
        # The app loads when a browser first asks for it (an idle server stays small; with the
        # sample, whose browser comes right away, its packages are imported already); that
        # browser gets the first rows drawn without it meanwhile.
        server = Server(store, host=host, port=port, app=app, redact=redact, sampling=sample_rate, token=token,
                        allowed_hosts=allowed_hosts or None, allowed_origins=allowed_origins or None,
                        app_on_demand=True, mcp_write=mcp_write, sockets=sockets)
    except BaseException:
        _close(sockets)
        store.close()
        undo()
        raise
    sweeper = None
    publisher = None
    if sample and app:
        # The browser comes right away: its first rows are ready before the port answers, and
        # the app is imported once they are sent (or in a second, if no browser came).
        server.prepare_first_page()
        later = threading.Timer(1.0, _start_app_import)
        later.daemon = True
        later.start()
    try:
        if lake or config.get("lake"):
            from workbench.lake.publish import Publisher

            publisher = Publisher(store, lake or config.get("lake"), endpoint=lake_endpoint, keep_hours=lake_keep_hours)
            publisher.start()
        for line in banner(server, store.path):
            echo(line)
        if retention:
            echo(f"  retention:   {retention.describe()} (every {retention.every})")
            sweeper = Sweeper(store, retention).start()
        if publisher is not None:
            echo(f"  lake:        {publisher.location.uri}  (publishing every {publisher.interval:g} s as ingester "
                 f"{publisher.ingester})")
        server.run(stay_quiet=True)
    finally:
        if sweeper is not None:
            sweeper.stop()
        if publisher is not None:
            publisher.stop()
        store.close()


def _serve_lake(uri: str, endpoint: str | None, *, echo: Callable[[str], None], **options: object) -> None:
    """Serve the app and the API over a Parquet lake, read-only, until Ctrl-C."""
    from workbench.read.lake import open_lake
    from workbench.server.server import Server

    reader = open_lake(uri, endpoint=endpoint)
    store = Store(":memory:")
    try:
        server = Server(store, reader=reader, **options)  # type: ignore[arg-type]
        for line in banner(server, f"the lake {uri} (read-only)"):
            echo(line)
        server.run(stay_quiet=True)
    finally:
        reader.close()
        store.close()


def banner(server: Server, db: object) -> list[str]:
    """What ``workbench serve`` prints on start: the real address, the token, and a warning
    when other machines can reach it."""
    access = server.access
    base = server.url
    lines = [f"workbench is serving {db}"]
    if access.beyond_loopback:
        shown = f"[{server.host}]" if ":" in server.host else (server.host or "0.0.0.0")
        everywhere = server.host in ("", "0.0.0.0", "::")
        lines.append(f"  listening:   {shown}:{server.port}" + ("  (every interface)" if everywhere else ""))
        reach = socket.gethostname() if everywhere else server.host
        base = f"http://[{reach}]:{server.port}" if ":" in reach else f"http://{reach}:{server.port}"
    lines.append(f"  app and API: {base}/")
    if server.read_only_source is None:
        lines.append(f"  OTLP/HTTP:   {base}/v1/traces  (protobuf or JSON)")
        lines.append(f"  proxy:       {base}/proxy/openai/v1 and {base}/proxy/anthropic  (recorded calls)")
        lines.append(f"  metrics:     {base}/metrics  (Prometheus)")
        lines.append(f"  MCP:         {base}/mcp  (streamable HTTP, for agents)")
    else:  # it takes no spans: no OTLP, no recording proxy; /metrics counts its own requests only
        lines.append("  read-only:   spans, proxied calls and annotations go to the ingesters (workbench serve --lake)")
        lines.append(f"  metrics:     {base}/metrics  (Prometheus; this server's own counters)")
        lines.append(f"  MCP:         {base}/mcp  (streamable HTTP, for agents; read tools only)")
    if access.token:
        lines.append(f"  token:       {access.token}")
        lines.append(f"  browser:     {access.app_url(base)}  (opens the app once, then a cookie keeps the token)")
        lines.append(f"  exporters:   OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20{access.token}")
        lines.append("  clients:     WORKBENCH_TOKEN=<token>, or the browser address as the URL")
    if access.beyond_loopback:
        lines.append(f"Warning: listening on {server.host or '0.0.0.0'}, beyond this machine: anyone on the network "
                     "who has the token can read and write every span.")
    lines.append("Press Ctrl-C to stop.")
    return lines


def _check_disk(store: Store) -> None:
    """Refuse to start on a disk too full to write to, rather than serve and fail every write."""
    free, keep = store.db.free_bytes(), store.db.min_free_bytes
    if free is not None and keep and free < keep:
        raise DiskFullError(
            f"Cannot start: the disk holding {store.path} has {free >> 20} MiB free, less than the "
            f"{keep >> 20} MiB workbench keeps free; free some space (or lower WORKBENCH_MIN_FREE_MB) "
            "and start again."
        )


def _close(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


class _SampleLoad:
    """:func:`workbench.sample.load_sample` on a thread of its own; :meth:`result` waits for it.

    ``before`` is called first when the sample is not in the store yet (loading it takes a while).
    """

    def __init__(self, store: Store, *, before: Callable[[], None] | None = None) -> None:
        self.store = store
        self._before = before
        self._added: dict[str, int] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="workbench-sample-load", daemon=True)

    def start(self) -> _SampleLoad:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            from workbench.sample import has_sample, load_sample

            if self._before is not None and not has_sample(self.store):
                self._before()
            self._added = load_sample(self.store)
        except BaseException as exc:  # noqa: BLE001 - raised again on the serving thread
            self._error = exc

    def result(self) -> dict[str, int]:
        """Rows added per table, once loaded.

        Raises:
            Exception: What loading raised.
        """
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._added


_app_import: list[threading.Thread] = []


def _start_app_import() -> None:
    """Import the app on a thread of its own (once)."""
    if not _app_import:
        _app_import.append(threading.Thread(target=_import_app, name="workbench-app-import", daemon=True))
        _app_import[0].start()


def _import_app() -> None:
    """Import the app and prepare its first page (a failure is reported when it is served)."""
    try:
        from workbench.app.hosting import prepare_first_page
    except Exception:  # noqa: BLE001 - the server says why the app is not served
        return
    prepare_first_page()
