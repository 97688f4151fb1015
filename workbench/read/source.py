"""The reader protocol: what every source of stored spans answers, and what some add.

Every reader (a local file, :class:`workbench.read.local.Reader`; a running server,
:class:`workbench.remote.RemoteReader`; next a Parquet lake or a Spark session) answers the
:class:`Source` questions: spans, traces, one trace, one span, documents, embeddings,
annotations, projects, stats, whole tables, an export to Parquet, and ``sql``: one
read-only SELECT a person or an agent wrote, checked and limited the same way everywhere
(:mod:`workbench.read.sql`; a server runs it on its side). Beyond those, a
source has some of a small set of capabilities, named in its ``capabilities``:

============  ===================================================================
``sql``       :class:`SqlSource`: runs any SQL over the stored tables (``query``, ``rows``,
              ``registered`` to join Arrow tables of its own);
              what the analyses, drift, the monitors and the app's summaries need
``annotate``  adds annotations (``add_annotations``)
``store``     holds a local store that can also be written (drift caches, baselines)
============  ===================================================================

Code that needs a capability asks :func:`require`, which returns the reader or raises the
reader's own one-sentence refusal (:meth:`Source.refuse`) saying what to do instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from workbench.errors import CapabilityError

__all__ = ["CAPABILITIES", "Source", "SqlSource", "require", "supports"]

#: Every capability a source may have beyond the :class:`Source` reads.
CAPABILITIES: tuple[str, ...] = ("sql", "annotate", "store")


@runtime_checkable
class Source(Protocol):
    """What every reader answers (the arguments are :class:`workbench.read.local.Reader`'s)."""

    capabilities: frozenset[str]

    # Callables rather than methods: each source takes Reader's keyword arguments, or fewer.
    @property
    def spans(self) -> Callable[..., Any]: ...
    @property
    def traces(self) -> Callable[..., Any]: ...
    def trace(self, trace_id: str, *, columns: Sequence[str] | None = None) -> Any: ...
    def span(self, span_id: str) -> dict[str, Any]: ...
    @property
    def documents(self) -> Callable[..., Any]: ...
    @property
    def embeddings(self) -> Callable[..., Any]: ...
    @property
    def annotations(self) -> Callable[..., Any]: ...
    def projects(self) -> list[str]: ...
    def stats(self) -> dict[str, Any]: ...
    def table(self, name: str) -> pa.Table: ...
    def export_parquet(self, out_dir: str) -> dict[str, int]: ...
    def sql(self, query: str, params: Sequence[Any] | None = None, *, arrow: bool = False) -> Any: ...
    def refuse(self, capability: str) -> CapabilityError: ...
    def close(self) -> None: ...


@runtime_checkable
class SqlSource(Source, Protocol):
    """A source that runs read-only SQL (DuckDB's dialect) over the stored tables."""

    def query(self, query: str, params: Sequence[Any] = ()) -> pa.Table: ...
    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def registered(self, **tables: pa.Table) -> AbstractContextManager[dict[str, str]]: ...


def supports(reader: object, capability: str) -> bool:
    """Whether ``reader`` has ``capability`` (one of :data:`CAPABILITIES`)."""
    if capability not in CAPABILITIES:
        raise ValueError(f"{capability!r} is no reader capability; choose one of {', '.join(CAPABILITIES)}.")
    return capability in getattr(reader, "capabilities", frozenset())


def require(reader: Any, capability: str) -> Any:
    """``reader`` when it has ``capability``, else its one-sentence refusal is raised.

    Raises:
        CapabilityError: The reader lacks the capability (the message says what to do).
    """
    if supports(reader, capability):
        return reader
    refuse = getattr(reader, "refuse", None)
    if refuse is None:
        raise CapabilityError(
            f"{reader!r} is not a workbench reader; pass workbench.open(path_or_url) or a snapshot of one."
        )
    raise refuse(capability)
