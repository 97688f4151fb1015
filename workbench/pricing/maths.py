"""Cost maths: tokens times prices, for one span, for columns, and as SQL.

**What a call cost** (:func:`call_cost`, and the SQL behind every cost the read API, the
views and the app show) is one rule:

1. A call whose model has a price *and* that reports tokens to bill (any prompt, completion,
   cache or reasoning token; see :func:`bills_tokens`) costs what the prices say. A model
   whose every price is zero (a free or local model, priced so by the user) costs $0 per
   call, tokens or not.
2. Otherwise, a cost its sender reported (``llm.cost.*``, ``gen_ai.usage.cost``) is used.
3. Otherwise its cost is unknown: **null, never $0**. A call whose model has no price is
   *unpriced* (counted and flagged as such wherever costs are summed, whether or not it
   reported tokens); a call of a priced model that reported no tokens (typically a failed
   call) has *no usage*: no cost, not a priced call of $0.

A sum of calls adds the costs that are known and says how many are not; it is null only
when none is known.

The billing of the tokens a call reports follows these rules in all three forms
(:func:`cost`, :func:`cost_columns`, :func:`cost_sql`), so a figure is the same whichever
computed it:

* **Missing counts are zero.** A count the sender did not report bills nothing.
* **Cached input.** When ``prompt_includes_cache`` is true (OpenAI, DeepSeek, the OTel
  GenAI and OpenInference conventions) the prompt count already holds the cached tokens,
  so uncached input is ``prompt - cache_read - cache_write``, never below zero. When it is
  false (Anthropic's native usage) every prompt token is uncached and the cache tokens are
  billed on top. When it is unknown (``None``) it is taken as true, the convention most
  senders follow, which also never bills more input tokens than were reported.
* **Cache prices.** Cache reads bill at ``cache_read`` and cache writes at ``cache_write``;
  where a row has no such price they bill at ``input`` (the provider charges them as
  ordinary input).
* **Reasoning.** Reasoning tokens are part of the completion count (OpenAI's convention,
  which OpenInference and OTel follow), so output bills ``completion - reasoning`` tokens at
  ``output`` and the reasoning tokens at ``reasoning``, or at ``output`` when the row has no
  reasoning price, which makes the total ``completion * output`` for nearly every model.
  When ``reasoning`` exceeds ``completion`` the sender evidently counted them apart (as
  Gemini's ``thoughts`` and ``candidates`` counts are), so all completion tokens bill as
  output and the reasoning tokens on top.
* **Units.** Prices are USD per million tokens; costs are USD, unrounded floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from workbench.model import TokenUsage

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "BILLED_TOKENS",
    "COST_COLUMNS",
    "TOKEN_COLUMNS",
    "CostBreakdown",
    "bills_tokens",
    "bills_tokens_sql",
    "call_cost",
    "cost",
    "cost_columns",
    "cost_sql",
    "free_sql",
    "is_free",
]

_PER = 1_000_000

#: The names of the cost parts, as :func:`cost_columns` and :func:`cost_sql` return them.
COST_COLUMNS: tuple[str, ...] = (
    "input_cost",
    "output_cost",
    "cache_read_cost",
    "cache_write_cost",
    "reasoning_cost",
    "total_cost",
)

#: The token fields cost maths reads, named as in :class:`~workbench.model.TokenUsage`,
#: with the span-table column names :func:`cost_sql` assumes unless told otherwise.
TOKEN_COLUMNS: dict[str, str] = {
    "prompt": "prompt_tokens",
    "completion": "completion_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
    "reasoning": "reasoning_tokens",
    "prompt_includes_cache": "prompt_includes_cache",
}


#: The token counts a price applies to. A call reporting none of them (a total alone, or
#: nothing) has nothing to bill, so its cost is unknown rather than $0.
BILLED_TOKENS: tuple[str, ...] = ("prompt", "completion", "cache_read", "cache_write", "reasoning")


class _Prices(Protocol):
    """Anything with the five prices: a Price or a PriceRow."""

    @property
    def input(self) -> float: ...
    @property
    def output(self) -> float: ...
    @property
    def cache_read(self) -> float | None: ...
    @property
    def cache_write(self) -> float | None: ...
    @property
    def reasoning(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """What one call cost, in USD, by kind of token.

    Attributes:
        input: Uncached input tokens.
        output: Output tokens other than reasoning.
        cache_read: Input tokens read from the prompt cache.
        cache_write: Input tokens written to the prompt cache.
        reasoning: Reasoning tokens.
        total: The sum of the five.
    """

    input: float
    output: float
    cache_read: float
    cache_write: float
    reasoning: float
    total: float


def cost(tokens: TokenUsage, price: _Prices) -> CostBreakdown:
    """Return what a call cost, following the rules in this module's docstring.

    Args:
        tokens: The call's token counts.
        price: The model's prices: a :class:`~workbench.pricing.Price`, a ``PriceRow``,
            or ``PriceMatch.price``.

    Returns:
        The cost by kind of token and in total.

    Example:
        >>> from workbench.pricing import Price
        >>> cost(TokenUsage(prompt=1000, completion=500), Price(input=2.5, output=10)).total
        0.0075
    """
    prompt = tokens.prompt or 0
    completion = tokens.completion or 0
    cache_read = tokens.cache_read or 0
    cache_write = tokens.cache_write or 0
    reasoning = tokens.reasoning or 0
    # An unknown convention (None) counts as inclusive: see the module docstring.
    inclusive = tokens.prompt_includes_cache is not False
    uncached = max(prompt - cache_read - cache_write, 0) if inclusive else prompt
    plain_output = completion - reasoning if reasoning <= completion else completion
    parts = (
        uncached * price.input / _PER,
        plain_output * price.output / _PER,
        cache_read * _first(price.cache_read, price.input) / _PER,
        cache_write * _first(price.cache_write, price.input) / _PER,
        reasoning * _first(price.reasoning, price.output) / _PER,
    )
    return CostBreakdown(*parts, total=sum(parts))


def bills_tokens(tokens: TokenUsage) -> bool:
    """Whether a call reports any token a price applies to (see :data:`BILLED_TOKENS`).

    Example:
        >>> bills_tokens(TokenUsage(prompt=12)), bills_tokens(TokenUsage()), bills_tokens(TokenUsage(total=9))
        (True, False, False)
    """
    return any((getattr(tokens, name) or 0) > 0 for name in BILLED_TOKENS)


def bills_tokens_sql(spans: str = "s", columns: Mapping[str, str] | None = None) -> str:
    """SQL that is true when the span ``spans`` reports tokens to bill (:func:`bills_tokens`).

    Args:
        spans: The span table's alias in the query.
        columns: Token column names, where they differ from :data:`TOKEN_COLUMNS`.
    """
    c = {**TOKEN_COLUMNS, **(columns or {})}
    return "(" + " OR ".join(f"COALESCE({spans}.{c[name]}, 0) > 0" for name in BILLED_TOKENS) + ")"


def call_cost(tokens: TokenUsage, price: _Prices | None, client_cost: float | None = None) -> float | None:
    """What one call cost, by the rule in this module's docstring: None when unknown.

    Args:
        tokens: The call's token counts.
        price: The model's prices, or None when no price row matches (unpriced).
        client_cost: The cost the call's sender reported, if any.

    Example:
        >>> from workbench.pricing import Price
        >>> gpt_4o = Price(input=2.5, output=10)
        >>> call_cost(TokenUsage(prompt=1000, completion=500), gpt_4o)
        0.0075
        >>> call_cost(TokenUsage(), gpt_4o) is None  # a failed call that reported no tokens
        True
        >>> call_cost(TokenUsage(prompt=10), None, client_cost=0.01)  # unpriced: the sender's figure
        0.01
    """
    if price is not None and (bills_tokens(tokens) or is_free(price)):
        return cost(tokens, price).total
    return client_cost


def is_free(price: _Prices) -> bool:
    """Whether every price of a row is zero, so that any call of its model costs $0."""
    return not any(value for value in (price.input, price.output, price.cache_read, price.cache_write, price.reasoning))


def free_sql(prices: str = "p") -> str:
    """SQL that is true when the resolved price row ``prices`` is free (:func:`is_free`)."""
    parts = [f"{prices}.input_per_mtok = 0", f"{prices}.output_per_mtok = 0"]
    parts += [f"COALESCE({prices}.{kind}_per_mtok, 0) = 0" for kind in ("cache_read", "cache_write", "reasoning")]
    return "(" + " AND ".join(parts) + ")"


def cost_columns(tokens: Mapping[str, Any], prices: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Vectorised :func:`cost`: token columns and price columns in, cost columns out.

    Args:
        tokens: Columns named as :data:`TOKEN_COLUMNS`' keys (``prompt``, ``completion``,
            ``cache_read``, ``cache_write``, ``reasoning``, ``prompt_includes_cache``);
            any may be missing. Lists, numpy arrays, pandas Series (nullable dtypes too)
            and Arrow arrays all work; nulls follow the module's rules.
        prices: The ``*_per_mtok`` columns of :meth:`PriceTable.resolve` or
            :meth:`PriceTable.price_columns`, aligned with ``tokens``. NaN (unpriced)
            gives NaN costs.

    Returns:
        :data:`COST_COLUMNS`, each a float64 numpy array: what the tokens bill. Whether a call
        has a cost at all (a row without tokens to bill has none) is :func:`call_cost`'s rule.
    """
    import numpy as np

    size = len(prices["input_per_mtok"])
    prompt = _counts(tokens.get("prompt"), size)
    completion = _counts(tokens.get("completion"), size)
    cache_read = _counts(tokens.get("cache_read"), size)
    cache_write = _counts(tokens.get("cache_write"), size)
    reasoning = _counts(tokens.get("reasoning"), size)
    includes = _flags(tokens.get("prompt_includes_cache"), size)

    price_in = _floats(prices["input_per_mtok"])
    price_out = _floats(prices["output_per_mtok"])
    price_read = _fallback(_floats(prices.get("cache_read_per_mtok", price_in)), price_in)
    price_write = _fallback(_floats(prices.get("cache_write_per_mtok", price_in)), price_in)
    price_reason = _fallback(_floats(prices.get("reasoning_per_mtok", price_out)), price_out)

    uncached = np.where(includes, np.maximum(prompt - cache_read - cache_write, 0), prompt)
    plain_output = np.where(reasoning <= completion, completion - reasoning, completion)
    out = {
        "input_cost": uncached * price_in / _PER,
        "output_cost": plain_output * price_out / _PER,
        "cache_read_cost": cache_read * price_read / _PER,
        "cache_write_cost": cache_write * price_write / _PER,
        "reasoning_cost": reasoning * price_reason / _PER,
    }
    out["total_cost"] = (
        out["input_cost"]
        + out["output_cost"]
        + out["cache_read_cost"]
        + out["cache_write_cost"]
        + out["reasoning_cost"]
    )
    return out


