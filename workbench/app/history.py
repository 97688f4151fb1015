"""The browser's history for the app: a new entry per navigation, and Back and Forward.

Panel's ``Location`` pushes an entry whenever the URL changes but never says when the user
goes Back or Forward, and it cannot replace an entry. :class:`BrowserHistory` does both, so
the app can make each navigation one entry (pages, traces, spans, filters, time ranges),
correct an entry in place when a page fills in a default (the first span, the latest
session), and show the view of the URL the browser went back or forward to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import param
from panel.custom import JSComponent

__all__ = ["BrowserHistory"]


class BrowserHistory(JSComponent):
    """A component with no look: pushes and replaces history entries, and reports ``popstate``.

    Args:
        on_pop: Called with the URL's query string (``"?page=..."``) when the user goes Back
            or Forward.
    """

    search = param.String(default="", doc="The URL query the app shows (read when first drawn).")

    _esm = """
    export function render({ model }) {
      // Drawn after the app settled its first URL (a default filled in): correct the entry.
      if (model.search && model.search !== window.location.search) {
        window.history.replaceState({}, "", window.location.pathname + model.search + window.location.hash);
      }
      const popped = () => model.send_msg({ search: window.location.search });
      window.addEventListener("popstate", popped);
      model.on("remove", () => window.removeEventListener("popstate", popped));
      model.on("msg:custom", (msg) => {
        if (msg && typeof msg.load === "string") {  // a page this document cannot show: load it
          const target = window.location.pathname + msg.load + window.location.hash;
          if (msg.replace) window.location.replace(target);
          else window.location.assign(target);
          return;
        }
        if (!msg || typeof msg.search !== "string" || msg.search === window.location.search) return;
        const url = window.location.pathname + msg.search + window.location.hash;
        if (msg.replace) window.history.replaceState({}, "", url);
        else window.history.pushState({}, "", url);
      });
      const el = document.createElement("span");
      el.style.display = "none";
      return el;
    }
    """

    def __init__(self, *, on_pop: Callable[[str], Any] | None = None, **params: Any) -> None:
        params.setdefault("width", 0)
        params.setdefault("height", 0)
        params.setdefault("margin", 0)
        super().__init__(**params)
        self.on_pop = on_pop

    def go(self, search: str, *, replace: bool = False) -> None:
        """Show ``search`` (``"?page=..."``) in the address bar: a new entry, or in place."""
        self.search = search
        self._send_msg({"search": search, "replace": replace})

    def load(self, search: str, *, replace: bool = False) -> None:
        """Load the page at ``search`` anew (a new document), as a new entry or in place."""
        self._send_msg({"load": search, "replace": replace})

    def _handle_msg(self, data: Any) -> None:
        if self.on_pop is not None and isinstance(data, dict) and isinstance(data.get("search"), str):
            self.search = data["search"]
            self.on_pop(data["search"])
