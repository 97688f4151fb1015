"""The page registry: which pages the app has, in which order, and where their views live.

A page is one entry. A later page (Cost, Quality, Drift, Monitors) plugs in with one call::

    register_page(Page("cost", "Cost", "workbench.app.cost:CostView", order=50))

A page's view is a class taking ``(reader, *, scope=None, links=None, **params)`` (see
:class:`workbench.app.page.PageView`). It is imported only when the page is first opened,
so a page's heavy imports (plotly, umap) cost nothing until then.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

__all__ = ["PAGES", "Page", "get_page", "register_page"]


@dataclass(frozen=True)
class Page:
    """One page of the app.

    Attributes:
        name: Its key in the URL (``?page=traces``), lowercase.
        title: Its label in the navigation.
        view: ``"module:Class"`` of its view, or the class itself.
        order: Position in the navigation (lower first).
        nav: Whether the navigation lists it (a page reached only by links says False).
        extensions: Panel extensions its view needs (``"plotly"`` ...): a served browser
            document includes them when it opens on this page, and is loaded anew to show it
            from a page that did not.
        description: One line shown as the navigation's tooltip.
    """

    name: str
    title: str
    view: Any
    order: int = 100
    nav: bool = True
    extensions: tuple[str, ...] = ()
    description: str = ""

    def view_class(self) -> type[Any]:
        """Import and return the page's view class."""
        if not isinstance(self.view, str):
            return self.view
        module, _, attribute = self.view.partition(":")
        return getattr(importlib.import_module(module), attribute)


PAGES: dict[str, Page] = {}


def register_page(page: Page) -> Page:
    """Add (or replace) a page; returns it."""
    PAGES[page.name] = page
    return page


def get_page(name: str) -> Page:
    """The page called ``name``.

    Raises:
        KeyError: No such page (the message lists the known ones).
    """
    try:
        return PAGES[name]
    except KeyError:
        raise KeyError(f"There is no page {name!r}; known pages: {', '.join(PAGES)}.") from None


def ordered() -> list[Page]:
    """The pages in navigation order."""
    return sorted(PAGES.values(), key=lambda p: (p.order, p.name))


for _page in (
    Page("traces", "Traces", "workbench.app.traces:TracesView", order=10,
         description="Every trace (or span), filtered and sorted"),
    Page("trace", "Trace", "workbench.app.trace:TraceView", order=20,
         description="One trace: its span tree, waterfall and span details"),
    Page("latency", "Latency", "workbench.app.latency:LatencyView", order=30,
         description="Percentiles over time, LLM timings, where the time goes"),
    Page("sessions", "Sessions", "workbench.app.sessions:SessionsView", order=40,
         description="Conversations and their turns"),
    Page("quality", "Quality", "workbench.app.quality:QualityView", order=45,
         description="Evaluations and feedback: pass rates, scores, worst traces"),
    Page("experiments", "Experiments", "workbench.app.experiments:ExperimentsView", order=48,
         description="Datasets, experiments on them, and comparisons example by example"),
    Page("cost", "Cost", "workbench.app.cost:CostView", order=50, extensions=("tabulator",),
         description="Spend and tokens by feature, model, user; burn rate; prices"),
    Page("drift", "Drift", "workbench.app.drift:DriftView", order=60, extensions=("plotly",),
         description="Query drift and retrieval: clusters of queries against the corpus"),
    Page("monitors", "Monitors", "workbench.app.monitors:MonitorsView", order=70,
         description="What the monitor rules found, with links to the spans"),
    Page("playground", "Playground", "workbench.app.playground:PlaygroundView", order=90, nav=False,
         description="An LLM span's request, edited and run again"),
):
    register_page(_page)
