"""The Sessions page: conversations listed with their turns, duration and tokens; the selected
session's turns in order, each one click from its trace."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
import panel as pn
import param

from workbench.analysis.sessions import count_sessions, session_turns, sessions
from workbench.app.js_components import LinkedHTML
from workbench.app.markup import esc, fmt_count, fmt_ms, fmt_time, fold, href, is_missing, short, zone_label
from workbench.app.page import PageView, status_line
from workbench.app.style import CSS
from workbench.app.tables import Column, table
from workbench.app.to_dataset import AddToDataset, Examples
from workbench.errors import WorkbenchError

__all__ = ["SessionsView"]


_LIST_WIDTH = 720  # pixels: every column of the list, "Last activity" included, without a cut
_DETAIL_MIN_WIDTH = 360  # pixels: the session's turns stay readable in a narrow window

_ORDERS = {"Latest activity": "last_end", "Most turns": "turns", "Longest": "duration_ms",
           "Most tokens": "total_tokens", "Most errors": "error_count"}


def sessions_html(frame: pd.DataFrame, selected: str) -> str:
    """The list of sessions, each a link that selects it."""
    if frame.empty:
        return ("<div class='wb-empty'>No sessions. "
                "Spans join a session through <span class='wb-mono'>session.id</span>.</div>")
    def session(r: Any) -> str:
        errors = f" <span class='wb-error-text'>&#9888; {r.error_count}</span>" if r.error_count else ""
        return (f"<a href='{esc(href('sessions', session_id=r.session_id))}'><b>{esc(r.session_id)}</b></a>{errors}"
                f"<div class='wb-muted'>{esc(short(r.first_input, 70))}</div>")

    return table(frame.itertuples(index=False), [
        Column("Session", session),
        Column("User", lambda r: esc(r.user_id), nowrap=True),
        Column("Turns", lambda r: fmt_count(r.turns), numeric=True),
        Column("Duration", lambda r: esc(fmt_ms(r.duration_ms)), numeric=True),
        Column("Tokens", lambda r: fmt_count(r.total_tokens), numeric=True),
        Column("Last activity", lambda r: esc(fmt_time(r.last_end, seconds=False)), nowrap=True,
               head=f"Last activity ({esc(zone_label())})"),
    ], row_attrs=lambda r: " style='background:#e0ecff'" if r.session_id == selected else "")


def turns_html(session_id: str, turns: pd.DataFrame) -> str:
    """A session's turns in order: what the user asked, what came back, and each turn's trace."""
    if turns.empty:
        return f"<div class='wb-empty'>No turns found for session <span class='wb-mono'>{esc(session_id)}</span>.</div>"
    first, last = turns["start_time"].min(), turns["end_time"].max()
    tokens = turns["total_tokens"].fillna(0).sum()
    users = sorted({u for u in turns["user_id"] if not is_missing(u)})
    head = (
        f"<h2 class='wb-title'>Session <span class='wb-mono'>{esc(session_id)}</span></h2>"
        f"<div class='wb-muted' style='margin-bottom:8px'>{len(turns)} turn{'s' if len(turns) != 1 else ''} "
        f"&middot; {esc(fmt_time(first))} {esc(zone_label())} &middot; "
        f"{esc(fmt_ms((last - first).total_seconds() * 1000))} &middot; {fmt_count(tokens)} tokens"
        + (f" &middot; user {esc(', '.join(users))}" if users else "")
        + f" &middot; <a href='{esc(href('traces', filter=f'session_id == {session_id!r}'))}'>as a trace list</a></div>"
    )
    out = [head]
    for r in turns.itertuples(index=False):
        status = "ERROR" if r.error_count else r.status_code
        link = href("trace", trace_id=r.trace_id)
        out.append(
            "<div class='wb-turn'><div class='wb-turn-head'>"
            f"<b>Turn {r.turn}</b><span>{esc(fmt_time(r.start_time))}</span>"
            f"<span>{esc(fmt_ms(r.latency_ms))}</span><span>{fmt_count(r.total_tokens)} tokens</span>"
            f"<span class='wb-status-{esc(status)}'>{esc(status)}</span>"
            f"<span>{esc(', '.join(r.models) if r.models is not None else '')}</span>"
            f"<span style='margin-left:auto'><a href='{esc(link)}'>open trace &rarr;</a></span></div>"
            "<div class='wb-turn-body'>"
            f"<div class='who'>input</div><div>{fold(str(r.input_value or ''), limit=400)}</div>"
            f"<div class='who'>output</div><div>{fold(str(r.output_value or ''), limit=400)}</div>"
            "</div></div>"
        )
    return "".join(out)


class SessionsView(PageView):
    """Sessions with their turns; the selected session's conversation, turn by turn.

    Args:
        reader: Where the spans come from.
        session_id: The session shown (default: the most recent).
        search: Text in the session id or user id.
    """

    session_id = param.String(default="", doc="The session shown.")
    search = param.String(default="", doc="Text in the session or user id.")
    order = param.Selector(default="last_end", objects=list(_ORDERS.values()), doc="What the list is sorted by.")
    page_no = param.Integer(default=1, bounds=(1, None), doc="Page of the session list, from 1.")
    page_size = param.Integer(default=30, bounds=(5, 200), doc="Sessions per page.")

    url_params: ClassVar[tuple[str, ...]] = ("session_id", "search", "order", "page_no")

    def _build(self) -> Any:
        self._search = pn.widgets.TextInput.from_param(self.param.search, name="", placeholder="session or user id",
                                                       width=200, margin=(5, 5))
        self._order = pn.widgets.Select.from_param(self.param.order, name="", options=_ORDERS, width=150,
                                                   margin=(5, 5))
        self._status = pn.pane.HTML(status_line(), stylesheets=[CSS], min_height=20, margin=(0, 10),
                                    sizing_mode="stretch_width")
        self._list = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 8))
        self._turns = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 8))
        self._prev = pn.widgets.Button(label="\u2039 Prev", color="light", width=80, margin=(4, 4))
        self._next = pn.widgets.Button(label="Next \u203a", color="light", width=80, margin=(4, 4))
        self._page_info = pn.pane.HTML("", stylesheets=[CSS], margin=(10, 8))
        self._prev.on_click(lambda _: setattr(self, "page_no", max(1, self.page_no - 1)))
        self._next.on_click(lambda _: setattr(self, "page_no", self.page_no + 1))
        # The first look is part of the page (no spinner): queried here, before the watchers.
        self._show_list(self._query_list())
        if self.session_id:
            try:
                self._show_turns(self.session_id, session_turns(self.reader, self.session_id))
            except WorkbenchError as exc:
                self._show_turns(self.session_id, exc)
        else:
            self._turns.html = "<div class='wb-empty'>Choose a session.</div>"
        self.watch(self._list_changed, ["search", "order", "page_no"])
        self.watch(self._load_turns, "session_id")
        self.watch(self.refresh, self.scope.url_params, on=self.scope)
        left = pn.Column(
            pn.Column(self._list, scroll=True, sizing_mode="stretch_both", margin=0),
            pn.Row(self._prev, self._next, self._page_info, height=42, margin=(0, 4)),
            max_width=_LIST_WIDTH, sizing_mode="stretch_both", margin=0,
        )
        self._add = AddToDataset(self.reader, self._examples, label="Add this session's turns",
                                 on_link=self._follow)
        # In a narrow window the list gives way, down to what leaves the session readable.
        right = pn.Column(self._add, self._turns, scroll=True, sizing_mode="stretch_both", margin=0,
                          min_width=_DETAIL_MIN_WIDTH, styles={"border-left": "1px solid #e2e8f0"})
        scope_row = pn.Row(*self.scope.widgets(self.reader, filter_width=340), self._search, self._order,
                           sizing_mode="stretch_width", margin=(4, 5, 0, 5))
        return pn.Column(scope_row, self._status, pn.Row(left, right, sizing_mode="stretch_both", margin=0),
                         sizing_mode="stretch_both", margin=0)

    def _examples(self) -> Examples:
        """What "Add to dataset" adds: the turns of the session shown."""
        if not self.session_id:
            raise ValueError("Choose a session first.")
        return "session", self.session_id

    @param.depends("search", "order", watch=True)
    def _first_page(self) -> None:
        if not self.applying:  # a link or URL states its page
            self.page_no = 1

    def _list_changed(self) -> None:
        self._load_list()

    def _follow(self, page: str, params: dict[str, str]) -> None:
        if page == "sessions" and set(params) <= {"session_id"}:
            self.session_id = params.get("session_id", "")
            return
        self.link(page, **params)

    def refresh(self) -> None:
        """Query the list and the selected session again."""
        self._load_list()
        self._load_turns()

    def _query_list(self) -> dict[str, Any]:
        selection = self.scope.selection()
        try:
            search = self.search.strip() or None
            total = count_sessions(self.reader, selection, search=search)
            frame = sessions(self.reader, selection, search=search, order_by=self.order,
                             limit=self.page_size, offset=(self.page_no - 1) * self.page_size)
        except WorkbenchError as exc:  # FilterError included
            return {"error": str(exc)}
        return {"total": total, "frame": frame}

    def _load_list(self) -> None:
        self.in_background(self._query_list, self._show_list, busy=[self._list], key="list")

    def _show_list(self, data: dict[str, Any]) -> None:
        if "error" in data:
            self._status.object = status_line(esc(data["error"]), error=True)
            self._list.html = ""
            return
        total, frame = data["total"], data["frame"]
        self._frame = frame
        self._status.object = status_line(f"{total:,} sessions")
        if not self.session_id and len(frame):
            self.settle(session_id=str(frame["session_id"].iloc[0]))  # loads its turns
        self._list.html = sessions_html(frame, self.session_id)
        first = (self.page_no - 1) * self.page_size + 1 if total else 0
        last = min(self.page_no * self.page_size, total)
        self._page_info.object = f"<span class='wb-muted'>{first:,}\u2013{last:,} of {total:,}</span>"
        self._prev.disabled = self.page_no <= 1
        self._next.disabled = last >= total

    def _load_turns(self) -> None:
        if not self.session_id:
            self._turns.html = "<div class='wb-empty'>Choose a session.</div>"
            return
        session_id = self.session_id

        def fetch() -> Any:
            try:
                return session_turns(self.reader, session_id)
            except WorkbenchError as exc:
                return exc

        self.in_background(fetch, lambda turns: self._show_turns(session_id, turns), busy=[self._turns], key="turns")

    def _show_turns(self, session_id: str, turns: Any) -> None:
        if isinstance(turns, Exception):
            self._turns.html = f"<div class='wb-error-text'>{esc(turns)}</div>"
            return
        self._turns.html = turns_html(session_id, turns)
        frame = getattr(self, "_frame", None)
        if frame is not None:
            self._list.html = sessions_html(frame, self.session_id)
