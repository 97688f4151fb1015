"""What happens in the sample's three weeks: the timeline of its stories and the traffic plan.

Everything here is decided by one seeded ``numpy`` generator, before any span exists:
:func:`plan` returns the requests (who asked what, when, through which feature), and
:class:`Timeline` holds the dates the stories turn on. The emitters only render them.
"""

from __future__ import annotations

import datetime as dt
import json
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import texts

__all__ = ["FEATURES", "Question", "Request", "Timeline", "Workspace", "load_questions", "plan"]

UTC = dt.timezone.utc
HOUR = 3600 * 10**9
MINUTE = 60 * 10**9

#: Features of the two services, with their share of requests (turns, for the chat).
FEATURES = {
    "help_center_search": 0.33,  # lumen-support: one-shot answers in the help center widget
    "support_chat": 0.32,  # lumen-support: in-app chat, sessions of several turns, tools
    "ticket_draft": 0.10,  # lumen-support: reply drafts for human agents
    "billing_assistant": 0.25,  # lumen-billing: an agent instrumented with OTel GenAI keys
}

# Topic weights of what users ask about (troubleshooting and integrations dominate support).
_TOPIC_WEIGHTS = {
    "setup": 1.0,
    "workspaces": 0.8,
    "billing": 1.0,
    "invoices": 0.8,
    "limits": 0.8,
    "auth": 0.9,
    "sdks": 0.8,
    "integrations": 1.5,
    "data": 1.0,
    "security": 0.8,
    "troubleshooting": 1.8,
}


def _at(day: int, hour: float) -> dt.datetime:
    return Timeline.start + dt.timedelta(days=day, hours=hour)


@dataclass(frozen=True)
class Timeline:
    """The dates the sample's stories turn on (all UTC). Day 0 is a Monday."""

    start = dt.datetime(2026, 10, 19, tzinfo=UTC)
    days = 21
    #: Story 5: the support answer prompt goes from v1 to v2 (shorter, no citations).
    prompt_v2_at = dt.datetime(2026, 10, 27, 9, 0, tzinfo=UTC)
    #: Story 2: the ticket-draft prompt v4 adds the thread, the account and 20 excerpts.
    ticket_v4_at = dt.datetime(2026, 10, 28, 10, 0, tzinfo=UTC)
    #: Story 3: the provider's brownouts of the deprecated snapshot (every call 404s) ...
    brownouts = (
        (dt.datetime(2026, 10, 28, 16, 0, tzinfo=UTC), dt.datetime(2026, 10, 28, 18, 0, tzinfo=UTC)),
        (dt.datetime(2026, 10, 29, 14, 0, tzinfo=UTC), dt.datetime(2026, 10, 29, 17, 0, tzinfo=UTC)),
        (dt.datetime(2026, 10, 30, 8, 0, tzinfo=UTC), dt.datetime(2026, 10, 30, 14, 30, tzinfo=UTC)),
    )
    #: ... a hotfix that retries a 404 on a fallback model ...
    fallback_from = dt.datetime(2026, 10, 29, 17, 30, tzinfo=UTC)
    #: ... and the switch: no call to the old snapshot after this.
    model_switch_at = dt.datetime(2026, 10, 30, 14, 30, tzinfo=UTC)
    old_chat_model = "gpt-4o-2024-05-13"
    new_chat_model = "gpt-4.1-2025-04-14"
    fallback_model = "gpt-4o-mini"
    #: Story 1: "Lumen Copilot" launches; questions about it appear and grow.
    new_topic_from = dt.datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    new_topic_share_start = 0.08
    new_topic_share_end = 0.32

    @classmethod
    def end(cls) -> dt.datetime:
        """The end of the last day."""
        return cls.start + dt.timedelta(days=cls.days)

    @classmethod
    def in_brownout(cls, when: dt.datetime) -> bool:
        """Whether the provider refused the old snapshot at this time."""
        return any(a <= when < b for a, b in cls.brownouts)

    @classmethod
    def new_topic_share(cls, when: dt.datetime) -> float:
        """Share of support questions about the new, undocumented feature."""
        if when < cls.new_topic_from:
            return 0.0
        progress = (when - cls.new_topic_from) / (cls.end() - cls.new_topic_from)
        return cls.new_topic_share_start + progress * (cls.new_topic_share_end - cls.new_topic_share_start)

    @classmethod
    def as_dict(cls) -> dict[str, object]:
        """The timeline as JSON-ready values (for the manifest)."""

        def iso(t: dt.datetime) -> str:
            return t.isoformat().replace("+00:00", "Z")

        return {
            "start": iso(cls.start),
            "end": iso(cls.end()),
            "prompt_v2_at": iso(cls.prompt_v2_at),
            "ticket_v4_at": iso(cls.ticket_v4_at),
            "brownouts": [[iso(a), iso(b)] for a, b in cls.brownouts],
            "fallback_from": iso(cls.fallback_from),
            "model_switch_at": iso(cls.model_switch_at),
            "new_topic_from": iso(cls.new_topic_from),
        }


