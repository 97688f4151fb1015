"""The monitors file: defaults, TOML and JSON, overrides, and errors that name the fix."""

from __future__ import annotations

import json

import pytest

from workbench import monitors
from workbench.errors import ConfigError
from workbench.monitors import CostBudget, LatencySLO, ModelDeprecation, load_config, parse_config
from workbench.monitors.settings import DEFAULT_KINDS

TOML = """
window = "7d"
project = "support-bot"

[rules.cost_jump]
factor = 4
every = "hour"
by = "none"

[rules.error_rate]
enabled = false

[rules.cost_budget]
budget = 50

[rules.chat_latency]
kind = "latency_slo"
filter = "name == 'support_chat'"
level = "traces"
slo_ms = 8000
percentile = 95

[webhook]
url = "http://127.0.0.1:9/hook"
timeout = 2
retries = 1
headers = { Authorization = "Bearer x" }
"""


def _names(cfg):
    return [r.name for r in cfg.rules]


def test_no_file_at_the_default_place_means_the_default_rules(monkeypatch, tmp_path):
    monkeypatch.delenv("WORKBENCH_MONITORS")
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = load_config()
    assert cfg.source is None and cfg.window == "14d" and cfg.webhook is None
    assert _names(cfg) == list(DEFAULT_KINDS)
    assert all(r.enabled for r in cfg.rules)


def test_an_empty_file_means_the_default_rules():
    assert _names(load_config()) == list(DEFAULT_KINDS)  # the tests' WORKBENCH_MONITORS is empty


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_toml_and_json_say_the_same(tmp_path, suffix):
    import tomllib

    path = tmp_path / f"monitors{suffix}"
    path.write_text(TOML if suffix == ".toml" else json.dumps(tomllib.loads(TOML)))
    cfg = load_config(path)
    assert cfg.source == str(path) and cfg.window == "7d"
    rules = {r.name: r for r in cfg.rules}
    assert list(rules) == [*(k for k in DEFAULT_KINDS if k not in ("cost_jump", "error_rate")),
                           "cost_jump", "error_rate", "cost_budget", "chat_latency"]
    assert rules["cost_jump"].factor == 4 and rules["cost_jump"].every == "hour" and rules["cost_jump"].by is None
    assert not rules["error_rate"].enabled
    assert isinstance(rules["cost_budget"], CostBudget) and rules["cost_budget"].budget == 50
    chat = rules["chat_latency"]
    assert isinstance(chat, LatencySLO) and chat.kind == "latency_slo" and chat.percentile == 95
    assert all(r.project == "support-bot" for r in cfg.rules)
    assert cfg.webhook.url == "http://127.0.0.1:9/hook" and cfg.webhook.retries == 1
    assert dict(cfg.webhook.headers) == {"Authorization": "Bearer x"}


def test_the_setting_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "elsewhere.toml"
    path.write_text("[rules.model_deprecation]\nignore = ['gpt-3.5-turbo-0301']\n")
    monkeypatch.setenv("WORKBENCH_MONITORS", str(path))
    [rule] = [r for r in load_config().rules if r.kind == "model_deprecation"]
    assert rule.ignore == ["gpt-3.5-turbo-0301"]


def test_only_the_named_rules_without_defaults():
    cfg = parse_config({"defaults": False, "rules": {"model_deprecation": {"min_errors": 1}}})
    assert _names(cfg) == ["model_deprecation"] and cfg.rules[0].min_errors == 1


def test_check_takes_a_dict_a_path_or_rules(healthy, tmp_path):
    from tests.monitors.world import NOW

    assert {r.rule for r in monitors.check(healthy, {"defaults": False, "rules": {"cost_budget": {"budget": 1e6}}},
                                           now=NOW)} == {"cost_budget"}
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"defaults": False, "rules": {"latency_slo": {}}}))
    assert {r.rule for r in monitors.check(healthy, path, now=NOW)} == {"latency_slo"}
    assert {r.rule for r in monitors.check(healthy, ModelDeprecation(), now=NOW)} == {"model_deprecation"}
    with pytest.raises(ConfigError, match="Two rules are named 'latency_slo'; give each its own name"):
        monitors.check(healthy, [LatencySLO(), LatencySLO()], now=NOW)
    assert monitors.check(healthy, [LatencySLO(enabled=False)], now=NOW) == []


