"""Traces in the terminal: ``workbench traces``, ``workbench trace ID`` and ``workbench tail``.

Lines are coloured on a terminal and plain when piped (click drops the colours by itself);
``--json`` prints the same fields for scripts, with stable names.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Any

import click

from workbench import config
from workbench.cli.one_line import one_line_errors, one_source, server_url_option
from workbench.cli.sql import to_json
from workbench.pricing.money import usd

__all__ = ["SPAN_JSON_FIELDS", "TRACE_JSON_FIELDS", "tail", "trace_command", "traces_command"]

#: The fields of each trace in ``workbench traces --json``, in this order.
TRACE_JSON_FIELDS = ("trace_id", "start_time", "name", "span_kind", "status_code", "project", "latency_ms",
                     "span_count", "error_count", "llm_count", "models", "prompt_tokens", "completion_tokens",
                     "total_tokens", "cost", "root_missing", "unpriced_calls")
#: The fields of each span in ``workbench trace --json`` and ``workbench tail --json``, in this order.
SPAN_JSON_FIELDS = ("trace_id", "span_id", "parent_span_id", "name", "span_kind", "start_time", "end_time",
                    "latency_ms", "status_code", "status_message", "project", "model_name", "prompt_tokens",
                    "completion_tokens", "total_tokens", "cost", "input_value", "output_value")
_TAIL_COLUMNS = [c for c in SPAN_JSON_FIELDS if c not in ("cost", "input_value", "output_value")]
_KIND_COLOURS = {"LLM": "magenta", "TOOL": "yellow", "RETRIEVER": "cyan", "AGENT": "blue", "CHAIN": "white",
                 "EMBEDDING": "cyan", "RERANKER": "cyan", "GUARDRAIL": "red", "EVALUATOR": "green"}
_WINDOW = dt.timedelta(minutes=2)  # how late after its end a span may arrive and still be tailed

_source = [
    click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
                 help=f"The DuckDB file (default: ${config.SETTINGS['db'].env})."),
    click.option("--url", default=None, callback=server_url_option,
                 help="Read from a running server instead, e.g. http://127.0.0.1:4318."),
    click.option("--lake", default=None,
                 help="Read a Parquet lake instead: a folder or s3://bucket/prefix (docs/scale-out.md)."),
]


def _with_source(func: Any) -> Any:
    for option in reversed(_source):
        func = option(func)
    return func


def _open(db: str | None, url: str | None, lake: str | None = None) -> Any:
    import workbench

    one_source(db=db, url=url, lake=lake)
    if lake:
        from workbench.read.lake import open_lake

        return open_lake(lake)
    return workbench.open(url or db)


def _trace_cost(cost: Any, unpriced_calls: Any) -> str:
    """A trace's cost for its line: the known sum, and the calls without a price it leaves out
    (never $0 for them)."""
    unpriced = 0 if _missing(unpriced_calls) else int(unpriced_calls)
    left_out = f"{unpriced} call{'s' if unpriced != 1 else ''} unpriced"
    if _missing(cost):
        return f" {left_out}" if unpriced else ""
    return f" {usd(cost)}" + (f" + {left_out}" if unpriced else "")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _ms(value: Any) -> str:
    if _missing(value):
        return "?"
    return f"{value / 1000:.2f}s" if value >= 1000 else f"{value:.0f}ms"


def _time(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
    return str(value)


def _record(row: dict[str, Any], fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    out = {}
    for name in fields:
        value: Any = row.get(name)
        if hasattr(value, "tolist"):
            value = value.tolist()
        out[name] = None if _missing(value) else value
    return out


@click.command("traces")
@click.argument("filter", required=False)
@click.option("--since", default=None, help="Only traces that started this long ago or later: 15m, 1h, 7d.")
@click.option("--project", default=None, help="Only this project's traces.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="How many traces, latest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of traces with fixed fields).")
@_with_source
@one_line_errors
def traces_command(filter: str | None, since: str | None, project: str | None, limit: int, as_json: bool,
                   db: str | None, url: str | None, lake: str | None) -> None:
    """List the latest traces (any of whose spans match FILTER, e.g. "span_kind == 'LLM'")."""
    reader = _open(db, url, lake)
    try:
        rows = reader.traces(filter, start=since, project=project, limit=limit, arrow=True).to_pylist()
    finally:
        reader.close()
    if as_json:
        click.echo(to_json([_record(row, TRACE_JSON_FIELDS) for row in rows]))
        return
    for row in rows:
        status = click.style("ERROR", fg="red", bold=True) if row["error_count"] else click.style("ok", fg="green")
        cost = _trace_cost(row.get("cost"), row.get("unpriced_calls"))
        tokens = "" if _missing(row.get("total_tokens")) else f" {row['total_tokens']} tok"
        models = ",".join(row.get("models") or [])
        click.echo(
            f"{row['start_time'].astimezone(dt.timezone.utc):%Y-%m-%d %H:%M:%S} "
            f"{click.style(row['trace_id'], dim=True)} "
            f"{click.style(str(row['name']), bold=True)} {_ms(row['latency_ms'])} {row['span_count']} spans "
            f"{status}{(' ' + models) if models else ''}{tokens}{cost}"
        )
    if not rows:
        click.echo("No traces match.", err=True)


@click.command("trace")
@click.argument("trace_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the trace id and its spans with fixed fields.")
@click.option("--md", "as_md", is_flag=True, help="Print Markdown for an LLM or a bug report.")
@click.option("--max-chars", type=click.IntRange(500), default=None,
              help="The Markdown's size budget, in characters (default: $WORKBENCH_MARKDOWN_CHARS, 24000).")
@_with_source
@one_line_errors
def trace_command(trace_id: str, as_json: bool, as_md: bool, max_chars: int | None, db: str | None, url: str | None,
                  lake: str | None) -> None:
    """Print one trace as a tree (or --md, --json)."""
    if as_md and as_json:
        raise click.UsageError("Give --md or --json, not both: each is a whole answer of its own.")
    reader = _open(db, url, lake)
    try:
        trace = reader.trace(trace_id)
    finally:
        reader.close()
    if as_md:
        click.echo(trace.to_markdown(max_chars=max_chars), nl=False)
        return
    if as_json:
        spans = []
        for node in trace:
            record = _record(dict(node.span), SPAN_JSON_FIELDS)
            record.update(depth=node.depth, self_time_ms=node.self_time_ms)
            spans.append(record)
        click.echo(to_json({"trace_id": trace.trace_id, "duration_ms": trace.duration_ms, "spans": spans}))
        return
    for node in trace:
        click.echo("  " * node.depth + _span_line(node.span, node.duration_ms, with_time=False))


def _span_line(span: dict[str, Any], duration_ms: Any, *, with_time: bool = True) -> str:
    kind = str(span.get("span_kind") or "UNKNOWN")
    parts = [_time(span.get("start_time"))] if with_time else []
    parts += [click.style(f"{kind:<9}", fg=_KIND_COLOURS.get(kind)), click.style(str(span.get("name")), bold=True),
              _ms(duration_ms)]
    if span.get("model_name"):
        parts.append(str(span["model_name"]))
    prompt, completion = span.get("prompt_tokens"), span.get("completion_tokens")
    if not _missing(prompt) or not _missing(completion):
        parts.append(f"{0 if _missing(prompt) else prompt}→{0 if _missing(completion) else completion} tok")
    if span.get("status_code") == "ERROR":
        message = str(span.get("status_message") or "")[:120]
        parts.append(click.style("ERROR" + (f": {message}" if message else ""), fg="red", bold=True))
    return " ".join(parts)


@click.command("tail")
@click.argument("filter", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per span (JSON Lines).")
@click.option("--interval", type=click.FloatRange(0.05), default=1.0, show_default=True,
              help="Seconds between looks for new spans.")
@click.option("--count", type=click.IntRange(1), default=None, help="Stop after this many spans.")
@click.option("--for", "for_s", type=click.FloatRange(0, min_open=True), default=None,
              help="Stop after this many seconds.")
@_with_source
@one_line_errors
def tail(filter: str | None, as_json: bool, interval: float, count: int | None, for_s: float | None,
         db: str | None, url: str | None, lake: str | None) -> None:
    """Print new spans as they arrive, one line each (Ctrl-C stops).

    A span is shown once it is stored, if it arrives within two minutes of its end.
    """
    reader = _open(db, url, lake)
    if filter:  # checked alone first: a mistake is reported in the user's words, not in the time-bound query's
        try:
            reader.spans(filter, columns=["span_id"], limit=0, arrow=True)
        except BaseException:
            reader.close()
            raise
    seen: dict[str, dt.datetime] = {}
    shown = 0
    started = time.monotonic()
    since = dt.datetime.now(dt.timezone.utc)
    try:
        while True:
            now = dt.datetime.now(dt.timezone.utc)
            where = f"end_time >= '{(since - _WINDOW).isoformat()}'"
            rows = reader.spans(f"({filter}) and {where}" if filter else where, columns=_TAIL_COLUMNS,
                                order_by="end_time", limit=5000, arrow=True).to_pylist()
            for row in rows:
                if row["span_id"] in seen:
                    continue
                seen[row["span_id"]] = row["end_time"]
                if as_json:
                    click.echo(to_json(_record(row, _TAIL_COLUMNS)))
                else:
                    click.echo(_span_line(row, row.get("latency_ms")))
                shown += 1
                if count is not None and shown >= count:
                    return
            since = now
            for span_id in [k for k, end in seen.items() if end < now - 2 * _WINDOW]:
                del seen[span_id]
            if for_s is not None and time.monotonic() - started >= for_s:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()
