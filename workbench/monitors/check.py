"""Running the rules: :func:`check` and the :class:`Results` it returns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import ConfigError, FilterError
from workbench.monitors.base import Context, Result, Rule, parse_duration
from workbench.monitors.settings import MonitorConfig, load_config, parse_config
from workbench.monitors.source import local_reader

__all__ = ["Results", "check", "resolve"]

_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2, "ok": 3}
_COLUMNS = ["rule", "kind", "fired", "severity", "subject", "message", "since", "until", "ongoing",
            "filter", "window_start", "window_end", "values"]


class Results(list):
    """The results of a check: a list of :class:`~workbench.monitors.Result`, fired ones first.

    ``results.fired`` lists what fired; ``results.frame()`` is a DataFrame of them all, which
    a notebook also shows for the list itself.
    """

    def __init__(self, results: Iterable[Result] = (), *, checked_at: dt.datetime | None = None,
                 config: MonitorConfig | None = None, window: dt.timedelta | None = None) -> None:
        super().__init__(results)
        self.checked_at = checked_at
        self.config = config
        self.window = window

    @property
    def fired(self) -> list[Result]:
        """The results that fired."""
        return [r for r in self if r.fired]

    def frame(self) -> pd.DataFrame:
        """One row per result, with the columns of :class:`~workbench.monitors.Result`."""
        return pd.DataFrame([{c: getattr(r, c) for c in _COLUMNS} for r in self], columns=_COLUMNS)

    def to_dicts(self) -> list[dict[str, Any]]:
        """Every result as JSON-ready values."""
        return [r.to_dict() for r in self]

    def __str__(self) -> str:
        if not self:
            return "No rules ran."
        return "\n".join(str(r) for r in self)

    def _repr_html_(self) -> str:
        frame = self.frame().drop(columns=["values", "window_start", "window_end", "kind"])
        return frame.to_html(index=False)


def resolve(rules: Any = None) -> MonitorConfig:
    """The configuration a check runs: from the ``monitors`` setting's file when ``rules`` is
    None, else from a file path, a dict of a file's contents, a config, or a list of rules.

    Raises:
        ConfigError: The file or the rules cannot be used.
    """
    if rules is None:
        return load_config()
    if isinstance(rules, MonitorConfig):
        return rules
    if isinstance(rules, (str, Path)):
        return load_config(rules)
    if isinstance(rules, Mapping):
        return parse_config(rules)
    if isinstance(rules, Rule):
        return MonitorConfig(rules=[rules])
    if isinstance(rules, Sequence) and all(isinstance(r, Rule) for r in rules):
        names = [r.name for r in rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(f"Two rules are named {twice[0]!r}; give each its own name (name=\"...\").")
        return MonitorConfig(rules=list(rules))
    raise ConfigError(
        f"rules={rules!r} cannot be checked; pass None (the monitors file), a file path, a dict, or a list of rules "
        "such as [LatencySLO(slo_ms=8000)]."
    )


def check(
    reader: Any,
    rules: Any = None,
    *,
    window: str | dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> Results:
    """Run monitor rules over a store and return what each found.

    Args:
        reader: ``workbench.open(...)``: a file's reader, or a running server's (whose spans
            of the window are copied into memory first).
        rules: ``None`` for the monitors file (the ``monitors`` setting; the default rules when
            there is none), a file path, a dict shaped like the file, or a list of rules.
        window: How far back rules without their own window look (``"24h"``); overrides the file.
        now: The time of the check (default: now); results describe the window before it.

    Returns:
        :class:`Results`: one or more results per enabled rule, fired ones first.

    Raises:
        ConfigError: The rules cannot be used (the message names the rule and the fix).

    Example:
        >>> results = workbench.monitors.check(workbench.open())
        >>> results.fired            # what fired
        >>> results.frame()          # all of it as a DataFrame
    """
    cfg = resolve(rules)
    moment = (now or dt.datetime.now(dt.timezone.utc))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    span = parse_duration(window if window is not None else cfg.window, what="window of the check")
    enabled = [r for r in cfg.rules if r.enabled]
    if not enabled:
        return Results([], checked_at=moment, config=cfg, window=span)
    earliest = min(
        moment - (parse_duration(r.window, what="window") if r.window else span) - r.lookback() for r in enabled
    )
    results: list[Result] = []
    with local_reader(reader, earliest) as local:
        ctx = Context(local, moment, span)
        for rule in enabled:
            try:
                results.extend(rule.evaluate(ctx))
            except FilterError as exc:
                raise ConfigError(f"The rule {rule.name!r} cannot run: {exc}") from None
    order = {r.name: i for i, r in enumerate(enabled)}
    results.sort(key=lambda r: (not r.fired, _SEVERITY_ORDER.get(r.severity, 9), order.get(r.rule, 0)))
    return Results(results, checked_at=moment, config=cfg, window=span)
