"""Formatting for display: durations, counts, money, times, JSON, and folded long text, as HTML.

Pure functions over plain values (no panel), so they are cheap to test. Everything that
goes into HTML passes through :func:`esc`.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import html
import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from workbench import config
from workbench.pricing.money import usd

__all__ = [
    "copy_button",
    "cost_html",
    "display_zone",
    "error_html",
    "esc",
    "fmt_count",
    "fmt_ms",
    "fmt_time",
    "fmt_usd",
    "fold",
    "href",
    "is_missing",
    "json_block",
    "local_bound",
    "markdown_html",
    "pretty_json",
    "short",
    "tabs",
    "zone_label",
]

#: Text longer than this many characters is folded behind an expander.
FOLD_AT = 600


def is_missing(value: Any) -> bool:
    """None, NaN, NaT and pandas' NA are all missing."""
    if value is None or type(value).__name__ == "NAType":  # pandas' NA, which bool() refuses
        return True
    try:
        return bool(value != value)  # NaN and NaT are not equal to themselves
    except (TypeError, ValueError):
        return False


def esc(value: Any) -> str:
    """HTML-escape ``value`` as text; missing values become an empty string."""
    return "" if is_missing(value) else html.escape(str(value), quote=True)


#: An error longer than this many characters shows a shortened line, the whole text one click away.
ERROR_SHORT = 180

