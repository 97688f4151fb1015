"""Monitors: rules over the store that say when cost, latency, errors, evaluations or a
model's availability went wrong, and since when.

::

    import workbench
    from workbench import monitors

    results = monitors.check(workbench.open())     # the monitors file, else the default rules
    results.fired                                  # what fired: severity, message, filter, since
    results.frame()                                # every result as a DataFrame
    monitors.check(wb, [monitors.LatencySLO(slo_ms=5000, percentile=95, by="name")])

``workbench check`` does the same from the command line and exits 1 when a rule fires.

==========================  ==============================================================
:class:`ModelDeprecation`   a model stops being called after steady use, or fails with
                            404 / model_not_found / "deprecated" errors
:class:`CostJump`           spend per hour or day over 3x its trailing 7-day median
:class:`CostBudget`         spend per hour or day over a budget (needs ``budget``)
:class:`LatencySLO`         p95/p99 latency over an objective, per model or span name
:class:`ErrorRate`          the share of failed calls over a threshold or jumping
:class:`EvalPassRate`       an evaluation's pass rate dropping against its baseline
==========================  ==============================================================

Each result carries a filter expression selecting the offending spans, for
``wb.traces(result.filter)`` or the app's trace list. Rules and their parameters come from the
monitors file (:mod:`workbench.monitors.settings`); :func:`notify` posts what fired to a webhook,
Slack or PagerDuty (:mod:`workbench.monitors.channels`), and with an :class:`AlertLog` only what
is news (:mod:`workbench.monitors.alerts`); in GitHub Actions, ``workbench check`` annotates the
run (:mod:`workbench.monitors.github`).
"""

from __future__ import annotations

from workbench.monitors.alerts import AlertLog
from workbench.monitors.base import DEFAULT_WINDOW, Context, Result, Rule
from workbench.monitors.channels import PagerDuty, Slack
from workbench.monitors.check import Results, check
from workbench.monitors.cost import CostBudget, CostJump
from workbench.monitors.deprecation import ModelDeprecation
from workbench.monitors.error_rate import ErrorRate
from workbench.monitors.evals import EvalPassRate
from workbench.monitors.latency import LatencySLO
from workbench.monitors.settings import KINDS, MonitorConfig, default_rules, load_config, parse_config
from workbench.monitors.webhook import Delivery, Webhook, notify, payload

__all__ = [
    "DEFAULT_WINDOW",
    "KINDS",
    "AlertLog",
    "Context",
    "CostBudget",
    "CostJump",
    "Delivery",
    "ErrorRate",
    "EvalPassRate",
    "LatencySLO",
    "ModelDeprecation",
    "MonitorConfig",
    "PagerDuty",
    "Result",
    "Results",
    "Rule",
    "Slack",
    "Webhook",
    "check",
    "default_rules",
    "load_config",
    "notify",
    "parse_config",
    "payload",
]
