"""The monitors file: which rules run, with which parameters, and where to send what fires.

The file is the ``monitors`` setting (``WORKBENCH_MONITORS``, default
``~/.workbench/monitors.toml``); without it the default rules run with their defaults.
TOML (``.toml``; Python 3.11+, or 3.10 with ``tomli``) and JSON (``.json``) say the same::

    window = "14d"              # how far back every rule looks (default 14d)
    project = "support-bot"     # only this project (optional)

    [rules.cost_jump]           # a default rule: change its parameters
    factor = 4
    every = "hour"

    [rules.error_rate]
    enabled = false             # turn a default rule off

    [rules.cost_budget]         # a rule that is not on by default
    budget = 50                 # USD per day

    [rules.chat_latency]        # a second rule of a kind, under its own name
    kind = "latency_slo"
    filter = "name == 'support_chat'"
    level = "traces"
    slo_ms = 8000
    percentile = 95

    [webhook]
    url = "https://hooks.example.com/workbench"
    timeout = 5                 # seconds per attempt
    retries = 3                 # more attempts after a failure
    repeat_after = "24h"        # an alert still ongoing is told again after this ("never": once)
    send_resolved = true        # and when it stops
    # state = "none"            # keep no alert log: every check tells all that fired

    [slack]                     # a Slack incoming webhook; the same settings as [webhook]
    url = "https://hooks.slack.com/services/T000/B000/XXXX"

    [pagerduty]                 # PagerDuty Events API v2: trigger, then resolve, per alert
    routing_key = "0123456789abcdef0123456789abcdef"

Each channel keeps its own alert log (``monitors.alerts.json``, ``monitors.slack.alerts.json``,
``monitors.pagerduty.alerts.json`` beside the file), so one that was down is told what it missed.
A rule's ``critical`` is a second threshold in the unit of its own (``slo_ms``, ``factor``,
``budget``, ``threshold``, ``min_pass_rate``): a result that reaches it fires as critical.

TOML has no null: write ``"none"`` (or ``""``) for an optional parameter such as ``by``.
Set ``defaults = false`` at the top to run only the rules the file names.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from workbench import config
from workbench.errors import ConfigError
from workbench.monitors.base import DEFAULT_WINDOW, Rule, parse_duration
from workbench.monitors.channels import PagerDuty, Slack
from workbench.monitors.cost import CostBudget, CostJump
from workbench.monitors.deprecation import ModelDeprecation
from workbench.monitors.error_rate import ErrorRate
from workbench.monitors.evals import EvalPassRate
from workbench.monitors.latency import LatencySLO
from workbench.monitors.webhook import Webhook

__all__ = ["KINDS", "MonitorConfig", "default_rules", "load_config", "parse_config"]

#: Every kind of rule, by the name a file gives it.
KINDS: dict[str, type[Rule]] = {
    cls.kind: cls for cls in (CostJump, CostBudget, LatencySLO, ErrorRate, EvalPassRate, ModelDeprecation)
}
#: The kinds that run when no file says otherwise (a budget needs an amount, so it is not one).
DEFAULT_KINDS: tuple[str, ...] = ("model_deprecation", "cost_jump", "latency_slo", "error_rate", "eval_pass_rate")

_W = TypeVar("_W", bound=Webhook)
_TOP_KEYS = ("window", "project", "defaults", "rules", "webhook", "slack", "pagerduty")
_NONE = {"none", ""}


def default_rules() -> list[Rule]:
    """The rules that run without a monitors file, with their default parameters."""
    return [KINDS[kind]() for kind in DEFAULT_KINDS]


@dataclass
class MonitorConfig:
    """What a monitors file says: the rules, the default window, and the webhook.

    Attributes:
        rules: The rules, enabled or not, in the order they run.
        window: How far back rules without their own window look.
        webhook: Where to POST what fires; ``None`` for nowhere.
        source: The file it was read from; ``None`` for the defaults.
        slack: The Slack incoming webhook to tell; ``None`` for none.
        pagerduty: The PagerDuty service to trigger and resolve incidents on; ``None`` for none.
    """

    rules: list[Rule] = field(default_factory=default_rules)
    window: str = DEFAULT_WINDOW
    webhook: Webhook | None = None
    source: str | None = None
    slack: Slack | None = None
    pagerduty: PagerDuty | None = None

    def channels(self) -> dict[str, Webhook]:
        """The channels to tell, by the name of their table (``webhook``, ``slack``, ``pagerduty``)."""
        named = {"webhook": self.webhook, "slack": self.slack, "pagerduty": self.pagerduty}
        return {name: channel for name, channel in named.items() if channel is not None}


def _where(source: str | None) -> str:
    return f"In {source}: " if source else ""


def _error(where: str, text: str) -> ConfigError:
    """A ConfigError saying where (the file), then what; a sentence either way."""
    return ConfigError(where + text if where else text[:1].upper() + text[1:])


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"did you mean {close[0]!r}?" if close else f"the known ones are {', '.join(choices)}."


def _read(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"The monitors file {path} cannot be read ({exc.strerror}); check the path and its permissions."
        ) from None
    if suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"The monitors file {path} is not valid JSON ({exc}); fix that line.") from None
    elif suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            try:
                import tomli as tomllib
            except ModuleNotFoundError:
                raise ConfigError(
                    f"The monitors file {path} is TOML, which this Python (3.10) cannot read without the "
                    "tomli package; pip install tomli, or write the same settings as JSON in a .json file."
                ) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"The monitors file {path} is not valid TOML ({exc}); fix that line.") from None
    else:
        raise ConfigError(
            f"The monitors file {path} has the extension {suffix or '(none)'!r}, which is neither TOML nor JSON; "
            "name it monitors.toml or monitors.json."
        )
    if not isinstance(data, dict):
        raise ConfigError(f"The monitors file {path} holds a {type(data).__name__}, not a table of settings; "
                          "write settings such as window = \"14d\" and [rules.cost_jump] tables.")
    return data


def load_config(path: str | Path | None = None) -> MonitorConfig:
    """Read the monitors file (``path``, else the ``monitors`` setting).

    A missing file at the default place means the default rules; a missing file that was
    asked for by name is an error.

    Raises:
        ConfigError: The file is missing, unreadable, or holds a value a rule cannot take.
    """
    resolved = Path(config.get("monitors", str(path) if path is not None else None)).expanduser()
    if not resolved.exists():
        default = Path(str(config.SETTINGS["monitors"].default)).expanduser()
        if resolved == default and path is None:
            return MonitorConfig()
        raise ConfigError(
            f"There is no monitors file at {resolved}; check the path (--config, or "
            f"{config.SETTINGS['monitors'].env}), or create it: see `workbench check --help`."
        )
    return parse_config(_read(resolved), source=str(resolved))


def parse_config(data: Mapping[str, Any], *, source: str | None = None) -> MonitorConfig:
    """Build the rules and the webhook from a monitors file's contents (a dict).

    Raises:
        ConfigError: A key or value cannot be used; the message names it, the rule and the fix.
    """
    where = _where(source)
    for key in data:
        if key not in _TOP_KEYS:
            raise _error(where, f"there is no setting {key!r} at the top of a monitors file; "
                              f"{_suggest(key, list(_TOP_KEYS))}")
    window = data.get("window", DEFAULT_WINDOW)
    try:
        parse_duration(window, what="window of the monitors file")
    except ConfigError as exc:
        raise _error(where, f"{exc}") from None
    project = data.get("project")
    if project is not None and not isinstance(project, (str, list)):
        raise _error(where, f"project = {project!r} is not a project name; write project = \"support-bot\".")
    use_defaults = data.get("defaults", True)
    if not isinstance(use_defaults, bool):
        raise _error(where, f"defaults = {use_defaults!r} is not true or false; write defaults = false "
                          "to run only the rules the file names.")
    tables = data.get("rules", {})
    if not isinstance(tables, Mapping):
        raise _error(where, f"rules must be a table of rules ([rules.cost_jump] ...), not {tables!r}.")
    rules: dict[str, Rule] = {}
    if use_defaults:
        for kind in DEFAULT_KINDS:
            if kind not in tables:
                rules[kind] = _build(kind, KINDS[kind], {}, project, where)
    for name, table in tables.items():
        rules[name] = _rule(name, table, project, where)
    webhook = _channel(Webhook, "webhook", data.get("webhook"), where)
    slack = _channel(Slack, "slack", data.get("slack"), where)
    pagerduty = _channel(PagerDuty, "pagerduty", data.get("pagerduty"), where)
    return MonitorConfig(rules=list(rules.values()), window=window, webhook=webhook, source=source,
                         slack=slack, pagerduty=pagerduty)


def _rule(name: str, table: Any, project: Any, where: str) -> Rule:
    if not isinstance(table, Mapping):
        raise _error(where, f"the rule {name!r} must be a table of parameters ([rules.{name}]), not {table!r}.")
    kind = table.get("kind", name)
    if kind not in KINDS:
        if "kind" in table:
            raise _error(where, f"the rule {name!r} has kind = {kind!r}, which is not a kind of rule; "
                              f"{_suggest(str(kind), list(KINDS))}")
        raise _error(where, f"there is no rule kind {name!r}; {_suggest(name, list(KINDS))} "
                          f"(to name a rule yourself, add kind = \"latency_slo\" or another kind to [rules.{name}])")
    params = {k: v for k, v in table.items() if k != "kind"}
    return _build(name, KINDS[kind], params, project, where)


def _build(name: str, cls: type[Rule], params: dict[str, Any], project: Any, where: str) -> Rule:
    known = {f.name: f for f in dataclasses.fields(cls) if f.name != "name"}
    for key in params:
        if key not in known:
            raise _error(where, f"the rule {name!r} ({cls.kind}) has no parameter {key!r}; "
                              f"{_suggest(key, sorted(known))}")
    values: dict[str, Any] = {
        k: (None if isinstance(v, str) and v.strip().lower() in _NONE and _optional(known[k]) else v)
        for k, v in params.items()
    }
    if project is not None and "project" not in values:
        values["project"] = project
    try:
        return cls(name=name, **values)
    except ConfigError as exc:
        raise _error(where, f"{exc}") from None


def _optional(f: dataclasses.Field) -> bool:
    return "None" in str(f.type)


def _channel(cls: type[_W], name: str, table: Any, where: str) -> _W | None:
    if table is None:
        return None
    required = "routing_key" if cls is PagerDuty else "url"
    example = f"[{name}] with {required} = \"...\""
    if not isinstance(table, Mapping):
        raise _error(where, f"{name} must be a table ({example}), not {table!r}.")
    label = "the webhook" if name == "webhook" else f"[{name}]"
    known = [f.name for f in dataclasses.fields(cls)]
    for key in table:
        if key not in known:
            raise _error(where, f"{label} has no setting {key!r}; {_suggest(key, known)}")
    if required not in table:
        raise _error(where, f"{label} has no {required}; add {required} = \"...\" to [{name}], or remove [{name}].")
    try:
        return cls(**table)
    except ConfigError as exc:
        raise _error(where, f"{exc}") from None
