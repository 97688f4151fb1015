""":class:`Lake`: a workbench lake's tables and core analyses as Spark DataFrames."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from workbench.errors import ConfigError
from workbench.lake import committed_files, require_lake
from workbench.pricing import PriceLookup, is_call_sql
from workbench.pricing.effective import effective
from workbench.read.costs import _priced_measures, _resolved, _span_measures
from workbench.spark.sql import spark_sql

__all__ = ["Lake"]

_DAY_US = 86_400_000_000
_SPARK_TYPES = {"string": "STRING", "double": "DOUBLE", "bool": "BOOLEAN", "int32": "INT", "int64": "BIGINT",
                "date32[day]": "DATE"}
#: What each cost dimension is, over the spans (as :mod:`workbench.analysis.cost` has them).
_DIMENSIONS = {"model": "s.model_name", "provider": "s.provider", "project": "s.project"}


def _spark_path(path: str) -> str:
    return "s3a://" + path.removeprefix("s3://") if path.startswith("s3://") else path


class Lake:
    """A workbench lake read by Spark.

    Args:
        spark: A ``pyspark.sql.SparkSession``.
        lake: A folder, or ``s3://bucket/prefix`` (read by Spark as ``s3a://``).
        endpoint: An S3-compatible endpoint, to list the committed files.

    The committed files are listed when the Lake is made; make another to see newer ones.

    Raises:
        LakeError: Nothing was ever published there, or it cannot be reached.
    """

    def __init__(self, spark: Any, lake: str | Path, *, endpoint: str | None = None) -> None:
        self.spark = spark
        self.uri = str(lake).replace("s3a://", "s3://", 1)
        location = require_lake(self.uri, endpoint=endpoint)  # a mistyped lake is an error, not empty frames
        self._files = {t: committed_files(location, t) for t in ("spans", "documents", "embeddings", "annotations")}
        self._frames: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Lake({self.uri!r})"

    # Tables ----------------------------------------------------------------------------

    def table(self, name: str) -> Any:
        """One table of the lake as a DataFrame (the columns of docs/schema.md).

        Raises:
            ConfigError: There is no such table in a lake.
        """
        if name not in self._files:
            raise ConfigError(f"A lake has no table {name!r}; choose one of {', '.join(self._files)}.")
        if name not in self._frames:
            from workbench.store.schema import TABLES  # the schema, so an empty table has its columns too

            schema = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in TABLES[name].arrow_schema)
            files = [_spark_path(f) for f in self._files[name]]
            reader = self.spark.read.schema(schema)
            self._frames[name] = reader.parquet(*files) if files else self.spark.createDataFrame([], schema)
        return self._frames[name]

    @property
    def spans(self) -> Any:
        """The spans."""
        return self.table("spans")

    @property
    def documents(self) -> Any:
        """The documents retrievers returned."""
        return self.table("documents")

    @property
    def annotations(self) -> Any:
        """Evaluations and feedback."""
        return self.table("annotations")

    def _view(self, frame: Any) -> str:
        name = f"wb_{uuid.uuid4().hex[:12]}"
        frame.createOrReplaceTempView(name)
        return name

    # Analyses --------------------------------------------------------------------------

    def cost(self, by: Sequence[str] = ("model", "project"), *, every: str | None = "day",
             prices: PriceLookup | None = None) -> Any:
        """Calls, tokens and cost per group (and per UTC day), priced now.

        The same figures as :func:`workbench.analysis.cost.cost_by` with the same ``by`` and
        ``every``: ``bucket`` (the day's start), the ``by`` columns (nulls as ``(none)``),
        ``calls``, ``priced_calls``, token sums, ``computed_cost``, ``client_cost``,
        ``client_calls``, ``cost``, ``unpriced_calls``, ``no_usage_calls``.
        """
        unknown = [b for b in by if b not in _DIMENSIONS]
        if unknown or every not in (None, "day"):
            raise ConfigError(f"Spark cost groups by {', '.join(_DIMENSIONS)} and every='day' or None; "
                              f"not {', '.join(unknown) or every}.")
        spans = self._view(self.spans)
        day = f"CAST(floor(unix_micros(s.start_time) / {_DAY_US}) AS INT)"
        keys = {**({"bucket": day} if every else {}), **{b: _DIMENSIONS[b] for b in by}}
        inner = {name: f"k_{i}" for i, name in enumerate(keys)}
        columns = "".join(f"{expr} AS {inner[name]}, " for name, expr in keys.items())
        groups = ", ".join([*keys.values(), "s.model_name", "s.provider", *([] if every else [day])])
        cube = self.spark.sql(spark_sql(
            f"SELECT {columns}s.model_name, s.provider, {day} AS day, {_span_measures('s', False)} "
            f"FROM {spans} s WHERE {is_call_sql('s')} GROUP BY {groups}"))
        keys_table = pa.Table.from_pylist(
            [r.asDict() for r in cube.select("model_name", "provider", "day").distinct().collect()],
            schema=pa.schema([("model_name", pa.string()), ("provider", pa.string()), ("day", pa.int32())]))
        resolved = _resolved(keys_table, effective(prices))
        price_view = self._view(self._frame(resolved))
        cube_view = self._view(cube)
        outputs = []
        for name in keys:
            if name == "bucket":
                outputs.append(f"timestamp_seconds(CAST(c.{inner[name]} AS BIGINT) * 86400) AS bucket")
            else:
                outputs.append(f"COALESCE(c.{inner[name]}, '(none)') AS `{name}`")
        group = ", ".join(f"c.{inner[name]}" for name in keys)
        return self.spark.sql(spark_sql(
            f"""SELECT {', '.join(outputs)}, {_priced_measures(False, False)}
                FROM {cube_view} c LEFT JOIN {price_view} p
                  ON p.model_name IS NOT DISTINCT FROM c.model_name
                 AND p.provider IS NOT DISTINCT FROM c.provider AND p.day = c.day
                {'GROUP BY ' + group if group else ''}"""))

    def _frame(self, table: pa.Table) -> Any:
        """An Arrow table as a Spark DataFrame, its types kept (dates as days since 1970)."""
        schema = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in table.schema)
        rows = [tuple(r.values()) for r in table.to_pylist()]
        if "day" in table.schema.names and pa.types.is_date32(table.schema.field("day").type):
            at = table.schema.names.index("day")
            epoch = dt.date(1970, 1, 1)
            rows = [(*r[:at], (r[at] - epoch).days, *r[at + 1:]) for r in rows]
            schema = schema.replace("`day` DATE", "`day` INT")
        return self.spark.createDataFrame(rows, schema)

    def latency(self, by: Sequence[str] = ("name", "model_name")) -> Any:
        """``spans``, ``p50_ms``, ``p95_ms``, ``p99_ms`` and ``max_ms`` of latency per group
        (exact percentiles with linear interpolation, as DuckDB's ``quantile_cont``)."""
        cols = ", ".join(f"`{b}`" for b in by)
        view = self._view(self.spans)
        return self.spark.sql(
            f"""SELECT {cols}, count(*) AS spans, percentile(latency_ms, 0.5) AS p50_ms,
                       percentile(latency_ms, 0.95) AS p95_ms, percentile(latency_ms, 0.99) AS p99_ms,
                       max(latency_ms) AS max_ms
                FROM {view} GROUP BY {cols}""")

    def error_rates(self, by: Sequence[str] = ("name",)) -> Any:
        """``spans``, ``errors`` and ``error_rate`` per group."""
        cols = ", ".join(f"`{b}`" for b in by)
        view = self._view(self.spans)
        return self.spark.sql(
            f"""SELECT {cols}, count(*) AS spans, count_if(status_code = 'ERROR') AS errors,
                       count_if(status_code = 'ERROR') / count(*) AS error_rate
                FROM {view} GROUP BY {cols}""")

    def token_burn(self) -> Any:
        """Tokens of model calls per UTC day and model: ``calls``, ``prompt_tokens``,
        ``completion_tokens``, ``total_tokens`` (prompt plus completion where none was sent)."""
        view = self._view(self.spans)
        return self.spark.sql(
            f"""SELECT to_date(start_time) AS day, model_name, count(*) AS calls,
                       CAST(sum(COALESCE(prompt_tokens, 0)) AS BIGINT) AS prompt_tokens,
                       CAST(sum(COALESCE(completion_tokens, 0)) AS BIGINT) AS completion_tokens,
                       CAST(sum(COALESCE(total_tokens, COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)))
                            AS BIGINT) AS total_tokens
                FROM {view} s WHERE {is_call_sql('s')} GROUP BY 1, 2""")

    def sessions(self) -> Any:
        """One row per session: ``traces``, ``spans``, ``errors``, ``total_tokens``,
        ``first_start``, ``last_end``, ``user_id`` (the first one seen)."""
        view = self._view(self.spans)
        return self.spark.sql(
            f"""SELECT session_id, count(DISTINCT trace_id) AS traces, count(*) AS spans,
                       count_if(status_code = 'ERROR') AS errors,
                       CAST(sum(COALESCE(total_tokens, 0)) AS BIGINT) AS total_tokens,
                       min(start_time) AS first_start, max(end_time) AS last_end,
                       min_by(user_id, start_time) AS user_id
                FROM {view} WHERE session_id IS NOT NULL GROUP BY session_id""")


def _spark_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP"
    if pa.types.is_list(arrow_type):
        return f"ARRAY<{_spark_type(arrow_type.value_type)}>"
    if pa.types.is_float32(arrow_type):
        return "FLOAT"
    return _SPARK_TYPES[str(arrow_type)]
