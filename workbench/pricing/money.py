"""Dollars as text: the one place every dollar amount shown is formatted (app pages, alerts,
messages, the command line).

LLM costs span nine orders of magnitude, from a fraction of a millionth of a dollar for one
embedding to thousands a month, so a fixed number of decimals either hides small costs
(``$0.0000``) or clutters large ones. :func:`usd` keeps cents for dollars and three
significant digits below a dollar, and never uses scientific notation. :func:`rate` writes a
price per million tokens the way the user typed it into a price row (``$2.5``, ``$0.075``).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["AXIS_FORMAT", "rate", "usd"]

_SIGNIFICANT = 3

#: Dollars on a chart axis, formatted in the browser (a Numeral.js format for Bokeh's
#: ``NumeralTickFormatter``): cents, and up to six more digits for small costs.
AXIS_FORMAT = "$0,0.00[000000]"


def usd(value: Any, *, missing: str = "unknown") -> str:
    """Format a cost in US dollars.

    Args:
        value: Dollars: an int, float, Decimal or numpy number. None and NaN are missing.
        missing: The text for a missing (unknown) cost.

    Returns:
        ``$1,234`` from $100, ``$12.34`` from $1, below that three significant digits with at
        least two decimals (``$0.50``, ``$0.0123``, ``$0.000033``), and ``$0`` for zero.

    Example:
        >>> [usd(v) for v in (1234.5, 12.345, 0.5, 0.0123456, 0.000033, 0, None)]
        ['$1,234', '$12.35', '$0.50', '$0.0123', '$0.000033', '$0', 'unknown']
    """
    number = _number(value)
    if number is None:
        return missing
    if math.isinf(number):
        return "-$\u221e" if number < 0 else "$\u221e"
    sign, size = ("-" if number < 0 else ""), abs(number)
    if size == 0:
        return "$0"
    if size >= 99.995:  # what would show as $100.00
        return f"{sign}${size:,.0f}"
    if size >= 1:
        return f"{sign}${size:,.2f}"
    decimals = max(2, _SIGNIFICANT - 1 - math.floor(math.log10(size)))
    text = f"{size:.{decimals}f}"
    if text.startswith("1.") or text == "1":  # rounded up to a dollar
        return f"{sign}${size:,.2f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{sign}${whole}.{fraction}"


def _number(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, or NaN."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def rate(value: Any, *, symbol: bool = True, missing: str = "") -> str:
    """Format a price in US dollars per million tokens, as short as it was written.

    Args:
        value: Dollars per million tokens. None and NaN are missing.
        symbol: Whether to lead with ``$`` (a table whose header says USD leaves it out).
        missing: The text for a price not given.

    Returns:
        ``$2.5``, ``$10``, ``$0.075``: up to six significant digits, no trailing zeros.

    Example:
        >>> [rate(v) for v in (2.5, 10.0, 0.075, None)], rate(1.25, symbol=False)
        (['$2.5', '$10', '$0.075', ''], '1.25')
    """
    number = _number(value)
    if number is None:
        return missing
    return f"${number:g}" if symbol else f"{number:g}"
