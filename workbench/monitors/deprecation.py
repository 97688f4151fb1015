"""Model deprecation: a model that stops being called after steady use, or whose calls start
failing with not-found or deprecation errors.

Providers retire model snapshots on a date, often after "brownouts" in which calls to the old
name fail for an hour or two; an app that pins the snapshot breaks, or is quietly switched
to another model by a fallback or a hotfix. Either leaves a trace in the spans:

* **Errors**: calls of the model fail, and their status message, ``error.type`` attribute or
  exception events say so (``404``, ``model_not_found``, "deprecated", "decommissioned",
  "does not exist" ...; see :data:`PATTERNS`).
* **Silence**: a model used steadily (calls on several days) is called no more while the
  same project keeps calling other models. At its former share of the project's calls, the
  calls since would have included ``expected`` calls to it; none came. With ``expected`` of 10
  or more, chance explains that less than once in 20,000 times, so nights and weekends, when
  every model is quiet, do not count as silence.

Models are judged per project, so one project stopping altogether is not a deprecation.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from workbench.monitors.base import (
    Context,
    Episode,
    Result,
    Rule,
    parse_duration,
)
from workbench.monitors.words import ago, both, duration_text, literal, percent, when
from workbench.read import monitors as queries

__all__ = ["ERROR_TEXT", "PATTERNS", "ModelDeprecation", "deprecation_regex"]

#: Regular expressions (case-insensitive) that mark an error as "this model is gone".
PATTERNS: tuple[str, ...] = (
    r"\b404\b",
    r"model_not_found",
    r"not[ _-]?found",
    r"deprecat",
    r"decommission",
    r"does not exist",
    r"no longer (?:available|supported|exists?|served)",
    r"\bretired\b",
    r"end[ -]of[ -]life",
    r"unknown model",
    r"invalid model",
    r"model identifier is invalid",
)

#: The error text of span ``s``, as SQL (other rules use it to leave these errors to this one).
ERROR_TEXT = queries.ERROR_TEXT


def deprecation_regex(patterns: tuple[str, ...] = PATTERNS) -> str:
    """One regular expression matching any of ``patterns``."""
    return "|".join(f"(?:{p})" for p in patterns)


_API_MESSAGE = re.compile(r"""['"]message['"]\s*:\s*(['"])(?P<m>.+?)\1\s*[,}]""")
_API_CODE = re.compile(r"""['"]code['"]\s*:\s*['"](?P<c>[^'"]+)['"]""")
# Python's re accepts these, DuckDB's RE2 does not.
_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]")
# "Learn more: https://..." and "See https://... for more." say nothing a reader of the alert needs.
_LEARN_MORE = re.compile(r"\s*(?:Learn more|See|Visit)\b[^.]*?https?://\S+(?:[^.]*\.)?", re.IGNORECASE)
_HTTP = re.compile(r"(?:Error code|status(?: code)?)\s*:?\s*(?P<s>[45]\d\d)\b", re.IGNORECASE)


