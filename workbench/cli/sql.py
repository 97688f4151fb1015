"""``workbench sql``: one read-only SELECT over a file or a server, printed as a table, CSV,
JSON or Parquet."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from typing import Any

import click

from workbench import config
from workbench.cli.one_line import one_line_errors, one_source, server_url_option

__all__ = ["sql_command", "to_json"]


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        text = value.isoformat()
        return text.replace("+00:00", "Z")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """JSON for scripts: times as ISO 8601 (UTC ``Z``), NaN as null, keys in a fixed order."""
    return json.dumps(_plain(value), ensure_ascii=False, default=str)


@click.command("sql")
@click.argument("query")
@click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
              help=f"The DuckDB file (default: ${config.SETTINGS['db'].env}).")
@click.option("--url", default=None, callback=server_url_option,
              help="Ask a running server instead, e.g. http://127.0.0.1:4318 (needed while it holds the file).")
@click.option("--lake", default=None,
              help="Query a Parquet lake instead: a folder or s3://bucket/prefix (docs/scale-out.md).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "parquet"]), default="table",
              show_default=True, help="How to print the rows (parquet: binary, to --out or a pipe).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write to this file instead of stdout.")
@click.option("--max-rows", type=click.IntRange(0), default=None,
              help="Return at most this many rows (a server also applies its own cap).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0, min_open=True), default=None,
              help="Stop the query after this many seconds.")
@one_line_errors
def sql_command(query: str, db: str | None, url: str | None, lake: str | None, fmt: str, out: str | None,
                max_rows: int | None, timeout_s: float | None) -> None:
    """Run one read-only SELECT over the tables (spans, spans_cost, documents ...; see docs/sql.md).

    \b
    workbench sql "SELECT model_name, sum(cost) FROM spans_cost GROUP BY 1"
    workbench sql "SELECT * FROM spans LIMIT 100" --format csv --url 127.0.0.1:4318 > spans.csv
    """
    import warnings

    import workbench
    from workbench.read.lake import open_lake

    one_source(db=db, url=url, lake=lake)
    reader = open_lake(lake) if lake else workbench.open(url or db)
    try:
        with warnings.catch_warnings(record=True) as cut:
            warnings.simplefilter("always")
            table = reader.sql(query, arrow=True, max_rows=max_rows, timeout_s=timeout_s)
    finally:
        reader.close()
    for warning in cut:
        click.echo(f"Note: {warning.message}", err=True)
    if fmt == "parquet":
        from workbench.read.tablefile import parquet_bytes

        if out is None and sys.stdout.isatty():
            raise click.UsageError("Parquet is binary: pass --out FILE, or pipe the output to a file.")
        _write(parquet_bytes(table), out)
        return
    if fmt == "csv":
        text = table.to_pandas().to_csv(index=False)
    elif fmt == "json":
        text = to_json({"columns": table.column_names, "rows": table.to_pylist(), "row_count": table.num_rows}) + "\n"
    else:
        frame = table.to_pandas()
        text = (frame.to_string(index=False, max_colwidth=60) if len(frame.columns) else "") + "\n"
        text += f"({table.num_rows} row{'s' if table.num_rows != 1 else ''})\n"
    _write(text.encode(), out)


def _write(data: bytes, out: str | None) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(out, "wb") as handle:
            handle.write(data)
