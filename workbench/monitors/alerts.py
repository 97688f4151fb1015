"""What a webhook has been told, kept between checks, so a cron job does not repeat itself.

A rule looks back over a window of days, so a cost jump of Tuesday still fires on Wednesday's
hourly checks. :class:`AlertLog` remembers, per alert (a rule and its subject, for one store),
when the webhook was last told and whether the alert was still ongoing then, and
:meth:`AlertLog.due` picks what is news:

- an alert not told before (also one that is already over: nobody heard of it yet);
- a told alert that is still ongoing after ``repeat_after``, or whose severity rose;
- a told alert that is ongoing again after it had stopped (a new episode);
- with ``send_resolved``, a told alert that stopped: no longer ongoing, or no longer firing.

The log is a small JSON file; :meth:`AlertLog.record` updates it once a delivery succeeded,
so an undelivered alert is due again at the next check.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError
from workbench.monitors.base import SEVERITIES, Result

__all__ = ["AlertLog", "Due", "Resolved"]

_UTC = dt.timezone.utc
_VERSION = 1


@dataclass(frozen=True)
class Resolved:
    """A told alert that has stopped."""

    rule: str
    subject: str
    since: dt.datetime | None
    resolved_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (times as ISO text)."""
        return {"rule": self.rule, "subject": self.subject, "since": _iso(self.since),
                "resolved_at": _iso(self.resolved_at)}

    def __str__(self) -> str:
        about = f" ({self.subject})" if self.subject else ""
        return f"[resolved] {self.rule}{about}: no longer ongoing"


@dataclass
class Due:
    """What a check should tell: fired results that are news, and alerts that stopped.

    ``held`` counts fired results left out because the webhook was told already.
    """

    fired: list[Result] = field(default_factory=list)
    resolved: list[Resolved] = field(default_factory=list)
    held: int = 0
    _entries: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def __bool__(self) -> bool:
        return bool(self.fired or self.resolved)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(_UTC).isoformat().replace("+00:00", "Z")


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_UTC)


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


class AlertLog:
    """The alerts a webhook was told about, in a JSON file.

    Args:
        path: The file (created on first record; its folder too).
        target: The store checked (a path or URL): one file can serve several stores.
    """

    def __init__(self, path: str | Path, target: str = "") -> None:
        self.path = Path(path).expanduser()
        self.target = target

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"The alert log {self.path} cannot be read ({exc.strerror}); check its permissions, "
                              "or point [webhook] state at another file.") from None
        try:
            data = json.loads(text)
            alerts = data["alerts"]
            if not isinstance(alerts, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            # A damaged log costs one round of repeated alerts, never the check itself.
            return {}
        return alerts

    def _key(self, rule: str, subject: str) -> str:
        return f"{self.target}\t{rule}\t{subject}"

    def due(self, results: Sequence[Result], *, now: dt.datetime, repeat_after: dt.timedelta | None,
            send_resolved: bool = True) -> Due:
        """What to tell now, given the results of a check of :attr:`target` at ``now``.

        Args:
            results: Every result of the check, fired or not.
            now: The time of the check.
            repeat_after: Tell an ongoing alert again after this long; None tells it once.
            send_resolved: Also tell when a told alert stops.
        """
        entries = self._load()
        due = Due()
        seen: set[str] = set()

        def stop(key: str, entry: dict[str, Any], *, forget: bool) -> None:
            # A told alert that stopped: say so once, then forget it or keep it as resolved.
            if not entry.get("resolved") and send_resolved:
                due.resolved.append(Resolved(str(entry.get("rule")), str(entry.get("subject")),
                                             _time(entry.get("since")), now))
            due._entries[key] = {} if forget else {**entry, "resolved": True}

        for result in results:
            key = self._key(result.rule, result.subject)
            seen.add(key)
            entry = entries.get(key)
            if not result.fired:
                if entry is not None:
                    stop(key, entry, forget=True)
                continue
            new_entry = {"rule": result.rule, "subject": result.subject, "since": _iso(result.since),
                         "severity": result.severity, "told_at": _iso(now), "resolved": not result.ongoing}
            if entry is None:
                due.fired.append(result)
                due._entries[key] = new_entry
            elif entry.get("resolved"):
                if result.ongoing:  # it stopped, and started again
                    due.fired.append(result)
                    due._entries[key] = new_entry
            elif not result.ongoing:
                stop(key, entry, forget=False)
            else:
                told = _time(entry.get("told_at"))
                worse = _rank(result.severity) > _rank(str(entry.get("severity")))
                if worse or told is None or (repeat_after is not None and now - told >= repeat_after):
                    due.fired.append(result)
                    due._entries[key] = new_entry
                else:
                    due.held += 1
        prefix = f"{self.target}\t"
        for key, entry in entries.items():
            if key.startswith(prefix) and key not in seen:  # its rule no longer runs
                stop(key, entry, forget=True)
        return due

    def record(self, due: Due) -> None:
        """Write down what ``due`` told (call it once the delivery succeeded).

        Raises:
            ConfigError: The file cannot be written.
        """
        if not due._entries:
            return
        entries = self._load()
        for key, entry in due._entries.items():
            if entry:
                entries[key] = entry
            else:
                entries.pop(key, None)
        temporary = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Written whole and renamed, so a check stopped halfway leaves the old log.
            handle, temporary = tempfile.mkstemp(prefix=".alerts-", dir=self.path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump({"version": _VERSION, "alerts": entries}, file, indent=1, sort_keys=True)
            os.replace(temporary, self.path)
        except OSError as exc:
            if temporary is not None and os.path.exists(temporary):
                os.unlink(temporary)
            raise ConfigError(f"The alert log {self.path} cannot be written ({exc.strerror}); check its folder's "
                              "permissions, or point [webhook] state at another file.") from None
