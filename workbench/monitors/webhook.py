"""Webhook notification: POST what fired as JSON to a URL, with a timeout and retries.

The body (see :func:`payload`) carries a ``text`` field of one line per fired result, so
chat tools that take ``{"text": ...}`` (Slack and Mattermost incoming webhooks) show it as
it is, and the full results under ``results`` for anything else.

A failed delivery never raises: :func:`notify` returns a :class:`Delivery` saying what
happened, and the caller decides (``workbench check`` prints it on stderr).
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
from typing import Any

from workbench import __version__
from workbench.errors import ConfigError
from workbench.monitors.base import Result

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
        send: ``"fired"`` posts only when something fired; ``"always"`` posts every check.
    """

    url: str
    timeout: float = 5.0
    retries: int = 3
    backoff: float = 0.5
    headers: Mapping[str, str] = field(default_factory=dict)
    send: str = "fired"

    def __post_init__(self) -> None:
        scheme = urllib.parse.urlsplit(str(self.url)).scheme if isinstance(self.url, str) else ""
        if scheme not in ("http", "https"):
            raise ConfigError(f"The webhook url {self.url!r} is not an http:// or https:// URL; "
                              "write the full address, e.g. url = \"https://hooks.example.com/workbench\".")
        checks = (
            ("timeout", isinstance(self.timeout, (int, float)) and self.timeout > 0, "a number of seconds over 0", 5),
            ("retries", isinstance(self.retries, int) and not isinstance(self.retries, bool) and 0 <= self.retries <= 10,
             "a whole number from 0 to 10", 3),
            ("backoff", isinstance(self.backoff, (int, float)) and self.backoff >= 0, "a number of seconds, 0 or more", 0.5),
        )
        for name, ok, wanted, example in checks:
            if not ok:
                raise ConfigError(f"The webhook has {name} = {getattr(self, name)!r}, but it must be {wanted}; "
                                  f"write e.g. {name} = {example}.")
        if not isinstance(self.headers, Mapping) or not all(isinstance(v, str) for v in self.headers.values()):
            raise ConfigError(f"The webhook has headers = {self.headers!r}, but headers are names and text values; "
                              "write e.g. headers = { Authorization = \"Bearer ...\" }.")
        if self.send not in ("fired", "always"):
            raise ConfigError(f"The webhook has send = {self.send!r}, but it must be \"fired\" or \"always\"; "
                              "write send = \"fired\" to post only when a rule fires.")


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


def payload(results: Sequence[Result], *, checked_at: dt.datetime | None = None) -> dict[str, Any]:
    """The JSON body: a summary ``text``, counts, and every fired result as a dict."""
    fired = [r for r in results if r.fired]
    at = (checked_at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    if fired:
        text = f"workbench: {len(fired)} monitor{'s' if len(fired) != 1 else ''} fired\n" + "\n".join(
            f"[{r.severity}] {r.rule}: {r.message}" for r in fired)
    else:
        text = "workbench: no monitor fired"
    return {
        "source": "workbench",
        "version": __version__,
        "checked_at": at.isoformat().replace("+00:00", "Z"),
        "fired": len(fired),
        "checked": len({r.rule for r in results}),
        "text": text,
        "results": [r.to_dict() for r in fired],
    }


def notify(
    results: Sequence[Result],
    webhook: Webhook,
    *,
    checked_at: dt.datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST the results to the webhook when something fired (or always, with ``send="always"``).

    Retries connection errors, timeouts, 408, 425, 429 and 5xx answers, waiting ``backoff``
    seconds and doubling; any other answer ends it. Never raises for a failed delivery.
    """
    if webhook.send == "fired" and not any(r.fired for r in results):
        return Delivery(sent=False, attempts=0)
    body = json.dumps(payload(results, checked_at=checked_at), default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"workbench/{__version__}", **webhook.headers}
    attempts, status, error = 0, None, None
    for attempt in range(webhook.retries + 1):
        if attempt:
            sleep(webhook.backoff * 2 ** (attempt - 1))
        attempts += 1
        request = urllib.request.Request(webhook.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=webhook.timeout) as response:
                status = response.status
                response.read()
            return Delivery(sent=True, attempts=attempts, status=status)
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"the receiver answered {exc.code} {exc.reason}"
            exc.close()
            if exc.code not in _RETRY_STATUS:
                break
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            status, error = None, f"no answer ({reason})"
    return Delivery(sent=False, attempts=attempts, status=status,
                    error=f"The webhook {webhook.url} was not delivered after {attempts} attempt"
                          f"{'s' if attempts != 1 else ''}: {error}; check the URL and that the receiver is up.")