@dataclass(frozen=True)
class Question:
    """A question of the bank: its text and the chunks that answer it (none if uncovered)."""

    id: str
    topic: str
    text: str
    chunk_ids: tuple[str, ...]
    covered: bool


@dataclass(frozen=True)
class Workspace:
    """A customer workspace of the fictional product."""

    id: str
    plan: str
    region: str
    users: tuple[str, ...]


@dataclass
class Request:
    """One request to one of the apps: a trace to emit."""

    time_ns: int
    feature: str
    workspace: Workspace
    user_id: str
    session_id: str
    turn: int
    question: Question
    asked: str  # the text as the user typed it (prefixes, typos ...)
    history: list[Request] = field(default_factory=list)  # earlier turns of the session
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def when(self) -> dt.datetime:
        """The request's start as a datetime."""
        return dt.datetime.fromtimestamp(self.time_ns / 1e9, tz=UTC)


def load_questions(path: Path) -> list[Question]:
    """Read the question bank (``questions.jsonl``)."""
    with path.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [Question(r["id"], r["topic"], r["text"], tuple(r["chunk_ids"]), r["covered"]) for r in rows]


def _ident(rng: np.random.Generator, prefix: str, n: int = 12) -> str:
    alphabet = string.ascii_lowercase + string.digits
    return prefix + "".join(alphabet[i] for i in rng.integers(0, len(alphabet), n))


def _workspaces(rng: np.random.Generator, count: int = 160) -> list[Workspace]:
    plans = rng.choice(["free", "starter", "growth", "business", "enterprise"], count, p=[0.15, 0.3, 0.35, 0.15, 0.05])
    regions = rng.choice(["us", "eu", "apac"], count, p=[0.55, 0.35, 0.10])
    out = []
    for i in range(count):
        n_users = int(rng.integers(1, 9))
        out.append(
            Workspace(
                _ident(rng, "ws_"), str(plans[i]), str(regions[i]), tuple(_ident(rng, "u_", 8) for _ in range(n_users))
            )
        )
    return out


def _typo(rng: np.random.Generator, text: str) -> str:
    words = text.split(" ")
    # Product names stay intact so the new topic can be found by name in the data.
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha() and "copilot" not in w.lower()]
    if not candidates:
        return text
    i = int(rng.choice(candidates))
    w = words[i]
    j = int(rng.integers(1, len(w) - 1))
    kind = int(rng.integers(0, 3))
    if kind == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]  # swap two letters
    elif kind == 1:
        w = w[:j] + w[j + 1 :]  # drop one
    else:
        w = w[:j] + w[j] + w[j:]  # double one
    words[i] = w
    return " ".join(words)


def vary(rng: np.random.Generator, text: str) -> str:
    """The question as a user might type it: greetings, lowercase, a typo, a trailing word."""
    out = text
    if rng.random() < 0.12:
        out = _typo(rng, out)
    if rng.random() < 0.18:
        prefix = str(rng.choice(texts.QUESTION_PREFIXES))
        out = prefix + (out[0].lower() + out[1:] if out[:1].isupper() and not out[1:2].isupper() else out)
    elif rng.random() < 0.25:
        out = out[0].lower() + out[1:]
    if rng.random() < 0.08:
        out = out.rstrip("?.!") + str(rng.choice(texts.QUESTION_SUFFIXES))
    return out


def _diurnal() -> np.ndarray:
    hours = np.arange(24)
    europe = np.exp(-0.5 * ((hours - 11) / 3.0) ** 2)
    america = 1.1 * np.exp(-0.5 * ((hours - 17.5) / 3.2) ** 2)
    asia = 0.35 * np.exp(-0.5 * ((hours - 2) / 2.5) ** 2)
    weights = 0.08 + europe + america + asia
    return weights / weights.sum()


