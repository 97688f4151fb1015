"""The alert log: a cron job's webhook hears of an alert once, again after repeat_after, and
when it stops; against a real local receiver and a real log file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from tests.monitors.receiver import Receiver
from workbench.errors import ConfigError
from workbench.monitors import AlertLog, Result, Webhook, notify

AT = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)


def _result(fired: bool = True, *, ongoing: bool = True, severity: str = "warning", rule: str = "cost_jump",
            subject: str = "feature 'search'") -> Result:
    return Result(
        rule=rule, kind=rule, fired=fired, severity=severity if fired else "ok", subject=subject,
        message="Cost per day of feature 'search' is 4.1x its 7-day median." if fired else "All quiet.",
        filter="name == 'search'", since=AT - dt.timedelta(days=1) if fired else None, until=AT if fired else None,
        ongoing=ongoing and fired, window_start=AT - dt.timedelta(days=14), window_end=AT,
    )


def _quiet(**changes) -> Result:
    return _result(False, **changes)


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def _notify(receiver, results, at, log, **hook):
    return notify(results, Webhook(url=receiver.url, **hook), checked_at=at, log=log)


def test_an_ongoing_alert_is_told_once_then_again_after_repeat_after(receiver, tmp_path):
    log = AlertLog(tmp_path / "alerts.json", target="/data/prod.duckdb")
    first = _notify(receiver, [_result()], AT, log)
    assert first.sent and len(receiver.requests) == 1 and receiver.json()["fired"] == 1

    for hours in (1, 2, 23):  # hourly cron: nothing new
        delivery = _notify(receiver, [_result()], AT + hours * HOUR, log)
        assert not delivery.sent and delivery.attempts == 0 and delivery.held == 1
    assert len(receiver.requests) == 1

    again = _notify(receiver, [_result()], AT + 24 * HOUR, log)  # repeat_after defaults to 24h
    assert again.sent and len(receiver.requests) == 2
    assert receiver.json()["results"][0]["rule"] == "cost_jump"


def test_a_rising_severity_is_told_at_once(receiver, tmp_path):
    log = AlertLog(tmp_path / "alerts.json")
    _notify(receiver, [_result(severity="warning")], AT, log)
    assert _notify(receiver, [_result(severity="critical")], AT + HOUR, log).sent
    assert receiver.json()["results"][0]["severity"] == "critical"
    assert not _notify(receiver, [_result(severity="warning")], AT + 2 * HOUR, log).sent  # milder: held


def test_a_stopped_alert_is_told_resolved_once_and_a_new_episode_again(receiver, tmp_path):
    log = AlertLog(tmp_path / "alerts.json")
    _notify(receiver, [_result()], AT, log)
    # Still in the window, but the latest bucket is fine: the alert stopped.
    stopped = _notify(receiver, [_result(ongoing=False)], AT + HOUR, log)
    assert stopped.sent and stopped.resolved == 1
    body = receiver.json()
    assert body["fired"] == 0 and body["resolved"][0]["rule"] == "cost_jump"
    assert body["text"].startswith("workbench: 1 alert resolved\n[resolved] cost_jump (feature 'search')")
    assert not _notify(receiver, [_result(ongoing=False)], AT + 2 * HOUR, log).sent  # said once
    assert _notify(receiver, [_result()], AT + 3 * HOUR, log).sent  # it starts again: news
    assert receiver.json()["fired"] == 1
    assert len(receiver.requests) == 3


def test_an_alert_that_leaves_the_window_or_whose_rule_is_gone_is_resolved_or_forgotten(receiver, tmp_path):
    path = tmp_path / "alerts.json"
    log = AlertLog(path)
    _notify(receiver, [_result(), _result(rule="latency_slo", subject="model 'gpt-4o'")], AT, log)
    # cost_jump no longer fires at all; latency_slo's rule was removed from the file.
    delivery = _notify(receiver, [_quiet()], AT + HOUR, log)
    assert delivery.resolved == 2
    assert sorted(r["rule"] for r in receiver.json()["resolved"]) == ["cost_jump", "latency_slo"]
    assert json.loads(path.read_text())["alerts"] == {}


def test_an_alert_already_over_when_first_seen_is_told_once_and_never_resolved(receiver, tmp_path):
    log = AlertLog(tmp_path / "alerts.json")
    assert _notify(receiver, [_result(ongoing=False)], AT, log).sent  # nobody heard of it yet
    assert not _notify(receiver, [_result(ongoing=False)], AT + HOUR, log).sent
    assert not _notify(receiver, [_quiet()], AT + 2 * HOUR, log).sent  # over long ago: no "resolved"
    assert len(receiver.requests) == 1


def test_without_send_resolved_and_with_repeat_never(receiver, tmp_path):
    log = AlertLog(tmp_path / "alerts.json")
    hook = {"send_resolved": False, "repeat_after": "never"}
    _notify(receiver, [_result()], AT, log, **hook)
    assert not _notify(receiver, [_result()], AT + 1000 * HOUR, log, **hook).sent
    assert not _notify(receiver, [_quiet()], AT + 1001 * HOUR, log, **hook).sent
    assert len(receiver.requests) == 1


def test_an_undelivered_alert_is_due_at_the_next_check(tmp_path):
    log = AlertLog(tmp_path / "alerts.json")
    with Receiver(answers=[500]) as failing:
        assert not _notify(failing, [_result()], AT, log, retries=0).sent
    assert not (tmp_path / "alerts.json").exists()
    with Receiver() as receiver:
        assert _notify(receiver, [_result()], AT + HOUR, log).sent


def test_stores_are_kept_apart_and_a_damaged_log_only_repeats(receiver, tmp_path):
    path = tmp_path / "alerts.json"
    _notify(receiver, [_result()], AT, AlertLog(path, target="prod"))
    assert _notify(receiver, [_result()], AT + HOUR, AlertLog(path, target="staging")).sent  # another store
    assert not _notify(receiver, [_result()], AT + HOUR, AlertLog(path, target="prod")).sent
    path.write_text("{not json")
    assert _notify(receiver, [_result()], AT + 2 * HOUR, AlertLog(path, target="prod")).sent
    assert json.loads(path.read_text())["alerts"]  # and it is whole again


def test_a_log_that_cannot_be_used_costs_repeats_not_alerts(receiver, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the log's folder should be
    delivery = _notify(receiver, [_result()], AT, AlertLog(blocked / "alerts.json"))
    assert delivery.sent and delivery.error.startswith(f"The alert log {blocked / 'alerts.json'} cannot be read")
    log = AlertLog(tmp_path / "alerts.json")
    log.path.mkdir()  # a folder where the file should be: read fails
    delivery = _notify(receiver, [_result()], AT, log)
    assert delivery.sent and "cannot be read" in delivery.error
    assert len(receiver.requests) == 2


@pytest.mark.parametrize(("params", "message"), [
    ({"repeat_after": "soon"}, "repeat_after = 'soon', but it must be a duration"),
    ({"send_resolved": "yes"}, "send_resolved = 'yes', but it must be true or false"),
])
def test_alert_settings_are_checked(params, message):
    with pytest.raises(ConfigError, match=message):
        Webhook(url="http://127.0.0.1:9/hook", **params)
    assert Webhook(url="http://x", repeat_after="never").repeat_interval is None
    assert Webhook(url="http://x").repeat_interval == dt.timedelta(hours=24)
    assert dataclasses.replace(Webhook(url="http://x"), repeat_after="30m").repeat_interval == dt.timedelta(minutes=30)
