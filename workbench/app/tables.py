"""Every table the app shows, drawn by one renderer.

:func:`table` draws a list (``<table class="wb-list">``): a header, then one row per item,
each cell made by its :class:`Column`. :func:`grid` draws the trace and span lists:
fixed column widths, one-line cells, rows that open a link, headers that sort, and in the
browser a column chooser and widths that can be dragged. Cells are
HTML; what comes from the data is escaped where the cell is made (:func:`~workbench.app.markup.esc`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.app.markup import esc, is_missing

__all__ = ["Column", "GridColumn", "grid", "table"]


@dataclass(frozen=True)
class Column:
    """A column of :func:`table`.

    Attributes:
        label: The header (text; escaped).
        cell: The cell's HTML for a row.
        numeric: Right-aligned figures.
        nowrap: The cell stays on one line.
        title: The header's tooltip.
        head: The header as HTML instead of ``label`` (a link, an arrow, a zone).
        head_css: A class of the header cell (``sorted``).
        tip: The cell's tooltip (text) for a row.
    """

    label: str
    cell: Callable[[Any], str]
    numeric: bool = False
    nowrap: bool = False
    title: str = ""
    head: str = ""
    head_css: str = ""
    tip: Callable[[Any], str] | None = None


def table(rows: Iterable[Any], columns: Sequence[Column], *, css: str = "", base: str = "wb-list",
          row_attrs: Callable[[Any], str] | None = None, header: bool = True,
          widths: Sequence[int] | None = None, empty: str | None = None) -> str:
    """The HTML of a table: ``columns`` over ``rows``.

    Args:
        rows: The items, one per row (any object the columns' ``cell`` functions read).
        columns: What each column shows.
        css: Classes of the table besides ``base``.
        base: The table's kind of look: ``wb-list`` (lists) or ``wb-grid`` (fixed widths).
        row_attrs: Attributes of a row's ``<tr>`` (``" class='x'"``), from its item.
        header: Draw the header row.
        widths: Fixed widths in pixels, one per column (the table is their sum wide).
        empty: Text of the one row shown when there are no rows (None: no such row).
    """
    classes = " ".join(c for c in (base, css) if c)
    style = f' style="width:{sum(widths)}px"' if widths else ""
    cols = "<colgroup>" + "".join(f'<col style="width:{w}px">' for w in widths) + "</colgroup>" if widths else ""
    head = ""
    if header:
        cells = []
        for c in columns:
            css_classes = " ".join(x for x in ("num" if c.numeric else "", c.head_css) if x)
            attrs = (f' class="{css_classes}"' if css_classes else "") + (f' title="{esc(c.title)}"' if c.title else "")
            cells.append(f"<th{attrs}>{c.head or esc(c.label)}</th>")
        head = "<thead><tr>" + "".join(cells) + "</tr></thead>"
    body = []
    for row in rows:
        cells = []
        for c in columns:
            attrs = (' class="num"' if c.numeric else "") + (' style="white-space:nowrap"' if c.nowrap else "")
            if c.tip is not None:
                attrs += f' title="{esc(c.tip(row))}"'
            cells.append(f"<td{attrs}>{c.cell(row)}</td>")
        body.append(f"<tr{row_attrs(row) if row_attrs else ''}>" + "".join(cells) + "</tr>")
    if not body and empty is not None:
        body.append(f'<tr><td colspan="{len(columns)}" class="wb-empty">{esc(empty)}</td></tr>')
    return f"<table class=\"{classes}\"{style}>{cols}{head}<tbody>{''.join(body)}</tbody></table>"


@dataclass(frozen=True)
class GridColumn:
    """A column of :func:`grid`: the row key it shows, its label and width, and how it sorts.

    Attributes:
        key: The key of each row's value.
        label: The header.
        width: Pixels.
        numeric: Right-aligned, tabular figures.
        html: The value is HTML already (else it is escaped).
        sort_href: The link that sorts by this column ("" when it cannot be sorted).
        sorted: ``"asc"`` or ``"desc"`` when the rows are sorted by it.
    """

    key: str
    label: str
    width: int = 120
    numeric: bool = False
    html: bool = False
    sort_href: str = ""
    sorted: str = ""


def grid(columns: Sequence[GridColumn], rows: Sequence[dict[str, Any]], row_hrefs: Sequence[str],
         *, empty: str = "Nothing matches.", name: str = "") -> str:
    """A table whose rows open ``row_hrefs`` when clicked and whose headers sort.

    Cells are one line, cut with an ellipsis, the whole value in their tooltip. The last
    column takes the room left (at least its width), so the table fills its box and its last
    column is never cut at the edge. A table with a ``name`` gets, in the browser, a chooser
    of the columns shown and widths that can be dragged, both remembered per name (see
    :class:`~workbench.app.js_components.LinkedHTML`).
    """
    width = sum(c.width for c in columns)
    last = len(columns) - 1
    cols = "".join(f'<col data-w="{c.width}"' + ("" if i == last else f' style="width:{c.width}px"') + ">"
                   for i, c in enumerate(columns))
    heads = []
    for c in columns:
        arrow = {"asc": "\u25b2", "desc": "\u25bc"}.get(c.sorted, "")
        # The arrow sits outside the part cut with an ellipsis, so a narrow column keeps it.
        label = (f'<span class="wb-th"><span class="wb-th-label">{esc(c.label)}</span>'
                 + (f'<span class="wb-th-arrow"> {arrow}</span>' if arrow else "") + "</span>")
        inner = f'<a href="{esc(c.sort_href)}" title="sort by {esc(c.label)}">{label}</a>' if c.sort_href else label
        cls = " ".join(x for x in ("num" if c.numeric else "", "sorted" if c.sorted else "") if x)
        heads.append(f'<th class="{cls}" data-col="{esc(c.key)}" data-label="{esc(c.label)}">{inner}'
                     '<span class="wb-grip" title="drag to resize"></span></th>')
    body = []
    for row, link in zip(rows, row_hrefs):
        cells = []
        for c in columns:
            value = row.get(c.key)
            text = "" if is_missing(value) else str(value)
            shown = text if c.html else esc(text)
            title = "" if c.html else f' title="{esc(text[:500])}"'
            cells.append(f'<td class="{"num" if c.numeric else ""}"{title}>{shown}</td>')
        body.append(f'<tr data-href="{esc(link)}">{"".join(cells)}</tr>')
    if not body:
        body.append(f'<tr><td colspan="{len(columns)}" class="wb-empty">{esc(empty)}</td></tr>')
    named = f' data-grid="{esc(name)}"' if name else ""
    return (f'<table class="wb-grid"{named} style="width:100%;min-width:{width}px"><colgroup>{cols}</colgroup>'
            f'<thead><tr>{"".join(heads)}</tr></thead><tbody>{"".join(body)}</tbody></table>')
