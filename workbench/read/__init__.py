"""The one door for reading stored data.

==========================  ==========================================================
:mod:`.selection`           :class:`Selection`: filter, time range, projects; its SQL
:mod:`.source`              the reader protocol and its capabilities (``sql`` ...)
:mod:`.local`               :class:`Reader`: a store file, with every capability
:mod:`.costs`               pricing calls at query time, in SQL
==========================  ==========================================================

:class:`workbench.remote.RemoteReader` (a running server) follows the same protocol; it
reads but runs no SQL for its callers. Everything above this package (analyses, drift,
monitors, the app, the HTTP API) asks a reader, never the store.
"""

from __future__ import annotations

from workbench.read.local import TRACE_COLUMNS, Reader
from workbench.read.selection import SPAN_FIELDS, Selection, Where, parse_time
from workbench.read.source import CAPABILITIES, Source, SqlSource, require, supports

__all__ = [
    "CAPABILITIES",
    "SPAN_FIELDS",
    "TRACE_COLUMNS",
    "Reader",
    "Selection",
    "Source",
    "SqlSource",
    "Where",
    "parse_time",
    "require",
    "supports",
]
