"""The tables workbench stores, described once.

Each :class:`Table` lists its columns with the DuckDB type, the Arrow type and a one-line
meaning. The DDL, the Arrow schemas used for writing and for Parquet, and the schema page in
``docs/schema.md`` all come from here (a test checks the page is current).

:data:`TABLES` are the data tables, exported to Parquet and listed by the API;
:data:`OWN_TABLES` are the store's own bookkeeping (its key-value table, drift's projection
cache), created with the others but never exported.
Every table the store holds is declared here; nothing else creates one.

Bump :data:`SCHEMA_VERSION` whenever a column changes; a file written with another version
is refused with an error that says how to move the data (export, then import).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

__all__ = ["OWN_TABLES", "SCHEMA_VERSION", "TABLES", "TRACE_SUMMARY", "Column", "Table", "ddl", "markdown"]

SCHEMA_VERSION = 1

_TS = pa.timestamp("us", tz="UTC")
_JSON = pa.string()


@dataclass(frozen=True)
class Column:
    """One column: its name, DuckDB type, Arrow type and meaning."""

    name: str
    sql: str
    arrow: pa.DataType
    doc: str
    json: bool = False  # VARCHAR holding JSON text
    optional: bool = False  # added after schema 1's first release: imports may lack it

    @property
    def display_type(self) -> str:
        """The type as the schema page shows it."""
        return "VARCHAR (JSON text)" if self.json else self.sql


@dataclass(frozen=True)
class Table:
    """One table and its columns."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    time_column: str | None = None  # the column Parquet export partitions by (its day)
    added_later: bool = False  # after schema 1's first release: older files get it when opened to write
    primary_key: str | None = None

    @property
    def create_statement(self) -> str:
        """The ``CREATE TABLE IF NOT EXISTS`` statement of the table."""
        cols = ", ".join(
            f"{c.name} {c.sql}{' PRIMARY KEY' if c.name == self.primary_key else ''}" for c in self.columns
        )
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({cols})"

    @property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of the table's rows."""
        return pa.schema([pa.field(c.name, c.arrow) for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        """The names of the columns, in order."""
        return [c.name for c in self.columns]


def _c(name: str, sql: str, doc: str, *, optional: bool = False) -> Column:
    arrow = {
        "VARCHAR": pa.string(),
        "JSON": _JSON,
        "TIMESTAMPTZ": _TS,
        "DOUBLE": pa.float64(),
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        "BOOLEAN": pa.bool_(),
        "FLOAT[]": pa.list_(pa.float32()),
        "VARCHAR[]": pa.list_(pa.string()),
        "BLOB": pa.binary(),
    }[sql]
    # JSON is stored as VARCHAR: DuckDB's JSON functions read either, and the JSON type made
    # reading every span into a DataFrame half again slower (measured).
    if sql == "JSON":
        return Column(name, "VARCHAR", arrow, doc, json=True, optional=optional)
    return Column(name, sql, arrow, doc, optional=optional)


SPANS = Table(
    "spans",
    "One row per span. The raw OpenTelemetry span is kept whole in `attributes`, `resource`, "
    "`events` and `links`; the other columns are extracted from it. A value that cannot be stored "
    "as sent is repaired and the change listed in the attribute `workbench.repaired`: a lone "
    "UTF-16 surrogate or text that is not UTF-8 becomes U+FFFD, an integer attribute outside 64 "
    "bits its decimal text, an end time before the start (or past 2262) the start time, an event "
    "time out of range the span's start, a vector with NaN or infinities null, a value nested "
    "deeper than 32 levels a placeholder text. A span that starts before 1970 or after 2262 is "
    "not stored (the OTLP receiver rejects it through partial success).",
    (
        _c("trace_id", "VARCHAR", "Trace id, 32 lowercase hex characters."),
        _c("span_id", "VARCHAR", "Span id, 16 lowercase hex characters."),
        _c("parent_span_id", "VARCHAR", "Parent span id; null for a root span."),
        _c("name", "VARCHAR", "Span name."),
        _c("span_kind", "VARCHAR", "OpenInference kind: LLM, CHAIN, RETRIEVER, EMBEDDING, RERANKER, "
           "TOOL, AGENT, GUARDRAIL, EVALUATOR, PROMPT or UNKNOWN."),
        _c("otel_kind", "VARCHAR", "OpenTelemetry span kind: INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER."),
        _c("start_time", "TIMESTAMPTZ", "Start, UTC, microseconds."),
        _c("end_time", "TIMESTAMPTZ", "End, UTC, microseconds."),
        _c("latency_ms", "DOUBLE", "end_time - start_time in milliseconds (from the nanosecond times); "
           "never negative: an end before the start is stored as the start, and flagged."),
        _c("status_code", "VARCHAR", "UNSET, OK or ERROR."),
        _c("status_message", "VARCHAR", "Status description; empty when none."),
        _c("project", "VARCHAR", "openinference.project.name, else service.name, else the default project."),
        _c("model_name", "VARCHAR", "Model name of an LLM or embedding call."),
        _c("provider", "VARCHAR", "Model provider or system (openai, anthropic ...)."),
        _c("input_value", "VARCHAR", "The span's input as text."),
        _c("input_mime_type", "VARCHAR", "text/plain or application/json."),
        _c("output_value", "VARCHAR", "The span's output as text."),
        _c("output_mime_type", "VARCHAR", "text/plain or application/json."),
        _c("prompt_tokens", "BIGINT", "Input tokens as reported."),
        _c("completion_tokens", "BIGINT", "Output tokens."),
        _c("total_tokens", "BIGINT", "Total tokens (prompt + completion when not reported)."),
        _c("cache_read_tokens", "BIGINT", "Input tokens read from the provider's prompt cache."),
        _c("cache_write_tokens", "BIGINT", "Input tokens written to the provider's prompt cache."),
        _c("reasoning_tokens", "BIGINT", "Output tokens spent on reasoning."),
        _c("prompt_includes_cache", "BOOLEAN", "Whether prompt_tokens already counts the cache tokens."),
        _c("client_cost", "DOUBLE", "Total cost in USD as the sender reported it (not computed)."),
        _c("time_to_first_token_ms", "DOUBLE", "Time to first streamed token, in milliseconds."),
        _c("session_id", "VARCHAR", "Session or conversation id."),
        _c("user_id", "VARCHAR", "End user id."),
        _c("prompt_template", "VARCHAR", "Prompt template text or name."),
        _c("prompt_template_version", "VARCHAR", "Prompt template version."),
        _c("tool_name", "VARCHAR", "Tool name of a TOOL span."),
        _c("input_messages", "JSON", "Input chat messages: [{role, content, name, tool_call_id, tool_calls}]."),
        _c("output_messages", "JSON", "Output chat messages, same shape."),
        _c("attributes", "JSON", "Every span attribute as sent (embedding vectors live in `embeddings`), "
           "plus `workbench.repaired` (a list of notes) when a value had to be changed to be stored."),
        _c("resource", "JSON", "Every resource attribute as sent."),
        _c("events", "JSON", "Span events: [{name, time_ns, attributes}]."),
        _c("links", "JSON", "Span links: [{trace_id, span_id, attributes}]."),
        _c("scope_name", "VARCHAR", "Instrumentation scope name."),
        _c("scope_version", "VARCHAR", "Instrumentation scope version."),
        _c("conventions", "VARCHAR[]", "Attribute conventions recognised (openinference, gen_ai ...)."),
        _c("sample_weight", "DOUBLE", "How many traces this one stands for when sampling kept it "
           "(1 / rate); null when not sampled.", optional=True),
    ),
    time_column="start_time",
)

DOCUMENTS = Table(
    "documents",
    "One row per document a RETRIEVER or RERANKER span returned.",
    (
        _c("trace_id", "VARCHAR", "Trace of the span."),
        _c("span_id", "VARCHAR", "The retriever or reranker span."),
        _c("start_time", "TIMESTAMPTZ", "Start of the span (for time filters and partitioning)."),
        _c("position", "INTEGER", "Position in the returned list, from 0."),
        _c("document_id", "VARCHAR", "Document id as sent."),
        _c("content", "VARCHAR", "Document text."),
        _c("score", "DOUBLE", "Retrieval or reranking score."),
        _c("metadata", "JSON", "Document metadata."),
    ),
    time_column="start_time",
)

EMBEDDINGS = Table(
    "embeddings",
    "One row per embedded text of an EMBEDDING span.",
    (
        _c("trace_id", "VARCHAR", "Trace of the span."),
        _c("span_id", "VARCHAR", "The embedding span."),
        _c("start_time", "TIMESTAMPTZ", "Start of the span."),
        _c("position", "INTEGER", "Position in the span's list, from 0."),
        _c("text", "VARCHAR", "The embedded text."),
        _c("vector", "FLOAT[]", "The vector, 32-bit floats; null when it held NaN, infinities or "
           "values past 32-bit range."),
        _c("model", "VARCHAR", "Embedding model name."),
    ),
    time_column="start_time",
)

ANNOTATIONS = Table(
    "annotations",
    "Evaluations and feedback on a span, a trace, a retrieved document or a session.",
    (
        _c("annotation_id", "VARCHAR", "Unique id."),
        _c("target", "VARCHAR", "What is annotated: span, trace, document or session."),
        _c("trace_id", "VARCHAR", "Trace annotated (or of the span annotated)."),
        _c("span_id", "VARCHAR", "Span annotated; null for a trace or session."),
        _c("document_position", "INTEGER", "Position of the document annotated, for target document."),
        _c("session_id", "VARCHAR", "Session annotated, for target session."),
        _c("name", "VARCHAR", "Name of the evaluation or feedback (user_feedback, faithfulness ...)."),
        _c("score", "DOUBLE", "Numeric score."),
        _c("label", "VARCHAR", "Label (thumbs_up, relevant ...)."),
        _c("explanation", "VARCHAR", "Why, in words."),
        _c("annotator_kind", "VARCHAR", "HUMAN, LLM or CODE."),
        _c("annotator", "VARCHAR", "Who or what made it (user id, judge model, evaluator name)."),
        _c("created_at", "TIMESTAMPTZ", "When it was made."),
        _c("metadata", "JSON", "Anything else."),
    ),
    time_column="created_at",
)

CORPUS = Table(
    "corpus",
    "The user's indexed documents, for retrieval and drift analysis.",
    (
        _c("document_id", "VARCHAR", "Document id (retrieved documents link here by id)."),
        _c("text", "VARCHAR", "Document text."),
        _c("vector", "FLOAT[]", "Document embedding."),
        _c("metadata", "JSON", "Anything else (topic, title, source ...)."),
    ),
)

DRIFT_BASELINES = Table(
    "drift_baselines",
    "Named sets of query embeddings saved as a reference for drift (`workbench.drift.save_baseline`). "
    "They hold the embeddings' keys; the vectors stay in `embeddings`.",
    (
        _c("name", "VARCHAR", "Name of the baseline."),
        _c("trace_id", "VARCHAR", "Trace of the embedding span."),
        _c("span_id", "VARCHAR", "The embedding span."),
        _c("position", "INTEGER", "Position of the embedding in the span's list."),
        _c("created_at", "TIMESTAMPTZ", "When the baseline was saved."),
    ),
    added_later=True,
)

LOG_RECORDS = Table(
    "log_records",
    "One row per OpenTelemetry log record received (`POST /v1/logs`, or the in-process logger "
    "provider). The OTel GenAI conventions send chat messages this way (`gen_ai.user.message`, "
    "`gen_ai.choice` ...). A record with a span id is also added to that span's `events` and its "
    "messages, input and output are read again, whichever of the two arrived first.",
    (
        _c("trace_id", "VARCHAR", "Trace id of the record's span; null when it has none."),
        _c("span_id", "VARCHAR", "The span the record belongs to; null when it has none."),
        _c("time", "TIMESTAMPTZ", "When the event happened (else when it was observed), UTC."),
        _c("time_ns", "BIGINT", "The same time in nanoseconds since the epoch."),
        _c("event_name", "VARCHAR", "Event name (gen_ai.user.message, gen_ai.choice ...); null for "
           "a plain log line."),
        _c("severity_number", "INTEGER", "OTel severity number (9 = INFO, 17 = ERROR); null when not set."),
        _c("severity_text", "VARCHAR", "Severity as text (INFO ...)."),
        _c("body", "JSON", "The record's body: text, or a map such as {content} or {index, "
           "finish_reason, message}."),
        _c("attributes", "JSON", "Every record attribute as sent."),
        _c("resource", "JSON", "Every resource attribute as sent."),
        _c("scope_name", "VARCHAR", "Instrumentation scope name."),
        _c("scope_version", "VARCHAR", "Instrumentation scope version."),
        _c("attached", "BOOLEAN", "Whether the record has been added to its span (false while the "
           "span has not arrived, and always for records without a span id)."),
    ),
    time_column="time",
    added_later=True,
)

DATASETS = Table(
    "datasets",
    "One row per version of a named dataset (`workbench.experiments.create_dataset`). A version "
    "never changes: adding, editing or removing examples makes the next version.",
    (
        _c("name", "VARCHAR", "Name of the dataset."),
        _c("version", "INTEGER", "Version, from 1."),
        _c("created_at", "TIMESTAMPTZ", "When the version was made."),
        _c("description", "VARCHAR", "What the dataset is for (kept from version to version)."),
        _c("change", "VARCHAR", "What this version changed (created, added 3, removed 1 ...)."),
        _c("example_count", "INTEGER", "How many examples the version holds."),
    ),
    added_later=True,
)

DATASET_EXAMPLES = Table(
    "dataset_examples",
    "The examples of each dataset version, whole (a version holds every example it has, so old "
    "versions stay readable as they were).",
    (
        _c("dataset", "VARCHAR", "Name of the dataset."),
        _c("version", "INTEGER", "Dataset version the row belongs to."),
        _c("position", "INTEGER", "Order of the example in the version, from 0."),
        _c("example_id", "VARCHAR", "Example id, kept across versions."),
        _c("input", "JSON", "The input: JSON text (a string for a text input, an object for several fields)."),
        _c("expected", "JSON", "The expected output as JSON text; null when none."),
        _c("metadata", "JSON", "Anything else about the example."),
        _c("source_trace_id", "VARCHAR", "Trace the example was taken from; null when given by hand."),
        _c("source_span_id", "VARCHAR", "Span the example was taken from; null when given by hand."),
    ),
    added_later=True,
)

EXPERIMENTS = Table(
    "experiments",
    "One row per experiment: a dataset version run through a task (`workbench.experiments.run_experiment`).",
    (
        _c("experiment_id", "VARCHAR", "Unique id."),
        _c("name", "VARCHAR", "Name of the experiment; running the same name again resumes it."),
        _c("dataset", "VARCHAR", "Name of the dataset run."),
        _c("dataset_version", "INTEGER", "Version of the dataset run."),
        _c("task", "VARCHAR", "What ran: a Python function's module:name, or prompt:MODEL."),
        _c("params", "JSON", "The task's parameters (template, model, temperature ...) and the evaluators."),
        _c("project", "VARCHAR", "Project of the runs' traces."),
        _c("created_at", "TIMESTAMPTZ", "When the experiment was first started."),
    ),
    added_later=True,
)

EXPERIMENT_RUNS = Table(
    "experiment_runs",
    "One row per example of an experiment: the task's output or error and what it took. The run's "
    "trace is in `spans`; its scores are `annotations` on the run's span.",
    (
        _c("experiment_id", "VARCHAR", "The experiment."),
        _c("example_id", "VARCHAR", "The dataset example."),
        _c("output", "JSON", "The task's output as JSON text; null after an error."),
        _c("error", "VARCHAR", "Why the task failed; null when it succeeded."),
        _c("latency_ms", "DOUBLE", "How long the task took, in milliseconds."),
        _c("prompt_tokens", "BIGINT", "Input tokens reported by a prompt task's endpoint."),
        _c("completion_tokens", "BIGINT", "Output tokens reported."),
        _c("total_tokens", "BIGINT", "Total tokens."),
        _c("cost", "DOUBLE", "Cost in USD from the price table; null when unknown."),
        _c("trace_id", "VARCHAR", "The run's trace."),
        _c("span_id", "VARCHAR", "The run's root span (scores are annotations on it)."),
        _c("started_at", "TIMESTAMPTZ", "When the run started."),
        _c("attempts", "INTEGER", "How many times the task was tried."),
    ),
    added_later=True,
)

TABLES: dict[str, Table] = {
    t.name: t for t in (SPANS, DOCUMENTS, EMBEDDINGS, ANNOTATIONS, CORPUS, DRIFT_BASELINES, LOG_RECORDS,
                        DATASETS, DATASET_EXAMPLES, EXPERIMENTS, EXPERIMENT_RUNS)
}

WORKBENCH_META = Table(
    "workbench_meta",
    "The store's own key-value table: the schema version, ranges waiting for de-duplication, "
    "how far spans were rewritten in trace order, what sample data was loaded (`Store.set_meta`).",
    (
        _c("key", "VARCHAR", "The key."),
        _c("value", "VARCHAR", "Its value, as text."),
    ),
    primary_key="key",
)

DRIFT_CACHE = Table(
    "drift_cache",
    "Drift's cached projections (`workbench.drift.cache.StoreCache`), keyed by a hash of the "
    "points and the parameters; the newest few are kept.",
    (
        _c("key", "VARCHAR", "blake2b hex of the inputs and parameters."),
        _c("created_at", "TIMESTAMPTZ", "When the projection was cached."),
        _c("params", "JSON", "Projector key and clustering parameters."),
        _c("n_points", "INTEGER", "Number of points."),
        _c("dims", "INTEGER", "2 or 3."),
        _c("coords", "BLOB", "float32, little-endian, n_points x dims, row-major."),
        _c("labels", "BLOB", "int32, little-endian, one cluster label per point."),
    ),
    added_later=True,
    primary_key="key",
)

PROMPTS = Table(
    "prompts",
    "Named, versioned prompts saved from the playground (`workbench.playground.save_prompt`): "
    "the messages, model and parameters of a chat request. Saving a name again adds the next version.",
    (
        _c("name", "VARCHAR", "Name of the prompt."),
        _c("version", "INTEGER", "Version, from 1."),
        _c("created_at", "TIMESTAMPTZ", "When the version was saved."),
        _c("model", "VARCHAR", "The model the request names."),
        _c("messages", "JSON", "The chat messages: a list of {role, content}."),
        _c("parameters", "JSON", "Other request fields (temperature, max_tokens ...)."),
        _c("source_span_id", "VARCHAR", "The LLM span the prompt was made from; null when written from scratch."),
    ),
    added_later=True,
)
TABLES[PROMPTS.name] = PROMPTS

LAKE_OUTBOX = Table(
    "lake_outbox",
    "What `workbench serve --lake` has published to its Parquet lake, or is publishing: one row per "
    "span or annotation, numbered by publication (see docs/scale-out.md).",
    (
        _c("tbl", "VARCHAR", "spans or annotations."),
        _c("key", "VARCHAR", "trace_id:span_id of a span, annotation_id of an annotation."),
        _c("seq", "BIGINT", "The publication that carries it."),
        _c("done", "BOOLEAN", "Whether that publication is committed in the lake."),
    ),
    added_later=True,
)

TRACE_SUMMARY = Table(
    "trace_summary",
    "What the trace list filters on, per trace, so that a filter reads one row per trace instead "
    "of every span (see `workbench.store.summary`). The writer appends one row per trace and "
    "write transaction, in the transaction that writes the spans, so a trace whose spans arrived "
    "in several batches has several rows: totals add up over them, lists and texts join. Rebuilt "
    "from `spans` when it disagrees with them (a file made before it, spans written by SQL).",
    (
        _c("trace_id", "VARCHAR", "The trace."),
        _c("start_time", "TIMESTAMPTZ", "Earliest start of these spans."),
        _c("end_time", "TIMESTAMPTZ", "Latest end of these spans."),
        _c("span_count", "BIGINT", "Spans."),
        _c("root_count", "BIGINT", "Spans without a parent."),
        _c("error_count", "BIGINT", "Spans with status ERROR."),
        _c("llm_count", "BIGINT", "LLM spans."),
        _c("total_tokens", "BIGINT", "Total tokens of the LLM spans; null without any."),
        _c("models", "VARCHAR[]", "Distinct model names."),
        _c("statuses", "VARCHAR[]", "Distinct status codes."),
        _c("kinds", "VARCHAR[]", "Distinct span kinds."),
        _c("projects", "VARCHAR[]", "Distinct projects."),
        _c("user_ids", "VARCHAR[]", "Distinct user ids."),
        _c("session_ids", "VARCHAR[]", "Distinct session ids."),
        _c("input_text", "VARCHAR", "Every span's input_value, lower-cased, joined by NUL characters."),
        _c("output_text", "VARCHAR", "Every span's output_value, lower-cased, joined by NUL characters."),
    ),
    added_later=True,
)

#: The store's own tables: created like the others, never exported.
OWN_TABLES: dict[str, Table] = {
    t.name: t for t in (WORKBENCH_META, DRIFT_CACHE, LAKE_OUTBOX, TRACE_SUMMARY)
}


def ddl() -> list[str]:
    """Return the statements that create every table, the store's own ones first."""
    return [table.create_statement for table in (*OWN_TABLES.values(), *TABLES.values())]


def markdown() -> str:
    """Return the schema as a Markdown page (``docs/schema.md``)."""
    lines = [
        "# Storage and Parquet schema",
        "",
        f"Schema version {SCHEMA_VERSION}. The DuckDB file and the Parquet export hold the same "
        "tables with the same columns. `workbench export DIR` writes one folder per table, "
        "partitioned by day (`DIR/spans/day=2026-11-23/*.parquet`), each file's rows trace by trace "
        "and in time within a trace (an agent's calls repeat its conversation; side by side they "
        "compress to about one copy); any Parquet reader "
        "(pandas, polars, DuckDB, Spark) reads them. JSON columns are UTF-8 text holding JSON "
        "(DuckDB: `json_extract_string(attributes, '$.\"llm.model_name\"')`). "
        "Times are UTC, microseconds.",
        "",
    ]
    for table in TABLES.values():
        lines += _table_markdown(table, "##")
    lines += [
        "## The store's own tables",
        "",
        "The DuckDB file also holds its own bookkeeping and caches; they are not exported. "
        "Every change to the file, these included, goes through the store's "
        "writer: `Store.query` runs SQL that reads, and refuses any other statement; "
        "`Store.execute_write(fn)` runs `fn(cursor)` on the writer in a transaction of its own.",
        "",
    ]
    for table in OWN_TABLES.values():
        lines += _table_markdown(table, "###")
    return "\n".join(lines)


def _table_markdown(table: Table, heading: str) -> list[str]:
    lines = [f"{heading} `{table.name}`", "", table.doc, ""]
    if table.time_column:
        lines += [f"Partitioned by the day of `{table.time_column}`.", ""]
    lines += ["| column | type | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{c.name}` | {c.display_type} | {c.doc} |" for c in table.columns]
    lines.append("")
    return lines