def cost_sql(spans: str = "s", prices: str = "p", columns: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return SQL expressions for each cost part, over a span table joined to resolved prices.

    The expressions use only ``COALESCE``, ``CASE`` and arithmetic, so they run on DuckDB
    (and SQLite, which the tests use). An unpriced span (null prices after a LEFT JOIN)
    gets null costs: unknown, never $0.

    Args:
        spans: The span table's alias in the query.
        prices: The alias of the table :meth:`PriceTable.resolve` returned.
        columns: Token column names of the span table, where they differ from
            :data:`TOKEN_COLUMNS` (e.g. ``{"prompt": "tokens_prompt"}``).

    Returns:
        An SQL expression for each name in :data:`COST_COLUMNS`: what the tokens bill. A call
        without tokens to bill has no cost (:func:`call_cost`); test it with
        :func:`bills_tokens_sql` (:mod:`workbench.read.costs` does).
    """
    c = {**TOKEN_COLUMNS, **(columns or {})}
    prompt = f"COALESCE({spans}.{c['prompt']}, 0)"
    completion = f"COALESCE({spans}.{c['completion']}, 0)"
    cache_read = f"COALESCE({spans}.{c['cache_read']}, 0)"
    cache_write = f"COALESCE({spans}.{c['cache_write']}, 0)"
    reasoning = f"COALESCE({spans}.{c['reasoning']}, 0)"
    includes = f"COALESCE({spans}.{c['prompt_includes_cache']}, TRUE)"
    rest = f"{prompt} - {cache_read} - {cache_write}"
    uncached = f"CASE WHEN {includes} THEN (CASE WHEN {rest} > 0 THEN {rest} ELSE 0 END) ELSE {prompt} END"
    plain_output = f"CASE WHEN {reasoning} <= {completion} THEN {completion} - {reasoning} ELSE {completion} END"
    price_in = f"{prices}.input_per_mtok"
    price_out = f"{prices}.output_per_mtok"
    parts = {
        "input_cost": f"({uncached}) * {price_in} / 1e6",
        "output_cost": f"({plain_output}) * {price_out} / 1e6",
        "cache_read_cost": f"{cache_read} * COALESCE({prices}.cache_read_per_mtok, {price_in}) / 1e6",
        "cache_write_cost": f"{cache_write} * COALESCE({prices}.cache_write_per_mtok, {price_in}) / 1e6",
        "reasoning_cost": f"{reasoning} * COALESCE({prices}.reasoning_per_mtok, {price_out}) / 1e6",
    }
    parts["total_cost"] = " + ".join(f"({expr})" for expr in parts.values())
    return parts


def _first(value: float | None, fallback: float) -> float:
    return fallback if value is None else value


def _floats(values: Any) -> np.ndarray:
    """Return ``values`` as float64, nulls (None, NaN, pd.NA, Arrow null) as NaN."""
    import numpy as np

    if isinstance(values, np.ndarray) and values.dtype != object:
        return values.astype(np.float64, copy=False)
    if hasattr(values, "to_pylist"):  # pyarrow arrays
        values = values.to_pylist()
    elif hasattr(values, "to_numpy"):  # pandas, nullable dtypes too
        return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan))
    return np.array([np.nan if _is_null(v) else v for v in values], dtype=np.float64)


def _counts(values: Any, size: int) -> np.ndarray:
    import numpy as np

    if values is None:
        return np.zeros(size)
    counts: np.ndarray = np.nan_to_num(_floats(values), nan=0.0)
    return counts


def _flags(values: Any, size: int) -> np.ndarray:
    """Return ``prompt_includes_cache`` as bools, unknown taken as true."""
    import numpy as np

    if values is None:
        return np.ones(size, dtype=bool)
    if isinstance(values, np.ndarray) and values.dtype == bool:
        return values
    if hasattr(values, "to_pylist"):
        values = values.to_pylist()
    elif hasattr(values, "to_numpy"):
        values = values.to_numpy(dtype=object, na_value=None)
    return np.array([True if _is_null(v) else bool(v) for v in values], dtype=bool)


def _is_null(value: Any) -> bool:
    # NaN is the only value unequal to itself; pd.NA is neither equal nor unequal.
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:
        return True


def _fallback(values: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.where(np.isnan(values), fallback, values)
