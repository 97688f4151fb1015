"""Analysis of a workbench lake on Spark: the same figures as DuckDB, on a Spark cluster.

:class:`Lake` takes a SparkSession and a lake (a folder, ``s3://`` / ``s3a://``): its
``spans``, ``documents`` and ``annotations`` DataFrames read only the committed files (see
docs/scale-out.md), with the columns of ``docs/schema.md``; its analyses are Spark jobs:

==========================  ==============================================================
:meth:`Lake.cost`           calls, tokens and cost per model, project and day, priced now
                            from the same price table as the app (a price change re-costs
                            history); the billing rules are the SQL of
                            :mod:`workbench.read.costs`, run by Spark
:meth:`Lake.latency`        p50, p95 and p99 of latency by span name and model
:meth:`Lake.error_rates`    spans, errors and error rate by span name
:meth:`Lake.token_burn`     tokens per day and model
:meth:`Lake.sessions`       one row per session: traces, spans, errors, tokens, first and last
==========================  ==============================================================

``pyspark`` is imported lazily: ``pip install 'llm-trace-workbench[spark]'`` (Spark needs Java 17).
A user's cluster runs the same code; for ``s3a://`` it needs hadoop-aws on its classpath.
"""

from __future__ import annotations

from workbench.spark.lake import Lake

__all__ = ["Lake"]
