"""Plotly charts that have left the page: calls on them do nothing instead of failing.

Panel's Plotly pane resizes its chart a moment after each layout pass (throttled) and after its
first draw. When the page is left within that moment, the chart is purged first, and plotly's
``relayout`` then throws "Cannot read properties of undefined (reading '_guiEditing')" into the
browser: seen leaving the Drift page while its point cloud was still settling. ``restyle`` and
``update`` fail the same way, and ``Plots.resize`` rejects with an error nobody awaits.

:class:`PlotlyGuard` makes those four calls return at once, resolved, on a chart with no
layout (purged, or never drawn, where plotly would fail too). Plotly's own calls between its
functions do not go through these names, so a drawn chart behaves as before. Put one in the
layout of each Plotly pane; it installs itself once per browser window.
"""

from __future__ import annotations

from typing import Any

from panel.custom import JSComponent

__all__ = ["PlotlyGuard"]


class PlotlyGuard(JSComponent):
    """A component with no look that guards the window's plotly (see the module)."""

    _esm = """
    const GUARDED = ["relayout", "restyle", "update"];

    function guard(plotly) {
      if (!plotly || plotly.__workbenchGuarded) return;
      const chart = (gd) => (typeof gd === "string" ? document.getElementById(gd) : gd);
      const gone = (gd) => { const el = chart(gd); return el != null && el._fullLayout == null; };
      for (const name of GUARDED) {
        const call = plotly[name];
        if (typeof call !== "function") continue;
        plotly[name] = function (gd, ...rest) {
          return gone(gd) ? Promise.resolve(chart(gd)) : call.call(this, gd, ...rest);
        };
      }
      const plots = plotly.Plots;
      if (plots && typeof plots.resize === "function") {
        const resize = plots.resize;
        plots.resize = function (gd) {
          return gone(gd) ? Promise.resolve(chart(gd)) : resize.call(this, gd);
        };
      }
      plotly.__workbenchGuarded = true;
    }

    function install() {
      if (window.Plotly) { guard(window.Plotly); return; }
      // Plotly not loaded yet: guard it as it arrives (its bundle sets window.Plotly).
      const own = Object.getOwnPropertyDescriptor(window, "Plotly");
      if (own && !own.configurable) return;
      let value;
      Object.defineProperty(window, "Plotly", {
        configurable: true, enumerable: true,
        get() { return value; },
        set(plotly) { value = plotly; guard(plotly); },
      });
    }

    install();

    export function render() {
      install();
      const el = document.createElement("span");
      el.style.display = "none";
      return el;
    }
    """

    def __init__(self, **params: Any) -> None:
        params.setdefault("width", 0)
        params.setdefault("height", 0)
        params.setdefault("margin", 0)
        super().__init__(**params)