def gist(text: str | None, limit: int = 120) -> str:
    """The gist of a provider's error text: ``404 model_not_found: The model ... is retired.``"""
    if not text:
        return ""
    message, code, status = _API_MESSAGE.search(text), _API_CODE.search(text), _HTTP.search(text)
    if message:
        head = " ".join(x for x in (status and status["s"], code and code["c"]) if x)
        text = f"{head}: {message['m']}" if head else message["m"]
    text = " ".join(_LEARN_MORE.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(kw_only=True)
class ModelDeprecation(Rule):
    """A model whose calls stop after steady use, or fail with not-found/deprecation errors.

    Attributes:
        patterns: Regular expressions (case-insensitive) an error's text must match.
        min_errors: The fewest such errors that fire (in the window).
        history: How far before its last call a model's steady use is measured.
        min_calls: The fewest calls in that history that count as steady use.
        min_active_days: The fewest distinct UTC days with calls in that history.
        min_expected: The calls it would have had since, at its former share, before silence counts.
        min_silence: The shortest silence that counts, whatever the traffic.
        ignore: Model names never to report (retired on purpose).
        filter: Which spans count as calls; by default every span with a model name.
    """

    kind = "model_deprecation"
    summary = "a model that stops being called, or fails with not-found/deprecated errors"

    severity: str = "critical"
    patterns: list[str] = field(default_factory=lambda: list(PATTERNS))
    min_errors: int = 3
    history: str = "7d"
    min_calls: int = 20
    min_active_days: int = 2
    min_expected: float = 10.0
    min_silence: str = "6h"
    ignore: list[str] = field(default_factory=list)

    def validate(self) -> None:
        super().validate()
        if isinstance(self.patterns, str):
            self.patterns = [self.patterns]
        if isinstance(self.ignore, str):
            self.ignore = [self.ignore]
        if not self.patterns:
            raise self.fail("patterns", "it needs at least one pattern to recognise an error",
                            "leave patterns out to use the defaults")
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except (re.error, TypeError, OverflowError, RecursionError) as exc:  # a{99999999999} overflows
                raise self.fail("patterns", f"{pattern!r} is not a regular expression ({exc})",
                                "fix or remove that pattern") from None
            if _UNSUPPORTED.search(pattern):
                raise self.fail("patterns", f"{pattern!r} uses a lookaround or a back-reference, which the "
                                "store's regular expressions (RE2) do not support",
                                "match the text itself, e.g. 'model_not_found'")
        self.check_number("min_errors", low=1)
        self.check_number("min_calls", low=1)
        self.check_number("min_active_days", low=1)
        self.check_number("min_expected", low=0, strict_low=True)
        parse_duration(self.history, what=f"history of the rule {self.name!r}")
        parse_duration(self.min_silence, what=f"min_silence of the rule {self.name!r}")

    def lookback(self) -> dt.timedelta:
        return parse_duration(self.history, what="history")

    @property
    def _regex(self) -> str:
        return deprecation_regex(tuple(self.patterns))

    def _usage(self, ctx: Context, since: dt.datetime, end: dt.datetime, history: dt.timedelta) -> list[dict]:
        return queries.model_usage(ctx.reader, self.selection(since, end), history=history)

    def _errors(self, ctx: Context, start: dt.datetime, end: dt.datetime) -> list[dict]:
        return queries.model_errors(ctx.reader, self.selection(start, end), matching=self._regex, end=end)

    def evaluate(self, ctx: Context) -> list[Result]:
        start, end = ctx.bounds(self)
        history = parse_duration(self.history, what="history")
        min_silence = parse_duration(self.min_silence, what="min_silence")
        usage = {(u["project"], u["model"]): u for u in self._usage(ctx, start - history, end, history)}
        errors = {(e["project"], e["model"]): e for e in self._errors(ctx, start, end)}
        ignored = set(self.ignore)
        results = []
        for key in sorted(set(usage) | set(errors), key=lambda k: (str(k[0]), str(k[1]))):
            project, model = key
            if model in ignored:
                continue
            use, err = usage.get(key), errors.get(key)
            err = err if err and err["errors"] >= self.min_errors else None
            silent = use is not None and self._silent(use, end, min_silence)
            if not err and not silent:
                continue
            results.append(self._result(ctx, project, model, use, err, silent, usage, start - history))
        if results:
            return results
        models = sorted({m for _, m in usage if m not in ignored})
        return [self.quiet(ctx, f"None of {len(models)} model{'s' if len(models) != 1 else ''} stopped being "
                                "called or failed with not-found or deprecation errors.",
                           values={"models": models})]

    def _silent(self, use: dict, end: dt.datetime, min_silence: dt.timedelta) -> bool:
        # Silence is a state: it holds from the last call until the next, whenever that began,
        # as long as the steady use before it is within reach (the window plus the history).
        if end - use["last_seen"] < min_silence:
            return False
        if use["history_calls"] < self.min_calls or use["active_days"] < self.min_active_days:
            return False
        return self._expected(use) >= self.min_expected

    @staticmethod
    def _expected(use: dict) -> float:
        share = use["history_calls"] / use["history_total"] if use["history_total"] else 0.0
        return share * use["calls_since"]

    def _result(self, ctx: Context, project: str, model: str, use: dict | None, err: dict | None, silent: bool,
                usage: dict, query_start: dt.datetime) -> Result:
        now = ctx.now
        several = len({p for p, _ in usage}) > 1  # name the project only when it tells models apart
        name = f"Model {model!r}" + (f" (project {project!r})" if project and several else "")
        followers = self._followers(project, model, use, err, usage, query_start) if silent else []
        after = ""
        if followers:
            listed = ", ".join(f"{f['model']} (from {when(f['first_seen'])})" for f in followers[:2])
            after = f"; first called after it: {listed}"
        parts = []
        if err:
            failed = (f"{err['errors']} calls failed with not-found or deprecation errors "
                      f"{self._between(err['first_error'], err['last_error'])}")
            quote = gist(err["sample"])
            if quote:
                failed += f' ("{quote}")'
            parts.append(failed)
        if silent and use:
            history = duration_text(parse_duration(self.history, what="history"))
            parts.append(f"it has not been called since {when(use['last_seen'])} ({ago(use['last_seen'], now)} ago) "
                         f"after {use['history_calls']:,} calls in the {history} before, while "
                         f"{use['calls_since']:,} calls went to other models")
        elif err and use:
            parts.append(f"it was last called at {when(use['last_seen'])}, "
                         f"{err['calls_since_first_error']:,} times since the first error")
        if err and silent:
            message = f"{name} looks deprecated: {parts[0]}, and {parts[1]}{after}."
        elif err:
            message = f"{name} is failing as if deprecated: {'; '.join(parts)}."
        else:
            assert use is not None  # no errors: a silent model, and only a model with calls is silent
            message = (f"{name} stopped being called: {parts[0]}, where about {self._expected(use):,.0f} "
                       f"would have gone to it at its former share of {percent(self._share(use))}{after}.")
        if err:
            since = err["first_error"]
        else:
            assert use is not None  # as above
            since = use["last_seen"]
        ongoing = bool(silent) or (err is not None and now - err["last_error"] < dt.timedelta(hours=1))
        until = err["last_error"] if err else None
        episode = Episode(since=since, until=until or now, buckets=err["errors"] if err else 0, ongoing=ongoing)
        filter_ = both(self.filter, f"project == {literal(project)}" if project and several else None,
                       f"model_name == {literal(model)}", "status_code == 'ERROR'" if err else None)
        values: dict[str, Any] = {
            "model": model, "project": project,
            "last_seen": use["last_seen"] if use else None,
            "first_seen": use["first_seen"] if use else None,
            "calls": use["calls"] if use else 0,
            "silent": silent,
            "errors": err["errors"] if err else 0,
            "first_error": err["first_error"] if err else None,
            "last_error": err["last_error"] if err else None,
            "error_sample": err["sample"] if err else None,
            "expected_calls_since": self._expected(use) if use else 0.0,
            "calls_since": use["calls_since"] if use else 0,
            "followers": [{"model": f["model"], "first_seen": f["first_seen"]} for f in followers],
        }
        # A silent model's offending spans are its last calls, before the silence began.
        spans_from = use["last_seen"] - dt.timedelta(days=1) if use and not err else None
        return self.result(ctx, fired=True, message=message, subject=f"model {model!r}", filter=filter_,
                           episode=episode, severity=self.severity if err else "warning", values=values,
                           spans_from=spans_from)

    @staticmethod
    def _share(use: dict) -> float:
        return use["history_calls"] / use["history_total"] if use["history_total"] else 0.0

    @staticmethod
    def _between(first: dt.datetime, last: dt.datetime) -> str:
        if last - first < dt.timedelta(minutes=1):
            return f"at {when(first)}"
        return f"from {when(first)} to {when(last)}"

    @staticmethod
    def _followers(project: str, model: str, use: dict | None, err: dict | None, usage: dict,
                   query_start: dt.datetime) -> list[dict]:
        """Models of the project first called around the time this one went quiet (its replacements)."""
        if use is None:
            return []
        begin = min(use["last_seen"], err["first_error"] if err else use["last_seen"]) - dt.timedelta(days=1)
        finish = use["last_seen"] + dt.timedelta(days=2)
        found = [
            u for (p, m), u in usage.items()
            if p == project and m != model and begin <= u["first_seen"] <= finish
            and u["first_seen"] > query_start + dt.timedelta(days=1)
        ]
        return sorted(found, key=lambda u: -u["calls"])
