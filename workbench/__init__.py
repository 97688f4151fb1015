"""workbench: a local, notebook-friendly tracing workbench for LLM applications.

Three ways in::

    import workbench
    provider = workbench.register(project_name="support-bot")   # spans into a local file
    workbench.instrument()                                       # trace every installed LLM library
    session = workbench.launch()                                 # the app, in a notebook
    wb = workbench.open()                                        # read spans as DataFrames
    local = workbench.snapshot(wb, start="7d")                   # a server's range, for SQL analysis

and ``workbench serve`` on the command line (OTLP/HTTP on 127.0.0.1:4318, the app at /).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import (
    ConfigError,
    DecodeError,
    FilterError,
    ImportFormatError,
    NotFoundError,
    QueueFullError,
    SchemaVersionError,
    ServerError,
    StoreError,
    StoreLockedError,
    WorkbenchError,
)
from workbench.instrument import register, span, traced

# Bound after the module of the same name was imported, so `workbench.instrument` is the function.
from workbench.instrumentors import instrument
from workbench.model import SpanKind
from workbench.version import __version__

if TYPE_CHECKING:
    from workbench.read import Reader
    from workbench.remote import RemoteReader
    from workbench.store import Store

__all__ = [
    "ConfigError",
    "DecodeError",
    "FilterError",
    "ImportFormatError",
    "NotFoundError",
    "QueueFullError",
    "SchemaVersionError",
    "ServerError",
    "SpanKind",
    "Store",
    "StoreError",
    "StoreLockedError",
    "WorkbenchError",
    "__version__",
    "annotate",
    "evals",
    "experiments",
    "instrument",
    "launch",
    "log_annotations",
    "monitors",
    "open",
    "prices",
    "register",
    "show",
    "snapshot",
    "span",
    "traced",
]

# Loaded on first use: each pulls in duckdb, pandas or the app.
_LAZY = {
    "Store": ("workbench.store", "Store"),
    "launch": ("workbench.notebook", "launch"),
    "prices": ("workbench.pricing.prices", "prices"),
    "annotate": ("workbench.evals.annotate", "annotate"),
    "log_annotations": ("workbench.evals.annotate", "log_annotations"),
    "evals": ("workbench.evals", None),
    "experiments": ("workbench.experiments", None),
    "monitors": ("workbench.monitors", None),
    "snapshot": ("workbench.snapshots", "snapshot"),
}


def open(
    target: str | Path | None = None, *, read_only: bool = True, token: str | None = None
) -> Reader | RemoteReader:
    """Open spans for reading, from a DuckDB file or from a running ``workbench serve``.

    Args:
        target: A file path, a Parquet lake (``s3://bucket/prefix`` or a folder that ingesters
            publish to, see docs/scale-out.md), or the URL of a server such as ``http://127.0.0.1:4318`` (or
            ``127.0.0.1:4318``: http is assumed). Default: the store of the session
            ``workbench.launch()`` runs in this process, else ``WORKBENCH_DB``. Within one process,
            ``register()``, ``open()`` and ``launch()`` share the open file, and reads see what was
            just recorded. While a server in another process writes a file, read through the
            server's URL instead.
        read_only: Open the file without writing (the default).
        token: A server's access token (default: a ``?token=`` in the URL, else
            ``WORKBENCH_TOKEN``).

    Returns:
        A reader with ``spans()``, ``traces()``, ``trace()``, ``documents()``,
        ``embeddings()``, ``annotations()`` and ``export_parquet()``.
    """
    if target is not None and not isinstance(target, (str, Path)):
        raise ConfigError(
            f"workbench.open({target!r}) needs a file path or a server URL such as http://127.0.0.1:4318."
        )
    from workbench.remote import RemoteReader, server_url

    url = server_url(target)  # http(s)://... or host:port
    if url is not None:
        return RemoteReader(url, token=token)
    from workbench.lake import is_lake

    if target is not None and is_lake(target):  # s3://bucket/prefix, or a folder with _commits/
        from workbench.read.lake import LakeReader

        return LakeReader(target)
    from workbench.errors import StoreLockedError
    from workbench.read import Reader
    from workbench.store import Store
    from workbench.store.shared import process_store

    if target is not None and Path(str(target)).expanduser().is_dir():
        raise ConfigError(
            f"{target} is a folder, neither a DuckDB file nor a lake (a lake's folder holds _commits, written by "
            "workbench serve --lake); give the .duckdb file, or the folder a lake was published to."
        )
    current = process_store()
    if target is None and current is not None:  # the store of this process's running session
        return Reader(current.handle(read_only=read_only))  # type: ignore[attr-defined]
    try:
        return Reader(Store(target, read_only=read_only))
    except StoreLockedError as exc:
        raise exc.for_python() from None


def show(spans: Any, **limits: Any) -> Any:
    """Show spans in a notebook cell as a tree and waterfall, with each span's detail on click.

    The result is one self-contained HTML fragment (no server, nothing fetched), so it also
    shows in a notebook exported to HTML, in VS Code and in a shared file (``.to_html(path)``).
    A trace (``wb.trace(id)``) shows itself this way as a cell's value; ``show`` also takes a
    span list, grouped into its traces.

    Args:
        spans: A trace, the spans of ``wb.spans(...)`` (DataFrame or Arrow), or span dicts.
        limits: ``max_spans`` (default 1000), ``max_chars`` (2000 per value) and ``max_bytes``
            (2,000,000 bytes of span detail); past them the output says what it left out.

    Returns:
        A :class:`workbench.render.TraceHTML`: display it, or write it with ``.to_html(path)``.

    Raises:
        ConfigError: ``spans`` is not a span list, or a limit is not a whole number from 1.
    """
    from workbench.render import TraceHTML
    from workbench.tree import traces_of

    return TraceHTML(traces_of(spans), **limits)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)
