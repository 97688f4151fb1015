"""GitHub Actions: what fired as annotations on the run, and a table in the job summary.

When ``workbench check`` runs in a workflow (``GITHUB_ACTIONS=true``), each fired result becomes
a workflow command on the log, ``::error`` for critical, ``::warning`` for warning and
``::notice`` for info, so it shows on the run's page and in the checks of a pull request; and
a Markdown table of every rule's outcome is appended to the file ``GITHUB_STEP_SUMMARY`` names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from workbench.errors import ConfigError
from workbench.monitors.base import Result

__all__ = ["commands", "summary", "write_summary"]

_COMMAND = {"critical": "error", "warning": "warning", "info": "notice"}
_ICON = {"critical": "🔴", "warning": "🟠", "info": "🔵", "ok": "✅"}


def _data(text: str) -> str:
    """A workflow command's message, escaped as the runner reads it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def commands(results: Sequence[Result]) -> list[str]:
    """One workflow command line per fired result (``::warning title=...::message``)."""
    lines = []
    for r in results:
        if not r.fired:
            continue
        about = f" ({r.subject})" if r.subject else ""
        message = r.message + (f"\nspans: {r.filter}" if r.filter else "")
        title = f"workbench {r.rule}{about}"
        lines.append(f"::{_COMMAND.get(r.severity, 'warning')} title={_property(title)}::{_data(message)}")
    return lines


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def summary(results: Sequence[Result], *, checked_at: dt.datetime | None = None, show_all: bool = True) -> str:
    """The job summary: a heading saying how many rules fired, and a table of results."""
    rules = len({r.rule for r in results})
    fired = len({r.rule for r in results if r.fired})
    at = f" at {checked_at.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC" if checked_at else ""
    if fired:
        head = f"## workbench check: {fired} of {rules} rule{'s' if rules != 1 else ''} fired{at}"
    else:
        head = f"## workbench check: all quiet, none of {rules} rule{'s' if rules != 1 else ''} fired{at}"
    rows = ["| | Rule | Subject | What happened | Spans |", "|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: (not r.fired, r.rule)):
        if not r.fired and not show_all:
            continue
        severity = r.severity if r.fired else "ok"
        spans = f"`{_cell(r.filter)}`" if r.fired and r.filter else ""
        rows.append(f"| {_ICON.get(severity, '')} {severity} | `{_cell(r.rule)}` | {_cell(r.subject)} | "
                    f"{_cell(r.message)} | {spans} |")
    return "\n".join([head, "", *rows, ""]) + "\n"


def write_summary(path: str | Path, text: str) -> None:
    """Append ``text`` to the job summary file.

    Raises:
        ConfigError: The file cannot be written.
    """
    try:
        with Path(path).open("a", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        raise ConfigError(f"The job summary {path} (GITHUB_STEP_SUMMARY) cannot be written ({exc.strerror}).") from None
