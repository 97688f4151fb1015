"""``workbench lake``: keep a Parquet lake in shape, and list what readers should read."""

from __future__ import annotations

import click

from workbench.cli.one_line import one_line_errors

__all__ = ["lake"]

_endpoint = click.option("--endpoint", default=None,
                         help="An S3-compatible endpoint, e.g. http://127.0.0.1:9000 (default: "
                              "$WORKBENCH_LAKE_ENDPOINT, else $AWS_ENDPOINT_URL).")
_grace = click.option("--grace-s", type=click.FloatRange(0), default=600.0, show_default=True,
                      help="Seconds a replaced file or commit is kept for readers still reading it.")


@click.group()
def lake() -> None:
    """Maintain a Parquet lake that `workbench serve --lake` publishes to."""


@lake.command()
@click.argument("uri")
@_endpoint
@_grace
@one_line_errors
def compact(uri: str, endpoint: str | None, grace_s: float) -> None:
    """Merge each partition's small files into one; readers never see a row twice or miss one."""
    from workbench.lake.maintain import compact as run

    report = run(uri, endpoint=endpoint, grace_s=grace_s)
    click.echo(f"Compacted {report.partitions_compacted} partitions ({report.files_merged} files into "
               f"{report.files_written}); deleted {report.files_deleted} files out of sight.")


@lake.command()
@click.argument("uri")
@click.option("--days", type=click.IntRange(0), required=True, help="Keep this many days before today (UTC).")
@_endpoint
@_grace
@one_line_errors
def retain(uri: str, days: int, endpoint: str | None, grace_s: float) -> None:
    """Drop the partitions of days older than --days."""
    from workbench.lake.maintain import retain as run

    report = run(uri, days, endpoint=endpoint, grace_s=grace_s)
    click.echo(f"Partitions before {report.cutoff} are dropped; deleted {report.files_deleted} files out of sight.")


@lake.command()
@click.argument("uri")
@click.option("--table", type=click.Choice(["spans", "documents", "embeddings", "annotations"]), default="spans",
              show_default=True)
@_endpoint
@one_line_errors
def files(uri: str, table: str, endpoint: str | None) -> None:
    """Print the committed files of one table, one a line (for duckdb.read_parquet or Spark)."""
    from workbench.lake import committed_files, require_lake

    for path in committed_files(require_lake(uri, endpoint=endpoint), table):
        click.echo(path)
