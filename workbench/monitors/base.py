"""What every rule shares: the :class:`Rule` base class, the :class:`Result` it returns, the
:class:`Context` a check runs in, and the small helpers rules measure with.

A rule looks back over its *window* (``14d`` unless set; the check's ``window`` changes it for
every rule) and reports, per group it watches (a model, a feature, a project ...), whether
the condition held there, since when, with the values measured and a filter expression that
selects the offending spans.

Time is cut into UTC buckets of an hour or a day. A bucket breaches or not; the breaching
buckets of a group make its result: ``since`` is the start of the first, ``until`` the end of
the last, and ``ongoing`` says whether the latest bucket breaches.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from workbench.errors import ConfigError
from workbench.monitors.words import literal, when
from workbench.read import Reader, Selection

__all__ = [
    "DEFAULT_WINDOW",
    "EVERY",
    "GROUPS",
    "SEVERITIES",
    "Context",
    "Episode",
    "Result",
    "Rule",
    "parse_duration",
]

#: How far back a rule looks unless told otherwise.
DEFAULT_WINDOW = "14d"
#: The severities a result can have, mildest first.
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
#: The bucket widths rules count in.
EVERY: dict[str, dt.timedelta] = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|h|d|w)\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)

#: What span-level rules can group by: the SQL of the group (alias ``s``) and the field a
#: filter expression names it with.
GROUPS: dict[str, str] = {
    "model": "model_name",
    "provider": "provider",
    "name": "name",
    "kind": "span_kind",
    "project": "project",
}


def parse_duration(value: Any, *, what: str) -> dt.timedelta:
    """A duration from text such as ``30m``, ``6h``, ``14d`` or ``2w``, or a timedelta.

    Args:
        value: The text or timedelta.
        what: Where the value came from, for the error (``"window of the rule 'cost_jump'"``).

    Raises:
        ConfigError: The value is not a positive duration.
    """
    if isinstance(value, dt.timedelta):
        duration = value
    else:
        match = _DURATION.match(str(value)) if isinstance(value, str) else None
        if not match:
            raise ConfigError(
                f"The {what} is {value!r}, which is not a duration; write a number and a unit "
                "(m, h, d or w) such as '30m', '6h' or '14d'."
            )
        duration = dt.timedelta(**{_UNITS[match[2]]: float(match[1])})
    if duration <= dt.timedelta(0):
        raise ConfigError(f"The {what} is {value!r}, but it must be longer than zero; write e.g. '14d'.")
    return duration


def floor_time(when: dt.datetime, width: dt.timedelta) -> dt.datetime:
    """The start of the UTC bucket of ``width`` holding ``when``."""
    micros = int(width / dt.timedelta(microseconds=1))
    since = int((when - _EPOCH) / dt.timedelta(microseconds=1))
    return _EPOCH + dt.timedelta(microseconds=(since // micros) * micros)


def bucket_start(number: int, width: dt.timedelta) -> dt.datetime:
    """The start of bucket ``number`` (as :func:`workbench.read.monitors.bucket_sql` numbers them)."""
    return _EPOCH + number * width


def bucket_number(when: dt.datetime, width: dt.timedelta) -> int:
    """The number of the bucket holding ``when``."""
    return int((floor_time(when, width) - _EPOCH) / width)


@dataclass(frozen=True)
class Episode:
    """The breaching buckets of a group: first start, last end, how many, and whether it goes on."""

    since: dt.datetime
    until: dt.datetime
    buckets: int
    ongoing: bool

    @classmethod
    def of(cls, numbers: Iterable[int], width: dt.timedelta, latest: int) -> Episode | None:
        """From breaching bucket numbers; ``latest`` is the bucket holding the check's time.

        The latest bucket has only begun, so a breach in the one before it still counts as going on.
        """
        found = sorted(set(numbers))
        if not found:
            return None
        return cls(bucket_start(found[0], width), bucket_start(found[-1] + 1, width), len(found),
                   found[-1] >= latest - 1)

    def describe(self, width: dt.timedelta) -> str:
        """``since 2026-10-28 (3 days)`` or ``from ... to ... (5 hours)``."""
        unit = "day" if width >= dt.timedelta(days=1) else "hour"
        count = f"{self.buckets} {unit}{'s' if self.buckets != 1 else ''}"
        if self.ongoing:
            return f"since {when(self.since, width)} ({count})"
        last = self.until - width
        if self.buckets == 1:
            return f"on {when(self.since, width)}" if unit == "day" else f"at {when(self.since)}"
        return f"from {when(self.since, width)} to {when(last, width)} ({count})"


@dataclass(frozen=True)
class Result:
    """What one rule found for one thing it watches.

    Attributes:
        rule: The rule's name (its key in the config file).
        kind: The rule's kind (``cost_jump``, ``model_deprecation`` ...).
        fired: Whether the condition held in the window.
        severity: ``info``, ``warning`` or ``critical``; ``ok`` when it did not fire.
        subject: What it is about (``model 'gpt-4o'``, ``feature 'search'``); empty for all.
        message: One sentence saying what happened and since when.
        filter: A filter expression selecting the offending spans (for the trace list).
        since: When the condition first held in the window.
        until: When it last held (the end of the last breaching bucket).
        ongoing: Whether it still holds at the end of the window.
        window_start: The start of the window looked at.
        window_end: The end of the window (the time of the check).
        values: The figures measured (peaks, baselines, thresholds, counts).
        spans_from: Where to start looking for the offending spans, when not at the window's
            start or ``since`` (a silent model's last calls came before either).
    """

    rule: str
    kind: str
    fired: bool
    severity: str
    subject: str
    message: str
    filter: str | None
    since: dt.datetime | None
    until: dt.datetime | None
    ongoing: bool
    window_start: dt.datetime
    window_end: dt.datetime
    values: dict[str, Any] = field(default_factory=dict)
    spans_from: dt.datetime | None = None

    def spans_range(self) -> tuple[dt.datetime, dt.datetime]:
        """The time range in which :attr:`filter` finds the offending spans: ``(start, end)``."""
        start = min(t for t in (self.window_start, self.since, self.spans_from) if t is not None)
        return start, self.window_end

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values (times as ISO text)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _jsonable(value)
        return out

    def __str__(self) -> str:
        mark = f"[{self.severity.upper()}]" if self.fired else "[ok]"
        return f"{mark} {self.rule}: {self.message}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(_UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _jsonable(value.item())
    return value


@dataclass(frozen=True)
class Context:
    """What a check runs against: a local reader, the time of the check and the default window."""

    reader: Reader
    now: dt.datetime
    window: dt.timedelta

    def bounds(self, rule: Rule) -> tuple[dt.datetime, dt.datetime]:
        """The window a rule looks at: ``(start, now)``."""
        window = parse_duration(rule.window, what=f"window of the rule {rule.name!r}") if rule.window else self.window
        return self.now - window, self.now


@dataclass(kw_only=True)
class Rule:
    """A monitor rule. Subclasses set :attr:`kind`, add parameters and implement :meth:`evaluate`.

    Attributes:
        name: The rule's name; defaults to its kind. Two rules of one kind need two names.
        enabled: Whether checks run it.
        window: How far back it looks (``"14d"``); ``None`` takes the check's window.
        project: Only spans of this project (or these projects).
        filter: A filter expression choosing the spans it watches (see :mod:`workbench.read.filters`).
        severity: The severity of its results when they fire (at the rule's own threshold).
        critical: A second, stronger threshold, in the unit of the rule's own (:attr:`warn_param`):
            a fired result whose measured value (:attr:`measured`) reaches it is ``critical``.
            ``None``: every fired result has :attr:`severity`.
    """

    kind: ClassVar[str] = ""
    #: One line saying what the rule watches, for listings.
    summary: ClassVar[str] = ""
    #: The parameter holding the rule's own (warning) threshold; empty when it has none.
    warn_param: ClassVar[str] = ""
    #: The key of a result's ``values`` compared with :attr:`critical`.
    measured: ClassVar[str] = ""
    #: Whether a higher measured value is worse (a pass rate is worse lower).
    higher_is_worse: ClassVar[bool] = True

    name: str = ""
    enabled: bool = True
    window: str | None = None
    project: str | list[str] | None = None
    filter: str | None = None
    severity: str = "warning"
    critical: float | None = None

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.kind
        self.validate()

    def selection(self, start: Any = None, end: Any = None) -> Selection:
        """The spans this rule watches between ``start`` and ``end``: its filter and project."""
        return Selection(self.filter, start, end, self.project)

    # Validation ----------------------------------------------------------------------------

    def fail(self, parameter: str, rule: str, fix: str) -> ConfigError:
        """A ConfigError naming this rule, the parameter and its value, the rule it breaks and the fix."""
        value = getattr(self, parameter, None)
        return ConfigError(f"The rule {self.name!r} has {parameter} = {value!r}, but {rule}; {fix}.")

    def validate(self) -> None:
        """Check the parameters; subclasses extend it.

        Raises:
            ConfigError: A parameter has a value the rule cannot use.
        """
        if self.severity not in SEVERITIES:
            raise self.fail("severity", f"severity must be one of {', '.join(SEVERITIES)}",
                            "write severity = \"warning\" or \"critical\"")
        if self.window is not None:
            parse_duration(self.window, what=f"window of the rule {self.name!r}")
        if self.filter is not None and not isinstance(self.filter, str):
            raise self.fail("filter", "a filter is text", "write it like filter = \"span_kind == 'LLM'\"")
        if self.project is not None and not isinstance(self.project, (str, list)):
            raise self.fail("project", "project is a name or a list of names", "write project = \"support-bot\"")
        self._check_critical()

    def _check_critical(self) -> None:
        if self.critical is None:
            return
        if not self.measured:
            raise self.fail("critical", f"a {self.kind} rule has no threshold to escalate",
                            "remove critical and set severity instead")
        own = getattr(self, self.warn_param, None) if self.warn_param else None
        example: float = 1 if self.higher_is_worse else 0.5
        if isinstance(own, (int, float)) and not isinstance(own, bool) and own > 0:
            example = own * 2 if self.higher_is_worse else own / 2
        self.check_number("critical", low=0, strict_low=self.higher_is_worse, example=example)
        if isinstance(own, (int, float)) and not isinstance(own, bool):
            beyond = self.critical > own if self.higher_is_worse else self.critical < own
            if not beyond:
                side = "over" if self.higher_is_worse else "under"
                raise self.fail("critical", f"the critical threshold must be {side} the warning one "
                                f"({self.warn_param} = {literal(own)})",
                                f"write a critical value {side} {literal(own)}")

    def escalated(self, severity: str, values: dict[str, Any]) -> str:
        """``critical`` when the measured value reaches :attr:`critical`, else ``severity``."""
        value = values.get(self.measured) if self.measured else None
        if self.critical is None or not isinstance(value, (int, float)) or isinstance(value, bool):
            return severity
        reached = value >= self.critical if self.higher_is_worse else value <= self.critical
        return "critical" if reached else severity

    def check_choice(self, parameter: str, choices: Sequence[Any]) -> None:
        """Raise unless the parameter is one of ``choices``."""
        if getattr(self, parameter) not in choices:
            names = ", ".join(literal(c) for c in choices)
            raise self.fail(parameter, f"{parameter} must be one of {names}", f"set it to {literal(choices[0])}")

    def check_number(self, parameter: str, *, low: float | None = None, high: float | None = None,
                     strict_low: bool = False, allow_none: bool = False, example: float | None = None) -> None:
        """Raise unless the parameter is a number in ``[low, high]`` (``(low, high]`` when strict).

        The error's example is ``example``, else the parameter's default.
        """
        value = getattr(self, parameter)
        if value is None and allow_none:
            return
        bounds = []
        if low is not None:
            bounds.append(f"{'over' if strict_low else 'at least'} {literal(low)}")
        if high is not None:
            bounds.append(f"at most {literal(high)}")
        wanted = "a number" + (" " + " and ".join(bounds) if bounds else "")
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and low is not None:
            ok = value > low if strict_low else value >= low
        if ok and high is not None:
            ok = value <= high
        if not ok:
            shown = type(self).__dataclass_fields__[parameter].default if example is None else example
            raise self.fail(parameter, f"{parameter} must be {wanted}", f"write e.g. {parameter} = {literal(shown)}")

    # Evaluation ----------------------------------------------------------------------------

    def evaluate(self, ctx: Context) -> list[Result]:
        """Measure over the context's reader; return one result per group watched (fired or not).

        A rule that finds nothing wrong returns one result with ``fired=False``.
        """
        raise NotImplementedError

    def lookback(self) -> dt.timedelta:
        """How much time before its window the rule reads too (for baselines and history)."""
        return dt.timedelta(0)

    def parameters(self) -> dict[str, Any]:
        """The rule's parameters and their values."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def result(
        self,
        ctx: Context,
        *,
        fired: bool,
        message: str,
        subject: str = "",
        filter: str | None = None,
        episode: Episode | None = None,
        severity: str | None = None,
        values: dict[str, Any] | None = None,
        spans_from: dt.datetime | None = None,
    ) -> Result:
        """A result of this rule for the context's window."""
        start, end = ctx.bounds(self)
        return Result(
            rule=self.name,
            kind=self.kind,
            fired=fired,
            severity=self.escalated(severity or self.severity, values or {}) if fired else "ok",
            subject=subject,
            message=message,
            filter=filter,
            since=episode.since if episode else None,
            until=episode.until if episode else None,
            ongoing=episode.ongoing if episode else False,
            window_start=start,
            window_end=end,
            values=values or {},
            spans_from=spans_from,
        )

    def quiet(self, ctx: Context, message: str, *, values: dict[str, Any] | None = None) -> Result:
        """The one result of a rule that found nothing wrong."""
        return self.result(ctx, fired=False, message=message, filter=self.filter, values=values)


# Groups and scopes shared by the span-level rules -----------------------------------------


def check_group(rule: Rule, parameter: str = "by") -> None:
    """Raise unless the rule's ``by`` is one of :data:`GROUPS` or None."""
    if getattr(rule, parameter) is not None and getattr(rule, parameter) not in GROUPS:
        rule.check_choice(parameter, [*GROUPS, None])


def group_field(by: str | None) -> str | None:
    """The ``spans`` column a group is read from; None for no group."""
    return GROUPS[by] if by else None


def subject(by: str | None, value: Any) -> str:
    """What a group is called in messages: ``model 'gpt-4o'``; empty for no group."""
    if not by:
        return ""
    return f"{by} {value!r}" if value is not None else f"spans without a {by}"


def group_filter(by: str | None, value: Any) -> str | None:
    """The filter expression selecting a group's spans."""
    if not by:
        return None
    name = GROUPS[by]
    return f"{name} is None" if value is None else f"{name} == {literal(value)}"
