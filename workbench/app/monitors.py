"""The Monitors page: what the monitor rules found, each fired result with what happened and
since when, and a link to its spans (the trace list with the rule's filter and time range).

The rules are the monitors file's (the ``monitors`` setting), else the defaults; the page
runs them when opened and again on "Check again". Everything shown comes from
:func:`workbench.monitors.check`, the same call ``workbench check`` makes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import panel as pn
import param

from workbench.app.js_components import LinkedHTML
from workbench.app.markup import esc, fmt_time, href, zone_label
from workbench.app.page import PageView, status_line
from workbench.app.style import CSS
from workbench.app.tables import Column, table
from workbench.errors import WorkbenchError
from workbench.monitors import Result, Results, Rule, check

__all__ = ["MonitorsView", "results_html", "rules_html"]

#: The windows offered; "" keeps the monitors file's (14 days by default).
WINDOWS = {"Window of the rules": "", "Last hour": "1h", "Last 24 hours": "24h", "Last 7 days": "7d",
           "Last 14 days": "14d", "Last 30 days": "30d"}
_SEVERITY_COLORS = {"critical": "#dc2626", "warning": "#d97706", "info": "#2563eb", "ok": "#16a34a"}

_PAGE_CSS = """
.wb-monitor-row td { padding-top: 7px; padding-bottom: 7px; }
.wb-monitor-quiet td { color: #64748b; }
.wb-monitor-msg { max-width: 760px; line-height: 1.45; }
.wb-monitor-filter { color: #475569; margin-top: 3px; display: block; }
.wb-rules summary { cursor: pointer; color: #475569; margin: 12px 0 6px; }
"""


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "")


def spans_href(result: Result) -> str:
    """The link to a result's spans: the trace list with its filter, over its time range."""
    start, end = result.spans_range()
    return href("traces", filter=result.filter or "", range="custom", start=_iso(start), end=_iso(end))


def _badge(severity: str) -> str:
    color = _SEVERITY_COLORS.get(severity, "#64748b")
    return f"<span class='wb-badge' style='background:{color}'>{esc(severity.upper())}</span>"


def _when(result: Result) -> str:
    if not result.fired or result.since is None:
        return ""
    since = esc(fmt_time(result.since, seconds=False))
    if result.ongoing:
        return f"since {since}<div class='wb-muted'>ongoing</div>"
    until = esc(fmt_time(result.until, seconds=False)) if result.until else ""
    return f"{since}<div class='wb-muted'>to {until}</div>"


def results_html(results: list[Result], *, show_quiet: bool = True) -> str:
    """The results as a table: fired ones first, each with a link to its spans."""
    shown = [r for r in results if r.fired or show_quiet]
    if not shown:
        return ("<div class='wb-empty'>Nothing fired. "
                + ("No rules ran: turn some on in the monitors file." if not results else
                   "Every rule is quiet.") + "</div>")
    def spans(r: Result) -> str:
        return (f"<a class='wb-monitor-spans' href='{esc(spans_href(r))}'>spans &rarr;</a>"
                if r.fired and r.filter else "")

    def message(r: Result) -> str:
        filt = f"<span class='wb-mono wb-monitor-filter'>{esc(r.filter)}</span>" if r.fired and r.filter else ""
        return f"<div class='wb-monitor-msg'>{esc(r.message)}{filt}</div>"

    return table(shown, [
        Column("", lambda r: _badge(r.severity)),
        Column("Rule", lambda r: f"<b>{esc(r.rule)}</b><div class='wb-muted'>{esc(r.subject)}</div>", nowrap=True),
        Column("What happened", message),
        Column("When", _when, nowrap=True, head=f"When ({esc(zone_label())})"),
        Column("", spans, nowrap=True),
    ], css="wb-monitor-results",
        row_attrs=lambda r: " class='wb-monitor-row" + ("" if r.fired else " wb-monitor-quiet") + "'")


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if len(value) <= 4 else f"{len(value)} items"
    return "" if value is None else str(value)


def rules_html(rules: list[Rule], source: str | None) -> str:
    """The rules that ran, with their parameters, folded."""
    where = (f"from <span class='wb-mono'>{esc(source)}</span>" if source
             else "the defaults (there is no monitors file)")
    def name(rule: Rule) -> str:
        state = "" if rule.enabled else " <span class='wb-muted'>(off)</span>"
        return f"<b>{esc(rule.name)}</b>{state}<div class='wb-muted'>{esc(rule.kind)}</div>"

    def summary(rule: Rule) -> str:
        params = {k: v for k, v in rule.parameters().items() if k not in ("name", "enabled")}
        text = "; ".join(f"{k} = {_value(v)}" for k, v in params.items() if _value(v) != "")
        return f"{esc(rule.summary)}<div class='wb-mono wb-muted'>{esc(text)}</div>"

    return (f"<details class='wb-rules'><summary>{len(rules)} rules, {where}</summary>"
            + table(rules, [Column("Rule", name, nowrap=True), Column("What it checks", summary)], header=False)
            + "</details>")


def _cards(results: Results) -> str:
    fired = results.fired
    critical = sum(1 for r in fired if r.severity == "critical")
    checked = len({r.rule for r in results})
    at = fmt_time(results.checked_at, seconds=False) if results.checked_at else ""
    cards = [("fired", len(fired)), ("critical", critical), ("rules checked", checked),
             (f"checked ({zone_label()})", at)]
    return "<div class='wb-cards'>" + "".join(
        f"<div class='wb-card'><div class='v'>{esc(v)}</div><div class='l'>{esc(k)}</div></div>" for k, v in cards
    ) + "</div>"


class MonitorsView(PageView):
    """What the monitor rules found, with links to the offending spans.

    Args:
        reader: Where the spans come from.
        window: How far back the rules look (``"24h"``); empty for the monitors file's window.
        show_quiet: Also list the rules that did not fire.
    """

    window = param.Selector(default="", objects=list(WINDOWS.values()), doc="How far back the rules look.")
    show_quiet = param.Boolean(default=True, doc="Also list the rules that did not fire.")

    url_params: ClassVar[tuple[str, ...]] = ("window", "show_quiet")
    uses_scope: ClassVar[bool] = False

    results: Results | None = None
    error: str | None = None

    def _build(self) -> Any:
        self._window = pn.widgets.Select.from_param(self.param.window, name="", options=window_options(), width=230,
                                                    margin=(5, 5))
        self._quiet = pn.widgets.Checkbox.from_param(self.param.show_quiet, name="Show quiet rules", margin=(12, 10))
        self._again = pn.widgets.Button(label="Check again", color="primary", width=120, margin=(5, 5))
        self._again.on_click(lambda _: self.refresh())
        self._status = pn.pane.HTML(status_line(), stylesheets=[CSS], min_height=20, margin=(0, 10),
                                    sizing_mode="stretch_width")
        self._cards = pn.pane.HTML("", stylesheets=[CSS], margin=(4, 10), sizing_mode="stretch_width")
        self._list = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 8),
                                stylesheets=[CSS, _PAGE_CSS])
        self._rules = pn.pane.HTML("", stylesheets=[CSS, _PAGE_CSS], margin=(4, 10), sizing_mode="stretch_width")
        self.watch(self.refresh, "window")
        self.watch(self._show, "show_quiet")
        self.refresh()
        controls = pn.Row(self._window, self._quiet, self._again, sizing_mode="stretch_width", margin=(4, 5, 0, 5))
        return pn.Column(controls, self._status, self._cards,
                         pn.Column(self._list, self._rules, scroll=True, sizing_mode="stretch_both", margin=0),
                         sizing_mode="stretch_both", margin=0)

    def _follow(self, page: str, params: dict[str, str]) -> None:
        self.link(page, **params)

    def refresh(self) -> None:
        """Run the rules again and show what they found."""
        try:
            self.results = check(self.reader, window=self.window or None)
            self.error = None
        except WorkbenchError as exc:
            self.results, self.error = None, str(exc)
        self._show()

    def _show(self) -> None:
        if not hasattr(self, "_list"):
            return
        if self.results is None:
            self._status.object = status_line(esc(self.error or ""), error=True)
            self._cards.object = self._rules.object = ""
            self._list.html = ""
            return
        results = self.results
        config = results.config
        fired = len({r.rule for r in results.fired})
        span = f"the {_span_text(results.window)} before" if results.window else "the window"
        self._status.object = status_line(
            f"{fired} of {len({r.rule for r in results})} rules fired in {span} "
            f"{esc(fmt_time(results.checked_at))} {esc(zone_label())}")
        self._cards.object = _cards(results)
        if not self.window:
            self._rules_window = results.window
        self._window.options = window_options(getattr(self, "_rules_window", None))
        self._window.value = self.window
        self._list.html = results_html(list(results), show_quiet=self.show_quiet)
        self._rules.object = rules_html(config.rules, config.source) if config else ""


def window_options(rules_window: dt.timedelta | None = None) -> dict[str, str]:
    """The windows offered, the rules' own named with its length (``Window of the rules: 14 days``),
    so the select always says which window is in use."""
    label = next(iter(WINDOWS))
    if rules_window:
        label = f"{label}: {_span_text(rules_window)}"
    return {label: "", **{k: v for k, v in WINDOWS.items() if v}}


def _span_text(window: dt.timedelta) -> str:
    hours = window.total_seconds() / 3600
    if hours >= 48 and hours % 24 == 0:
        return f"{hours / 24:.0f} days"
    return f"{hours:g} hours" if hours != 1 else "hour"
