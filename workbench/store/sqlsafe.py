"""Read-only SQL for people and agents: one SELECT over named tables, within limits.

:func:`run_guarded` is how SQL a user or an agent wrote runs (``wb.sql``, ``POST /api/sql``,
``workbench sql``, the MCP ``sql`` tool). It is safe by construction, not by pattern matching:

1. **One statement, and a SELECT.** DuckDB's own parser splits the text and names each
   statement's type (``extract_statements``); anything but exactly one ``SELECT`` (which
   includes ``WITH``, ``DESCRIBE``, ``SUMMARIZE`` and ``FROM t``) is refused: ``DROP``,
   ``COPY ... TO``, ``ATTACH``, ``INSTALL``, ``LOAD``, ``PRAGMA``, ``SET``, ``CALL`` ...
2. **Only the documented relations.** The parsed statement (DuckDB's ``json_serialize_sql``)
   is walked: every table it names must be one of the relations the caller allows (or a CTE
   of the query itself), so a file path in ``FROM 'x.csv'``, another schema or catalog, and
   the store's own bookkeeping tables are refused. Table functions are allowed only from a
   short list (``range``, ``generate_series``, ``unnest``): ``read_csv``, ``read_parquet``,
   ``glob``, ``query``, ``checkpoint`` and every other one are refused. Scalar functions that
   read the environment or settings, or change state (``getenv``, ``current_setting``,
   ``nextval``, ``setseed`` ...), are refused too, and so is any function DuckDB does not
   have built in, which would load (or download) an extension.
3. **Limits.** The query runs on a cursor of its own; a timer interrupts it at its deadline
   (``connection.interrupt()``), and the answer is read batch by batch and cut at a row cap
   and a byte cap, saying which cut it.

DuckDB's ``enable_external_access`` would be a second wall, but it is a setting of the whole
database, which the store also uses to write Parquet, and it cannot be set per cursor; the
allowlist above is what keeps files out.
"""

from __future__ import annotations

import functools
import json
import math
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from workbench.errors import SqlError
from workbench.store.database import Database, _first_line

__all__ = ["NO_LIMITS", "TABLE_FUNCTIONS", "Answer", "Limits", "check_sql", "run_guarded"]

#: The table functions a query may call: they make rows, and touch nothing else.
TABLE_FUNCTIONS: frozenset[str] = frozenset({"range", "generate_series", "unnest"})

# Scalar functions that read the host (environment, settings, files) or change state.
_DENIED_FUNCTIONS = frozenset({
    "getenv", "current_setting", "nextval", "currval", "setseed", "write_log", "sql_auto_complete",
    "which_secret", "checkpoint", "force_checkpoint", "query", "query_table", "glob", "load_extension",
})
_DENIED_PREFIXES = ("duckdb_", "pragma_", "read_", "parquet_", "sniff_", "json_execute", "json_serialize",
                    "json_deserialize", "icu_", "enable_", "disable_")
_INFORMATION_SCHEMA = frozenset({"tables", "columns"})
_KINDS = "SELECT (with WITH, DESCRIBE, SUMMARIZE or FROM-first), nothing else"


@dataclass(frozen=True)
class Limits:
    """How much one query may take; None leaves a limit off.

    Attributes:
        max_rows: Rows returned at most (the answer says when it was cut).
        max_bytes: Arrow bytes returned at most, about (cut on a row boundary).
        timeout_s: Seconds before the query is interrupted.
    """

    max_rows: int | None = None
    max_bytes: int | None = None
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_rows", "max_bytes", "timeout_s"):
            value = getattr(self, name)
            whole = name != "timeout_s"
            kinds = (int,) if whole else (int, float)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or value < 0:
                what = "a whole number" if whole else "a number of seconds"
                raise SqlError(f"{name}={value!r} is not valid; give {what} from 0 up, like {name}=100.")


#: No row cap, no byte cap, no deadline.
NO_LIMITS = Limits()


@dataclass(frozen=True)
class Answer:
    """A query's rows and whether a limit cut them.

    Attributes:
        table: The rows, as Arrow.
        truncated: ``"rows"`` or ``"bytes"`` when that cap cut the answer, else None.
        limits: The limits the query ran under.
        elapsed_ms: Wall time of the query, reading included.
    """

    table: pa.Table
    truncated: str | None
    limits: Limits
    elapsed_ms: float

    @property
    def note(self) -> str | None:
        """One sentence saying how the answer was cut, or None."""
        if self.truncated == "rows":
            return (f"Only the first {self.limits.max_rows} rows are returned (the row cap); aggregate, "
                    "or add LIMIT/OFFSET or a narrower WHERE.")
        if self.truncated == "bytes":
            return (f"The answer was cut at about {self.limits.max_bytes} bytes (the byte cap) after "
                    f"{self.table.num_rows} rows; select fewer or shorter columns.")
        return None


