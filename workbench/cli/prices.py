"""``workbench prices``: list, set, remove, import, export and test model prices.

Each command makes one call on :class:`workbench.pricing.prices.Prices` (the shipped table
plus the user's price file) and prints the answer. Costs are computed when queried, so a
price set here re-costs every stored call at once.
"""

from __future__ import annotations

from typing import Any

import click

from workbench import config
from workbench.cli.one_line import one_line_errors
from workbench.errors import ConfigError
from workbench.pricing.money import rate

__all__ = ["prices"]

_FILE = config.SETTINGS["prices"]



def _prices(ctx: click.Context) -> Any:
    from workbench.pricing.prices import Prices

    return Prices(ctx.obj)


@click.group("prices")
@click.option(
    "--file", "path", type=click.Path(dir_okay=False), default=None,
    help=f"The user's price file (default: ${_FILE.env} or {_FILE.default}).",
)
@click.pass_context
def prices(ctx: click.Context, path: str | None) -> None:
    """Model prices (USD per million tokens): the shipped table plus your own rows.

    Your rows beat shipped ones; the most specific pattern wins; a row with a start day
    prices calls from that day on. Cost is computed when queried, so a change here
    re-costs history at once.
    """
    ctx.obj = path


@prices.command("list")
@click.argument("model", required=False)
@click.option("--user", "user_only", is_flag=True, help="Only your own rows.")
@click.pass_context
@one_line_errors
def list_cmd(ctx: click.Context, model: str | None, user_only: bool) -> None:
    """List price rows; with MODEL, the rows whose pattern matches that name."""
    frame = _prices(ctx).list(model, user_only=user_only)
    if not len(frame):
        click.echo("No price rows." if not model else f"No price row matches {model!r}.")
        return
    shown = frame[["origin", "provider", "model", "pattern", "input", "output", "cache_read", "cache_write",
                   "reasoning", "valid_from"]].copy()
    for name in ("input", "output", "cache_read", "cache_write", "reasoning"):
        shown[name] = shown[name].map(lambda value: rate(value, symbol=False))
    shown = shown.astype(object).where(shown.notna(), "")
    click.echo(shown.to_string(index=False))


# The price columns as ``prices set`` spells them.
_FLAGS = {"input": "--input", "output": "--output", "cache_read": "--cache-read", "cache_write": "--cache-write",
          "reasoning": "--reasoning", "valid_from": "--from"}


def _as_flags(message: str) -> str:
    """A price row's error as the command's user reads it: no function name, flags for columns."""
    message = message.removeprefix("set_price: ")
    first, _, rest = message.partition(" ")
    return f"{_FLAGS[first]} {rest}" if first in _FLAGS else message


@prices.command("set")
@click.argument("pattern")
@click.option("--input", "input_", type=float, required=True, help="USD per million uncached input tokens.")
@click.option("--output", type=float, required=True, help="USD per million output tokens.")
@click.option("--cache-read", type=float, default=None, help="USD per million cache-read tokens (default: as input).")
@click.option("--cache-write", type=float, default=None, help="USD per million cache-write tokens (default: as input).")
@click.option("--reasoning", type=float, default=None, help="USD per million reasoning tokens (default: as output).")
@click.option("--provider", default=None, help="Only calls to this provider (default: any).")
@click.option("--model", default=None, help="A display name (default: the pattern).")
@click.option("--from", "valid_from", default=None, help="The first day it applies, YYYY-MM-DD (default: always).")
@click.option("--source", default=None, help="Where the figure comes from (a contract, a URL).")
@click.pass_context
@one_line_errors
def set_cmd(ctx: click.Context, pattern: str, input_: float, **fields: Any) -> None:
    """Add a price for model names matching PATTERN (a regular expression), or replace it.

    A row is replaced when pattern, provider and --from are the same; a new --from keeps
    the old price for the days before it.
    """
    table = _prices(ctx)
    try:
        row = table.set(pattern, input=input_, **fields)
    except ConfigError as exc:
        raise ConfigError(_as_flags(str(exc))) from None
    since = f"from {row.valid_from}" if row.valid_from else "always"
    click.echo(
        f"Set {row.model!r} ({row.provider or 'any provider'}, {since}): {rate(row.input)} in, "
        f"{rate(row.output)} out per million tokens, in {table.path}."
    )


@prices.command("remove")
@click.argument("pattern")
@click.option("--provider", default=None, help="Only the row for this provider.")
@click.option("--from", "valid_from", default=None, help="Only the row starting this day, YYYY-MM-DD.")
@click.pass_context
@one_line_errors
def remove_cmd(ctx: click.Context, pattern: str, provider: str | None, valid_from: str | None) -> None:
    """Remove your rows for PATTERN (shipped rows stay; override them with `set`)."""
    table = _prices(ctx)
    removed = table.remove(pattern, provider=provider, valid_from=valid_from)
    click.echo(f"Removed {removed} row{'s' if removed != 1 else ''} from {table.path}.")


@prices.command("import")
@click.argument("source", type=click.Path(dir_okay=False))
@click.pass_context
@one_line_errors
def import_cmd(ctx: click.Context, source: str) -> None:
    """Add the rows of a .json or .csv file to your prices (same key: replaced)."""
    table = _prices(ctx)
    added = table.import_from(source)
    click.echo(f"Imported {added} row{'s' if added != 1 else ''} into {table.path}.")


@prices.command("export")
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("--all", "everything", is_flag=True, help="Every row, the shipped ones too (default: yours).")
@click.pass_context
@one_line_errors
def export_cmd(ctx: click.Context, target: str, everything: bool) -> None:
    """Write your rows (or all rows) to a .json or .csv file."""
    written = _prices(ctx).export_to(target, user_only=not everything)
    click.echo(f"Exported {written} row{'s' if written != 1 else ''} to {target}.")


@prices.command("test")
@click.argument("model")
@click.option("--provider", default=None, help="The provider the calls name (openai, aws.bedrock ...).")
@click.option("--at", default=None, help="The day to price, YYYY-MM-DD (default: today, UTC).")
@click.pass_context
@one_line_errors
def test_cmd(ctx: click.Context, model: str, provider: str | None, at: str | None) -> None:
    """Show which row prices MODEL and why."""
    click.echo(_prices(ctx).test(model, provider, at))


@prices.command("unpriced")
@click.option("--db", type=click.Path(dir_okay=False), default=None,
              help=f"The DuckDB file (default: ${config.SETTINGS['db'].env} or {config.SETTINGS['db'].default}).")
@click.option("--start", default=None, help="Only calls since then: 24h, 7d or an ISO time (default: all).")
@click.pass_context
@one_line_errors
def unpriced_cmd(ctx: click.Context, db: str | None, start: str | None) -> None:
    """List the stored models no price row prices (their cost is unknown, not $0)."""
    import workbench
    from workbench.analysis.cost import unpriced_models

    reader: Any = workbench.open(db)  # a server's reader: the analysis refuses it in one sentence
    try:
        frame = unpriced_models(reader, start=start, prices=_prices(ctx).table())
    finally:
        reader.close()
    if not len(frame):
        click.echo("Every stored call has a price.")
        return
    for row in frame.itertuples():
        provider = f" ({row.provider})" if row.provider else ""
        calls = f"{row.calls} call{'s' if row.calls != 1 else ''}"
        click.echo(f"{row.model_name or '(no model name)'}{provider}: {calls}, "
                   f"{row.prompt_tokens} input and {row.completion_tokens} output tokens; {row.reason}.")
        click.echo(f"    {row.fix}")
