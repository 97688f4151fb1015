"""The read API's public name: ``from workbench.query import Reader``.

The reads live in :mod:`workbench.read`; this module keeps the import path the README and
notebooks use.
"""

from __future__ import annotations

from workbench.read.local import SPAN_FIELDS, TRACE_COLUMNS, Reader
from workbench.read.selection import Selection, parse_time

__all__ = ["SPAN_FIELDS", "TRACE_COLUMNS", "Reader", "Selection", "parse_time"]
