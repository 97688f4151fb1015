"""Model deprecation: not-found errors, silence after steady use, and what must not fire."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from tests.helpers import make_span
from tests.monitors.world import NOW, Deprecation, World, generate
from workbench import monitors
from workbench.model import SpanKind, StatusCode
from workbench.monitors import ModelDeprecation
from workbench.monitors.deprecation import gist
from workbench.query import Reader

DAY = dt.timedelta(days=1)
OLD, NEW = "gpt-4o-2024-05-13", "gpt-4.1-2025-04-14"
MODELS = {OLD: 0.6, "claude-3-5-haiku-20241022": 0.4}
# Brownouts on Wednesday and Thursday afternoon; the switch on Thursday evening.
BROWNOUTS = ((NOW - 5 * DAY - dt.timedelta(hours=1), NOW - 5 * DAY + dt.timedelta(hours=1)),
             (NOW - 4 * DAY - dt.timedelta(hours=3), NOW - 4 * DAY + dt.timedelta(hours=1)))
SWITCH = NOW - 4 * DAY + dt.timedelta(hours=3)


def _deprecation(results):
    return [r for r in results if r.rule == "model_deprecation" and r.fired]


def test_brownout_errors_then_silence(world_reader):
    reader = world_reader(models=MODELS, deprecation=Deprecation(OLD, NEW, BROWNOUTS, SWITCH))
    [result] = _deprecation(monitors.check(reader, now=NOW))
    values = result.values
    assert result.severity == "critical" and result.subject == f"model {OLD!r}"
    assert values["errors"] > 5 and values["silent"]
    assert BROWNOUTS[0][0] <= values["first_error"] < BROWNOUTS[0][1]
    assert SWITCH - dt.timedelta(hours=3) < values["last_seen"] < SWITCH
    assert [f["model"] for f in values["followers"]] == [NEW]
    assert result.since == values["first_error"] and result.ongoing
    message = result.message
    assert message.startswith(f"Model {OLD!r} looks deprecated: ")
    assert "404 model_not_found: The model `gpt-4o-2024-05-13` has been deprecated" in message
    assert f"has not been called since {values['last_seen']:%Y-%m-%d %H:%M} UTC (4 days ago)" in message
    assert f"first called after it: {NEW}" in message
    # The filter finds the model's failed calls (the 404s, and the odd rate limit).
    failed = reader.spans(result.filter, start=result.window_start)
    assert result.filter == f"model_name == {OLD!r} and status_code == 'ERROR'"
    assert values["errors"] <= len(failed) <= values["errors"] + 5
    assert failed["status_message"].str.contains("model_not_found").sum() == values["errors"]


def test_silence_alone_is_a_warning_naming_the_last_call(world_reader):
    reader = world_reader(models=MODELS, deprecation=Deprecation(OLD, NEW, (), SWITCH))
    [result] = _deprecation(monitors.check(reader, now=NOW))
    assert result.severity == "warning"
    assert result.values["errors"] == 0 and result.since == result.values["last_seen"]
    assert result.message.startswith(f"Model {OLD!r} stopped being called: it has not been called since ")
    assert "at its former share of" in result.message
    assert result.filter == f"model_name == {OLD!r}"


def test_errors_while_still_called(world_reader):
    now_brownout = ((NOW - dt.timedelta(hours=5), NOW),)
    reader = world_reader(models=MODELS, deprecation=Deprecation(OLD, NEW, now_brownout, NOW + DAY))
    [result] = _deprecation(monitors.check(reader, now=NOW))
    assert result.severity == "critical" and not result.values["silent"]
    assert result.message.startswith(f"Model {OLD!r} is failing as if deprecated: ")
    assert result.ongoing


def test_errors_seen_only_in_exception_events(world_reader):
    dep = Deprecation(OLD, NEW, BROWNOUTS[:1], NOW + DAY, as_exception=True)
    reader = world_reader(models=MODELS, deprecation=dep)
    [result] = _deprecation(monitors.check(reader, now=NOW))
    assert result.values["errors"] > 3
    assert "deprecated" in result.message


def test_a_short_window_still_sees_an_ongoing_silence(world_reader):
    reader = world_reader(models=MODELS, deprecation=Deprecation(OLD, NEW, BROWNOUTS, SWITCH))
    [result] = _deprecation(monitors.check(reader, window="1h", now=NOW))
    assert result.values["silent"] and result.values["errors"] == 0  # the errors were before the hour
    assert result.severity == "warning"


def test_ignored_models_and_other_patterns(world_reader):
    reader = world_reader(models=MODELS, deprecation=Deprecation(OLD, NEW, BROWNOUTS, SWITCH))
    assert monitors.check(reader, [ModelDeprecation(ignore=[OLD])], now=NOW).fired == []
    # Patterns that match nothing leave only the silence.
    [result] = monitors.check(reader, [ModelDeprecation(patterns=["gone fishing"])], now=NOW).fired
    assert result.values["errors"] == 0 and result.values["silent"]


def test_a_whole_project_going_quiet_is_no_deprecation(world_reader):
    # Traffic stops for every model three days before the check: nothing to compare with.
    reader = world_reader(now=NOW - 3 * DAY)
    assert _deprecation(monitors.check(reader, now=NOW)) == []


def test_another_project_going_on_does_not_count(tmp_path):
    from workbench.store import Store

    quiet = generate(World(now=NOW - 3 * DAY, project="old-app"))
    busy = generate(World(seed=5, project="new-app", models={"gpt-4o-mini": 1.0}))
    busy_spans = [dataclasses.replace(s, trace_id="f" + s.trace_id[1:], span_id="f" + s.span_id[1:],
                                      parent_span_id=s.parent_span_id and "f" + s.parent_span_id[1:])
                  for s in busy.spans]
    with Store(tmp_path / "two.duckdb") as store:
        store.write(quiet.spans + busy_spans)
        assert _deprecation(monitors.check(Reader(store), now=NOW)) == []


def test_a_model_tried_once_is_not_steady_use(world_reader):
    reader = world_reader()
    tried = [make_span(i, trace=900_000 + i, kind=SpanKind.LLM, model_name="o1-preview", project="assistant",
                       base_ns=int((NOW - 6 * DAY).timestamp()) * 10**9, start_ms=i * 60_000,
                       status_code=StatusCode.OK) for i in range(30)]
    reader.store.write(tried)
    assert _deprecation(monitors.check(reader, now=NOW)) == []


def test_rate_limits_are_not_not_found(healthy):
    # The healthy world has 429s; they match no deprecation pattern.
    assert healthy.count("status_code == 'ERROR'") > 10
    assert _deprecation(monitors.check(healthy, now=NOW)) == []


@pytest.mark.parametrize(("text", "expected"), [
    (("Error code: 404 - {'error': {'message': 'The model `x` does not exist or you do not have access to it.', "
      "'type': 'invalid_request_error', 'code': 'model_not_found'}}"),
     "404 model_not_found: The model `x` does not exist or you do not have access to it."),
    ('{"type":"error","error":{"type":"not_found_error","message":"model: claude-2.0"}}', "model: claude-2.0"),
    ("NotFoundError: model_not_found", "NotFoundError: model_not_found"),
    ("The model gemini-1.0-pro has been decommissioned. See https://ai.google.dev/deprecations for more.",
     "The model gemini-1.0-pro has been decommissioned."),
])
def test_gist_of_provider_errors(text, expected):
    assert gist(text) == expected


@pytest.mark.parametrize("message", [
    "Error code: 404 - model_not_found", "The model `text-davinci-003` has been deprecated",
    "model gemini-1.0-pro has been decommissioned", "The model `gpt-5-pro` does not exist",
    "ValidationException: The provided model identifier is invalid.", "DeploymentNotFound",
    "not_found_error: model: claude-2.0", "This model is no longer available",
])
def test_default_patterns_recognise_providers_messages(message, tmp_path):
    import re

    rule = ModelDeprecation()
    assert re.search(rule._regex, message, re.IGNORECASE)
    assert not re.search(rule._regex, "Error code: 429 - rate_limit_exceeded after 4040 tokens", re.IGNORECASE)
