"""The one door for reading stored data.

==========================  ==========================================================
:mod:`.selection`           :class:`Selection`: filter, time range, projects; its SQL
:mod:`.filters`             the filter language, compiled to SQL conditions
:mod:`.source`              the reader protocol and its capabilities (``sql`` ...)
:mod:`.local`               :class:`Reader`: a store file, with every capability
:mod:`.costs`               pricing calls at query time, in SQL
:mod:`.spend`               cost grouped by a call's dimensions (the cost views)
:mod:`.latency`             latency percentiles, over time, LLM timings, self time
:mod:`.quality`             annotations with what they are about; traces' groups
:mod:`.sessions`            sessions and their totals
:mod:`.facets`              the distinct values a filter can choose from
:mod:`.monitors`            what monitor rules count, per group and time bucket
:mod:`.drift`               drift's projection cache and saved baselines
==========================  ==========================================================

:class:`workbench.remote.RemoteReader` (a running server) follows the same protocol; it
reads but runs no SQL for its callers. Everything above this package (analyses, drift,
monitors, the app, the HTTP API) asks a reader, never the store, and writes no SQL of its
own: the queries are here, named for what they answer and taking a :class:`Selection`
(``tests/read/test_sql_stays_in_the_read_door.py`` keeps it so).
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