def _walk(node: Any, scope: frozenset[str], found: dict[str, set[str]]) -> None:
    """Collect what a parsed statement names: tables, table functions, functions."""
    if isinstance(node, list):
        for item in node:
            _walk(item, scope, found)
        return
    if not isinstance(node, dict):
        return
    ctes = node.get("cte_map")
    if isinstance(ctes, dict) and ctes.get("map"):
        scope = scope | {str(entry.get("key", "")).lower() for entry in ctes["map"]}
    kind = node.get("type")
    if kind == "BASE_TABLE":
        name = str(node.get("table_name", "")).lower()
        schema = str(node.get("schema_name", "")).lower()
        catalog = str(node.get("catalog_name", "")).lower()
        if catalog:
            found["catalogs"].add(catalog)
        if schema == "information_schema" and name in _INFORMATION_SCHEMA:
            pass
        elif schema not in ("", "main"):
            found["schemas"].add(f"{schema}.{name}")
        elif name not in scope or schema:
            found["tables"].add(name)
    elif kind == "SHOW_REF" and node.get("table_name"):
        found["tables"].add(str(node["table_name"]).lower())
    elif kind == "TABLE_FUNCTION":
        function = node.get("function") or {}
        found["table_functions"].add(str(function.get("function_name", "")).lower())
        for argument in function.get("arguments") or []:  # arguments may hold subqueries
            _walk(argument, scope, found)
        _walk(function.get("children"), scope, found)
        return
    if node.get("class") == "FUNCTION":
        name = str(node.get("function_name", "")).lower()
        if node.get("schema") or node.get("catalog"):
            found["schemas"].add(f"{node.get('catalog') or ''}.{node.get('schema') or ''}.{name}".strip("."))
        found["functions"].add(name)
    for value in node.values():
        if isinstance(value, (dict, list)):
            _walk(value, scope, found)


@functools.lru_cache(maxsize=1024)
def _parsed(sql: str) -> tuple[str | None, str | None]:
    """(the statement as DuckDB's JSON, None) or (None, why it cannot be run); remembered per text."""
    con = _parser()
    try:
        with _parser_lock:
            statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        return None, f"The SQL does not parse: {_first_line(exc)}; check it against DuckDB's SQL dialect."
    if len(statements) != 1:
        return None, (f"Send exactly one SQL statement (this text holds {len(statements)}); the SQL door runs "
                      f"one {_KINDS}.")
    kind = statements[0].type.name
    if kind != "SELECT":
        return None, (f"Only reading is allowed, and {kind} statements are refused; send one {_KINDS}, "
                      "over the tables listed in docs/sql.md.")
    with _parser_lock:
        text = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0]
    tree = json.loads(text)
    if tree.get("error"):
        return None, (f"This SELECT cannot be checked ({tree.get('error_message', 'unknown form')}); write it as a "
                      "plain SELECT (PIVOT statements: use a PIVOT inside SELECT ... FROM).")
    return text, None


_parser_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _parser() -> duckdb.DuckDBPyConnection:
    # An empty in-memory database: parsing touches nothing of the store.
    return duckdb.connect(":memory:", config={"enable_external_access": False})


