"""The Quality page in a real browser: the prompt-version story shows without configuration,
and thumbs feedback with a note is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.app.browser import serve_app
from tests.helpers import make_span
from workbench.app.registry import PAGES
from workbench.evals import log_annotations
from workbench.model import SpanKind
from workbench.query import Reader

pytestmark = pytest.mark.browser

DAY_MS = 86_400_000
TRACES = 40


@pytest.fixture(scope="module")
def quality_store(tmp_path_factory: Any) -> Iterator[Any]:
    """Forty answers over eight days; prompt v2 ships on day 4 and pleases fewer people:
    nine in ten v1 answers get a thumbs up, three in ten v2 answers."""
    from workbench.store import Store

    store = Store(tmp_path_factory.mktemp("quality") / "workbench.duckdb")
    spans, feedback = [], []
    for t in range(TRACES):
        day, version = t // 5, "v1" if t < TRACES // 2 else "v2"
        feature = "billing_assistant" if t % 4 == 0 else "support_chat"
        spans.append(make_span(0, trace=t, kind=SpanKind.CHAIN, name=feature, start_ms=day * DAY_MS + t * 1000,
                               input_value=f"How do I change plan {t}?", output_value=f"Answer {t}.",
                               attributes={"metadata": json.dumps({"feature": feature})}))
        spans.append(make_span(1, trace=t, parent=0, kind=SpanKind.LLM, name="llm",
                               start_ms=day * DAY_MS + t * 1000 + 5, model_name="gpt-4o",
                               prompt_template_version=version))
        up = (t % 10 != 0) if version == "v1" else (t % 10 < 3)
        feedback.append({"trace_id": f"{t + 1:032x}", "label": "thumbs_up" if up else "thumbs_down",
                         "score": 1.0 if up else 0.0, "explanation": None if up else f"not helpful {t}"})
    store.write(spans)
    log_annotations(store, feedback, name="user_feedback", annotator="end-user")
    yield store
    store.close()


@pytest.fixture(scope="module")
def app_server(quality_store: Any) -> Iterator[Any]:
    assert "quality" in PAGES  # listed in the app's registry
    with serve_app(quality_store) as server:
        yield server


def test_the_prompt_version_story_shows_without_configuration(app, shots):
    app.goto("page=quality", ready=".wb-rates")
    rates = app.text(".wb-rates")
    assert "v1\t20\t90%" in rates and "v2\t20\t30%" in rates, rates
    assert "user_feedback" in app.text(".wb-names")
    assert "60%" in app.text(".wb-cards")  # (18 + 6) / 40
    assert "not helpful" in app.text(".wb-worst")
    app.screenshot(shots("quality"))


def test_thumbs_down_with_a_note_is_stored(app, quality_store):
    app.goto("page=quality", ready=".wb-worst")
    app.page.locator(".wb-worst a.wb-review").first.click()
    app.wait_for(".wb-review-trace")
    reviewed = app.wait_until("() => new URLSearchParams(location.search).get('review')")
    app.page.locator(".wb-feedback-note textarea").fill("Still too short after the fix")
    app.page.locator(".wb-thumbs-down button").click()
    app.wait_for(".wb-feedback-status", text="Saved")
    app.wait_for(".wb-feedback-list", text="Still too short after the fix")
    stored = Reader(quality_store).annotations("user_feedback", trace_ids=[reviewed])
    mine = stored[stored["annotator"] == "workbench app"]
    assert list(mine["label"]) == ["thumbs_down"] and list(mine["explanation"]) == ["Still too short after the fix"]
    assert list(mine["annotator_kind"]) == ["HUMAN"] and list(mine["target"]) == ["trace"]
    app.page.locator(".wb-thumbs-up button").click()  # the reviewed trace had only thumbs down so far
    app.wait_for(".wb-feedback-list", text="thumbs_up")
    assert len(Reader(quality_store).annotations("user_feedback", trace_ids=[reviewed])) == 3


def test_a_prompt_version_has_one_colour_in_every_chart_and_legends_sit_below(app):
    from tests.app.page_charts import bar_colors, legends

    app.goto("page=quality", ready=".wb-rates")
    found = app.wait_until("""() => window.Bokeh && Bokeh.documents.length
                              && [...Bokeh.documents[0]._all_models.values()]
                              .filter((m) => m.type === 'Legend').length >= 2""")
    assert found
    charts = [c for c in legends(app) if {"v1", "v2"} <= set(c["colors"])]
    bars = [b for b in bar_colors(app) if {"v1", "v2"} <= set(b)]
    assert len(charts) >= 2 and bars, (legends(app), bar_colors(app))  # the rate lines and the score histogram
    for version in ("v1", "v2"):
        colors = {c["colors"][version] for c in charts} | {b[version] for b in bars}
        assert len(colors) == 1, f"{version} has the colours {colors}"
    assert charts[0]["colors"]["v1"] != charts[0]["colors"]["v2"]
    for chart in legends(app):
        assert chart["side"] == "below", chart  # outside the plot: never over its points
    assert {c["click"] for c in charts} == {"hide"}  # a click on an entry hides its line or bars
