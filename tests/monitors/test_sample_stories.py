"""The shipped sample's stories fire with the default rules, as ``workbench serve --sample`` loads it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from workbench import monitors
from workbench.query import Reader

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    from workbench.sample import load_sample
    from workbench.store import Store

    store = Store(tmp_path_factory.mktemp("sample") / "sample.duckdb")
    load_sample(store)
    # Where the loader moved the sample's timeline to: its last span, now.
    shift = store.fetchall("SELECT max(end_time) FROM spans")[0][0] - dt.datetime(2026, 11, 9, tzinfo=UTC)
    yield Reader(store), shift
    store.close()


@pytest.fixture(scope="module")
def results(sample):
    reader, _ = sample
    return monitors.check(reader)


def _iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_deprecated_model_is_named_with_its_last_call(results, manifest, sample):
    _, shift = sample
    story = manifest["stories"]["model_deprecation"]
    [result] = [r for r in results.fired if r.rule == "model_deprecation"]
    assert result.severity == "critical" and result.subject == f"model {story['model']!r}"
    values = result.values
    assert values["errors"] == story["model_not_found"]
    assert abs(values["first_error"] - (_iso(story["first_error"]) + shift)) < dt.timedelta(minutes=10)
    assert abs(values["last_seen"] - (_iso(story["last_call"]) + shift)) < dt.timedelta(minutes=10)
    assert values["silent"] and [f["model"] for f in values["followers"]][:1] == [story["replacement"]]
    assert "model_not_found" in result.message and "has not been called since" in result.message
    assert story["replacement"] in result.message


def test_the_cost_jump_of_ticket_drafts(results):
    [result] = [r for r in results.fired if r.rule == "cost_jump"]
    assert result.subject == "feature 'ticket_draft'"
    assert result.values["ratio"] > 3


def test_the_slow_tail_of_one_provider(results, sample):
    reader, _ = sample
    [result] = [r for r in results.fired if r.rule == "latency_slo"]
    assert result.subject == "model 'gemini-2.0-flash'"
    slow = reader.spans(result.filter, start=result.window_start)
    assert set(slow["provider"]) == {"google"} and (slow["latency_ms"] > 10_000).all()


def test_every_result_links_to_spans_that_exist(results, sample):
    reader, _ = sample
    for result in results.fired:
        assert reader.count_traces(result.filter, start=result.window_start) > 0, result.rule


def test_the_same_stories_through_a_running_server(sample, results):
    from workbench.remote import RemoteReader
    from workbench.server import Server

    reader, _ = sample
    server = Server(reader.store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    try:
        remote = monitors.check(RemoteReader(server.url), now=results.checked_at)
    finally:
        server.stop()
    assert [(r.rule, r.subject, r.severity) for r in remote.fired] == \
           [(r.rule, r.subject, r.severity) for r in results.fired]
