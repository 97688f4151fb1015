"""DuckDB SQL of the cost rules, made Spark SQL: the ``x::TYPE`` casts become ``CAST(x AS TYPE)``.

The billing rules are written once, as SQL, in :mod:`workbench.read.costs` and
:mod:`workbench.pricing.maths`; Spark runs the same text after this one rewrite (Spark before
4.0 has no ``::``), so the two engines cannot drift apart.
"""

from __future__ import annotations

import re

__all__ = ["spark_sql"]

_CAST = re.compile(r"::([A-Z]+)")


def _operand_start(text: str, end: int) -> int:
    """Where the operand ending just before ``end`` starts: a call ``f(...)``, a ``(...)``, or a name."""
    i = end - 1
    if text[i] == ")":
        depth = 0
        while i >= 0:
            if text[i] == ")":
                depth += 1
            elif text[i] == "(":
                depth -= 1
                if depth == 0:
                    break
            i -= 1
        i -= 1
    while i >= 0 and (text[i].isalnum() or text[i] in "_."):
        i -= 1
    return i + 1


def spark_sql(text: str) -> str:
    """``text`` with every ``operand::TYPE`` written ``CAST(operand AS TYPE)``."""
    while True:
        match = _CAST.search(text)
        if match is None:
            return text
        start = _operand_start(text, match.start())
        operand = text[start:match.start()]
        text = f"{text[:start]}CAST({operand} AS {match.group(1)}){text[match.end():]}"
