"""The webhook against a real local receiver: the body, retries, give-ups and timeouts."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from tests.monitors.receiver import Receiver
from workbench.errors import ConfigError
from workbench.monitors import Result, Webhook, notify, payload

AT = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.timezone.utc)


def _result(fired: bool = True, rule: str = "model_deprecation") -> Result:
    return Result(
        rule=rule, kind=rule, fired=fired, severity="critical" if fired else "ok", subject="model 'gpt-4-0613'",
        message="Model 'gpt-4-0613' looks deprecated." if fired else "All quiet.",
        filter="model_name == 'gpt-4-0613' and status_code == 'ERROR'", since=AT - dt.timedelta(days=2),
        until=AT, ongoing=True, window_start=AT - dt.timedelta(days=14), window_end=AT,
        values={"errors": 12, "last_seen": AT - dt.timedelta(hours=3)},
    )


def _no_sleep(seconds: float) -> None:
    pass


def test_posts_what_fired_as_json():
    with Receiver() as receiver:
        hook = Webhook(url=receiver.url, headers={"Authorization": "Bearer s3cret"})
        delivery = notify([_result(), _result(False, "cost_jump")], hook, checked_at=AT)
    assert delivery.sent and delivery.attempts == 1 and delivery.status == 200 and delivery.error is None
    [request] = receiver.requests
    assert request["path"] == "/hook"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    body = receiver.json()
    assert body["source"] == "workbench" and body["checked_at"] == "2026-03-02T15:00:00Z"
    assert body["fired"] == 1 and body["checked"] == 2
    assert body["text"] == ("workbench: 1 monitor fired\n[critical] model_deprecation: "
                            "Model 'gpt-4-0613' looks deprecated.")
    [result] = body["results"]
    assert result["filter"] == "model_name == 'gpt-4-0613' and status_code == 'ERROR'"
    assert result["since"] == "2026-02-28T15:00:00Z" and result["values"]["last_seen"] == "2026-03-02T12:00:00Z"


def test_nothing_fired_nothing_sent_unless_always():
    with Receiver() as receiver:
        assert notify([_result(False)], Webhook(url=receiver.url)).attempts == 0
        delivery = notify([_result(False)], Webhook(url=receiver.url, send="always"), checked_at=AT)
    assert delivery.sent and len(receiver.requests) == 1
    assert receiver.json()["text"] == "workbench: no monitor fired"


def test_retries_server_errors_then_delivers():
    waits = []
    with Receiver(answers=[503, 500]) as receiver:
        delivery = notify([_result()], Webhook(url=receiver.url, retries=3, backoff=0.25), sleep=waits.append)
    assert delivery.sent and delivery.attempts == 3 and len(receiver.requests) == 3
    assert waits == [0.25, 0.5]
    assert receiver.requests[0]["body"] == receiver.requests[2]["body"]


def test_gives_up_after_the_retries():
    with Receiver(answers=[503] * 5) as receiver:
        delivery = notify([_result()], Webhook(url=receiver.url, retries=2), sleep=_no_sleep)
    assert not delivery.sent and delivery.attempts == 3 and delivery.status == 503
    assert delivery.error.startswith(f"The webhook {receiver.url} was not delivered after 3 attempts: "
                                     "the receiver answered 503")
    assert delivery.error.endswith("check the URL and that the receiver is up.")


def test_a_client_error_is_not_retried():
    with Receiver(answers=[404]) as receiver:
        delivery = notify([_result()], Webhook(url=receiver.url, retries=3), sleep=_no_sleep)
    assert not delivery.sent and delivery.attempts == 1 and delivery.status == 404


def test_a_slow_receiver_times_out():
    with Receiver(delay=1.0) as receiver:
        delivery = notify([_result()], Webhook(url=receiver.url, timeout=0.2, retries=1), sleep=_no_sleep)
    assert not delivery.sent and delivery.attempts == 2
    assert "no answer" in delivery.error and "timed out" in delivery.error


def test_nobody_listening():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: nothing listens
    delivery = notify([_result()], Webhook(url=f"http://127.0.0.1:{port}/", retries=1), sleep=_no_sleep)
    assert not delivery.sent and delivery.status is None and "no answer" in delivery.error


def test_payload_is_json_ready():
    import json

    assert json.loads(json.dumps(payload([_result()], checked_at=AT)))["results"][0]["ongoing"] is True


@pytest.mark.parametrize(("params", "message"), [
    ({"url": "ftp://x"}, "is not an http:// or https:// URL"),
    ({"url": "http://x", "timeout": 0}, "timeout = 0, but it must be a number of seconds over 0"),
    ({"url": "http://x", "send": "sometimes"}, "send = 'sometimes', but it must be \"fired\" or \"always\""),
    ({"url": "http://x", "headers": {"X": 1}}, "headers are names and text values"),
])
def test_webhook_settings_are_checked(params, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Webhook(**params)


def test_https_to_a_plain_http_receiver_is_reported_at_once_not_retried():
    with Receiver() as receiver:
        url = receiver.url.replace("http://", "https://")
        delivery = notify([_result()], Webhook(url=url, retries=3), sleep=_no_sleep)
    assert not delivery.sent and delivery.attempts == 1 and delivery.status is None
    assert f"the receiver {url} does not speak TLS (https); if it is served over plain http, use an http:// URL" \
        in delivery.error
