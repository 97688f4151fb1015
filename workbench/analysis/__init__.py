"""Analyses the app's pages draw: pure functions that take a :class:`workbench.query.Reader`
and return DataFrames, so a notebook gets the same figures the pages show.

==========================  ====================================================
:mod:`.latency`             percentiles over time, LLM timings, self time by kind
:mod:`.sessions`            sessions and their turns
:mod:`.facets`              the values filters can choose from
==========================  ====================================================
"""

from __future__ import annotations

from workbench.analysis.facets import facets
from workbench.analysis.latency import (
    bucket_width,
    latency_over_time,
    latency_summary,
    llm_timing_summary,
    llm_timings,
    self_time_by_kind,
    slowest_traces,
)
from workbench.analysis.sessions import count_sessions, session_turns, sessions

__all__ = [
    "bucket_width",
    "count_sessions",
    "facets",
    "latency_over_time",
    "latency_summary",
    "llm_timing_summary",
    "llm_timings",
    "self_time_by_kind",
    "session_turns",
    "sessions",
    "slowest_traces",
]
