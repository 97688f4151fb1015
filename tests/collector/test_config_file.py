"""The config file's [redaction] and [sampling] tables reach both ways in."""

from __future__ import annotations

import pytest

import workbench
from workbench.collector.sampling import sampling_policy
from workbench.collector.sink import InMemorySink
from workbench.errors import ConfigError


def test_redaction_policy_comes_from_the_config_file(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[redaction]\nmode = "hash"\nsalt = "a-long-secret-salt"\ndetectors = ["email"]\n')
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    sink = InMemorySink()
    provider = workbench.register("redacted", sink=sink, set_global=False, redact=True)
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("input.value", "write to ann@example.com or call +44 20 7946 0958")
    provider.force_flush()
    value = sink.spans[0].input_value
    assert "ann@example.com" not in value and value.startswith("write to <EMAIL:")
    assert "+44 20 7946 0958" in value  # only the email detector was asked for
    provider.shutdown()


def test_the_redact_switch_still_turns_it_off(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[redaction]\ndetectors = ["email"]\n')
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    sink = InMemorySink()
    provider = workbench.register("plain", sink=sink, set_global=False, redact=False)
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("input.value", "ann@example.com")
    provider.force_flush()
    assert sink.spans[0].input_value == "ann@example.com"


def test_sampling_thresholds_come_from_the_config_file(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("[sampling]\nlatency_ms = 3000\ncost_usd = 0.25\ndecision_wait_s = 1\n")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    monkeypatch.setenv("WORKBENCH_SAMPLE_RATE", "0.05")
    policy = sampling_policy()
    assert (policy.rate, policy.latency_ms, policy.cost_usd, policy.decision_wait_s) == (0.05, 3000, 0.25, 1)
    assert sampling_policy(1.0) is None


def test_a_broken_config_file_is_one_sentence(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("[sampling\nrate = ")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    with pytest.raises(ConfigError, match="cannot be read"):
        sampling_policy(0.5)
    config.write_text("[sampling]\nlatncy_ms = 5\n")
    with pytest.raises(ConfigError, match="unknown key"):
        sampling_policy(0.5)


def test_the_readme_example_config_is_valid(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = re.search(r"```toml\n(\[redaction\].*?)```", readme, re.S).group(1)
    config = tmp_path / "config.toml"
    config.write_text(example)
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    from workbench.collector.pipeline import redaction_config

    policy = redaction_config(redact=True)
    assert policy.mode == "hash" and "customer.tier" in policy.allow
    assert sampling_policy(0.1).latency_ms == 5000
