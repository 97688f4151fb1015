"""Dollars as text: the one formatter for every cost shown (app pages, alerts, messages).

LLM costs span nine orders of magnitude, from a fraction of a millionth of a dollar for one
embedding to thousands a month, so a fixed number of decimals either hides small costs
(``$0.0000``) or clutters large ones. :func:`usd` keeps cents for dollars and three
significant digits below a dollar, and never uses scientific notation.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["usd"]

_SIGNIFICANT = 3


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
    if value is None:
        return missing
    try:
        number = float(value)
    except (TypeError, ValueError):
        return missing
    if math.isnan(number):
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
