"""The app inside a notebook cell: loaded without the internet, sized to the cell, and honest
about what it cannot do.

Panel's notebook support loads Bokeh's and Panel's JavaScript from public CDNs, so on a machine
without internet the cell stays empty. Here it comes from workbench itself instead:

- ``resources="server"`` (the default when a server runs, as under ``workbench.launch()``): the
  cell loads the scripts from that server's ``/static/`` routes, the same files the served app
  uses. Nothing is added to the notebook file; the browser must reach the server's address.
- ``resources="inline"``: the scripts are written into the cell's output (about 16 MB with the
  Drift page's plotly, measured with Panel 1.9), so the output needs nothing but the notebook
  itself (a Jupyter on another machine than the kernel, a notebook exported to HTML).

Either way stylesheets are inlined, also for parts of the app built later as the user
navigates: showing the app sets Panel's ``pn.config.inline`` for the kernel.

The output carries a small script that watches it: while the app has not rendered it says it
is loading; once a script fails to load, or after :data:`LOAD_TIMEOUT_S`, it says why the app
did not load and what to do; once the kernel restarts or stops it says the view is disconnected
(the app stays visible but no longer answers).
"""

from __future__ import annotations

import html
import json
import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any

import panel as pn
import param

from workbench.app.fit import SHRINK_CSS
from workbench.app.shell import App
from workbench.read import Reader

__all__ = ["DEFAULT_HEIGHT", "LOAD_TIMEOUT_S", "RESOURCE_MODES", "InlineApp", "in_kernel", "load_notebook_resources"]

logger = logging.getLogger(__name__)

DEFAULT_HEIGHT = 800
"""The inline app's height in pixels, unless ``height=`` says otherwise (header included)."""

MIN_HEIGHT = 240
LOAD_TIMEOUT_S = 20
"""Seconds after which an output whose app has not rendered says why."""

RESOURCE_MODES = ("server", "inline")

_EXEC_MIME = "application/vnd.holoviews_exec.v0+json"

# In a cell narrower than a page's toolbars, layouts shrink and rows wrap (see workbench.app.fit).
_SHRINK_CSS = SHRINK_CSS

_NOTICE_CSS = """
.wb-inline { position: relative; width: 100%; }
.wb-inline-notice { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #334155;
  background: #f8fafc; border: 1px solid #e2e8f0; border-radius: 6px; padding: 8px 12px; margin: 0 0 6px 0; }
.wb-inline-notice[data-kind="error"] { color: #7c2d12; background: #fff7ed; border-color: #fdba74; }
.wb-inline-notice[data-kind="disconnected"] { color: #1e293b; background: #fef9c3; border-color: #facc15; }
.wb-inline-notice[hidden] { display: none; }
.wb-inline-notice code { font-size: 12px; }
"""

# Watches one output: loading -> rendered (notice hidden) -> disconnected, or loading -> failed.
# `Bokeh.index[id]` exists once the root is rendered; Panel's JupyterLab extension registers the
# output's kernel in `PyViz.kernels[id]` and removes it when that kernel restarts or dies.
_WATCH_JS = """
(function () {
  var id = %(id)s, boxId = %(box)s, timeoutMs = %(timeout_ms)d, failed = %(failed)s, source = %(source)s;
  var started = Date.now(), seenKernel = false, attached = false, state = "loading", scriptFailed = false;
  var seenLive = false, goneSince = 0;
  // JupyterLab and Notebook 7 show the kernel's state on the notebook's toolbar; a shut-down
  // kernel leaves "unknown" there (and no restart for Panel's extension to notice).
  function kernelGone(box) {
    var panel = box.closest ? box.closest(".jp-NotebookPanel") : null;
    var indicator = panel && panel.querySelector(".jp-Notebook-ExecutionIndicator[data-status]");
    if (!indicator) return null;
    var status = indicator.getAttribute("data-status");
    return ["unknown", "dead", "terminating", "restarting", "autorestarting"].indexOf(status) >= 0;
  }
  // A script of the loader that cannot be fetched (the server is gone or out of reach) fails at once.
  function onError(event) {
    var el = event.target;
    if (source && el && el.tagName === "SCRIPT" && (el.src || "").indexOf(source) === 0) scriptFailed = true;
  }
  window.addEventListener("error", onError, true);
  function show(kind, html) {
    var box = document.getElementById(boxId);
    var notice = box && box.querySelector(".wb-inline-notice");
    if (!notice) return;
    state = kind;
    notice.setAttribute("data-kind", kind);
    if (html === null) { notice.hidden = true; } else { notice.innerHTML = html; notice.hidden = false; }
  }
  var timer = setInterval(function () {
    var box = document.getElementById(boxId);
    if (!box) { if (attached) { clearInterval(timer); window.removeEventListener("error", onError, true); } return; }
    attached = true;
    var bokeh = window.Bokeh, pyviz = window.PyViz;
    var rendered = !!(bokeh && bokeh.index && bokeh.index[id]);
    var kernels = pyviz && pyviz.kernels;
    if (rendered && kernels && (id in kernels)) seenKernel = true;
    var gone = kernelGone(box);
    if (rendered && gone === false) seenLive = true;
    goneSince = gone ? (goneSince || Date.now()) : 0;
    if ((seenKernel && !(kernels && (id in kernels))) || (seenLive && goneSince && Date.now() - goneSince > 2000)) {
      show("disconnected", %(disconnected)s);
      clearInterval(timer);
    } else if (rendered) {
      if (state !== "ready") show("ready", null);
    } else if ((scriptFailed || Date.now() - started > timeoutMs) && state !== "error") {
      show("error", bokeh ? failed.panel : failed.bokeh);
    }
  }, 400);
})();
"""


