"""``POST /api/sql``: one read-only SELECT over the store, within the server's limits.

The body is JSON: ``{"sql": "SELECT ...", "params": [...], "max_rows": 100, "timeout_s": 5}``
(only ``sql``, or ``query``, is required; ``max_rows`` and ``timeout_s`` may lower the server's caps,
``WORKBENCH_SQL_MAX_ROWS`` and ``WORKBENCH_SQL_TIMEOUT_S``, never raise them). The answer is
an Arrow IPC stream by default, or ``?format=json|csv|parquet``. When a cap cut the rows, the
header ``X-Workbench-Truncated`` says which (``rows`` or ``bytes``) and ``X-Workbench-Note``
says it in a sentence; the JSON answer carries both as ``truncated`` and ``note``.

Refusals are 400 with ``{"error": "...", "type": "SqlError"}``: not one SELECT, a file or
another table, a forbidden function, past the deadline (see :mod:`workbench.store.sqlsafe`).
"""

from __future__ import annotations

import json
import math
from typing import Any

from workbench.errors import ConfigError, SqlError
from workbench.read.sql import EXAMPLE_QUERY, Answer, server_limits
from workbench.server.api import _ApiHandler

__all__ = ["SqlHandler"]

_FORMATS = ("arrow", "json", "csv", "parquet")


def _body(payload: Any) -> dict[str, Any]:
    if isinstance(payload, dict) and "sql" not in payload and isinstance(payload.get("query"), str):
        payload["sql"] = payload["query"]  # the name some clients use
    if not isinstance(payload, dict) or not isinstance(payload.get("sql"), str):
        raise SqlError(f"Send a JSON object with the query as text: {json.dumps({'sql': EXAMPLE_QUERY})}.")
    params = payload.get("params")
    if params is not None and not isinstance(params, list):
        raise SqlError('"params" must be a list of values, one per ? in the query, like [\"LLM\", 2000].')
    for key in ("max_rows", "timeout_s"):
        value = payload.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0
        ):
            raise SqlError(f'"{key}" must be a number from 0 up, like {{"{key}": 100}}.')
    return payload


class SqlHandler(_ApiHandler):
    """Runs one read-only SELECT; see the module docstring."""

    async def post(self) -> None:
        async def go() -> None:
            fmt = self.get_query_argument("format", "arrow")
            if fmt not in _FORMATS:
                raise ConfigError(f"format={fmt!r} is not known; use {', '.join(_FORMATS)}.")
            payload = _body(self.json_body(json.dumps({"sql": EXAMPLE_QUERY})))
            limits = server_limits(payload.get("max_rows"), payload.get("timeout_s"))
            if not hasattr(self.reader, "sql_answer"):  # a reader that runs SQL only its own way
                table = await self.run(self.reader.sql, payload["sql"], payload.get("params"), arrow=True,
                                       max_rows=limits.max_rows, timeout_s=limits.timeout_s)
                answer = Answer(table, None, limits, 0.0)
            else:
                answer = await self.run(self.reader.sql_answer, payload["sql"], payload.get("params"), limits)
            if answer.truncated:
                self.set_header("X-Workbench-Truncated", answer.truncated)
                self.set_header("X-Workbench-Note", answer.note or "")
            self.set_header("X-Workbench-Rows", str(answer.table.num_rows))
            if fmt == "json":
                self.send_json({
                    "columns": answer.table.column_names,
                    "rows": answer.table.to_pylist(),
                    "row_count": answer.table.num_rows,
                    "truncated": answer.truncated,
                    "note": answer.note,
                    "elapsed_ms": round(answer.elapsed_ms, 1),
                })
            else:
                self.send_table(answer.table)

        await self.guarded(go())