_FILTER_QUOTED = re.compile(r"""^The filter (?P<q>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
_COLUMN = re.compile(r"at column (\d+)")
_LONG_ASIDE = re.compile(r" \([^()]{60,}\)")


def error_html(message: str) -> str:
    """An error (plain text) in a box that keeps to its place: a long one shortened, with the
    whole text in a ``<details>`` one click away; a filter's error shows the filter with a
    caret under the column it names."""
    message = str(message)
    short_text = _LONG_ASIDE.sub(" (\u2026)", message)
    if len(short_text) > ERROR_SHORT:
        short_text = short_text[:ERROR_SHORT].rsplit(" ", 1)[0] + "\u2026"
    parts = [f"<div class='wb-error-line'>{esc(short_text)}</div>"]
    caret = _caret(message)
    if caret:
        parts.append(caret)
    if short_text != message:
        parts.append("<details class='wb-error-more'><summary>the whole message</summary>"
                     f"<div class='wb-error-full'>{esc(message)}</div></details>")
    return f"<div class='wb-error-box wb-error-text' role='alert'>{''.join(parts)}</div>"


def _caret(message: str) -> str:
    """The filter quoted at the start of ``message`` with a ``^`` under the column named."""
    quoted, column = _FILTER_QUOTED.match(message), _COLUMN.search(message)
    if not quoted or not column:
        return ""
    try:
        expression = ast.literal_eval(quoted.group("q"))
    except (ValueError, SyntaxError):
        return ""
    position = int(column.group(1))
    if not isinstance(expression, str) or "\n" in expression or position > len(expression) + 1:
        return ""
    if len(expression) == 80 and expression.endswith("...") and position > 77:
        return ""  # the filter was cut for the message: its column is not shown
    return (f"<pre class='wb-caret'>{esc(expression)}\n{' ' * (position - 1)}"
            f"<span class='wb-caret-mark'>^</span></pre>")


def fmt_ms(ms: Any) -> str:
    """A duration in milliseconds as ``850 ms``, ``1.24 s``, ``2m 03s`` or ``1h 05m``."""
    if is_missing(ms):
        return ""
    ms = float(ms)
    if ms < 1:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def fmt_count(value: Any) -> str:
    """A whole number with thousands separators; missing is empty."""
    if is_missing(value):
        return ""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


#: Dollars as every page shows them: :func:`workbench.pricing.money.usd` itself.
fmt_usd = usd


def cost_html(value: Any, unpriced: Any = 0, *, missing: str = "") -> str:
    """A cost as HTML, never $0 for what has no price.

    Args:
        value: The known cost in USD (None or NaN when nothing of it is known).
        unpriced: How many calls of a model without a price it leaves out (or a bool).
            A known cost gets a ``+`` saying so; an unknown one reads ``unpriced``.
        missing: The text for an unknown cost with no unpriced call (a span that is no model
            call, or calls that reported no tokens).
    """
    count = 0 if is_missing(unpriced) else int(unpriced)
    if is_missing(value):
        if count:
            return ("<span class='wb-muted wb-unpriced-cost' title='a model without a price: add one on the Cost "
                    "page'>unpriced</span>")
        return f"<span class='wb-muted' title='no cost is known'>{esc(missing)}</span>" if missing else ""
    text = esc(usd(value))
    if count:
        calls = "a call" if count == 1 else (f"{count:,} calls" if not isinstance(unpriced, bool) else "calls")
        text += f"<span class='wb-unpriced-mark' title='and {calls} without a price, not included'>+</span>"
    return text


def display_zone() -> dt.tzinfo | None:
    """The zone times are shown in: the ``timezone`` setting; None for this machine's own
    (whose offset, with daylight saving, depends on the date shown)."""
    return _zone(config.get("timezone"))


@functools.lru_cache(maxsize=8)
def _zone(name: str) -> dt.tzinfo | None:
    if name == "UTC":
        return dt.timezone.utc
    if name == "local":
        return None
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def zone_label() -> str:
    """The short name of :func:`display_zone` now, for headers: ``UTC``, ``CET``, ``EST`` ..."""
    return dt.datetime.now(dt.timezone.utc).astimezone(display_zone()).tzname() or "UTC"


def local_bound(text: str | None) -> dt.datetime | str | None:
    """A time typed in the app: ISO text without an offset is a time in :func:`display_zone`;
    anything else (``24h``, text with an offset) is passed on as it is."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return text
    if moment.tzinfo is not None:
        return moment
    zone = display_zone()
    return moment.astimezone() if zone is None else moment.replace(tzinfo=zone)


def fmt_time(value: Any, *, seconds: bool = True) -> str:
    """A timestamp as ``2026-11-23 08:01:02``, in :func:`display_zone` (naive times are UTC)."""
    if is_missing(value):
        return ""
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        value = value.astimezone(display_zone())
        return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return str(value)


def short(text: Any, limit: int = 120) -> str:
    """Text on one line, cut to ``limit`` characters with an ellipsis."""
    if is_missing(text):
        return ""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def pretty_json(value: Any) -> str | None:
    """``value`` pretty-printed when it is JSON (or a dict/list); None when it is plain text."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[") and text[-1:] in ("}", "]"):
            try:
                return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            except ValueError:
                return None
    return None


def fold(text: str, *, limit: int = FOLD_AT, css: str = "wb-pre") -> str:
    """HTML for preformatted text; past ``limit`` characters the rest folds behind a summary.

    Text only a little longer than ``limit`` (under half as much again) is shown whole: an
    expander for a few more words costs more than it saves.
    """
    if len(text) <= limit * 1.5:
        return f'<pre class="{css}">{esc(text)}</pre>'
    cut = text.rfind("\n", 0, limit)
    cut = cut if cut > limit // 2 else limit
    rest = len(text) - cut
    return (
        f'<details class="wb-fold"><summary><pre class="{css}">{esc(text[:cut])}</pre>'
        f'<span class="wb-more">show {rest:,} more characters</span></summary>'
        f'<pre class="{css}">{esc(text[cut:])}</pre></details>'
    )


def json_block(value: Any, *, limit: int = FOLD_AT) -> str:
    """A value as folded HTML: JSON pretty-printed, other text as it is."""
    if is_missing(value):
        return '<span class="wb-muted">none</span>'
    pretty = pretty_json(value)
    if pretty is not None:
        return fold(pretty, limit=limit, css="wb-pre wb-json")
    return fold(str(value), limit=limit)


def copy_button(text: Any, *, title: str = "copy to the clipboard") -> str:
    """A small button that copies ``text`` to the clipboard (in :class:`~workbench.app.js_components.LinkedHTML`).

    The text rides in a hidden ``<textarea>`` beside the button, so a long value copies whole
    even where the page folds it.
    """
    if is_missing(text):
        return ""
    return (f'<button type="button" class="wb-copy" title="{esc(title)}">copy</button>'
            f'<textarea class="wb-copy-src" hidden aria-hidden="true">{esc(text)}</textarea>')


@functools.lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt  # comes with panel

    # html=False: HTML in a message is shown as text, never run.
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def markdown_html(text: str) -> str:
    """``text`` rendered as Markdown, with any HTML in it escaped (shown as text)."""
    return f"<div class='wb-md'>{_markdown().render(str(text))}</div>"


def href(page: str, **params: Any) -> str:
    """The app's URL (a query string) for a page and its parameters, e.g. ``?page=trace&trace_id=...``."""
    query: dict[str, Any] = {"page": page}
    query.update({k: v for k, v in params.items() if not is_missing(v) and v != ""})
    return "?" + urlencode(query)


def number(value: Any, digits: int = 1) -> str:
    """A float with ``digits`` decimals; missing or infinite is empty."""
    if is_missing(value):
        return ""
    value = float(value)
    if math.isinf(value):
        return ""
    return f"{value:,.{digits}f}"


def kv_table(rows: Mapping[str, Any], *, pairs: int = 1) -> str:
    """A table of label and already-formatted HTML value, ``pairs`` to a line; empty values are skipped."""
    items = [(k, v) for k, v in rows.items() if v not in (None, "")]
    lines = []
    for i in range(0, len(items), pairs):
        cells = "".join(f"<th>{esc(k)}</th><td>{v}</td>" for k, v in items[i:i + pairs])
        lines.append(f"<tr>{cells}</tr>")
    css = "wb-kv wb-kv-grid" if pairs > 1 else "wb-kv"
    return f'<table class="{css}">{"".join(lines)}</table>'


def tabs(panes: list[tuple[str, str, str]]) -> str:
    """Tabs switched in the browser by :class:`~workbench.app.js_components.LinkedHTML`.

    Args:
        panes: ``(name, label HTML, body HTML)`` per tab; the first is shown first.
    """
    heads = "".join(f'<button class="wb-tab" data-tab="{esc(name)}">{label}</button>' for name, label, _ in panes)
    bodies = "".join(f'<div class="wb-pane" data-pane="{esc(name)}">{body}</div>' for name, _, body in panes)
    return f'<div class="wb-tabs">{heads}</div>{bodies}'


def __getattr__(name: str) -> Any:
    # The tables moved to workbench.app.tables; these names still work from here.
    if name in ("GridColumn", "grid"):
        from workbench.app import tables

        return getattr(tables, name)
    raise AttributeError(f"module 'workbench.app.markup' has no attribute {name!r}")
