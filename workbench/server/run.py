"""serve(): open the store, optionally load the sample, and run the server until interrupted.

Shared by ``workbench serve`` and anything else that wants a blocking server.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import DiskFullError
from workbench.server import Server
from workbench.store import Store
from workbench.store.fresh import remover_if_new

if TYPE_CHECKING:
    from workbench.drift import DriftWorker

__all__ = ["banner", "serve"]


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
    echo: Callable[[str], None] = print,
) -> None:
    """Serve a store on this thread until Ctrl-C.

    Listening beyond loopback (``host`` such as ``0.0.0.0``) requires a token, made up when
    none is given; the banner prints it, the address it is reached at, and a warning.

    Raises:
        StoreLockedError: Another process holds the file.
        DiskFullError: The database's disk has less free space than workbench keeps free.
        ServerError: The port is in use.
    """
    if sample and db is None:
        from workbench.sample import sample_db_path

        db = sample_db_path()
    undo = remover_if_new(db)  # a server that cannot start leaves no new, empty file behind
    store = Store(db)
    try:
        _check_disk(store)
        if sample:
            from workbench.sample import load_sample

            added = load_sample(store)
            if added:
                echo(f"Loaded the sample data: {added.get('spans', 0)} spans of a fictional support assistant.")
            else:
                echo("The sample data is already in this store.")
        server = Server(store, host=host, port=port, app=app, redact=redact, sampling=sample_rate, token=token,
                        allowed_hosts=allowed_hosts or None, allowed_origins=allowed_origins or None)
    except BaseException:
        store.close()
        undo()
        raise
    worker = _warm_drift(server) if app else None
    for line in banner(server, store.path):
        echo(line)
    try:
        server.run(stay_quiet=True)
    finally:
        if worker is not None:
            worker.stop()
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
    lines.append(f"  OTLP/HTTP:   {base}/v1/traces  (protobuf or JSON)")
    lines.append(f"  proxy:       {base}/proxy/openai/v1 and {base}/proxy/anthropic  (recorded calls)")
    lines.append(f"  metrics:     {base}/metrics  (Prometheus)")
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


def _warm_drift(server: Server) -> DriftWorker | None:
    """Start the drift worker, which compiles UMAP on its own thread, so the Drift page never waits."""
    try:
        from workbench.drift import DriftWorker

        return DriftWorker.shared(server.reader)
    except ImportError:  # the drift extra is not installed; the page says how to get it
        return None
