"""The ``workbench`` command. Each command parses, makes one library call, and prints.

A :class:`~workbench.errors.WorkbenchError` is printed as one line on stderr (exit 1),
never as a traceback.
"""

from __future__ import annotations

import click

from workbench import config
from workbench.cli.check import check
from workbench.cli.evals import eval_command
from workbench.cli.experiments import dataset_group, experiment_group
from workbench.cli.lake import lake
from workbench.cli.mcp import mcp_command
from workbench.cli.one_line import one_line_errors, server_url_option
from workbench.cli.prices import prices
from workbench.cli.sql import sql_command
from workbench.cli.traces import tail, trace_command, traces_command
from workbench.version import __version__

__all__ = ["main"]



_db_option = click.option(
    "--db", "db", type=click.Path(dir_okay=False), default=None,
    help=f"The DuckDB file (default: ${config.SETTINGS['db'].env} or {config.SETTINGS['db'].default}).",
)


_max_age_option = click.option(
    "--max-age", default=None,
    help="Keep traces younger than this, e.g. 30d or 12h (default: the config file's [retention] max_age).",
)
_max_spans_option = click.option(
    "--max-spans", type=int, default=None,
    help="Keep at most this many spans per project, the newest traces whole "
         "(default: the config file's [retention] max_spans).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workbench")
def main() -> None:
    """workbench: see what your LLM application did. Local, no account, no server farm."""


@main.command()
@_db_option
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port for OTLP/HTTP, the API and the app (default 4318; 0 = any free port).")
@click.option("--sample", is_flag=True,
              help="Load the sample data (a fictional support bot's traces) first, into a file of its own "
              "(sample.duckdb beside the default database) unless --db names one.")
@click.option("--no-app", is_flag=True, help="Serve OTLP and the API only, without the web app.")
@click.option("--redact/--no-redact", default=None,
              help="Redact personal data before storing (default: $WORKBENCH_REDACT).")
@click.option("--sample-rate", type=click.FloatRange(0, 1), default=None,
              help="Keep this share of healthy traces; traces with errors are always kept (default: 1, all).")
@click.option("--token", default=None,
              help="Require this access token of every request "
              "(default: $WORKBENCH_TOKEN; beyond loopback one is made up).")
@click.option("--allowed-host", "allowed_hosts", multiple=True,
              help="Also answer to this host name (repeatable; default: $WORKBENCH_ALLOWED_HOSTS).")
@click.option("--allowed-origin", "allowed_origins", multiple=True,
              help="Let web pages of this origin post spans, e.g. http://localhost:3000 "
                   "(repeatable; default: $WORKBENCH_ALLOWED_ORIGINS).")
@click.option("--mcp-write", is_flag=True, default=None,
              help="Let MCP clients of /mcp annotate spans and traces (default: read only; $WORKBENCH_MCP_WRITE).")
@click.option("--lake", "lake_uri", default=None,
              help="Also publish what is stored to this Parquet lake: a folder or s3://bucket/prefix "
                   "(default: $WORKBENCH_LAKE; see docs/scale-out.md).")
@click.option("--lake-endpoint", default=None,
              help="S3-compatible endpoint of an s3:// lake, e.g. http://127.0.0.1:9000 (default: "
                   "$WORKBENCH_LAKE_ENDPOINT, else $AWS_ENDPOINT_URL).")
@click.option("--lake-keep-hours", type=click.IntRange(0), default=None,
              help="Remove published spans older than this many hours from the local file (default: "
                   "$WORKBENCH_LAKE_KEEP_HOURS; 0 keeps all).")
@click.option("--from-lake", default=None,
              help="Serve the app and the API over this lake instead of a file, read-only.")
@_max_age_option
@_max_spans_option
@one_line_errors
def serve(db: str | None, host: str | None, port: int | None, sample: bool, no_app: bool, redact: bool | None,
          sample_rate: float | None, token: str | None, allowed_hosts: tuple[str, ...],
          allowed_origins: tuple[str, ...], mcp_write: bool | None, lake_uri: str | None,
          lake_endpoint: str | None, lake_keep_hours: int | None, from_lake: str | None, max_age: str | None,
          max_spans: int | None) -> None:
    """Receive OTLP spans and serve the app, on one port.

    Beyond loopback (--host 0.0.0.0) every request must present a token, printed at start.
    With retention limits (--max-age, --max-spans, or [retention] in the config file), older
    traces are removed in the background, hourly unless the file says otherwise.
    """
    if from_lake:  # a read-only server over a lake: options about a file or taking spans mean nothing there
        ignored = [name for name, value in (
            ("--db", db), ("--sample", sample or None), ("--redact/--no-redact", redact),
            ("--sample-rate", sample_rate),
            ("--mcp-write", mcp_write or None), ("--lake", lake_uri), ("--lake-keep-hours", lake_keep_hours),
            ("--max-age", max_age), ("--max-spans", max_spans)) if value is not None]
        if ignored:
            raise click.UsageError(f"--from-lake serves a lake read-only, so {', '.join(ignored)} cannot apply; "
                                   "give those to the ingesters (workbench serve --lake), or leave out --from-lake.")
    sockets = None
    if not from_lake:
        # The port before the imports below: a browser opened at once waits instead of being refused.
        from workbench.server.listen import listen

        host = config.get("host", host)
        sockets = listen(host, config.get("port", port))
    from workbench.server.run import serve as run
    from workbench.store.retention import load_retention

    retention = load_retention(max_age=max_age, max_spans=max_spans)
    run(db=db, host=host, port=port, sample=sample, app=not no_app, redact=redact, sample_rate=sample_rate,
        token=token, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins, mcp_write=mcp_write,
        lake=lake_uri, lake_endpoint=lake_endpoint, lake_keep_hours=lake_keep_hours, from_lake=from_lake,
        echo=click.echo, retention=retention, sockets=sockets)


