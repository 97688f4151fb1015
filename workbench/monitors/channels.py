"""Alert channels beyond the generic webhook: Slack incoming webhooks and PagerDuty Events API v2.

Each is a :class:`~workbench.monitors.webhook.Webhook` with its own body, so retries, timeouts
and the alert log (tell only what is news, and when an alert stops) work the same way::

    [slack]
    url = "https://hooks.slack.com/services/T000/B000/XXXX"

    [pagerduty]
    routing_key = "0123456789abcdef0123456789abcdef"   # an Events API v2 integration key

Slack gets one message per check: a header line, then one section per alert (its severity,
rule, subject, message and the filter that finds its spans), and the alerts that stopped.
PagerDuty gets one ``trigger`` event per alert and one ``resolve`` event per alert that
stopped, with a ``dedup_key`` made of the store, the rule and the subject, so PagerDuty
keeps one incident per alert however often it is told.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from workbench.errors import ConfigError
from workbench.monitors.alerts import Resolved
from workbench.monitors.base import Result
from workbench.monitors.webhook import Webhook

__all__ = ["PAGERDUTY_URL", "PagerDuty", "Slack", "dedup_key"]

#: The PagerDuty Events API v2 endpoint.
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
_SLACK_ITEMS = 40  # Slack takes at most 50 blocks a message
_MARK = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _mrkdwn(text: str) -> str:
    """Text made safe for Slack's mrkdwn (which reads &, < and > as markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _head(fired: int, resolved: int, held: int) -> str:
    if fired:
        head = f"workbench: {fired} monitor{'s' if fired != 1 else ''} fired"
    elif resolved:
        head = f"workbench: {resolved} alert{'s' if resolved != 1 else ''} resolved"
    else:
        head = "workbench: no monitor fired"
    return head + (f" ({held} still firing, told before)" if held else "")


@dataclass(frozen=True)
class Slack(Webhook):
    """A Slack incoming webhook (``url`` from the app's Incoming Webhooks page)."""

    channel: ClassVar[str] = "Slack webhook"

    def bodies(self, fired: Sequence[Result], *, resolved: Sequence[Resolved], held: int, checked: int,
               checked_at: dt.datetime, target: str) -> list[dict[str, Any]]:
        head = _head(len(fired), len(resolved), held)
        blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": head[:150]}}]
        lines = []
        for r in fired[:_SLACK_ITEMS]:
            about = f" ({r.subject})" if r.subject else ""
            mark = _MARK.get(r.severity, "")
            text = f"{mark} *{r.severity.upper()}* `{r.rule}`{_mrkdwn(about)}\n{_mrkdwn(r.message)}"
            if r.filter:
                text += f"\nspans: `{_mrkdwn(r.filter)}`"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
            lines.append(f"[{r.severity}] {r.rule}: {r.message}")
        for gone in resolved[: max(0, _SLACK_ITEMS - len(fired))]:
            about = f" ({gone.subject})" if gone.subject else ""
            text = f":white_check_mark: *RESOLVED* `{gone.rule}`{_mrkdwn(about)}: no longer ongoing"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
            lines.append(str(gone))
        left = len(fired) + len(resolved) - (len(blocks) - 1)
        if left > 0:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"... and {left} more."}})
        where = f" of {_mrkdwn(target)}" if target else ""
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"workbench check{where} at {_iso(checked_at)}: {checked} rule{'s' if checked != 1 else ''} checked")}]})
        # `text` is what notifications and clients without blocks show.
        return [{"text": "\n".join([head, *lines]), "blocks": blocks}]


def dedup_key(target: str, rule: str, subject: str) -> str:
    """The PagerDuty ``dedup_key`` of an alert: readable, and unique per store, rule and subject."""
    digest = hashlib.sha256(f"{target}\t{rule}\t{subject}".encode()).hexdigest()[:16]
    return f"workbench/{rule[:120]}/{digest}"


@dataclass(frozen=True)
class PagerDuty(Webhook):
    """PagerDuty's Events API v2: a ``trigger`` per alert, a ``resolve`` when it stops.

    Attributes:
        routing_key: The integration key of the PagerDuty service (Events API v2).
        url: The Events API endpoint (the default is PagerDuty's; another for a proxy or test).
    """

    channel: ClassVar[str] = "PagerDuty endpoint"

    url: str = PAGERDUTY_URL
    routing_key: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.routing_key, str) or not self.routing_key.strip():
            raise ConfigError("PagerDuty needs a routing_key: the integration key of an Events API v2 "
                              "integration on the service; write routing_key = \"...\" in [pagerduty].")

    def bodies(self, fired: Sequence[Result], *, resolved: Sequence[Resolved], held: int, checked: int,
               checked_at: dt.datetime, target: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for r in fired:
            about = f" ({r.subject})" if r.subject else ""
            events.append({
                "routing_key": self.routing_key,
                "event_action": "trigger",
                "dedup_key": dedup_key(target, r.rule, r.subject),
                "client": "workbench",
                "payload": {
                    "summary": f"{r.rule}{about}: {r.message}"[:1024],
                    "source": target or "workbench",
                    "severity": r.severity if r.severity in ("critical", "warning", "info") else "error",
                    "timestamp": _iso(r.since or checked_at),
                    "component": r.subject or None,
                    "class": r.kind,
                    "custom_details": {"rule": r.rule, "message": r.message, "filter": r.filter,
                                       "since": _iso(r.since), "ongoing": r.ongoing, "values": r.to_dict()["values"]},
                },
            })
        for gone in resolved:
            events.append({"routing_key": self.routing_key, "event_action": "resolve",
                           "dedup_key": dedup_key(target, gone.rule, gone.subject)})
        return events
