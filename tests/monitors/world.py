"""Synthetic traffic for the monitor tests: three weeks of a small assistant's requests, with
a fixed seed, healthy unless a story is planted.

A request is a trace: a CHAIN root (carrying the feature in OpenInference ``metadata``) and
one LLM call. Traffic follows the hour of day and is lighter at weekends. Latency is
log-normal around a second; one call in 250 fails (a rate limit). A quarter of the requests
get user feedback, 80% thumbs up.

Stories, each off unless set:

* ``cost_jump``: from a time on, one feature's prompts are ``factor`` times longer;
* ``slow_model``: from a time on, a share of one model's calls take many seconds;
* ``error_burst``: between two times, a share of one model's calls fail;
* ``deprecation``: a model fails with 404 model_not_found in brownouts, then is replaced;
* ``feedback_drop``: from a time on, fewer thumbs up.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

from workbench.model import Event, Span, SpanKind, StatusCode, TokenUsage

UTC = dt.timezone.utc
#: The time of the checks: a Monday, mid-afternoon.
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
NOT_FOUND = ("Error code: 404 - {'error': {'message': 'The model `gpt-4o-2024-05-13` has been deprecated "
             "and is no longer available.', 'type': 'invalid_request_error', 'param': None, "
             "'code': 'model_not_found'}}")
RATE_LIMIT = "Error code: 429 - {'error': {'message': 'Rate limit reached', 'code': 'rate_limit_exceeded'}}"


@dataclass
class CostJump:
    feature: str
    at: dt.datetime
    factor: float = 6.0


@dataclass
class SlowModel:
    model: str
    at: dt.datetime
    share: float = 0.08
    seconds: float = 15.0


@dataclass
class ErrorBurst:
    model: str
    start: dt.datetime
    end: dt.datetime
    share: float = 0.5
    message: str = "Error code: 500 - {'error': {'message': 'The server had an error'}}"


@dataclass
class Deprecation:
    model: str = "gpt-4o-2024-05-13"
    replacement: str = "gpt-4.1-2025-04-14"
    brownouts: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
    switch: dt.datetime = NOW - dt.timedelta(days=4)
    as_exception: bool = False  # the 404 only in an exception event, no status message


@dataclass
class FeedbackDrop:
    at: dt.datetime
    thumbs_up: float = 0.45


@dataclass
class World:
    """The knobs of the synthetic traffic."""

    now: dt.datetime = NOW
    days: int = 21
    per_hour: float = 6.0
    seed: int = 11
    project: str = "assistant"
    models: dict[str, float] = field(default_factory=lambda: {"gpt-4o": 0.6, "claude-3-5-haiku-20241022": 0.4})
    features: dict[str, float] = field(default_factory=lambda: {"search": 0.5, "chat": 0.3, "drafts": 0.2})
    error_share: float = 0.004
    feedback_share: float = 0.25
    thumbs_up: float = 0.8
    cost_jump: CostJump | None = None
    slow_model: SlowModel | None = None
    error_burst: ErrorBurst | None = None
    deprecation: Deprecation | None = None
    feedback_drop: FeedbackDrop | None = None


@dataclass
class Traffic:
    """The spans and annotations made."""

    spans: list[Span] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)


def _ns(when: dt.datetime) -> int:
    return int(when.timestamp() * 1_000_000) * 1000


def _rate(world: World, hour: dt.datetime) -> float:
    """Requests per hour: a daytime hump, a night floor, lighter weekends."""
    daytime = 0.25 + 0.75 * max(0.0, math.sin(math.pi * (hour.hour - 6) / 14)) if 6 <= hour.hour <= 20 else 0.25
    weekend = 0.4 if hour.weekday() >= 5 else 1.0
    return world.per_hour * daytime * weekend * 1.6


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def generate(world: World | None = None) -> Traffic:
    """Make the world's spans and feedback, the last request a few minutes before ``now``."""
    world = world or World()
    rng = random.Random(world.seed)
    out = Traffic()
    start = (world.now - dt.timedelta(days=world.days)).replace(minute=0, second=0, microsecond=0)
    hour = start
    trace = 0
    while hour < world.now:
        count = _poisson(rng, _rate(world, hour))
        for _ in range(count):
            when = hour + dt.timedelta(seconds=rng.uniform(0, 3600))
            if when >= world.now - dt.timedelta(minutes=2):
                continue
            trace += 1
            _request(world, rng, out, trace, when)
        hour += dt.timedelta(hours=1)
    return out


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _request(world: World, rng: random.Random, out: Traffic, trace: int, when: dt.datetime) -> None:
    feature = _pick(rng, world.features)
    model = _pick(rng, world.models)
    dep = world.deprecation
    if dep and model == dep.model and when >= dep.switch:
        model = dep.replacement
    latency = rng.lognormvariate(math.log(900), 0.3)
    slow = world.slow_model
    if slow and model == slow.model and when >= slow.at and rng.random() < slow.share:
        latency = slow.seconds * 1000 * rng.uniform(0.9, 1.2)
    prompt = int(rng.uniform(1500, 3000))
    jump = world.cost_jump
    if jump and feature == jump.feature and when >= jump.at:
        prompt = int(prompt * jump.factor)
    completion = int(rng.uniform(80, 200))
    status, message, events = StatusCode.OK, "", ()
    burst = world.error_burst
    if dep and model == dep.model and any(a <= when < b for a, b in dep.brownouts):
        status, message = StatusCode.ERROR, "" if dep.as_exception else NOT_FOUND
        events = (Event("exception", _ns(when) + 1000, {"exception.type": "openai.NotFoundError",
                                                        "exception.message": NOT_FOUND}),)
        latency, completion = rng.uniform(80, 200), 0
    elif burst and model == burst.model and burst.start <= when < burst.end and rng.random() < burst.share:
        status, message, latency, completion = StatusCode.ERROR, burst.message, rng.uniform(200, 2000), 0
    elif rng.random() < world.error_share:
        status, message, latency, completion = StatusCode.ERROR, RATE_LIMIT, rng.uniform(50, 150), 0
    trace_id = f"{trace:032x}"
    root_id, call_id = f"{trace * 2:016x}", f"{trace * 2 + 1:016x}"
    begin = _ns(when)
    call_end = begin + 5_000_000 + int(latency * 1e6)
    meta = json.dumps({"feature": feature, "app_version": "1.4.2"})
    out.spans.append(Span(
        trace_id=trace_id, span_id=root_id, parent_span_id=None, name=feature, start_time_ns=begin,
        end_time_ns=call_end + 3_000_000, status_code=status, status_message=message.split(" - ")[0],
        span_kind=SpanKind.CHAIN, project=world.project,
        attributes={"openinference.span.kind": "CHAIN", "metadata": meta}, session_id=f"s{trace % 97}",
        user_id=f"u{trace % 53}",
    ))
    out.spans.append(Span(
        trace_id=trace_id, span_id=call_id, parent_span_id=root_id, name="ChatCompletion",
        start_time_ns=begin + 5_000_000, end_time_ns=call_end, status_code=status, status_message=message,
        span_kind=SpanKind.LLM, project=world.project, model_name=model,
        provider="anthropic" if model.startswith("claude") else "openai",
        attributes={"openinference.span.kind": "LLM", "llm.model_name": model}, events=events,
        tokens=TokenUsage(prompt=prompt, completion=completion, total=prompt + completion, prompt_includes_cache=True),
    ))
    if status is StatusCode.OK and rng.random() < world.feedback_share:
        drop = world.feedback_drop
        share = drop.thumbs_up if drop and when >= drop.at else world.thumbs_up
        up = rng.random() < share
        out.annotations.append({
            "trace_id": trace_id, "name": "user_feedback", "label": "thumbs_up" if up else "thumbs_down",
            "score": 1.0 if up else 0.0, "annotator_kind": "HUMAN",
            "created_at": when + dt.timedelta(minutes=rng.uniform(1, 30)),
        })


def fill(store: Any, world: World | None = None) -> Traffic:
    """Generate a world's traffic into ``store``; return it."""
    traffic = generate(world)
    store.write(traffic.spans)
    if traffic.annotations:
        store.add_annotations(traffic.annotations)
    return traffic
