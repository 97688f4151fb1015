"""Alert channels against real local receivers: Slack's incoming-webhook body, PagerDuty's
Events API v2 (trigger, then resolve, with one dedup_key), GitHub Actions' workflow commands
and job summary, and warning/critical thresholds per rule."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from tests.monitors.receiver import Receiver
from tests.monitors.world import NOW, SlowModel
from workbench import monitors
from workbench.errors import ConfigError
from workbench.monitors import AlertLog, LatencySLO, PagerDuty, Result, Slack, notify, parse_config
from workbench.monitors.channels import dedup_key
from workbench.monitors.github import commands, summary

AT = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.timezone.utc)


def _result(fired: bool = True, rule: str = "cost_jump", severity: str = "warning", subject: str = "feature 'a<b>'",
            message: str = "Cost of feature 'a<b>' rose 5x & more.\nSince Monday.") -> Result:
    return Result(
        rule=rule, kind=rule, fired=fired, severity=severity if fired else "ok", subject=subject,
        message=message if fired else "All quiet.", filter="feature == 'a<b>'" if fired else None,
        since=AT - dt.timedelta(days=2), until=AT, ongoing=True, window_start=AT - dt.timedelta(days=14),
        window_end=AT, values={"ratio": 5.2, "peak_bucket": AT - dt.timedelta(days=1)},
    )


def test_slack_gets_an_incoming_webhook_message_with_blocks():
    with Receiver() as receiver:
        delivery = notify([_result(), _result(False, "latency_slo")], Slack(url=receiver.url), checked_at=AT)
    assert delivery.sent and delivery.attempts == 1
    [request] = receiver.requests
    assert request["headers"]["Content-Type"] == "application/json"
    body = receiver.json()
    assert body["text"].startswith("workbench: 1 monitor fired\n[warning] cost_jump: Cost of feature")
    header, section, context = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "workbench: 1 monitor fired"}}
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    text = section["text"]["text"]
    assert "*WARNING* `cost_jump` (feature 'a&lt;b&gt;')" in text  # mrkdwn's markup characters escaped
    assert "rose 5x &amp; more." in text and "spans: `feature == 'a&lt;b&gt;'`" in text
    assert context["type"] == "context" and "2026-03-02T15:00:00Z" in context["elements"][0]["text"]


def test_slack_is_told_once_and_when_it_stops(tmp_path):
    log = AlertLog(tmp_path / "slack.json", target="store.duckdb")
    with Receiver() as receiver:
        hook = Slack(url=receiver.url)
        notify([_result()], hook, checked_at=AT, log=log)
        assert notify([_result()], hook, checked_at=AT + dt.timedelta(hours=1), log=log).held == 1
        notify([_result(False)], hook, checked_at=AT + dt.timedelta(hours=2), log=log)
    assert len(receiver.requests) == 2
    last = receiver.json()
    assert last["text"].startswith("workbench: 1 alert resolved")
    assert "*RESOLVED* `cost_jump`" in last["blocks"][1]["text"]["text"]


def test_slack_caps_a_long_message_within_slacks_block_limit():
    many = [_result(rule=f"rule_{n}") for n in range(70)]
    with Receiver() as receiver:
        notify(many, Slack(url=receiver.url), checked_at=AT)
    blocks = receiver.json()["blocks"]
    assert len(blocks) <= 50
    assert blocks[-2]["text"]["text"] == "... and 30 more."


def test_pagerduty_triggers_then_resolves_with_one_dedup_key(tmp_path):
    log = AlertLog(tmp_path / "pd.json", target="/data/store.duckdb")
    with Receiver(answers=[202, 202, 202]) as receiver:
        pd = PagerDuty(url=receiver.url, routing_key="R0UT1NGKEY")
        first = notify([_result(severity="critical"), _result(rule="latency_slo", subject="model 'x'")], pd,
                       checked_at=AT, log=log)
        assert first.sent and first.attempts == 2
        triggers = [receiver.json(0), receiver.json(1)]
        notify([_result(False), _result(rule="latency_slo", subject="model 'x'")], pd,
               checked_at=AT + dt.timedelta(hours=1), log=log)
    cost, latency = triggers
    assert cost["routing_key"] == "R0UT1NGKEY" and cost["event_action"] == "trigger"
    assert cost["dedup_key"] == dedup_key("/data/store.duckdb", "cost_jump", "feature 'a<b>'")
    assert cost["dedup_key"] != latency["dedup_key"]
    payload = cost["payload"]
    assert payload["severity"] == "critical" and latency["payload"]["severity"] == "warning"
    assert payload["summary"].startswith("cost_jump (feature 'a<b>'): Cost of feature")
    assert payload["source"] == "/data/store.duckdb" and payload["class"] == "cost_jump"
    assert payload["timestamp"] == "2026-02-28T15:00:00Z"
    assert payload["custom_details"]["filter"] == "feature == 'a<b>'"
    assert payload["custom_details"]["values"]["ratio"] == 5.2
    [resolve] = [r for r in (receiver.json(i) for i in range(len(receiver.requests))) if r["event_action"] == "resolve"]
    assert len(receiver.requests) == 3  # the ongoing latency alert is held, the stopped one resolved
    assert resolve == {"routing_key": "R0UT1NGKEY", "event_action": "resolve", "dedup_key": cost["dedup_key"]}


def test_pagerduty_retries_a_rate_limit_and_reports_a_refusal():
    with Receiver(answers=[429, 202]) as receiver:
        delivery = notify([_result()], PagerDuty(url=receiver.url, routing_key="k", backoff=0), checked_at=AT)
    assert delivery.sent and delivery.attempts == 2
    with Receiver(answers=[400]) as receiver:
        delivery = notify([_result()], PagerDuty(url=receiver.url, routing_key="k"), checked_at=AT)
    assert not delivery.sent and delivery.attempts == 1
    assert delivery.error.startswith(f"The PagerDuty endpoint {receiver.url} was not delivered")


@pytest.mark.parametrize(("data", "message"), [
    ({"pagerduty": {}}, "[pagerduty] has no routing_key"),
    ({"pagerduty": {"routing_key": " "}}, "PagerDuty needs a routing_key"),
    ({"slack": {"url": "hooks.slack.com/x"}}, "The Slack webhook url 'hooks.slack.com/x' is not an http"),
    ({"slack": {"url": "https://x", "retry": 1}}, "[slack] has no setting 'retry'; did you mean 'retries'?"),
    ({"rules": {"latency_slo": {"critical": 5000}}}, "the critical threshold must be over the warning one"),
    ({"rules": {"model_deprecation": {"critical": 3}}}, "has no threshold to escalate"),
    ({"rules": {"error_rate": {"threshold": 0.05, "critical": "high"}}}, "write e.g. critical = 0.1"),
    ({"rules": {"latency_slo": {"critical": -1}}}, "write e.g. critical = 20000"),
    ({"rules": {"eval_pass_rate": {"critical": "low"}}}, "write e.g. critical = "),
])
def test_channel_and_threshold_settings_are_checked(data, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert message in str(caught.value) and "None" not in str(caught.value)


def test_a_monitors_file_names_its_channels():
    cfg = parse_config({"webhook": {"url": "https://a"}, "slack": {"url": "https://b", "retries": 1},
                        "pagerduty": {"routing_key": "k"}})
    assert list(cfg.channels()) == ["webhook", "slack", "pagerduty"]
    assert cfg.pagerduty.url == "https://events.pagerduty.com/v2/enqueue" and cfg.slack.retries == 1


def test_github_commands_escape_and_pick_the_level():
    lines = commands([_result(severity="critical"), _result(rule="r, 2"), _result(False, "quiet")])
    assert len(lines) == 2
    assert lines[0] == ("::error title=workbench cost_jump (feature 'a<b>')::Cost of feature 'a<b>' rose 5x & more."
                        "%0ASince Monday.%0Aspans: feature == 'a<b>'")
    assert lines[1].startswith("::warning title=workbench r%2C 2 (feature 'a<b>')::")


def test_github_summary_is_a_markdown_table():
    text = summary([_result(message="a | b"), _result(False, "quiet")], checked_at=AT)
    lines = text.split("\n")
    head, fired, quiet = lines[0], lines[4], lines[5]
    assert lines[1] == "" and lines[2] == "| | Rule | Subject | What happened | Spans |"
    assert head == "## workbench check: 1 of 2 rules fired at 2026-03-02 15:00 UTC"
    assert fired.startswith("| 🟠 warning | `cost_jump` | feature 'a<b>' | a \\| b | `feature == 'a<b>'` |")
    assert quiet.startswith("| ✅ ok | `quiet` |")


def test_a_rule_fires_critical_past_its_critical_threshold(world_reader):
    reader = world_reader(slow_model=SlowModel("claude-3-5-haiku-20241022", NOW - 5 * DAY))
    [warned] = monitors.check(reader, [LatencySLO()], now=NOW).fired
    peak = warned.values["peak_ms"]
    assert warned.severity == "warning"
    [critical] = monitors.check(reader, [LatencySLO(critical=peak - 1)], now=NOW).fired
    assert critical.severity == "critical"
    [still] = monitors.check(reader, [LatencySLO(critical=peak + 1)], now=NOW).fired
    assert still.severity == "warning"


def test_a_falling_measure_escalates_at_or_under_its_critical():
    rule = monitors.EvalPassRate(min_pass_rate=0.8, critical=0.5)
    assert rule.escalated("warning", {"worst_rate": 0.4}) == "critical"
    assert rule.escalated("warning", {"worst_rate": 0.6}) == "warning"
    assert dataclasses.replace(rule, critical=None).escalated("warning", {"worst_rate": 0.1}) == "warning"


DAY = dt.timedelta(days=1)