def in_kernel() -> bool:
    """Whether this runs in an IPython kernel (a notebook), where outputs go to a browser."""
    if "IPython" not in sys.modules:
        return False
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:  # noqa: BLE001  # pragma: no cover - a broken IPython is no notebook
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def load_notebook_resources(mode: str = "server", server_url: str | None = None,
                            extensions: tuple[str, ...] = ()) -> None:
    """Load Panel's notebook support in this kernel, its JavaScript from ``server_url`` or inline.

    Outside a kernel (a script, a test) only Panel's configuration is set. Publishes the loader
    as display outputs of the running cell, as ``pn.extension()`` does.

    Args:
        mode: ``"server"`` (scripts from ``server_url``) or ``"inline"`` (scripts in the output).
        server_url: The workbench server's base URL; needed for ``"server"``.
        extensions: Panel extensions the app's pages need (``"plotly"`` ...).
    """
    pn.config.inline = True  # stylesheets inline: no CSS from a CDN, now or as the user navigates
    if mode == "inline" or not in_kernel():
        pn.extension(*extensions)
        return
    from IPython.utils.capture import capture_output

    # Panel's own loader points at the CDNs; set Panel up with it, but do not send it.
    pn.config.inline = False
    try:
        with capture_output(stdout=False, stderr=False, display=True):
            pn.extension(*extensions)
    finally:
        pn.config.inline = True
    try:
        _publish_server_loader(str(server_url))
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - another Panel's internals
        logger.warning("workbench cannot point Panel's notebook loader at its server with this Panel "
                       "version; writing the scripts into the output instead", exc_info=True)
        from panel.io.notebook import load_notebook

        load_notebook(inline=True)


def _publish_server_loader(server_url: str) -> None:
    """Publish Panel's notebook loader with every script and stylesheet from ``server_url``."""
    import bokeh.io.notebook
    from bokeh.resources import Resources as BokehResources
    from IPython.display import publish_display_data
    from panel.io.notebook import (
        LOAD_MIME,
        PANEL_DIR,
        PYVIZ_PROXY,
        _autoload_js,
        _JupyterCommManager,
        nb_mime_js,
        require_components,
    )
    from panel.io.resources import Resources, bundle_resources, set_resource_mode

    root = server_url.rstrip("/") + "/"
    with set_resource_mode("server"):
        resources = Resources.from_bokeh(BokehResources(mode="server", root_url=root), absolute=True)
        bundle = bundle_resources(None, resources, notebook=False, enable_mathjax=False)
        configs, requirements, exports, skip_imports = require_components()
        loader = _autoload_js(
            bundle=bundle, configs=configs, requirements=requirements, exports=exports,
            skip_imports=skip_imports, ipywidget="ipywidgets_bokeh" in sys.modules, load_timeout=15000,
        )
    css = (PANEL_DIR / "_templates" / "jupyter.css").read_text(encoding="utf-8")
    publish_display_data(data={"text/html": f'<script type="esms-options">{{"shimMode": true}}</script>'
                                            f"<style>{css}</style>"})
    publish_display_data({"application/javascript": loader, LOAD_MIME: loader})
    bokeh.io.notebook.curstate().output_notebook()
    comms = "\n".join([PYVIZ_PROXY, _JupyterCommManager.js_manager, nb_mime_js])
    publish_display_data(data={LOAD_MIME: comms, "application/javascript": comms})


