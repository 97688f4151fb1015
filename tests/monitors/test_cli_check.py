"""``workbench check`` in-process: what it prints and its exit codes (0 quiet, 1 fired, 2 broken)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.monitors.receiver import Receiver
from tests.monitors.world import Deprecation, World, fill
from workbench.cli import main

DAY = dt.timedelta(days=1)
OLD, NEW = "gpt-4o-2024-05-13", "gpt-4.1-2025-04-14"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="module")
def healthy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workbench.store import Store

    path = tmp_path_factory.mktemp("cli") / "healthy.duckdb"
    with Store(path) as store:
        fill(store, World(now=_now(), days=10))
    return path


@pytest.fixture(scope="module")
def deprecated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workbench.store import Store

    now = _now()
    # An afternoon three days ago, whatever the hour now: a brownout in the night floor of
    # traffic (or a weekend's) could make fewer than min_errors calls.
    afternoon = (now - 3 * DAY).replace(hour=12, minute=0, second=0)
    brownouts = ((afternoon, afternoon + dt.timedelta(hours=4)),)
    path = tmp_path_factory.mktemp("cli") / "deprecated.duckdb"
    with Store(path) as store:
        fill(store, World(now=now, days=10, models={OLD: 0.6, "claude-3-5-haiku-20241022": 0.4},
                          deprecation=Deprecation(OLD, NEW, brownouts, now - 2 * DAY)))
    return path


def _run(*args: str):
    return CliRunner().invoke(main, ["check", *args])


def test_quiet_store_exits_0(healthy_db):
    result = _run("--db", str(healthy_db))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("All quiet: none of 5 rules fired (from ")


def test_all_lists_the_quiet_rules(healthy_db):
    result = _run("--db", str(healthy_db), "--all")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:5]] == ["ok"] * 5
    assert "model_deprecation: None of 2 models stopped being called" in result.output


def test_a_fired_rule_exits_1_with_the_spans_to_look_at(deprecated_db):
    result = _run("--db", str(deprecated_db))
    assert result.exit_code == 1, result.output
    first, spans = result.stdout.splitlines()[:2]
    assert first.startswith(f"CRITICAL model_deprecation: Model {OLD!r} looks deprecated: ")
    assert spans.strip() == f"spans: model_name == {OLD!r} and status_code == 'ERROR'"
    assert "1 of 5 rules fired" in result.output


def test_json_output(deprecated_db):
    result = _run("--db", str(deprecated_db), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["fired"] == 1 and data["config"] is not None and data["webhook"] is None
    assert len(data["results"]) == 5
    fired = data["results"][0]
    assert fired["rule"] == "model_deprecation" and fired["fired"] and fired["values"]["model"] == OLD
    assert fired["since"].endswith("Z")


def test_a_short_window_for_cron(deprecated_db, tmp_path):
    # The errors were three days ago; the silence goes on, so the rule still fires, as a warning.
    result = _run("--db", str(deprecated_db), "--window", "1h")
    assert result.exit_code == 1
    assert result.stdout.startswith(f"WARNING  model_deprecation: Model {OLD!r} stopped being called")
    config = tmp_path / "monitors.toml"
    config.write_text(f"[rules.model_deprecation]\nignore = [{OLD!r}]\n")
    assert _run("--db", str(deprecated_db), "--window", "1h", "--config", str(config)).exit_code == 0


def test_webhook_from_the_monitors_file(deprecated_db, tmp_path):
    with Receiver() as receiver:
        config = tmp_path / "monitors.toml"
        config.write_text(f'[webhook]\nurl = "{receiver.url}"\n')
        result = _run("--db", str(deprecated_db), "--config", str(config))
        assert result.exit_code == 1
        assert receiver.json()["fired"] == 1
        assert _run("--db", str(deprecated_db), "--config", str(config), "--no-notify").exit_code == 1
        assert len(receiver.requests) == 1


def test_a_cron_job_tells_the_webhook_once(deprecated_db, tmp_path):
    with Receiver() as receiver:
        config = tmp_path / "monitors.toml"
        config.write_text(f'[webhook]\nurl = "{receiver.url}"\n')
        assert _run("--db", str(deprecated_db), "--config", str(config)).exit_code == 1
        again = _run("--db", str(deprecated_db), "--config", str(config), "--json")
        assert again.exit_code == 1  # still firing: the exit code says so every time
        assert json.loads(again.stdout)["webhook"]["held"] == 1
        assert len(receiver.requests) == 1  # but the webhook heard it once
        log = json.loads((tmp_path / "monitors.alerts.json").read_text())["alerts"]
        assert [entry["rule"] for entry in log.values()] == ["model_deprecation"]

        config.write_text(f'[webhook]\nurl = "{receiver.url}"\nstate = "none"\n')  # no log: every check
        assert _run("--db", str(deprecated_db), "--config", str(config)).exit_code == 1
        assert len(receiver.requests) == 2


def test_an_undelivered_webhook_is_a_warning(deprecated_db, tmp_path):
    with Receiver(answers=[400]) as receiver:
        config = tmp_path / "monitors.json"
        config.write_text(json.dumps({"webhook": {"url": receiver.url, "retries": 0}}))
        result = CliRunner().invoke(main, ["check", "--db", str(deprecated_db), "--config", str(config)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Warning: The webhook {receiver.url} was not delivered after 1 attempt")


@pytest.mark.parametrize(("args", "message"), [
    (["--config", "{missing}"], "Error: There is no monitors file at"),
    (["--config", "{bad}"], "Error: In {bad}: The rule 'latency_slo' has percentile = 200"),
    (["--window", "soon"], "Error: The window of the check is 'soon', which is not a duration"),
    (["--db", "{nodb}"], "Error: There is no database file at"),
    (["--url", "http://127.0.0.1:9"], "Error: Cannot reach a workbench server at http://127.0.0.1:9"),
])
def test_a_check_that_cannot_run_exits_2_with_one_line(healthy_db, tmp_path, args, message):
    bad = tmp_path / "bad.toml"
    bad.write_text("[rules.latency_slo]\npercentile = 200\n")
    names = {"missing": str(tmp_path / "missing.toml"), "bad": str(bad), "nodb": str(tmp_path / "no.duckdb")}
    args = [a.format(**names) for a in args]
    if "--db" not in args and "--url" not in args:
        args += ["--db", str(healthy_db)]
    result = CliRunner().invoke(main, ["check", *args])
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith(message.format(**names))
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_help_lists_the_rules():
    result = CliRunner().invoke(main, ["check", "--help"])
    assert result.exit_code == 0
    for kind in ("model_deprecation", "cost_jump", "latency_slo", "error_rate", "eval_pass_rate", "cost_budget"):
        assert kind in result.output


def test_a_crash_is_not_mistaken_for_a_finding(healthy_db, monkeypatch):
    from workbench import monitors

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(monitors, "check", broken)
    result = CliRunner().invoke(main, ["check", "--db", str(healthy_db)])
    assert result.exit_code == 2 and "RuntimeError: a bug" in result.stderr


def test_slack_and_pagerduty_from_the_monitors_file(deprecated_db, tmp_path):
    with Receiver() as slack, Receiver(answers=[202]) as pagerduty:
        config = tmp_path / "monitors.toml"
        config.write_text(f'[slack]\nurl = "{slack.url}"\n\n'
                          f'[pagerduty]\nrouting_key = "k3y"\nurl = "{pagerduty.url}"\n')
        result = _run("--db", str(deprecated_db), "--config", str(config), "--json")
        assert result.exit_code == 1, result.output
        told = json.loads(result.stdout)
        assert told["slack"]["sent"] and told["pagerduty"]["sent"] and told["webhook"] is None
        assert "model_deprecation" in slack.json()["text"]
        event = pagerduty.json()
        assert (event["event_action"], event["routing_key"], event["payload"]["severity"]) == ("trigger", "k3y",
                                                                                               "critical")
        assert _run("--db", str(deprecated_db), "--config", str(config)).exit_code == 1
        assert len(slack.requests) == len(pagerduty.requests) == 1  # each told once
    assert (tmp_path / "monitors.slack.alerts.json").exists()
    assert (tmp_path / "monitors.pagerduty.alerts.json").exists()


def test_in_github_actions_annotations_and_a_job_summary(deprecated_db, tmp_path, monkeypatch):
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = _run("--db", str(deprecated_db))
    assert result.exit_code == 1
    [annotation] = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotation.startswith("::error title=workbench model_deprecation (model '")
    written = summary.read_text()
    assert written.startswith("earlier step\n## workbench check: 1 of 5 rules fired at ")
    assert "| 🔴 critical | `model_deprecation` |" in written and "| ✅ ok | `cost_jump` |" in written

    as_json = _run("--db", str(deprecated_db), "--json")  # stdout stays JSON; the annotations go to stderr
    assert json.loads(as_json.stdout)["fired"] == 1
    assert as_json.stderr.startswith("::error title=workbench model_deprecation")


def test_outside_github_actions_no_annotations(deprecated_db, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "s.md"))
    result = _run("--db", str(deprecated_db))
    assert "::" not in result.stdout and not (tmp_path / "s.md").exists()


def test_a_file_a_server_holds_names_the_command_lines_fix(tmp_path):
    from tests.server.processes import Served
    from workbench.store import Store

    db = tmp_path / "held.duckdb"
    with Store(db) as store:
        fill(store, World(now=_now(), days=3))
    served = Served(db, tmp_path / "logs")
    try:
        result = CliRunner().invoke(main, ["check", "--db", str(db)])
        assert result.exit_code == 2, result.output
        assert f"pass --url {served.url}" in result.output and "workbench.open" not in result.output
        assert len(result.output.strip().splitlines()) == 1
    finally:
        served.kill_group()