@main.command()
@_db_option
@_max_age_option
@_max_spans_option
@click.option("--project", default=None, help="Apply --max-age and --max-spans to this project only.")
@click.option("--export", "export_dir", type=click.Path(file_okay=False), default=None,
              help="First write every table as Parquet into this folder (as `workbench export` does).")
@click.option("--compact/--no-compact", default=True, show_default=True,
              help="Copy what is left into a new file that takes the old one's place, so the file shrinks.")
@one_line_errors
def vacuum(db: str | None, max_age: str | None, max_spans: int | None, project: str | None,
           export_dir: str | None, compact: bool) -> None:
    """Remove traces beyond the retention limits, and give the space back.

    The limits are the options' over the [retention] table of the config file. A served file
    cannot be vacuumed from another process: `workbench serve` applies the same limits itself.
    """
    from pathlib import Path

    from workbench.errors import StoreError, StoreLockedError
    from workbench.store import Store
    from workbench.store import retention as keep

    limits = keep.load_retention(max_age=max_age, max_spans=max_spans, project=project)
    path = Path(config.get("db", db)).expanduser()
    if not path.is_file():
        raise StoreError(f"There is no database file at {path}; check --db or WORKBENCH_DB.")
    try:
        store = Store(path)
    except StoreLockedError:
        raise StoreError(f"{path} is in use by another process (a running workbench serve?); stop it first, or "
                         "let the server apply the limits: workbench serve --max-age 30d, or [retention] in the "
                         "config file.") from None
    with store:
        if export_dir is not None:
            counts = store.export_parquet(export_dir)
            click.echo(f"Exported to {export_dir}: " + (", ".join(f"{n} {t}" for t, n in counts.items() if n)
                                                         or "nothing"))
        removed = keep.apply(store, limits)
        click.echo(f"Removed {removed.spans} spans ({removed.traces} traces): {limits.describe()}.")
        if compact:
            before, after = keep.compact(store)
            click.echo(f"Compacted {store.path}: {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB.")


@main.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False))
@_db_option
@click.option("--url", default=None, callback=server_url_option,
              help="Export from a running server instead of a file, e.g. http://127.0.0.1:4318 "
              "(its token: the ?token= of the address it printed, or $WORKBENCH_TOKEN).")
@one_line_errors
def export_cmd(out_dir: str, db: str | None, url: str | None) -> None:
    """Write every table as Parquet, partitioned by day, into OUT_DIR."""
    import workbench

    reader = workbench.open(url or db)
    try:
        counts = reader.export_parquet(out_dir)
    finally:
        reader.close()
    click.echo(f"Exported to {out_dir}: " + ", ".join(f"{n} {t}" for t, n in counts.items() if n))


@main.command("import")
@click.argument("path", type=click.Path(exists=True))
@_db_option
@one_line_errors
def import_cmd(path: str, db: str | None) -> None:
    """Import Parquet written by `workbench export` (a folder, or one file of spans)."""
    from workbench.store import Store
    from workbench.store.fresh import removed_on_failure

    with removed_on_failure(db), Store(db) as store:
        added = store.import_parquet(path)
    counts = ", ".join(f"{n} {t}" for t, n in added.items() if n)
    click.echo(f"Imported into {store.path}: " + (counts or "nothing new"))


@main.command()
def settings() -> None:
    """List every WORKBENCH_* setting with its default."""
    for row in config.describe():
        click.echo(f"{row['env']}\n    {row['doc']}")


main.add_command(prices)
main.add_command(eval_command)
main.add_command(check)
main.add_command(sql_command)
main.add_command(traces_command)
main.add_command(trace_command)
main.add_command(tail)
main.add_command(mcp_command)
main.add_command(lake)
main.add_command(dataset_group)
main.add_command(experiment_group)

if __name__ == "__main__":  # pragma: no cover
    main()