class InlineApp(App):
    """The whole app for a notebook cell: as wide as the cell, ``height`` pixels high.

    Displaying it (as a cell's value) first loads Panel's notebook support with the scripts from
    workbench itself (see the module docstring), then renders the app in an output that says
    when it cannot load and when its kernel is gone.

    Args:
        reader: Where the data comes from.
        query: Page and page parameters to start from.
        height: The height in pixels (at least :data:`MIN_HEIGHT`).
        resources: ``"server"`` or ``"inline"``.
        server_url: The workbench server the scripts come from (``"server"`` mode).
        extensions: Panel extensions the pages need.
    """

    height = param.Integer(default=DEFAULT_HEIGHT, bounds=(MIN_HEIGHT, None), doc="Height in pixels.")

    def __init__(
        self,
        reader: Reader,
        *,
        query: Mapping[str, Any] | None = None,
        height: int = DEFAULT_HEIGHT,
        resources: str = "server",
        server_url: str | None = None,
        extensions: tuple[str, ...] = (),
        ingest_status: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(reader, query=query, ingest_status=ingest_status)
        self.height = height
        self.resources = resources
        self.server_url = server_url
        self.extensions = extensions
        # The page scrolls inside the app, below its header, as a browser tab would.
        self._content.param.update(scroll=True, sizing_mode="stretch_both", min_height=0)
        self._frame = pn.Column(
            self._layout, height=self.height, sizing_mode="stretch_width", margin=0, stylesheets=[_SHRINK_CSS],
            styles={"border": "1px solid #e2e8f0", "border-radius": "6px", "overflow": "hidden"},
        )
        self.param.watch(lambda event: setattr(self._frame, "height", event.new), "height")

    def __panel__(self) -> Any:
        return self._frame

    def _show(self, panel: Any) -> None:
        """Keep each page drawn once and show one at a time.

        In a notebook, replacing the page's layout sends the whole page to the browser and
        back again over the kernel's comm; a click made meanwhile could be lost. A page
        opened before is only made visible again: nothing is redrawn, and going back is instant.
        """
        for other in self._content.objects:
            if other is not panel and other.visible:
                other.visible = False
        panel.visible = True
        if panel not in self._content.objects:
            self._content.append(panel)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        load_notebook_resources(self.resources, self.server_url, self.extensions)
        result = super()._repr_mimebundle_(include, exclude)
        if not result:
            return result
        data, metadata = result
        plot_id = (metadata.get(_EXEC_MIME) or {}).get("id")
        if plot_id and "text/html" in data:
            data = {**data, "text/html": self._wrap(data["text/html"], plot_id)}
        return data, metadata

    def _wrap(self, body: str, plot_id: str) -> str:
        """The rendered app inside a box with the watcher's notice line and script."""
        box = f"wb-inline-{plot_id}"
        if self.resources == "server":
            where = html.escape(str(self.server_url))
            bokeh_failed = (
                f"The workbench app did not load: this browser could not load Bokeh's JavaScript from "
                f"workbench's server at <a href='{where}/' target='_blank'>{where}</a>. If the session "
                f"is stopped, <code>launch()</code> again and run this cell again; if Jupyter runs on "
                f"another machine, use <code>session.view(resources=\"inline\")</code>."
            )
        else:
            bokeh_failed = ("The workbench app did not load: Bokeh's JavaScript did not run in this page. "
                            "Run this cell again; the browser's console says more.")
        failed = {
            "bokeh": bokeh_failed,
            "panel": ("The workbench app did not render: Bokeh is loaded but this output was not drawn "
                      "(is Panel's JupyterLab extension, from <code>pyviz_comms</code>, installed where "
                      "Jupyter runs?). Run this cell again; the browser's console says more."),
        }
        disconnected = ("Disconnected: the kernel restarted or stopped, so this view no longer answers. "
                        "Run <code>session.view()</code> again for a live one.")
        script = _WATCH_JS % {
            "id": json.dumps(plot_id), "box": json.dumps(box), "timeout_ms": LOAD_TIMEOUT_S * 1000,
            "failed": json.dumps(failed), "disconnected": json.dumps(disconnected),
            "source": json.dumps(self.server_url.rstrip("/") + "/" if self.resources == "server" and self.server_url
                                 else ""),
        }
        return (
            f"<style>{_NOTICE_CSS}</style>"
            f"<div class='wb-inline' id='{box}'>"
            f"<div class='wb-inline-notice' data-kind='loading' role='status'>Loading the workbench app&hellip;</div>"
            f"{body}</div>"
            f"<script type='application/javascript'>{script}</script>"
        )