@pytest.mark.parametrize(("data", "message"), [
    ({"windw": "7d"}, "there is no setting 'windw' at the top of a monitors file; did you mean 'window'?"),
    ({"window": "a fortnight"}, ("The window of the monitors file is 'a fortnight', which is not a duration; "
                                 "write a number and a unit")),
    ({"rules": {"cost_jmup": {}}}, "there is no rule kind 'cost_jmup'; did you mean 'cost_jump'?"),
    ({"rules": {"mine": {"kind": "latency"}}}, ("the rule 'mine' has kind = 'latency', which is not a kind of rule; "
                                                "did you mean 'latency_slo'?")),
    ({"rules": {"latency_slo": {"slo": 5}}}, ("the rule 'latency_slo' (latency_slo) has no parameter 'slo'; "
                                              "did you mean 'slo_ms'?")),
    ({"rules": {"latency_slo": {"percentile": 150}}},
     ("The rule 'latency_slo' has percentile = 150, but percentile must be a number at least 50 and at most 99.9; "
      "write e.g. percentile = 99.")),
    ({"rules": {"cost_jump": {"every": "week"}}},
     "The rule 'cost_jump' has every = 'week', but every must be one of 'hour', 'day'; set it to 'hour'."),
    ({"rules": {"cost_jump": {"by": "colour"}}}, "by must be one of 'model', 'provider', 'project', 'feature'"),
    ({"rules": {"cost_budget": {}}}, ("The rule 'cost_budget' has budget = None, but a cost budget needs an amount; "
                                      "set budget = 50 (USD per day) in its [rules.cost_budget] table.")),
    ({"rules": {"error_rate": {"threshold": "5%"}}}, "has threshold = '5%', but threshold must be a number"),
    ({"rules": {"error_rate": {"severity": "loud"}}}, "severity must be one of info, warning, critical"),
    ({"rules": {"model_deprecation": {"patterns": ["(unclosed"]}}}, "'(unclosed' is not a regular expression"),
    ({"rules": {"model_deprecation": {"patterns": ["x{99999999999}"]}}}, "'x{99999999999}' is not a regular"),
    ({"rules": {"model_deprecation": {"patterns": ["gone(?!fishing)"]}}}, "uses a lookaround or a back-reference"),
    ({"rules": {"model_deprecation": {"history": "a week"}}},
     "The history of the rule 'model_deprecation' is 'a week'"),
    ({"rules": {"latency_slo": {"window": "-1d"}}},
     "The window of the rule 'latency_slo' is '-1d', which is not a duration"),
    ({"rules": {"eval_pass_rate": {"names": 3}}},
     "names is a list of annotation names; write names = [\"user_feedback\"]"),
    ({"rules": ["cost_jump"]}, "rules must be a table of rules"),
    ({"webhook": {"url": "hooks.example.com"}},
     "The webhook url 'hooks.example.com' is not an http:// or https:// URL"),
    ({"webhook": {"timeout": 3}}, "the webhook has no url"),
    ({"webhook": {"url": "http://x", "retry": 3}}, "the webhook has no setting 'retry'; did you mean 'retries'?"),
    ({"webhook": {"url": "http://x", "retries": 99}}, "retries = 99, but it must be a whole number from 0 to 10"),
])
def test_errors_name_the_value_the_rule_and_the_fix(data, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="/etc/wb/monitors.toml")
    text = str(caught.value)
    assert text.startswith("In /etc/wb/monitors.toml: ")
    assert message in text
    assert "\n" not in text


def test_errors_of_the_file_itself(tmp_path):
    bad = tmp_path / "monitors.toml"
    bad.write_text("[rules.cost_jump\nfactor = 3\n")
    with pytest.raises(ConfigError, match=r"monitors.toml is not valid TOML \(.*line 1.*\); fix that line"):
        load_config(bad)
    bad_json = tmp_path / "monitors.json"
    bad_json.write_text("{'rules': }")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_config(bad_json)
    yaml = tmp_path / "monitors.yaml"
    yaml.write_text("rules: {}")
    with pytest.raises(ConfigError,
                       match=r"has the extension '\.yaml', which is neither TOML nor JSON; name it monitors\.toml"):
        load_config(yaml)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="holds a list, not a table of settings"):
        load_config(listed)
    with pytest.raises(ConfigError, match=r"There is no monitors file at .*nowhere.toml; check the path"):
        load_config(tmp_path / "nowhere.toml")


def test_rules_check_their_parameters_in_python():
    with pytest.raises(ConfigError, match="The rule 'p' has slo_ms = 0, but slo_ms must be a number over 0"):
        LatencySLO(name="p", slo_ms=0)
    assert LatencySLO(slo_ms=250).name == "latency_slo"


def test_toml_on_a_python_without_tomllib(tmp_path, monkeypatch):
    import sys

    path = tmp_path / "monitors.toml"
    path.write_text("window = '7d'\n")
    monkeypatch.setitem(sys.modules, "tomllib", None)  # as on Python 3.10
    monkeypatch.setitem(sys.modules, "tomli", None)
    with pytest.raises(ConfigError, match=r"cannot read without the tomli package; pip install tomli, or write "
                                          r"the same settings as JSON in a \.json file"):
        load_config(path)
    json_path = tmp_path / "monitors.json"
    json_path.write_text('{"window": "7d"}')
    assert load_config(json_path).window == "7d"
