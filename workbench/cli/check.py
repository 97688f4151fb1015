"""``workbench check``: run the monitor rules once, print what fired, exit non-zero if any did.

Exit codes, for CI and cron: 0 nothing fired, 1 a rule fired, 2 the check could not run
(a bad monitors file, an unreadable store, an unreachable server).
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import TYPE_CHECKING, Any

import click

from workbench import config
from workbench.cli.one_line import cli_message, one_source, server_url_option
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.monitors import AlertLog
    from workbench.monitors.check import Results

__all__ = ["check"]

_FILE = config.SETTINGS["monitors"]
FIRED, FAILED = 1, 2


@click.command("check")
@click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
              help=f"The DuckDB file (default: ${config.SETTINGS['db'].env} or {config.SETTINGS['db'].default}).")
@click.option("--url", default=None, callback=server_url_option, help="Check a running server instead of a file, e.g. http://127.0.0.1:4318.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help=f"The monitors file, TOML or JSON (default: ${_FILE.env} or {_FILE.default}; "
                   "without it the default rules run).")
@click.option("--window", default=None,
              help="How far back rules look, e.g. 1h for an hourly cron job (default: the file's, else 14d).")
@click.option("--json", "as_json", is_flag=True, help="Print every result as JSON instead of text.")
@click.option("--all", "show_all", is_flag=True, help="Also list the rules that did not fire.")
@click.option("--notify/--no-notify", default=True, show_default=True,
              help="Tell the monitors file's [webhook], [slack] and [pagerduty] what fired, when it has them.")
def check(db: str | None, url: str | None, config_path: str | None, window: str | None, as_json: bool,
          show_all: bool, notify: bool) -> None:
    """Run the monitor rules once; exit 1 if one fired, 2 if the check could not run.

    \b
    The default rules, each tunable in the monitors file ([rules.NAME] tables):
      model_deprecation  a model stops being called, or fails with 404/model_not_found/deprecated
      cost_jump          cost per day over 3x its trailing 7-day median, per feature
      latency_slo        p99 latency of LLM calls over 10 s, per model and day
      error_rate         failed model calls over 5% (or 3x the trailing rate), per model and hour
      eval_pass_rate     an evaluation's pass rate 15 points under its trailing 7-day rate
    and cost_budget (budget = USD per day), off until given a budget.

    In a GitHub Actions job (GITHUB_ACTIONS=true), what fired is also written as
    ::error/::warning annotations and as a table in the job summary.
    """
    import workbench
    from workbench import monitors

    one_source(db=db, url=url)
    try:
        cfg = monitors.load_config(config_path)
        reader = workbench.open(url or db)
        try:
            results = monitors.check(reader, cfg, window=window)
        finally:
            reader.close()
    except WorkbenchError as exc:
        click.echo(cli_message(exc), err=True)
        sys.exit(FAILED)
    except Exception:  # noqa: BLE001 - a bug, not a finding: exit 2 (not 1, which means "fired"), with the traceback
        traceback.print_exc()
        sys.exit(FAILED)
    target = url or str(config.get("db", db))
    deliveries = {}
    if notify:
        for name, channel in cfg.channels().items():
            log = _alert_log(cfg, name, channel.state, target)
            deliveries[name] = monitors.notify(results, channel, checked_at=results.checked_at, log=log)
    in_actions, summary_file = config.github_actions()
    if as_json:
        click.echo(json.dumps({
            "checked_at": results.checked_at.isoformat().replace("+00:00", "Z") if results.checked_at else None,
            "config": cfg.source,
            "fired": len(results.fired),
            "results": results.to_dicts(),
            **{name: _delivered(deliveries.get(name)) for name in ("webhook", "slack", "pagerduty")},
        }, indent=2, default=str))
    else:
        _print(results, show_all)
    if in_actions:
        _github(results, summary_file, err=as_json)
    for delivery in deliveries.values():
        if delivery.error:
            click.echo(f"Warning: {delivery.error}", err=True)
    sys.exit(FIRED if results.fired else 0)


def _alert_log(cfg: Any, channel: str, state: str | None, target: str) -> AlertLog | None:
    """The log of what a channel was told: its ``state``, else beside the monitors file."""
    from pathlib import Path

    from workbench.monitors import AlertLog

    if isinstance(state, str) and state.strip().lower() in ("none", ""):
        return None
    if state is None:
        if cfg.source is None:
            return None
        source = Path(cfg.source)
        middle = "" if channel == "webhook" else f".{channel}"
        state = str(source.with_name(f"{source.stem}{middle}.alerts.json"))
    return AlertLog(state, target=target)


def _delivered(delivery: Any) -> dict[str, Any] | None:
    if delivery is None:
        return None
    return {"sent": delivery.sent, "attempts": delivery.attempts, "status": delivery.status, "error": delivery.error,
            "held": delivery.held, "resolved": delivery.resolved}


def _github(results: Results, summary_file: Any, *, err: bool) -> None:
    """In a GitHub Actions job: annotations on the log (stderr beside --json), and the job summary."""
    from workbench.monitors import github

    for line in github.commands(results):
        click.echo(line, err=err)
    if summary_file is not None:
        try:
            github.write_summary(summary_file, github.summary(results, checked_at=results.checked_at))
        except WorkbenchError as exc:
            click.echo(f"Warning: {exc}", err=True)


def _print(results: Results, show_all: bool) -> None:
    shown = [r for r in results if r.fired or show_all]
    for r in shown:
        mark = r.severity.upper() if r.fired else "ok"
        click.echo(f"{mark:<9}{r.rule}: {r.message}")
        if r.fired and r.filter:
            click.echo(f"{'':<9}spans: {r.filter}")
    rules = len({r.rule for r in results})
    fired = len({r.rule for r in results.fired})
    looked = ""
    if results.window is not None and results.checked_at is not None:
        start = (results.checked_at - results.window).strftime("%Y-%m-%d %H:%M")
        looked = f" (from {start} to {results.checked_at.strftime('%Y-%m-%d %H:%M')} UTC)"
    if fired:
        click.echo(f"{fired} of {rules} rule{'s' if rules != 1 else ''} fired{looked}.")
    else:
        click.echo(f"All quiet: none of {rules} rule{'s' if rules != 1 else ''} fired{looked}.")
