"""The app: a header with the navigation, and the current page below it.

:class:`App` creates each page's view the first time it is shown and keeps it, so going back
to a page finds it as it was left (and refreshed). The URL's query string holds the page,
the shared scope and the page's own state (``?page=trace&trace_id=...``), so any view can be
shared as a link; opening that link restores it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

import panel as pn
import param
from panel.viewable import Viewer

from workbench.app.connection import connect_on_open
from workbench.app.fit import fit
from workbench.app.history import BrowserHistory
from workbench.app.markup import esc
from workbench.app.page import PageView, Scope
from workbench.app.registry import get_page, ordered
from workbench.app.style import ACCENT, CSS
from workbench.errors import ConfigError, WorkbenchError
from workbench.read import Reader
from workbench.version import __version__

__all__ = ["App", "create_app", "inline_app", "served_app"]

_HEADER_CSS = CSS + f"""
.wb-brand {{ font-weight: 700; font-size: 16px; color: #0f172a; letter-spacing: -.01em; }}
.wb-brand span {{ color: {ACCENT}; }}
.wb-store {{ font-size: 12px; color: #64748b; text-align: right; white-space: nowrap; }}
"""

_NAV_CSS = """
:host .bk-btn-group .bk-btn { border: none; background: transparent; font-weight: 500; color: #334155;
  border-bottom: 2px solid transparent; border-radius: 0; padding: 6px 14px; }
:host .bk-btn-group .bk-btn.bk-active { color: #1d4ed8; border-bottom-color: #2563eb; background: transparent;
  box-shadow: none; }
:host .bk-btn-group .bk-btn:hover { color: #0f172a; background: #f1f5f9; }
"""


class App(Viewer):
    """The whole app over one reader: navigation, pages, and the URL.

    Every navigation (a page, a trace, a span, a filter, a time range) is an entry of the
    browser's history, and the view follows the URL both ways: Back and Forward show the view
    of the entry's URL, and reloading a URL shows that view (``history=True``, as served).

    A page is shown with the shared scope copied into its own, and its changes copied back;
    a page that is not shown has no callback on anything outside it (see
    :class:`~workbench.app.page.PageView`).

    Args:
        reader: Where the data comes from.
        page: The page shown first.
        query: URL parameters to start from (page, scope and page params), as a served app
            receives them.
        ingest_status: The server's counters (``Server.info``): whether redaction is on and
            what it replaced, and what sampling kept, shown in the header.
        history: Keep the browser's history and address bar in step (a served app; not in a
            notebook, whose URL is the notebook's).
        extensions: The Panel extensions the browser's document has loaded, when not all of
            them (a served session loads its first page's only): a page that needs another
            one is loaded anew, as a new document, at its URL.
    """

    page = param.String(default="traces", doc="The page shown.")

    def __init__(
        self,
        reader: Reader,
        *,
        page: str = "traces",
        query: Mapping[str, Any] | None = None,
        ingest_status: Callable[[], Mapping[str, Any]] | None = None,
        history: bool = False,
        extensions: Sequence[str] | None = None,
    ) -> None:
        super().__init__(page=page)
        self.reader = reader
        self._extensions = None if extensions is None else frozenset(extensions)
        self._ingest_status = ingest_status
        self.scope = Scope()
        self._views: dict[str, PageView] = {}
        self._navigating = 0
        self._pending: str | None = None  # "push" or "replace": how the next URL enters the history
        self._flush_due = False
        self._history = BrowserHistory(on_pop=self.restore) if history else None
        self._content = pn.Column(sizing_mode="stretch_both", margin=0)
        pages = [p for p in ordered() if p.nav]
        self._nav = pn.widgets.RadioButtonGroup(
            options={p.title: p.name for p in pages}, value=None, color="light",
            stylesheets=[_NAV_CSS], margin=(6, 10, 0, 20),
        )
        self._nav.param.watch(self._nav_clicked, "value")
        self._store_info = pn.pane.HTML("", stylesheets=[_HEADER_CSS], margin=(14, 14, 0, 0))
        self._header = pn.Row(
            pn.pane.HTML("<div class='wb-brand'>work<span>bench</span></div>", stylesheets=[_HEADER_CSS],
                         margin=(12, 0, 0, 16)),
            self._nav, pn.layout.HSpacer(), self._store_info, *([self._history] if self._history else []),
            sizing_mode="stretch_width", min_height=48,
            styles={"border-bottom": "1px solid #e2e8f0", "background": "white"},
            margin=0,
        )
        self._layout = pn.Column(self._header, self._content, sizing_mode="stretch_both", margin=0,
                                 styles={"background": "white"})
        fit(self._layout)  # a narrow window wraps the header and the pages' toolbars
        initial = {k: str(v) for k, v in (query or {}).items()}
        self.url = "?" + urlencode(initial) if initial else ""  # what the address bar shows
        page_name = initial.pop("page", page) or page
        self._update_store_info()
        self._go(page_name, initial, exact=True, entry="replace")

    def __panel__(self) -> Any:
        return self._layout

    # Navigation ------------------------------------------------------------------------

    def _nav_clicked(self, event: Any) -> None:
        if event.new and event.new != self.page:
            self.open(event.new)

    def view(self, name: str) -> PageView:
        """The view of page ``name``, created on first use."""
        if name not in self._views:
            view_class = get_page(name).view_class()
            view = view_class(self.reader, scope=self.scope, links=self)
            fit(view.__panel__())  # before it is shown: a stylesheet added later is fetched apart
            # The app watches only what the view owns, so a view left behind holds nothing.
            if view.url_params:
                view.param.watch(lambda *_: self._view_changed(view), list(view.url_params))
            view.scope.param.watch(lambda *_: self._scope_changed(view), list(Scope.url_params))
            self._views[name] = view
        return self._views[name]

    def open(self, page: str, **params: Any) -> None:
        """Show ``page`` (a new history entry), first setting the scope and the page's params
        from ``params``; the page's params left out go back to their defaults, the scope's stay."""
        self._go(page, params, exact=False, entry="push")

    def restore(self, search: str) -> None:
        """Show the view of the URL query ``search`` exactly (Back, Forward): what it leaves out
        is at its default. The history is not added to."""
        query = dict(parse_qsl(search.lstrip("?"), keep_blank_values=False))
        self.url = search
        self._go(query.pop("page", "traces"), query, exact=True, entry="replace")

    def _go(self, page: str, params: Mapping[str, Any], *, exact: bool, entry: str) -> None:
        try:
            get_page(page)
        except KeyError:
            page = "traces"
        if self._history is not None and self._extensions is not None \
                and not self._extensions.issuperset(get_page(page).extensions):
            self._history.load(self._search_of(page, params, exact=exact), replace=entry == "replace")
            return
        scope = {k: str(v) for k, v in params.items() if k in Scope.url_params}
        if exact:
            scope = {k: Scope.param[k].default for k in Scope.url_params} | scope
        rest = {k: v for k, v in params.items() if k not in Scope.url_params}
        self._navigating += 1
        try:
            self.scope.param.update(**scope)
            fresh = page not in self._views
            view = self.view(page)
            leaving = self._views.get(self.page) if self.page != page else None
            stated = exact or bool(rest)
            view.applying = stated
            try:
                with view.hold():
                    view.scope.param.update(**self.scope.values())
                    if stated:
                        # A link or a URL states the whole view: what it leaves out is at its default.
                        target = {} if fresh else {name: view.param[name].default for name in view.url_params}
                        target.update(view.parse_url(rest))
                        changed = {k: v for k, v in target.items() if getattr(view, k) != v}
                        if changed:
                            view.param.update(**changed)
                    elif not fresh and self.page != page:
                        view.request(view.refresh)  # back to a page: new spans may have arrived
            finally:
                view.applying = False
            self.page = page
            if self._nav.value != page:
                self._nav.value = page if page in self._nav.options.values() else None
            self._show(view.__panel__())
            if leaving is not None:
                leaving.hidden()
            view.shown()
        finally:
            self._navigating -= 1
        self._schedule(entry)

    def _show(self, panel: Any) -> None:
        """Put a page's layout on screen in place of the one shown."""
        if not self._content.objects or self._content.objects[0] is not panel:
            self._content[:] = [panel]

    # The URL ---------------------------------------------------------------------------

    def url_query(self) -> dict[str, str]:
        """The query string parameters describing what is shown now."""
        query: dict[str, str] = {"page": self.page}
        for name in Scope.url_params:
            value = getattr(self.scope, name)
            if value != self.scope.param[name].default:
                query[name] = str(value)
        view = self._views.get(self.page)
        if view is not None:
            for name, value in view.url_state().items():
                if value != view.param[name].default and value not in (None, ""):
                    query[name] = str(value).lower() if isinstance(value, bool) else str(value)
        return query

    def _search_of(self, page: str, params: Mapping[str, Any], *, exact: bool) -> str:
        """The URL query of ``page`` with ``params``, as :meth:`_go` would show it."""
        scope = {k: Scope.param[k].default for k in Scope.url_params} if exact else self.scope.values()
        scope.update({k: str(v) for k, v in params.items() if k in Scope.url_params})
        query = {"page": page} | {k: v for k, v in scope.items() if v != Scope.param[k].default}
        for name, value in params.items():
            if name not in Scope.url_params and value not in (None, ""):
                query[name] = str(value).lower() if isinstance(value, bool) else str(value)
        return "?" + urlencode(query)

    def _view_changed(self, view: PageView) -> None:
        if not self._navigating and view is self._views.get(self.page):
            self._schedule("replace" if view.settling else "push")

    def _scope_changed(self, view: PageView) -> None:
        """The page shown changed its scope: the app's follows, for the next page and the URL."""
        if self._navigating or view is not self._views.get(self.page):
            return
        self.scope.param.update(**view.scope.values())
        self._schedule("push")

    def _schedule(self, entry: str) -> None:
        """Write the URL once the current change is complete: one history entry per navigation."""
        if self._pending != "push":
            self._pending = entry
        doc = pn.state.curdoc
        if self._history is None or doc is None or doc.session_context is None:
            self._flush()
        elif not self._flush_due:
            self._flush_due = True
            doc.add_next_tick_callback(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        entry, self._pending = self._pending, None
        search = "?" + urlencode(self.url_query())
        if search == self.url:
            return
        self.url = search
        if self._history is not None:
            self._history.go(search, replace=entry != "push")

    def _update_store_info(self) -> None:
        try:
            info = self.reader.overview()
            self._store_info.object = (
                f"<div class='wb-store'>{info['spans']:,} spans &middot; "
                f"<span title='{esc(info['path'])}'>{esc(_short_path(str(info['path'])))}</span>"
                f"{_ingest_notes(self._ingest_status() if self._ingest_status else {}, info['max_sample_weight'])}"
                f" &middot; v{__version__}</div>"
            )
        except (WorkbenchError, AttributeError):
            self._store_info.object = ""


def _ingest_notes(status: Mapping[str, Any], max_weight: float | None) -> str:
    """' · redaction on (N replaced)' and ' · sampled' notes for the header, with details on hover."""
    notes = []
    if status.get("redaction"):
        replaced = status.get("redacted") or {}
        detail = ", ".join(f"{name}: {n:,}" for name, n in sorted(replaced.items())) or "nothing yet"
        notes.append(f"<span class='wb-note' title='values replaced since start: {esc(detail)}'>"
                     f"redaction on ({sum(replaced.values()):,} replaced)</span>")
    sampling = status.get("sampling")
    if sampling or (max_weight is not None and max_weight > 1):
        detail = "traces kept by sampling carry sample_weight; a healthy one stands for 1/rate traces"
        if sampling:
            kept = sum(sampling.get("kept_traces", {}).values())
            detail = (f"rate {sampling.get('rate')}: kept {kept:,} traces, "
                      f"dropped {sampling.get('dropped_traces', 0):,} since start; " + detail)
        notes.append(f"<span class='wb-note' title='{esc(detail)}'>sampled data</span>")
    return "".join(f" &middot; {note}" for note in notes)


def _short_path(path: str, limit: int = 40) -> str:
    return path if len(path) <= limit else "\u2026" + path[-(limit - 1):]


def create_app(source: Any, *, query: Mapping[str, Any] | None = None) -> App:
    """The app over a :class:`~workbench.query.Reader` or a :class:`~workbench.Store`."""
    reader = source if hasattr(source, "traces") else Reader(source)
    return App(reader, query=query)


def inline_app(
    reader: Reader,
    *,
    query: Mapping[str, Any] | None = None,
    height: int | None = None,
    resources: str | None = None,
    server_url: str | None = None,
) -> App:
    """The app for a notebook cell, as wide as the cell and ``height`` pixels high.

    Its JavaScript comes from workbench, never from a CDN: from the server at ``server_url``
    (``resources="server"``, the default when a URL is given) or written into the output
    (``resources="inline"``). See :mod:`workbench.app.inline`.

    Raises:
        ConfigError: ``resources`` is neither ``"server"`` nor ``"inline"``, ``"server"`` has no
            ``server_url``, or ``height`` is below :data:`~workbench.app.inline.MIN_HEIGHT`.
    """
    from workbench.app.inline import DEFAULT_HEIGHT, MIN_HEIGHT, RESOURCE_MODES, InlineApp

    mode = resources or ("server" if server_url else "inline")
    if mode not in RESOURCE_MODES:
        raise ConfigError(f"resources={resources!r} is not one of {', '.join(map(repr, RESOURCE_MODES))}: "
                         "pass \"server\" to load the app's scripts from workbench's server, or \"inline\" "
                         "to write them into the notebook.")
    if mode == "server" and not server_url:
        raise ConfigError("resources=\"server\" needs the URL of a running workbench server; "
                         "pass resources=\"inline\" to write the scripts into the notebook instead.")
    height = DEFAULT_HEIGHT if height is None else height
    if not isinstance(height, int) or isinstance(height, bool) or height < MIN_HEIGHT:
        raise ConfigError(f"height={height!r} is not a whole number of pixels of at least {MIN_HEIGHT}; "
                         f"pass e.g. height={DEFAULT_HEIGHT}.")
    extensions = tuple(sorted({name for page in ordered() for name in page.extensions}))
    return InlineApp(reader, query=query, height=height, resources=mode, server_url=server_url,
                     extensions=extensions)


def served_app(reader: Reader, ingest_status: Callable[[], Mapping[str, Any]] | None = None) -> App:
    """The app for one browser session of ``workbench serve``, started from the URL's query."""
    # The raw arguments: Location's parsed ones turn an all-digit trace id into a number.
    query = {k: v[0].decode() for k, v in (pn.state.session_args or {}).items() if v}
    try:
        extensions = get_page(query.get("page", "traces")).extensions
    except KeyError:
        extensions = get_page("traces").extensions
    # The document loads its first page's extensions only: the others' JavaScript (plotly's
    # 4.7 MB, tabulator's) would be fetched and parsed before any page shows. A page that
    # needs one is loaded anew when opened (see App).
    pn.extension(*extensions)
    connect_on_open(pn.state.curdoc)  # what changes while the browser renders the page reaches it
    return App(reader, query=query, ingest_status=ingest_status, history=True, extensions=extensions)
