"""Model prices and cost maths: the shipped price table, the user's own prices, and costs.

Costs are computed when a query runs, never stored, so a corrected or newly added price
re-costs history at once. The pieces:

* ``prices.json`` (package data): the shipped table. Each row has ``provider``, ``model``,
  ``pattern``, ``input``, ``output``, ``cache_read``, ``cache_write``, ``reasoning`` (USD per
  million tokens, ``null`` where not billed apart), ``valid_from``, ``source`` and
  ``retrieved``. Rows with the same pattern are the model's price history.
* :class:`PriceTable`: shipped plus user rows; :meth:`PriceTable.match` picks the row for a
  model name, provider and day (rules in :mod:`workbench.pricing.table`, name spellings in
  :mod:`workbench.pricing.patterns`); :meth:`PriceTable.explain` says why.
* :func:`cost`: one span's :class:`CostBreakdown` (rules in :mod:`workbench.pricing.maths`);
  :func:`call_cost`: what one call cost, None when unknown (unpriced, or no tokens reported).
* :mod:`workbench.pricing.calls`: which spans are calls (:data:`CALL_KINDS`) and
  :func:`span_cost`, the one definition of what a span cost that sampling and queries share.
* :mod:`workbench.pricing.userfile`: the user's JSON price file, CSV/JSON import and export.
* :mod:`workbench.pricing.prices`: :class:`~workbench.pricing.prices.Prices`, the manager of the
  configured price file (``workbench.prices``, ``workbench prices ...``); imported on its own,
  since it needs pandas.

Pricing a query in SQL is the read door's work (:mod:`workbench.read.costs`): it takes the
distinct keys of the rows it prices (model name, provider, and the UTC day the span started),
resolves them with :meth:`PriceTable.resolve` into a ``prices`` table, joins that on those
three keys (the provider with ``IS NOT DISTINCT FROM``), and computes with :func:`cost_sql`'s
expressions.

The ``prices`` table (:data:`RESOLVED_COLUMNS`), one row per distinct key:

======================  =========  ====================================================
column                  type       meaning
======================  =========  ====================================================
model_name              VARCHAR    key: the span's model name, exactly as given
provider                VARCHAR    key: the span's provider as given (may be NULL)
day                     DATE       key: the UTC day priced
priced                  BOOLEAN    false when no row applies (then every price is NULL)
input_per_mtok          DOUBLE     USD per million uncached input tokens
output_per_mtok         DOUBLE     USD per million output tokens
cache_read_per_mtok     DOUBLE     cache reads; already falls back to input
cache_write_per_mtok    DOUBLE     cache writes; already falls back to input
reasoning_per_mtok      DOUBLE     reasoning tokens; already falls back to output
price_model             VARCHAR    the winning row's canonical model name
price_provider          VARCHAR    the winning row's provider
price_pattern           VARCHAR    the winning row's pattern
price_origin            VARCHAR    'shipped' or 'user'
price_valid_from        DATE       the first day of the winning price
======================  =========  ====================================================

With the LEFT JOIN an unpriced span gets NULL costs, which sum to NULL per span and are
skipped by ``SUM``: report them as unpriced, never as $0. In pandas, use
:meth:`PriceTable.price_columns` and :func:`cost_columns` instead.
"""

from __future__ import annotations

from workbench.pricing.calls import CALL_KINDS, is_call, is_call_sql, span_cost
from workbench.pricing.keys import normalize_provider, to_day
from workbench.pricing.maths import (
    COST_COLUMNS,
    TOKEN_COLUMNS,
    CostBreakdown,
    bills_tokens,
    bills_tokens_sql,
    call_cost,
    cost,
    cost_columns,
    cost_sql,
)
from workbench.pricing.patterns import literal_length
from workbench.pricing.price_row import COLUMNS, PRICE_COLUMNS, Price, PriceRow
from workbench.pricing.table import (
    RESOLVED_COLUMNS,
    PriceLookup,
    PriceMatch,
    PriceTable,
    shipped_rows,
    shipped_version,
)
from workbench.pricing.userfile import (
    DEFAULT_USER_PRICES_PATH,
    import_prices,
    load_user_prices,
    read_rows,
    remove_price,
    save_user_prices,
    set_price,
    write_rows,
)

__all__ = [
    "CALL_KINDS",
    "COLUMNS",
    "COST_COLUMNS",
    "DEFAULT_USER_PRICES_PATH",
    "PRICE_COLUMNS",
    "RESOLVED_COLUMNS",
    "TOKEN_COLUMNS",
    "CostBreakdown",
    "Price",
    "PriceLookup",
    "PriceMatch",
    "PriceRow",
    "PriceTable",
    "bills_tokens",
    "bills_tokens_sql",
    "call_cost",
    "cost",
    "cost_columns",
    "cost_sql",
    "import_prices",
    "is_call",
    "is_call_sql",
    "literal_length",
    "load_user_prices",
    "normalize_provider",
    "read_rows",
    "remove_price",
    "save_user_prices",
    "set_price",
    "shipped_rows",
    "shipped_version",
    "span_cost",
    "to_day",
    "write_rows",
]
