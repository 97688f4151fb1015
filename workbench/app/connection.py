"""A served page's changes reach the browser from the moment the browser has the page.

Bokeh sends a session's document to the browser when the browser's websocket asks for it,
and from the moment that connection is open, sends every later change as a patch (the
browser skips the patches that came before the document, which already holds them).
Panel, however, counts a session as connected only when the browser reports the page
ready, after every view has rendered; until then it drops the changes made inside its
``hold`` (JavaScript components such as tables, layouts, replaced panes), on the ground that
the document will be sent whole later. But the document was already sent: a change made in
between is lost for good. Such changes are common: a result computed in the background (a
drift analysis, a page's query) that lands while the page is still rendering, or a click on
a row drawn before the rest of the page.

:func:`connect_on_open` closes that gap for a session: Panel counts it as connected as soon
as the browser's connection opens, which is what Bokeh's protocol needs. Threading contract:
call it on the server's event loop, while the session's document is being built.
"""

from __future__ import annotations

import logging
from typing import Any

from panel.io.state import state

__all__ = ["connect_on_open"]

logger = logging.getLogger(__name__)


def connect_on_open(doc: Any) -> None:
    """Have Panel treat ``doc``'s session as connected once a browser connection opens on it.

    Does nothing outside a served session (a notebook, a script), or where Panel or Bokeh
    lack the parts it relies on (then Panel's own behaviour stays).
    """
    context = getattr(doc, "session_context", None)
    if context is None or not hasattr(state, "_connected"):
        return

    def watch_session() -> None:
        # The session object exists once the document is built: this runs on the next tick.
        session = getattr(context, "_session", None)
        subscribe = getattr(session, "subscribe", None)
        if session is None or subscribe is None:
            logger.debug("no server session to follow; pages connect when the browser says they are ready")
            return

        def subscribed(connection: Any) -> None:
            subscribe(connection)
            state._connected[doc] = True

        session.subscribe = subscribed
        if getattr(session, "connection_count", 0):
            state._connected[doc] = True

    doc.add_next_tick_callback(watch_session)
