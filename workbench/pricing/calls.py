"""What a billable call is, and what one span cost: defined once for every part of workbench.

A span is a **call** when its kind is one of :data:`CALL_KINDS` (an LLM or an embedding
call). A call's cost is :func:`~workbench.pricing.maths.call_cost`'s rule (its model's
prices times the tokens it reports, else the cost its sender reported, else unknown). A span
that is not a call has no cost of its own, whatever model or cost it carries.

The read API and the views price calls in SQL (:func:`is_call_sql` with
:func:`~workbench.pricing.maths.cost_sql`); tail sampling, in the in-process collector and in
the server alike, prices each span with :func:`span_cost`, so a trace's cost is the same
figure wherever it is decided on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from workbench.model import TokenUsage
from workbench.pricing.maths import call_cost
from workbench.pricing.table import PriceTable

__all__ = ["CALL_KINDS", "is_call", "is_call_sql", "span_cost"]

#: The span kinds that are model calls, and so carry a cost.
CALL_KINDS: tuple[str, ...] = ("LLM", "EMBEDDING")


def is_call(span_kind: Any) -> bool:
    """Whether a span of this kind (a :class:`~workbench.model.SpanKind` or its text) is a call."""
    return str(getattr(span_kind, "value", span_kind)) in CALL_KINDS


def is_call_sql(alias: str = "s") -> str:
    """SQL that is true for a call (a span of a kind in :data:`CALL_KINDS`)."""
    return f"{alias}.span_kind IN ({', '.join(repr(k) for k in CALL_KINDS)})"


def span_cost(
    prices: PriceTable,
    span_kind: Any,
    model_name: str | None,
    provider: str | None,
    day: dt.date,
    tokens: TokenUsage,
    client_cost: float | None,
) -> float | None:
    """What one span cost in USD: a call's cost by :func:`call_cost`; None when it is not a call or unknown.

    Args:
        prices: The price table to match the model in.
        span_kind: The span's kind (a :class:`~workbench.model.SpanKind` or its text).
        model_name: The model the span called, if any.
        provider: The model's provider, if known.
        day: The UTC day the span started (prices change over time).
        tokens: The tokens the span reports.
        client_cost: The cost the span's sender reported, if any.
    """
    if not is_call(span_kind):
        return None
    match = prices.match(model_name, provider, day) if model_name else None
    return call_cost(tokens, match.price if match is not None else None, client_cost)
