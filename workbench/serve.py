"""serve(): open the store, optionally load the sample, and run the server until interrupted.

Shared by ``workbench serve`` and anything else that wants a blocking server.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from workbench.errors import DiskFullError
from workbench.server import Server
from workbench.store import Store

__all__ = ["serve"]


def serve(
    *,
    db: str | Path | None = None,
    host: str | None = None,
    port: int | None = None,
    sample: bool = False,
    app: bool = True,
    redact: bool | None = None,
    sample_rate: float | None = None,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve a store on this thread until Ctrl-C.

    Raises:
        StoreLockedError: Another process holds the file.
        DiskFullError: The database's disk has less free space than workbench keeps free.
        ServerError: The port is in use.
    """
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
        server = Server(store, host=host, port=port, app=app, redact=redact, sampling=sample_rate)
    except BaseException:
        store.close()
        raise
    worker = _warm_drift(server) if app else None
    echo(f"workbench is serving {store.path}")
    echo(f"  app and API: {server.url}/")
    echo(f"  OTLP/HTTP:   {server.url}/v1/traces  (protobuf or JSON)")
    echo("Press Ctrl-C to stop.")
    try:
        server.run(stay_quiet=True)
    finally:
        if worker is not None:
            worker.stop()
        store.close()


def _check_disk(store: Store) -> None:
    """Refuse to start on a disk too full to write to, rather than serve and fail every write."""
    free, keep = store.db.free_bytes(), store.db.min_free_bytes
    if free is not None and keep and free < keep:
        raise DiskFullError(
            f"Cannot start: the disk holding {store.path} has {free >> 20} MiB free, less than the "
            f"{keep >> 20} MiB workbench keeps free; free some space (or lower WORKBENCH_MIN_FREE_MB) "
            "and start again."
        )


def _warm_drift(server: Server) -> object | None:
    """Start the drift worker, which compiles UMAP on its own thread, so the Drift page never waits."""
    try:
        from workbench.drift import DriftWorker

        return DriftWorker.shared(server.reader)
    except ImportError:  # the drift extra is not installed; the page says how to get it
        return None
