"""The MCP server: workbench's tools for agents, on the official MCP Python SDK.

:func:`build_server` registers the tools of :mod:`workbench.mcp.tools` over one reader (a
file's or a server's). ``workbench mcp`` runs it over stdio, for an agent the user's editor
starts; ``workbench serve`` answers it at ``/mcp`` (streamable HTTP, :mod:`workbench.mcp.http`).
Writing (the ``annotate`` tool) exists only when asked for (``--mcp-write``,
``WORKBENCH_MCP_WRITE``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from workbench import config
from workbench.errors import ConfigError
from workbench.mcp import tools
from workbench.version import __version__

__all__ = ["INSTRUCTIONS", "TOOL_NAMES", "build_server", "import_sdk"]

#: What the server tells an agent about itself.
INSTRUCTIONS = (
    "workbench holds the OpenTelemetry traces of LLM applications. Start with `overview` (projects and the time "
    "range), then `find_traces` (a filter expression such as \"span_kind == 'LLM' and latency_ms > 2000\" or "
    "\"status_code == 'ERROR'\"), `get_trace` for one trace as Markdown, and `get_span` for one span in full. "
    "`summary` gives cost, latency, errors and quality over a range; `sql` runs one read-only DuckDB query over "
    "spans, spans_cost (with each span's cost), documents, embeddings, annotations and the others `overview` "
    "lists (datasets, experiments and their runs). Times are like '24h', '7d' or "
    "ISO 8601."
)

#: The tools every server has (``annotate`` is added with writing on).
TOOL_NAMES = ("overview", "find_traces", "get_trace", "get_span", "sql", "summary", "drift", "monitors")


def import_sdk() -> Any:
    """The SDK's ``MCPServer`` class.

    Raises:
        ConfigError: The MCP SDK is not installed (the message names the extra).
    """
    try:
        from mcp.server import MCPServer
    except ImportError:
        raise ConfigError(
            "The MCP server needs the MCP Python SDK; install it with pip install 'llm-trace-workbench[mcp]'."
        ) from None
    return MCPServer


def _tool_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """A workbench refusal or a bad argument reaches the agent as the tool's one-sentence error."""
    from mcp.server.mcpserver.exceptions import ToolError

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure becomes the tool's error, never a crash
            raise ToolError(tools.describe_error(exc)) from None

    return wrapper


def _with_plain_argument_errors(server_class: Any) -> Any:
    """The SDK's server class, whose answer to arguments that do not fit a tool is one sentence
    (:func:`workbench.mcp.tools.describe_invalid`) instead of the validator's report of several
    lines and a link."""
    from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
    from pydantic import ValidationError

    class Server(server_class):
        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as exc:
                cause = exc.__cause__
                if isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                    raise
                raise ToolError(tools.describe_invalid(name, cause.errors())) from cause

    return Server


def build_server(reader: Any, *, write: bool | None = None) -> Any:
    """An ``MCPServer`` whose tools read ``reader``.

    Args:
        reader: A reader: ``workbench.open(path_or_url)``.
        write: Add the ``annotate`` tool (default ``WORKBENCH_MCP_WRITE``, off).
    """
    server = _with_plain_argument_errors(import_sdk())(
        "workbench", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")

    def tool(func: Callable[..., Any]) -> None:
        server.add_tool(_tool_errors(func), name=func.__name__, description=func.__doc__)

    def overview() -> dict[str, Any]:
        """The projects stored, how many spans, and the time range they cover; start here."""
        return tools.overview(reader)

    def find_traces(filter: str | None = None, start: str | None = None, end: str | None = None,
                    project: str | None = None, order_by: str = "start_time", descending: bool = True,
                    limit: int = 20) -> dict[str, Any]:
        """Find traces: one summary row per trace (id, start, root name, latency, spans, errors, models, tokens,
        cost), latest first. `filter` keeps traces with any span matching an expression such as
        "span_kind == 'LLM' and latency_ms > 2000", "status_code == 'ERROR'", "model_name == 'gpt-4o'" or
        "'refund' in input_value". `start`/`end` bound the trace's start ('24h', '7d' back, or ISO 8601).
        `order_by` is a column such as start_time, latency_ms, cost or error_count. At most 200 rows."""
        return tools.find_traces(reader, filter, start, end, project, order_by, descending, limit)

    def get_trace(trace_id: str, max_chars: int | None = None, text_chars: int = 600) -> str:
        """One trace as Markdown: the span tree with kinds, durations, self time, errors, models, tokens and cost,
        each span's inputs and outputs cut to `text_chars`; the whole text stays within `max_chars` (default 24,000
        or the server's setting; texts are shortened, then left out, then the last spans counted, and the text
        says so)."""
        return tools.get_trace(reader, trace_id, max_chars, text_chars)

    def get_span(span_id: str, text_chars: int = 4000) -> dict[str, Any]:
        """One span in full: every field, attributes, events, messages, retrieved documents and embedded texts
        (no vectors); each long text is cut to `text_chars` with the cut stated."""
        return tools.get_span(reader, span_id, text_chars)

    def sql(query: str, max_rows: int = 200) -> dict[str, Any]:
        """Run one read-only DuckDB SELECT over spans, spans_cost (spans plus `cost` in USD from the current
        prices), documents, embeddings, annotations, corpus, log_records, datasets, dataset_examples, experiments,
        experiment_runs, prompts; e.g. "SELECT model_name, sum(cost) FROM
        spans_cost GROUP BY 1". Writes, files and settings are refused; rows are capped and the answer says when
        it was cut; a query past the deadline is stopped."""
        return tools.run_sql(reader, query, max_rows)

    def summary(start: str = "24h", end: str | None = None, project: str | None = None,
                filter: str | None = None) -> dict[str, Any]:
        """Cost, latency, errors and quality over a time range (default the last 24 hours): totals, LLM calls by
        model (calls, cost, tokens, p50/p95 latency, errors), the slowest span names, errors by span name with an
        example message, and annotation scores by name."""
        return tools.summary(reader, start, end, project, filter)

    def drift(start: str = "7d", reference_start: str | None = "28d", reference_end: str | None = "7d",
              limit: int = 10, projection: str = "umap") -> dict[str, Any]:
        """Query drift: clusters of embedded queries in the window from `start`, ranked by how much they grew
        against the reference window, and coverage gaps (clusters of queries with few corpus documents near
        them). Needs embeddings. `projection` 'umap' is finer but slow the first time (then cached); 'pca' is quick."""
        return tools.drift(reader, start, reference_start, reference_end, limit, projection)

    def monitors(window: str | None = None) -> dict[str, Any]:
        """Run the monitor rules once (model deprecation, cost jumps and budgets, latency SLOs, error rates,
        evaluation pass rates) and list what fired, with a filter expression for the offending spans."""
        return tools.monitors(reader, window)

    for func in (overview, find_traces, get_trace, get_span, sql, summary, drift, monitors):
        tool(func)
    if config.get("mcp_write", write):

        def annotate(name: str, span_id: str | None = None, trace_id: str | None = None, score: float | None = None,
                     label: str | None = None, explanation: str | None = None) -> dict[str, Any]:
            """Annotate a span (span_id) or a whole trace (trace_id) with an evaluation: a `name` such as
            'correctness', and a `score`, a `label` or both, with an optional `explanation`."""
            return tools.annotate(reader, name, trace_id, span_id, score, label, explanation)

        tool(annotate)
    return server