def check_sql(sql: str, relations: Collection[str]) -> frozenset[str]:
    """Check that ``sql`` is one read-only SELECT over ``relations``; return the ones it names.

    Args:
        sql: The query text.
        relations: The table and view names it may read.

    Raises:
        SqlError: The query is refused; the message says what is allowed.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise SqlError(f"Send a SQL query as text: one {_KINDS}, like SELECT count(*) FROM spans.")
    text, problem = _parsed(sql)
    if problem is not None:
        raise SqlError(problem)
    found: dict[str, set[str]] = {k: set() for k in ("tables", "schemas", "catalogs", "table_functions", "functions")}
    _walk(json.loads(text or "{}").get("statements"), frozenset(), found)
    allowed = {r.lower() for r in relations}
    names = ", ".join(sorted(allowed))
    if found["catalogs"] or found["schemas"]:
        other = sorted(found["catalogs"] | found["schemas"])[0]
        raise SqlError(f"Only this store's tables can be read, not {other!r}; query {names} (see docs/sql.md).")
    unknown = sorted(found["tables"] - allowed)
    if unknown:
        raise SqlError(
            f"{unknown[0]!r} is not a table this SQL door reads (files and other tables are refused); "
            f"query {names} (see docs/sql.md)."
        )
    functions = sorted(found["table_functions"] - TABLE_FUNCTIONS)
    if functions:
        raise SqlError(
            f"The table function {functions[0]}() is not allowed here (it could read files or the system); "
            f"query {names}, with {', '.join(f + '()' for f in sorted(TABLE_FUNCTIONS))} for generated rows."
        )
    denied = sorted(f for f in found["functions"] if f in _DENIED_FUNCTIONS or f.startswith(_DENIED_PREFIXES))
    if denied:
        raise SqlError(
            f"The function {denied[0]}() is not allowed here (it reads the host's environment, settings or files, "
            "or changes state); use SQL's ordinary functions over the tables."
        )
    unknown_functions = sorted(found["functions"] - _known_functions())
    if unknown_functions:
        # A function DuckDB does not have built in would load (or download) an extension.
        raise SqlError(
            f"There is no function {unknown_functions[0]}() here (extensions are not loaded for this SQL); check the "
            "name against DuckDB's built-in functions."
        )
    return frozenset(found["tables"] & allowed)


@functools.lru_cache(maxsize=1)
def _known_functions() -> frozenset[str]:
    with _parser_lock:
        rows = _parser().execute("SELECT DISTINCT lower(function_name) FROM duckdb_functions()").fetchall()
    return frozenset(name for (name,) in rows)


def _read(relation: duckdb.DuckDBPyRelation, limits: Limits) -> tuple[pa.Table, str | None]:
    rows_cap, bytes_cap = limits.max_rows, limits.max_bytes
    size = 8192 if rows_cap is None else max(1, min(8192, rows_cap + 1))
    reader = relation.to_arrow_reader(size)
    batches: list[pa.RecordBatch] = []
    rows = nbytes = 0
    cut: str | None = None
    for batch in reader:
        if rows_cap is not None and rows + batch.num_rows > rows_cap:
            batch, cut = batch.slice(0, rows_cap - rows), "rows"
        if bytes_cap is not None and nbytes + batch.nbytes > bytes_cap:
            per_row = max(1, batch.nbytes // max(1, batch.num_rows))
            batch, cut = batch.slice(0, max(0, (bytes_cap - nbytes) // per_row)), "bytes"
        batches.append(batch)
        rows += batch.num_rows
        nbytes += batch.nbytes
        if cut is not None:
            break
    return pa.Table.from_batches(batches, schema=reader.schema), cut


def run_guarded(
    db: Database | Any,
    sql: str,
    params: Sequence[Any] | None = None,
    *,
    relations: Collection[str],
    limits: Limits = NO_LIMITS,
    prepare: Callable[[frozenset[str]], tuple[Mapping[str, str], Mapping[str, pa.Table]]] | None = None,
) -> Answer:
    """Check ``sql`` (:func:`check_sql`) and run it on a cursor of its own, within ``limits``.

    Args:
        db: The database: a :class:`~workbench.store.database.Database`, or anything whose
            ``own_cursor()`` yields a DuckDB connection of its own for one query (a lake's
            DuckDB over its files reads through the same checks).
        sql: One SELECT.
        params: Its ``?`` / ``$1`` parameters.
        relations: The table and view names it may read.
        limits: Row cap, byte cap and deadline.
        prepare: Given the relations the query names, the views (name -> SELECT) and Arrow
            tables (name -> table) to set up on the query's cursor first; they live only on it.

    Raises:
        SqlError: The query is refused, ran past its deadline, or failed.
    """
    if isinstance(params, (str, bytes)) or (params is not None and not isinstance(params, (Sequence, Mapping))):
        raise SqlError("params must be a list of values, one per ? in the query, like ['LLM', 2000].")
    used = check_sql(sql, relations)
    views, tables = prepare(used) if prepare is not None else ({}, {})
    started = time.perf_counter()
    with db.own_cursor() as cursor:
        for name, table in tables.items():
            cursor.register(name, table)
        for name, select in views.items():
            cursor.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {select}')
        timer = None
        if limits.timeout_s is not None:
            timer = threading.Timer(limits.timeout_s, cursor.interrupt)
            timer.daemon = True
            timer.start()
        try:
            table, cut = _read(cursor.sql(sql, params=list(params) if params else None), limits)
        except duckdb.InterruptException:
            raise SqlError(
                f"The query ran longer than {limits.timeout_s:g} s and was stopped; narrow it (a time range, "
                "fewer joins, LIMIT) or ask for a longer deadline."
            ) from None
        except duckdb.Error as exc:
            if timer is not None and not timer.is_alive() and "interrupt" in str(exc).lower():
                raise SqlError(
                    f"The query ran longer than {limits.timeout_s:g} s and was stopped; narrow it."
                ) from None
            raise SqlError(
                f"The query failed: {_first_line(exc).rstrip('!')}; check it against the tables in docs/sql.md."
            ) from None
        finally:
            if timer is not None:
                timer.cancel()
    return Answer(table, cut, limits, (time.perf_counter() - started) * 1000)
