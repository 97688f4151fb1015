"""The SQL door: the relations a user's or an agent's SQL reads, and how it runs.

Every reader answers ``sql(query)``: a local file runs it here, a server runs it here on its
side (``POST /api/sql``). The query is checked and limited by
:func:`workbench.store.sqlsafe.run_guarded` (one read-only SELECT, no files, a row cap, a
byte cap and a deadline). What it may read, by name (columns: ``docs/schema.md``):

===============  ==========================================================================
``spans``        one row per span
``documents``    retrieved documents, one row per document, in order
``embeddings``   embedded texts with their vectors
``annotations``  evaluations and feedback
``corpus``       indexed documents loaded with ``Store.load_corpus``
``log_records``  OTel log records (GenAI message events ...)
``spans_cost``   every ``spans`` column, plus ``cost``: what the span cost in USD, computed
                 now from the current price table (a call's computed cost where its model
                 has a price and it bills tokens, else the cost its sender reported; null
                 for a span that is no model call and for an unknown cost)
===============  ==========================================================================
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from workbench import config
from workbench.pricing import bills_tokens_sql, cost_sql, is_call_sql
from workbench.pricing.effective import effective
from workbench.pricing.maths import free_sql
from workbench.read.costs import day_sql
from workbench.store.sqlsafe import NO_LIMITS, Answer, Limits, run_guarded

__all__ = ["EXAMPLE_QUERY", "NO_LIMITS", "RELATIONS", "SQL_TABLES", "Answer", "Limits", "run_sql", "server_limits",
           "spans_cost_sql"]

#: The query a refusal shows as an example of what is allowed.
EXAMPLE_QUERY = "SELECT count(*) FROM spans"

_EPOCH = dt.date(1970, 1, 1)

#: The stored tables the SQL door reads.
SQL_TABLES: tuple[str, ...] = ("spans", "documents", "embeddings", "annotations", "corpus", "log_records", "datasets",
                               "dataset_examples", "experiments", "experiment_runs", "prompts")
#: Every relation the SQL door reads: the tables and the views computed at query time.
RELATIONS: tuple[str, ...] = (*SQL_TABLES, "spans_cost")


def server_limits(max_rows: int | None = None, timeout_s: float | None = None) -> Limits:
    """The limits of SQL sent to a server or an agent: the settings, lowered by the caller's asks.

    Args:
        max_rows: Rows the caller wants at most (never above ``WORKBENCH_SQL_MAX_ROWS``).
        timeout_s: Seconds the caller allows (never above ``WORKBENCH_SQL_TIMEOUT_S``).
    """
    rows_cap = config.get("sql_max_rows")
    seconds = config.get("sql_timeout_s")
    return Limits(
        max_rows=rows_cap if max_rows is None else max(0, min(int(max_rows), rows_cap)),
        max_bytes=config.get("sql_max_mb") << 20,
        timeout_s=seconds if timeout_s is None else max(0.001, min(float(timeout_s), seconds)),
    )


def spans_cost_sql(prices: str) -> str:
    """A SELECT of every span with its ``cost``, over the resolved prices registered as ``prices``."""
    free = free_sql("p")
    total = cost_sql("s", "p")["total_cost"]
    cost = (
        f"CASE WHEN {is_call_sql('s')} THEN (CASE WHEN p.priced AND ({bills_tokens_sql('s')} OR {free}) "
        f"THEN {total} ELSE s.client_cost END) END"
    )
    return (
        f"SELECT s.*, ({cost})::DOUBLE AS cost FROM spans s LEFT JOIN {prices} p "
        "ON p.model_name IS NOT DISTINCT FROM s.model_name AND p.provider IS NOT DISTINCT FROM s.provider "
        f"AND p.day = {day_sql('s')}"
    )


def prices_by_day(keys: pa.Table, table: Any = None) -> pa.Table:
    """The resolved prices of (model_name, provider, day) keys, ``day`` in days since 1970,
    from ``table`` (default: the effective price table)."""
    names, providers, days = (keys.column(i).to_pylist() for i in range(3))
    resolved = (table or effective(None)).resolve(
        (m, p, _EPOCH + dt.timedelta(days=d)) for m, p, d in zip(names, providers, days, strict=True)
    )
    at = resolved.schema.get_field_index("day")
    return resolved.set_column(at, "day", pc.cast(resolved.column("day"), pa.int32()))


# The prices of a store's keys, while its span count and the price table stand:
# store path -> (span count, price table, resolved prices).
_PRICED: dict[str, tuple[int, Any, pa.Table]] = {}
_PRICED_LOCK = threading.Lock()


def _prices_of(store: Any) -> pa.Table:
    """The resolved prices of every (model, provider, day) key of the store's calls."""
    count = store.db.fetchall("SELECT count(*) FROM spans")[0][0]
    table = effective(None)
    with _PRICED_LOCK:
        cached = _PRICED.get(store.path)
    if cached is not None and cached[0] == count and cached[1] is table and store.path != ":memory:":
        return cached[2]
    # Days as whole days since 1970, by arithmetic: no time zone look-up per span.
    keys = store.db.query(
        f"SELECT DISTINCT s.model_name, s.provider, {day_sql('s')} AS day FROM spans s WHERE {is_call_sql('s')}"
    )
    prices = prices_by_day(keys, table)
    with _PRICED_LOCK:
        _PRICED[store.path] = (count, table, prices)
    return prices


def _prepare(store: Any) -> Any:
    def prepare(used: frozenset[str]) -> tuple[Mapping[str, str], Mapping[str, pa.Table]]:
        if "spans_cost" not in used:
            return {}, {}
        name = f"wb_prices_{uuid.uuid4().hex[:12]}"
        return {"spans_cost": spans_cost_sql(name)}, {name: _prices_of(store)}

    return prepare


def run_sql(store: Any, query: str, params: Sequence[Any] | None = None, limits: Limits = NO_LIMITS) -> Answer:
    """Run a user's SQL over ``store`` (a :class:`workbench.store.Store`) through the guarded path.

    Raises:
        SqlError: The query is refused, ran past its deadline, or failed.
    """
    sync = getattr(store, "_sync", None)  # a lake has no collectors of this process
    if sync is not None:
        sync()  # what this process's collectors hold is read too
    return run_guarded(store.db, query, params, relations=RELATIONS, limits=limits, prepare=_prepare(store))
