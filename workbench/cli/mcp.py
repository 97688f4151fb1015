"""``workbench mcp``: the MCP server over stdio, for an agent the user's editor starts."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from workbench import config
from workbench.cli.one_line import one_line_errors, one_source, server_url_option

__all__ = ["mcp_command"]


@click.command("mcp")
@click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
              help=f"The DuckDB file (default: ${config.SETTINGS['db'].env}).")
@click.option("--url", default=None, callback=server_url_option,
              help="Read a running server instead, e.g. http://127.0.0.1:4318 (needed while it holds the file).")
@click.option("--lake", default=None,
              help="Read a Parquet lake instead: a folder or s3://bucket/prefix (read only; docs/scale-out.md).")
@click.option("--write", is_flag=True, default=None,
              help="Offer the annotate tool, which writes (default: read only; $WORKBENCH_MCP_WRITE).")
@one_line_errors
def mcp_command(db: str | None, url: str | None, lake: str | None, write: bool | None) -> None:
    """Serve workbench's tools to an agent over stdio (MCP).

    \b
    In the editor's MCP settings:  {"command": "workbench", "args": ["mcp"]}
    stdout carries the protocol; messages go to stderr.
    """
    import workbench
    from workbench.mcp.server import build_server

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    allow = config.get("mcp_write", write)
    one_source(db=db, url=url, lake=lake)
    if lake:
        from workbench.read.lake import open_lake

        reader: Any = open_lake(lake)
    else:
        reader = workbench.open(url or db, read_only=not allow)
    try:
        build_server(reader, write=allow).run("stdio")
    finally:
        reader.close()
