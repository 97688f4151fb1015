"""What every page shares: the scope (time range, project, filter expression), the view base
class, and the links between pages.

The app hands one :class:`Scope` to every page, so the time range, project and filter chosen
on one page hold on the next. A view used on its own in a notebook makes its own scope, and
its links open the target page below it (:class:`InlineLinks`) instead of switching pages.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar, Protocol, TypeVar

import panel as pn
import param
from panel.io.state import set_curdoc
from panel.viewable import Viewer

from workbench.analysis.facets import facets
from workbench.app.markup import error_html, local_bound, zone_label
from workbench.app.style import CSS
from workbench.errors import WorkbenchError
from workbench.read import Reader, Selection, supports

__all__ = ["RANGES", "InlineLinks", "Links", "PageView", "Scope", "cached_facets"]

#: The time ranges offered: a span back from now, everything, or explicit bounds.
RANGES = {
    "Last 15 minutes": "15m",
    "Last hour": "1h",
    "Last 6 hours": "6h",
    "Last 24 hours": "24h",
    "Last 7 days": "7d",
    "Last 30 days": "30d",
    "All time": "all",
    "Custom": "custom",
}


logger = logging.getLogger(__name__)

T = TypeVar("T")

# Queries of served pages run here, so a slow one never holds the event loop that also
# receives OTLP and serves the other browser sessions. DuckDB releases the GIL while it works.
_QUERIES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="workbench-app")

_FACETS_TTL_S = 60.0
_facets_cache: weakref.WeakKeyDictionary[Any, tuple[float, dict[str, list[str]]]] = weakref.WeakKeyDictionary()
_facets_lock = threading.Lock()


def cached_facets(reader: Reader) -> dict[str, list[str]]:
    """The models, kinds, names and projects stored, remembered for a minute per store.

    Each browser session's first page asks for them; over a million spans that is a few
    hundred milliseconds a session, for lists that rarely change.
    """
    key = reader.store if supports(reader, "store") else reader
    now = time.monotonic()
    with _facets_lock:
        hit = _facets_cache.get(key)
    if hit is not None and now - hit[0] < _FACETS_TTL_S:
        return hit[1]
    try:
        values = facets(reader)
    except WorkbenchError:
        values = {"models": [], "kinds": [], "names": [], "projects": []}
    with _facets_lock:
        _facets_cache[key] = (now, values)
    return values


class Links(Protocol):
    """Where a page sends the user: ``open("trace", trace_id=...)`` shows another page."""

    def open(self, page: str, **params: Any) -> None:
        ...


class Scope(param.Parameterized):
    """The time range, project and filter expression the pages share."""

    range = param.Selector(default="all", objects=list(RANGES.values()), doc="A span back from now, all, or custom.")
    start = param.String(default="", doc="Start of a custom range (ISO text), inclusive.")
    end = param.String(default="", doc="End of a custom range (ISO text), exclusive.")
    project = param.String(default="", doc="Only this project; empty for all.")
    filter = param.String(default="", doc="A filter expression over span fields.")

    url_params: ClassVar[tuple[str, ...]] = ("range", "start", "end", "project", "filter")

    def bounds(self) -> tuple[Any, Any]:
        """``(start, end)`` as the read API takes them."""
        if self.range == "custom":
            return (local_bound(self.start), local_bound(self.end))
        if self.range == "all":
            return (None, None)
        return (self.range, None)

    @property
    def projects(self) -> str | None:
        """The project, or None for all."""
        return self.project or None

    def selection(self, filter: str | None = None) -> Selection:
        """What the pages read: the time range and project, and ``filter`` (default: the typed one)."""
        start, end = self.bounds()
        return Selection(filter if filter is not None else (self.filter or None), start, end, self.projects)

    @staticmethod
    def window(start: dt.datetime | str, end: dt.datetime | str) -> dict[str, str]:
        """The scope values of an explicit time window, as a link states them."""
        # With the zone written out: naive text typed in the box means the display zone.
        as_text = [(v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)).isoformat()
                   if isinstance(v, dt.datetime) else str(v) for v in (start, end)]
        return {"range": "custom", "start": as_text[0], "end": as_text[1]}

    def set_window(self, start: dt.datetime | str, end: dt.datetime | str) -> None:
        """Show an explicit time window (from a chart's bucket, say)."""
        self.param.update(**self.window(start, end))

    def values(self) -> dict[str, str]:
        """The scope as plain values, by name (what a URL holds)."""
        return {name: getattr(self, name) for name in self.url_params}

    @param.depends("filter", watch=True)
    def _strip_filter(self) -> None:
        if self.filter != self.filter.strip():
            self.filter = self.filter.strip()

    def widgets(self, reader: Reader, *, filter_width: int = 420) -> list[Any]:
        """The widgets that set the scope: range, custom bounds, project, filter expression.

        Each is bound to its parameter (``from_param``), both ways.
        """
        zone = zone_label()
        custom = self.range == "custom"
        range_select = pn.widgets.Select.from_param(self.param.range, name="", options=RANGES, width=150,
                                                    margin=(5, 5))
        start = pn.widgets.TextInput.from_param(self.param.start, name="", placeholder=f"from (ISO time, {zone})",
                                                width=170, margin=(5, 2), visible=custom)
        end = pn.widgets.TextInput.from_param(self.param.end, name="", placeholder=f"to (ISO time, {zone})",
                                              width=170, margin=(5, 2), visible=custom)
        projects = sorted(cached_facets(reader)["projects"])
        options = {"All projects": ""} | {p: p for p in projects}
        if self.project and self.project not in options.values():
            options[self.project] = self.project
        project = pn.widgets.Select(options=options, value=self.project, width=160, margin=(5, 5))
        expression = pn.widgets.TextInput.from_param(
            self.param.filter, name="", placeholder="filter: span_kind == 'LLM' and latency_ms > 2000",
            width=filter_width, margin=(5, 5), stylesheets=[".bk-input { font-family: monospace; font-size: 12px; }"],
        )
        # The project list is the store's, not a parameter's objects: bound by hand, a value
        # from a link that the list lacks joins it.
        project.param.watch(lambda e: setattr(self, "project", e.new), "value")

        def follow(*_: Any) -> None:
            start.visible = end.visible = self.range == "custom"
            if self.project not in project.options.values():
                project.options = {**project.options, self.project: self.project}
            project.value = self.project

        self.param.watch(follow, ["range", "project"])
        return [range_select, start, end, project, expression]


class InlineLinks:
    """Links for a view shown on its own: the target page opens in a panel below the view.

    The view below starts from the scope of the view above and follows it while it is shown;
    opening another page, or closing, closes the view below (its watchers go with it).
    """

    def __init__(self, reader: Reader, scope: Scope) -> None:
        self.reader = reader
        self.scope = scope
        self.panel = pn.Column(sizing_mode="stretch_width", margin=0)
        self.view: Any = None  # the view opened last
        self._follow: Any = None

    def close(self) -> None:
        """Remove the page shown below."""
        if self._follow is not None:
            self.scope.param.unwatch(self._follow)
            self._follow = None
        view, self.view = self.view, None
        if view is not None:
            view.close()
        self.panel.clear()

    def open(self, page: str, **params: Any) -> None:
        """Show ``page`` with ``params`` under the current view."""
        from workbench.app.registry import get_page

        self.close()
        view_class = get_page(page).view_class()
        known = {k: v for k, v in params.items() if k in view_class.param or k in Scope.url_params}
        scope_params = {k: v for k, v in known.items() if k in Scope.url_params}
        if scope_params:
            self.scope.param.update(**scope_params)
        view = view_class(self.reader, scope=self.scope, links=self,
                          **{k: v for k, v in known.items() if k not in Scope.url_params})
        self._follow = self.scope.param.watch(lambda *_: view.scope.param.update(**self.scope.values()),
                                              list(Scope.url_params))
        close = pn.widgets.Button(label="Close", color="light", width=80, margin=(4, 0))
        close.on_click(lambda _: self.close())
        header = pn.Row(pn.pane.HTML(f"<h2 class='wb-title'>{page.title()}</h2>", stylesheets=[CSS], margin=(8, 0)),
                        pn.layout.HSpacer(), close, sizing_mode="stretch_width")
        self.view = view
        self.panel[:] = [pn.layout.Divider(), header, view]


class PageView(Viewer):
    """The base of every page's view.

    A view is built from the read API alone. Its state lives in params (``url_params`` name
    the ones kept in the app's URL); ``refresh()`` reloads its data.

    The life cycle: a view owns its :class:`Scope` (the app copies the shared one in when it
    shows the page, and back when the page changes it), and registers its watchers with
    :meth:`watch`, so nothing outside the view holds a callback into it. The app calls
    :meth:`shown` and :meth:`hidden` as the page comes and goes (periodic work runs only while
    shown), and :meth:`close` ends a view for good.

    Args:
        reader: Where the data comes from.
        scope: The time range, project and filter to start from (copied: the view has its own).
        links: Where links go (default: open the target page below this view).
    """

    url_params: ClassVar[tuple[str, ...]] = ()
    uses_scope: ClassVar[bool] = True

    def __init__(
        self, reader: Reader, *, scope: Scope | None = None, links: Links | None = None, **params: Any
    ) -> None:
        scope_params = {k: params.pop(k) for k in list(params) if k in Scope.url_params}
        super().__init__(**params)
        self.reader = reader
        self.standalone = links is None
        self.scope = Scope(**(scope.values() if scope is not None else {}))
        if scope_params:
            self.scope.param.update(**scope_params)
        self.links: Links = links or InlineLinks(reader, self.scope)
        self._layout: Any = None
        self._watchers: list[tuple[Any, Any]] = []
        self._held: list[Callable[[], Any]] | None = None
        self.settling = False  # True while the page sets a default it chose itself
        self.applying = False  # True while the app sets what a link or a URL states
        self.on_screen = True

    def __panel__(self) -> Any:
        if self._layout is None:
            body = self._build()
            if self.standalone and isinstance(self.links, InlineLinks):
                body = pn.Column(body, self.links.panel, sizing_mode="stretch_width", margin=0)
            self._layout = body
        return self._layout

    def _build(self) -> Any:
        """Build the view's layout once (subclasses)."""
        raise NotImplementedError

    def refresh(self) -> None:
        """Reload the data shown (subclasses)."""

    # Life cycle ---------------------------------------------------------------------------

    def watch(self, callback: Callable[[], Any], names: str | Sequence[str], *, on: Any = None) -> Any:
        """Call ``callback()`` when any of ``names`` of ``on`` (default: this view) changes.

        However many of them change at once (a link or the Back button sets several), the
        callback runs once and takes no argument. ``on`` must be this view or something it
        owns (its scope, its widgets): :meth:`close` removes the watcher.
        """
        target = self if on is None else on

        def run(*_: Any) -> None:
            self.request(callback)

        watcher = target.param.watch(run, [names] if isinstance(names, str) else list(names))
        self._watchers.append((target, watcher))
        return watcher

    def hold(self) -> _Hold:
        """A context in which callbacks registered with :meth:`watch` wait, each then running once."""
        return _Hold(self)

    def request(self, callback: Callable[[], Any]) -> None:
        """Run ``callback()`` now, or once when the current :meth:`hold` ends."""
        if self._held is None:
            callback()
        elif callback not in self._held:
            self._held.append(callback)

    def settle(self, **values: Any) -> None:
        """Set params the page chose by itself (the first span, the latest session): the app's
        URL is corrected in place, with no new history entry."""
        self.settling = True
        try:
            self.param.update(**values)
        finally:
            self.settling = False

    def shown(self) -> None:
        """The page is on screen again (subclasses resume periodic work here)."""
        self.on_screen = True

    def hidden(self) -> None:
        """The page left the screen (subclasses stop periodic work here)."""
        self.on_screen = False

    def close(self) -> None:
        """End the view: stop its periodic work and remove every watcher it registered."""
        self.hidden()
        if self.standalone and isinstance(self.links, InlineLinks):  # its own, not the one it was opened by
            self.links.close()
        for target, watcher in self._watchers:
            try:
                target.param.unwatch(watcher)
            except (ValueError, KeyError):  # already gone
                pass
        self._watchers.clear()

    def in_background(self, fetch: Callable[[], T], show: Callable[[T], None], *, busy: Sequence[Any] = (),
                      key: str = "data") -> None:
        """Run ``fetch`` (queries only: no panel objects) off the event loop, then ``show`` its result.

        Served, ``busy`` components show a spinner meanwhile and only the latest request is
        shown (an older one finishing late is dropped). In a notebook or a test there is no
        server loop: both run at once, here. Requests with different ``key`` do not replace
        each other.
        """
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            show(fetch())
            return
        generations = self.__dict__.setdefault("_generations", {})
        generations[key] = generation = generations.get(key, 0) + 1
        for component in busy:
            component.loading = True

        def shown(future: Future[T]) -> None:
            def apply() -> None:
                if generation != generations[key]:
                    return
                with set_curdoc(doc):
                    try:
                        show(future.result())
                    except Exception:  # a failed query must not leave the spinner on
                        logger.exception("a page could not show its data")
                    finally:
                        for component in busy:
                            component.loading = False

            doc.add_next_tick_callback(apply)  # the one thread-safe way back into the document

        _QUERIES.submit(fetch).add_done_callback(shown)

    def url_state(self) -> dict[str, Any]:
        """The params kept in the URL, by name."""
        return {name: getattr(self, name) for name in self.url_params}

    def parse_url(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The params named in URL text ``values``, converted; unknown or invalid values are left out."""
        updates = {}
        for name in self.url_params:
            if name in values:
                parameter = self.param[name]
                value = values[name]
                try:
                    if isinstance(value, str):
                        if isinstance(parameter, param.Boolean):
                            value = value.lower() in ("1", "true", "yes")
                        elif isinstance(parameter, param.Integer):
                            value = int(value) if value not in ("", "None") or not parameter.allow_None else None
                        elif isinstance(parameter, param.Number):
                            value = float(value) if value not in ("", "None") or not parameter.allow_None else None
                    parameter._validate(value)
                except (ValueError, TypeError):
                    continue
                updates[name] = value
        return updates

    def apply_url(self, values: Mapping[str, Any]) -> None:
        """Set params from URL text; unknown or invalid values are ignored."""
        updates = self.parse_url(values)
        if updates:
            self.param.update(**updates)

    def link(self, page: str, **params: Any) -> None:
        """Open another page (or, on its own, show it below)."""
        self.links.open(page, **params)


class _Hold:
    """See :meth:`PageView.hold`."""

    def __init__(self, view: PageView) -> None:
        self.view = view
        self.outer: list[Callable[[], Any]] | None = None

    def __enter__(self) -> None:
        self.outer = self.view._held
        if self.outer is None:
            self.view._held = []

    def __exit__(self, *exc: object) -> None:
        if self.outer is not None:
            return
        waiting, self.view._held = self.view._held or [], None
        for callback in waiting:
            callback()


def status_line(text: str = "", *, error: bool = False) -> str:
    """The HTML of a page's one-line status (counts, or what is wrong with the filter).

    Args:
        text: HTML; for an error, the escaped text of the message, shown by
            :func:`~workbench.app.markup.error_html` (shortened when long, with a caret under
            the column of a filter's mistake).
        error: Whether ``text`` is an error.
    """
    if error:
        return error_html(html.unescape(text))
    return f"<div class='wb-muted' style='min-height:18px'>{text}</div>"
