"""Layouts that fit the window: rows of controls wrap, and nothing runs off the right edge.

Bokeh gives every layout a minimum width of the sum of its fixed-width children: a toolbar of
widgets makes the whole page as wide as that toolbar (1,290 px on the Traces page), so a
narrower browser window or notebook cell scrolls sideways and cuts the navigation and the
controls. :func:`fit` lets layouts shrink to the width they are given and rows wrap onto a
next line instead; wide tables keep scrolling inside their own box.
"""

from __future__ import annotations

from typing import Any

import panel as pn
from panel.layout.base import ListPanel

__all__ = ["SHRINK_CSS", "WRAP_CSS", "fit"]

SHRINK_CSS = ":host { min-width: 0 !important; }"
WRAP_CSS = ":host { min-width: 0 !important; flex-wrap: wrap; row-gap: 2px; }"


def fit(root: Any) -> None:
    """Let every layout under ``root`` (itself included) shrink to its width, and every row wrap.

    A layout given a ``min_width`` keeps it (its row wraps, or its neighbours give way). Call it
    before the layout is first shown: a stylesheet added later is fetched by the browser on its own.
    """
    layouts = root.select(ListPanel) if hasattr(root, "select") else []
    for layout in layouts:
        if layout.min_width:
            continue
        css = WRAP_CSS if isinstance(layout, pn.Row) else SHRINK_CSS
        if css not in layout.stylesheets:
            layout.stylesheets = [*layout.stylesheets, css]