class _Picker:
    """Draws questions: by topic weight, uncovered ones by the timeline's share."""

    def __init__(self, rng: np.random.Generator, questions: Sequence[Question]) -> None:
        self.rng = rng
        self.by_topic: dict[str, list[Question]] = {}
        for q in questions:
            self.by_topic.setdefault(q.topic, []).append(q)
        self.topics = sorted(_TOPIC_WEIGHTS)
        w = np.array([_TOPIC_WEIGHTS[t] for t in self.topics])
        self.weights = w / w.sum()

    def topic(self, when: dt.datetime, new_topic_scale: float = 1.0) -> str:
        if self.rng.random() < Timeline.new_topic_share(when) * new_topic_scale:
            return "copilot"
        return str(self.rng.choice(self.topics, p=self.weights))

    def question(self, topic: str, avoid: Sequence[Question] = ()) -> Question:
        pool = [q for q in self.by_topic[topic] if q not in avoid] or self.by_topic[topic]
        return pool[int(self.rng.integers(0, len(pool)))]


def _times(rng: np.random.Generator, day: int, count: int, diurnal: np.ndarray) -> list[int]:
    hours = rng.choice(24, count, p=diurnal)
    seconds = rng.uniform(0, 3600, count)
    base = _at(day, 0).timestamp()
    return sorted(int((base + h * 3600 + s) * 1e9) for h, s in zip(hours, seconds, strict=True))


def plan(rng: np.random.Generator, questions: Sequence[Question], weekday_requests: int = 230) -> list[Request]:
    """Lay out every request of the three weeks, in time order."""
    picker = _Picker(rng, questions)
    workspaces = _workspaces(rng)
    activity = rng.zipf(1.6, len(workspaces)).astype(float)
    activity = np.minimum(activity, 40) / np.minimum(activity, 40).sum()
    diurnal = _diurnal()
    requests: list[Request] = []
    for day in range(Timeline.days):
        weekend = _at(day, 0).weekday() >= 5
        total = int(weekday_requests * (0.42 if weekend else 1.0) * (1 + 0.012 * day) * rng.uniform(0.9, 1.1))
        for feature, share in FEATURES.items():
            count = round(total * share)
            if feature == "support_chat":
                count = max(1, int(count / 2.1))  # sessions, averaging 2.1 turns
            for t in _times(rng, day, count, diurnal):
                ws = workspaces[int(rng.choice(len(workspaces), p=activity))]
                requests.extend(_session(rng, picker, feature, ws, t))
    requests.sort(key=lambda r: r.time_ns)
    return [r for r in requests if r.time_ns < Timeline.end().timestamp() * 1e9]


def _session(rng: np.random.Generator, picker: _Picker, feature: str, ws: Workspace, t: int) -> list[Request]:
    when = dt.datetime.fromtimestamp(t / 1e9, tz=UTC)
    if feature == "ticket_draft":
        user = str(rng.choice(texts.AGENTS))
        q = picker.question(picker.topic(when, new_topic_scale=0.6))
        ticket = f"ticket-{int(rng.integers(40_000, 99_999))}"
        return [Request(t, feature, ws, user, ticket, 1, q, vary(rng, q.text))]
    user = str(rng.choice(ws.users))
    if feature == "billing_assistant":
        q = picker.question(str(rng.choice(["billing", "invoices"], p=[0.45, 0.55])))
        request = Request(t, feature, ws, user, _ident(rng, "conv_", 10), 1, q, vary(rng, q.text))
        if rng.random() < 0.45:  # about the user's own account: tools answer, not the docs
            template = int(rng.integers(0, len(texts.BILLING_REQUESTS)))
            invoice = f"LUM-2026-{int(rng.integers(3000, 6000)):06d}"
            day = when - dt.timedelta(days=int(rng.integers(1, 25)))
            amount = f"${float(rng.choice([59, 449, 1490])) + float(rng.choice([0, 0, rng.uniform(20, 300)])):,.2f}"
            request.asked = texts.BILLING_REQUESTS[template].format(
                invoice=invoice, amount=amount, date=f"{day:%b} {day.day}"
            )
            request.extra.update({"template": template, "invoice": invoice})
        return [request]
    turns = 1 if feature == "help_center_search" else int(rng.choice([1, 2, 3, 4, 5], p=[0.35, 0.3, 0.2, 0.1, 0.05]))
    if feature == "help_center_search" and rng.random() < 0.2:
        turns = 2
    session = _ident(rng, "sess_", 10)
    topic = picker.topic(when)
    out: list[Request] = []
    for turn in range(1, turns + 1):
        q = picker.question(topic, avoid=[r.question for r in out])
        request = Request(t, feature, ws, user, session, turn, q, vary(rng, q.text), history=list(out))
        out.append(request)
        t += int(rng.uniform(40, 300) * 1e9)
    return out
