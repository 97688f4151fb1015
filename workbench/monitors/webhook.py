"""Webhook notification: POST what fired as JSON to a URL, with a timeout and retries.

The body (see :func:`payload`) carries a ``text`` field of one line per fired result, so
chat tools that take ``{"text": ...}`` (Slack and Mattermost incoming webhooks) show it as
it is, and the full results under ``results`` for anything else.

A failed delivery never raises: :func:`notify` returns a :class:`Delivery` saying what
happened, and the caller decides (``workbench check`` prints it on stderr).

Given an :class:`~workbench.monitors.alerts.AlertLog`, :func:`notify` tells only what is
news: a new alert once, an ongoing one again after ``repeat_after``, and when one stops
(``send_resolved``). ``workbench check`` keeps that log next to the monitors file.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from workbench.errors import ConfigError
from workbench.monitors.alerts import AlertLog, Resolved
from workbench.monitors.base import Result, parse_duration
from workbench.tls import tls_failure
from workbench.version import __version__

__all__ = ["Delivery", "Webhook", "notify", "payload"]

_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Webhook:
    """Where to POST results.

    Attributes:
        url: An http:// or https:// URL.
        timeout: Seconds to wait for each attempt.
        retries: Attempts after the first when it fails (connection errors, 408, 429, 5xx).
        backoff: Seconds before the first retry; doubled before each next one.
        headers: Extra request headers (``Authorization`` ...).
        send: ``"fired"`` posts only when there is news; ``"always"`` posts every check.
        repeat_after: With an alert log, how long before an alert still ongoing is told
            again (``"24h"``), or ``"never"``.
        send_resolved: With an alert log, also tell when an alert told before stops.
        state: The alert log file for ``workbench check``: ``None`` for the monitors file's
            name with ``.alerts.json``, ``"none"`` to keep no log and tell every check all
            that fired.
    """

    url: str
    timeout: float = 5.0
    retries: int = 3
    backoff: float = 0.5
    headers: Mapping[str, str] = field(default_factory=dict)
    send: str = "fired"
    repeat_after: str = "24h"
    send_resolved: bool = True
    state: str | None = None

    def __post_init__(self) -> None:
        scheme = urllib.parse.urlsplit(str(self.url)).scheme if isinstance(self.url, str) else ""
        if scheme not in ("http", "https"):
            raise ConfigError(f"The {self.channel} url {self.url!r} is not an http:// or https:// URL; "
                              "write the full address, e.g. url = \"https://hooks.example.com/workbench\".")
        checks = (
            ("timeout", isinstance(self.timeout, (int, float)) and self.timeout > 0, "a number of seconds over 0", 5),
            ("retries",
             isinstance(self.retries, int) and not isinstance(self.retries, bool) and 0 <= self.retries <= 10,
             "a whole number from 0 to 10", 3),
            ("backoff", isinstance(self.backoff, (int, float)) and self.backoff >= 0, "a number of seconds, 0 or more",
             0.5),
        )
        for name, ok, wanted, example in checks:
            if not ok:
                raise ConfigError(f"The {self.channel} has {name} = {getattr(self, name)!r}, but it must be {wanted}; "
                                  f"write e.g. {name} = {example}.")
        if not isinstance(self.headers, Mapping) or not all(isinstance(v, str) for v in self.headers.values()):
            raise ConfigError(f"The {self.channel} has headers = {self.headers!r}, but headers are names and text "
                              "values; "
                              "write e.g. headers = { Authorization = \"Bearer ...\" }.")
        if self.send not in ("fired", "always"):
            raise ConfigError(f"The {self.channel} has send = {self.send!r}, but it must be \"fired\" or \"always\"; "
                              "write send = \"fired\" to post only when a rule fires.")
        _repeat_interval(self.repeat_after)
        if not isinstance(self.send_resolved, bool):
            raise ConfigError(f"The {self.channel} has send_resolved = {self.send_resolved!r}, "
                              "but it must be true or false.")
        if self.state is not None and not isinstance(self.state, str):
            raise ConfigError(f"The {self.channel} has state = {self.state!r}, but it must be a file path or \"none\".")

    #: What messages call it ("webhook", "Slack webhook", "PagerDuty endpoint").
    channel: ClassVar[str] = "webhook"

    def bodies(self, fired: Sequence[Result], *, resolved: Sequence[Resolved], held: int, checked: int,
               checked_at: dt.datetime, target: str) -> list[dict[str, Any]]:
        """The JSON bodies to POST for one check, in order (one here: :func:`payload`)."""
        return [payload(fired, checked_at=checked_at, resolved=resolved, held=held, checked=checked)]

    @property
    def repeat_interval(self) -> dt.timedelta | None:
        """``repeat_after`` as a duration; None for never."""
        return _repeat_interval(self.repeat_after)


def _repeat_interval(value: Any) -> dt.timedelta | None:
    if isinstance(value, str) and value.strip().lower() == "never":
        return None
    try:
        return parse_duration(value, what="webhook's repeat_after")
    except ConfigError:
        raise ConfigError(f"The webhook has repeat_after = {value!r}, but it must be a duration "
                          "such as \"24h\" or \"30m\", or \"never\".") from None


@dataclass(frozen=True)
class Delivery:
    """What became of a notification.

    Attributes:
        sent: Whether the receiver accepted it (a 2xx answer).
        attempts: How many requests were made (0 when there was nothing to send).
        status: The last HTTP status, if any answer came.
        error: Why it was not delivered; ``None`` when it was or nothing was due.
    """

    sent: bool
    attempts: int
    status: int | None = None
    error: str | None = None
    held: int = 0  # fired results not posted because the webhook was told already
    resolved: int = 0  # alerts posted as stopped


def payload(
    results: Sequence[Result],
    *,
    checked_at: dt.datetime | None = None,
    resolved: Sequence[Resolved] = (),
    held: int = 0,
    checked: int | None = None,
) -> dict[str, Any]:
    """The JSON body: a summary ``text``, counts, every fired result as a dict, and the alerts
    that stopped (``resolved``)."""
    fired = [r for r in results if r.fired]
    at = (checked_at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    lines = [f"[{r.severity}] {r.rule}: {r.message}" for r in fired] + [str(r) for r in resolved]
    if fired:
        head = f"workbench: {len(fired)} monitor{'s' if len(fired) != 1 else ''} fired"
    elif resolved:
        head = f"workbench: {len(resolved)} alert{'s' if len(resolved) != 1 else ''} resolved"
    else:
        head = "workbench: no monitor fired"
    if held:
        head += f" ({held} still firing, told before)"
    return {
        "source": "workbench",
        "version": __version__,
        "checked_at": at.isoformat().replace("+00:00", "Z"),
        "fired": len(fired),
        "checked": len({r.rule for r in results}) if checked is None else checked,
        "held": held,
        "text": "\n".join([head, *lines]),
        "results": [r.to_dict() for r in fired],
        "resolved": [r.to_dict() for r in resolved],
    }


def notify(
    results: Sequence[Result],
    webhook: Webhook,
    *,
    checked_at: dt.datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    log: AlertLog | None = None,
) -> Delivery:
    """POST the results to the webhook when something fired (or always, with ``send="always"``).

    With ``log``, only what is news is posted (see :mod:`workbench.monitors.alerts`), and the
    log is updated once the receiver took it.

    Retries connection errors, timeouts, 408, 425, 429 and 5xx answers, waiting ``backoff``
    seconds and doubling; any other answer ends it. Never raises for a failed delivery.
    """
    now = (checked_at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    checked = len({r.rule for r in results})
    due = None
    log_error = None
    if log is not None:
        try:
            due = log.due(results, now=now, repeat_after=webhook.repeat_interval, send_resolved=webhook.send_resolved)
            results = due.fired
        except ConfigError as exc:  # without the log, everything that fired is told
            log, log_error = None, str(exc)
    fired = [r for r in results if r.fired]
    resolved = due.resolved if due is not None else []
    held = due.held if due is not None else 0
    if webhook.send == "fired" and not fired and not resolved:
        return Delivery(sent=False, attempts=0, held=held)
    bodies = webhook.bodies(fired, resolved=resolved, held=held, checked=checked, checked_at=now,
                            target=log.target if log is not None else "")
    if not bodies:
        return Delivery(sent=False, attempts=0, held=held)
    headers = {"Content-Type": "application/json", "User-Agent": f"workbench/{__version__}", **webhook.headers}
    attempts, status, error = 0, None, None
    for body in bodies:
        tries, status, error = _post(webhook, json.dumps(body, default=str).encode(), headers, sleep)
        attempts += tries
        if error is not None:
            break
    else:
        error = log_error
        if due is not None and log is not None:  # delivered: write down what was told
            try:
                log.record(due)
            except ConfigError as exc:  # delivered; the next check will repeat it
                error = str(exc)
        return Delivery(sent=True, attempts=attempts, status=status, error=error, held=held, resolved=len(resolved))
    return Delivery(sent=False, attempts=attempts, status=status, held=held,
                    error=f"The {webhook.channel} {webhook.url} was not delivered after {attempts} attempt"
                          f"{'s' if attempts != 1 else ''}: {error}; check the URL and that the receiver is up.")


def _post(webhook: Webhook, body: bytes, headers: Mapping[str, str],
          sleep: Callable[[float], None]) -> tuple[int, int | None, str | None]:
    """POST one body with the webhook's retries: ``(attempts, last status, error or None)``."""
    attempts, status, error = 0, None, None
    for attempt in range(webhook.retries + 1):
        if attempt:
            sleep(webhook.backoff * 2 ** (attempt - 1))
        attempts += 1
        request = urllib.request.Request(webhook.url, data=body, headers=dict(headers), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=webhook.timeout) as response:
                status = response.status
                response.read()
            return attempts, status, None
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"the receiver answered {exc.code} {exc.reason}"
            exc.close()
            if exc.code not in _RETRY_STATUS:
                break
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            status, error = None, f"no answer ({reason})"
            tls = tls_failure(reason, "the receiver", webhook.url, "URL")
            if tls:  # a retry meets the same receiver
                error = tls.rstrip(".")  # a clause of the delivery's error
                break
    return attempts, status, error
