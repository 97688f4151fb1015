"""workbench: a local, notebook-friendly tracing workbench for LLM applications.

Three ways in::

    import workbench
    provider = workbench.register(project_name="support-bot")   # spans into a local file
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
from workbench.model import SpanKind

if TYPE_CHECKING:
    from workbench.query import Reader
    from workbench.remote import RemoteReader
    from workbench.store import Store

__version__ = "0.1.0"

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
    "launch",
    "log_annotations",
    "monitors",
    "open",
    "prices",
    "register",
    "snapshot",
    "span",
    "traced",
]

# Loaded on first use: each pulls in duckdb, pandas or the app.
_LAZY = {
    "Store": ("workbench.store", "Store"),
    "launch": ("workbench.notebook", "launch"),
    "prices": ("workbench.analysis.prices", "prices"),
    "annotate": ("workbench.evals.annotate", "annotate"),
    "log_annotations": ("workbench.evals.annotate", "log_annotations"),
    "evals": ("workbench.evals", None),
    "monitors": ("workbench.monitors", None),
    "snapshot": ("workbench.snapshots", "snapshot"),
}


def open(target: str | Path | None = None, *, read_only: bool = True) -> Reader | RemoteReader:  # noqa: A001
    """Open spans for reading, from a DuckDB file or from a running ``workbench serve``.

    Args:
        target: A file path (default ``WORKBENCH_DB``), or the URL of a server such as
            ``http://127.0.0.1:4318`` (or ``127.0.0.1:4318``: http is assumed). While a server writes a file, no other process can
            open it; read through the server's URL instead.
        read_only: Open the file without writing (the default).

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
        return RemoteReader(url)
    from workbench.query import Reader
    from workbench.store import Store

    return Reader(Store(target, read_only=read_only))


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)
