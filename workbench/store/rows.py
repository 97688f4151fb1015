"""Spans to Arrow tables: the columns of the ``spans``, ``documents`` and ``embeddings`` tables.

This runs on the write path for every span, so it builds plain Python column lists in one
pass and hands them to Arrow once; no per-row dictionaries.

Values the store cannot hold (see :mod:`workbench.semconv.repair`) cost one span, never the
batch: a span whose times fail the cheap check in the loop is repaired first; and when a batch
cannot be built as it came (a lone surrogate, an integer past 64 bits, a NaN vector ...), every
span is repaired and the batch built again, and the spans that still cannot be stored are left
out and listed in :attr:`SpanBatch.rejected`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from workbench.model import Message, Span
from workbench.semconv.evaluations import Evaluation, evaluations_of
from workbench.semconv.repair import MAX_TIME_NS, UnstorableSpan, repair_span
from workbench.store.schema import ANNOTATIONS, DOCUMENTS, EMBEDDINGS, SPANS

__all__ = ["SpanBatch", "messages_json", "to_json", "to_tables"]

_VECTOR_SUFFIX = ".embedding.vector"


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return list(value)
    return str(value)


_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _dumps(value: Any) -> str:
    # orjson: ~9x the standard library's speed on span attributes (measured), and the
    # attributes are the largest part of every row.
    return orjson.dumps(value, default=_json_default, option=_OPTIONS).decode()


def to_json(value: Any) -> str:
    """Encode ``value`` as compact JSON; bytes become base64, unknown objects their ``str``."""
    return _dumps(value)


def _message_dict(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.name is not None:
        out["name"] = message.name
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": call.id, "name": call.name, "arguments": call.arguments} for call in message.tool_calls
        ]
    return out


def messages_json(messages: Sequence[Message]) -> str | None:
    """Encode messages as the JSON the ``input_messages``/``output_messages`` columns hold."""
    if not messages:
        return None
    return _dumps([_message_dict(m) for m in messages])


def _stored_attributes(span: Span) -> Mapping[str, Any]:
    # Vectors are kept once, as real float arrays in the embeddings table; the JSON copy would
    # be most of the file and slow every read of `attributes`.
    if not span.embeddings:
        return span.attributes
    return {k: v for k, v in span.attributes.items() if not k.endswith(_VECTOR_SUFFIX)}


class SpanBatch:
    """Arrow tables for a batch of spans, one per stored table.

    ``annotations`` holds the evaluations and feedback the spans carried as attributes or
    events (see :mod:`workbench.semconv.evaluations`); usually empty. ``rejected`` lists the
    spans :func:`to_tables` could not store, as (index in its input, reason); it stays in the
    process that built the batch. So does ``source``: the :class:`Span` objects of the rows, in
    order, when the batch was made in process for a sink that keeps span objects (an in-memory
    sink); None otherwise.
    """

    __slots__ = ("annotations", "documents", "embeddings", "rejected", "source", "spans")

    def __init__(self, spans: pa.Table, documents: pa.Table, embeddings: pa.Table,
                 annotations: pa.Table | None = None) -> None:
        self.spans = spans
        self.documents = documents
        self.embeddings = embeddings
        self.annotations = ANNOTATIONS.arrow_schema.empty_table() if annotations is None else annotations
        self.rejected: tuple[tuple[int, str], ...] = ()
        self.source: tuple[Span, ...] | None = None

    @property
    def num_spans(self) -> int:
        """How many spans the batch holds."""
        return self.spans.num_rows

    @classmethod
    def concat(cls, batches: Sequence[SpanBatch]) -> SpanBatch:
        """One batch holding the rows of all of ``batches`` (an empty batch for none)."""
        if len(batches) == 1:
            return batches[0]
        if not batches:
            return cls(SPANS.arrow_schema.empty_table(), DOCUMENTS.arrow_schema.empty_table(),
                       EMBEDDINGS.arrow_schema.empty_table())
        return cls(
            pa.concat_tables([b.spans for b in batches]),
            pa.concat_tables([b.documents for b in batches]),
            pa.concat_tables([b.embeddings for b in batches]),
            pa.concat_tables([b.annotations for b in batches]),
        )

    def take(self, rows: Sequence[int], weights: Sequence[float]) -> SpanBatch:
        """A batch of the spans at ``rows``, each given the sample weight at the same place,
        with their documents, embeddings and the annotations of their traces."""
        spans = self.spans.take(pa.array(rows, pa.int64()))
        column = spans.schema.get_field_index("sample_weight")
        spans = spans.set_column(column, "sample_weight", pa.array(weights, pa.float64()))
        kept = spans.column("span_id")
        taken = SpanBatch(
            spans,
            self.documents.filter(pc.is_in(self.documents.column("span_id"), value_set=kept)),
            self.embeddings.filter(pc.is_in(self.embeddings.column("span_id"), value_set=kept)),
            self.annotations.filter(pc.is_in(self.annotations.column("trace_id"), value_set=spans.column("trace_id"))),
        )
        if self.source is not None:
            source = self.source
            taken.source = tuple(replace(source[row], sample_weight=weight) for row, weight in zip(rows, weights))
        return taken

    def _tables(self) -> tuple[pa.Table, ...]:
        return (self.spans, self.documents, self.embeddings, self.annotations)

    def to_ipc(self) -> tuple[bytes, ...]:
        """The tables as Arrow IPC streams (to pass between processes)."""
        return tuple(_ipc(t) for t in self._tables())

    @classmethod
    def from_ipc(cls, streams: Sequence[bytes]) -> SpanBatch:
        """The inverse of :meth:`to_ipc`."""
        return cls(*(pa.ipc.open_stream(s).read_all() for s in streams))

    def write_file(self, path: str) -> tuple[int, ...]:
        """Write the tables to ``path`` as consecutive Arrow IPC streams; returns their sizes.

        A file on a memory file system hands a batch to another process without a copy
        through a pipe: the reader maps it (:meth:`read_file`).
        """
        sizes = []
        with pa.OSFile(path, "wb") as sink:
            for table in self._tables():
                start = sink.tell()
                writer = pa.ipc.new_stream(sink, table.schema)
                writer.write_table(table)
                writer.close()
                sizes.append(sink.tell() - start)
        return tuple(sizes)

    @classmethod
    def read_file(cls, path: str, sizes: Sequence[int]) -> SpanBatch:
        """The inverse of :meth:`write_file`: the tables, mapped from the file without copying."""
        with pa.memory_map(path) as source:
            buffer = source.read_buffer()
        tables = []
        offset = 0
        for size in sizes:
            tables.append(pa.ipc.open_stream(buffer.slice(offset, size)).read_all())
            offset += size
        return cls(*tables)


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def to_tables(spans: Iterable[Span], *, keep_source: bool = False) -> SpanBatch:
    """Convert spans to the Arrow tables of the ``spans``, ``documents``, ``embeddings`` and ``annotations`` tables.

    Never fails for a span's values: spans that cannot be stored are left out and listed in the
    batch's ``rejected``, with the reason (see the module docstring).

    Args:
        spans: The spans.
        keep_source: Keep the span objects of the rows on the batch (``SpanBatch.source``).
    """
    spans = spans if isinstance(spans, list) else list(spans)
    try:
        batch = _build(spans)
    except Exception:  # noqa: BLE001 - some span holds a value the tables cannot: find it
        batch = _build_repaired(spans)
    if keep_source:
        left_out = {index for index, _ in batch.rejected}
        batch.source = tuple(span for index, span in enumerate(spans) if index not in left_out)
    return batch


def _build_repaired(spans: list[Span]) -> SpanBatch:
    """:func:`_build` after repairing every span; spans that still fail are left out one by one."""
    kept: list[int] = []
    repaired: list[Span] = []
    rejected: list[tuple[int, str]] = []
    for index, span in enumerate(spans):
        try:
            repaired.append(repair_span(span))
            kept.append(index)
        except UnstorableSpan as exc:
            rejected.append((index, str(exc)))
        except Exception as exc:  # noqa: BLE001 - not even a span: refuse it alone
            rejected.append((index, f"a span could not be read ({type(exc).__name__}: {exc})"))
    try:
        batch = _build(repaired)
    except Exception:  # noqa: BLE001 - a cause repair does not know: isolate it span by span
        parts = []
        for index, span in zip(kept, repaired):
            try:
                parts.append(_build([span]))
            except Exception as exc:  # noqa: BLE001
                rejected.append((index, f"span {span.name!r} could not be stored ({type(exc).__name__}: {exc})"))
        batch = SpanBatch.concat(parts)
    batch.rejected = tuple(sorted(rejected))
    return batch


def _odd_event_time(span: Span) -> bool:
    # A loop, not any() over a generator: measured 0.5 against 1.1 microseconds a span with events.
    for event in span.events:  # noqa: SIM110
        if not 0 <= event.time_ns <= MAX_TIME_NS:
            return True
    return False


def _build(spans: list[Span]) -> SpanBatch:
    cols: dict[str, list[Any]] = {name: [] for name in SPANS.column_names}
    docs: dict[str, list[Any]] = {name: [] for name in DOCUMENTS.column_names}
    embs: dict[str, list[Any]] = {name: [] for name in EMBEDDINGS.column_names}
    evaluations: list[Evaluation] = []
    vectors: list[Any] = []
    # Bound appends, looked up once: this loop is the hot path of ingest.
    a = {name: values.append for name, values in cols.items()}
    for s in spans:
        # Times out of order or out of range: rare, and cheap to see here.
        if not 0 <= s.start_time_ns <= s.end_time_ns <= MAX_TIME_NS or (s.events and _odd_event_time(s)):
            s = repair_span(s)
        start_us = s.start_time_ns // 1000
        tokens = s.tokens
        a["trace_id"](s.trace_id)
        a["span_id"](s.span_id)
        a["parent_span_id"](s.parent_span_id or None)
        a["name"](s.name)
        a["span_kind"](s.span_kind.value)
        a["otel_kind"](s.otel_kind)
        a["start_time"](start_us)
        a["end_time"](s.end_time_ns // 1000)
        a["latency_ms"]((s.end_time_ns - s.start_time_ns) / 1e6)
        a["status_code"](s.status_code.value)
        a["status_message"](s.status_message or "")
        a["project"](s.project)
        a["model_name"](s.model_name)
        a["provider"](s.provider)
        a["input_value"](s.input_value)
        a["input_mime_type"](s.input_mime_type)
        a["output_value"](s.output_value)
        a["output_mime_type"](s.output_mime_type)
        a["prompt_tokens"](tokens.prompt)
        a["completion_tokens"](tokens.completion)
        a["total_tokens"](tokens.total)
        a["cache_read_tokens"](tokens.cache_read)
        a["cache_write_tokens"](tokens.cache_write)
        a["reasoning_tokens"](tokens.reasoning)
        a["prompt_includes_cache"](tokens.prompt_includes_cache)
        a["client_cost"](s.client_cost)
        a["time_to_first_token_ms"](s.time_to_first_token_ms)
        a["session_id"](s.session_id)
        a["user_id"](s.user_id)
        a["prompt_template"](s.prompt_template)
        a["prompt_template_version"](s.prompt_template_version)
        a["tool_name"](s.tool_name)
        a["input_messages"](messages_json(s.input_messages))
        a["output_messages"](messages_json(s.output_messages))
        a["attributes"](_dumps(_stored_attributes(s)))
        a["resource"](_dumps(s.resource))
        a["events"](
            _dumps([{"name": e.name, "time_ns": e.time_ns, "attributes": e.attributes} for e in s.events])
            if s.events
            else "[]"
        )
        a["links"](
            _dumps([{"trace_id": k.trace_id, "span_id": k.span_id, "attributes": k.attributes} for k in s.links])
            if s.links
            else "[]"
        )
        a["scope_name"](s.scope_name)
        a["scope_version"](s.scope_version)
        a["conventions"](list(s.conventions))
        a["sample_weight"](s.sample_weight)
        for d in s.documents:
            docs["trace_id"].append(s.trace_id)
            docs["span_id"].append(s.span_id)
            docs["start_time"].append(start_us)
            docs["position"].append(d.position)
            docs["document_id"].append(d.id)
            docs["content"].append(d.content)
            docs["score"].append(d.score)
            docs["metadata"].append(_dumps(d.metadata) if d.metadata is not None else None)
        for e in s.embeddings:
            embs["trace_id"].append(s.trace_id)
            embs["span_id"].append(s.span_id)
            embs["start_time"].append(start_us)
            embs["position"].append(e.position)
            embs["text"].append(e.text)
            vectors.append(e.vector)
            embs["model"].append(e.model)
        found = evaluations_of(s)  # as the conventions layer extracted them
        if found:
            evaluations.extend(found)
    embeddings = pa.Table.from_pydict(embs, schema=_EMBEDDINGS_NO_VECTOR)
    embeddings = embeddings.append_column(_VECTOR_FIELD, _vector_column(vectors))
    return SpanBatch(
        pa.Table.from_pydict(cols, schema=SPANS.arrow_schema),
        pa.Table.from_pydict(docs, schema=DOCUMENTS.arrow_schema),
        embeddings.select(EMBEDDINGS.column_names),
        _annotations(evaluations) if evaluations else None,
    )


_VECTOR_FIELD = EMBEDDINGS.arrow_schema.field("vector")
_EMBEDDINGS_NO_VECTOR = EMBEDDINGS.arrow_schema.remove(EMBEDDINGS.arrow_schema.get_field_index("vector"))


def _vector_column(vectors: Sequence[Any]) -> pa.Array:
    """The ``vector`` column: one float32 buffer and offsets, whatever each vector arrived as.

    Raises:
        ValueError: A vector is not a list of finite numbers (then :func:`to_tables` repairs).
    """
    with np.errstate(over="ignore", invalid="ignore"):  # a double past float32's range: refused below
        arrays = [np.asarray(v, dtype=np.float32) if v is not None else _NO_FLOATS for v in vectors]
    offsets = np.zeros(len(arrays) + 1, dtype=np.int32)
    if arrays:
        np.cumsum([a.size for a in arrays], out=offsets[1:])
    values = np.concatenate(arrays) if arrays else _NO_FLOATS
    if values.ndim != 1 or not np.isfinite(values).all():
        raise ValueError("an embedding vector holds NaN, an infinity or nested lists")
    mask = None
    if any(v is None for v in vectors):
        mask = pa.array([v is None for v in vectors], type=pa.bool_())
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values), type=_VECTOR_FIELD.type, mask=mask)


_NO_FLOATS = np.zeros(0, dtype=np.float32)


def _annotations(evaluations: Sequence[Evaluation]) -> pa.Table:
    """Rows of the ``annotations`` table for evaluations read from spans."""
    cols: dict[str, list[Any]] = {name: [] for name in ANNOTATIONS.column_names}
    for e in evaluations:
        cols["annotation_id"].append(e.annotation_id)
        cols["target"].append(e.target)
        cols["trace_id"].append(e.trace_id)
        cols["span_id"].append(e.span_id)
        cols["document_position"].append(None)
        cols["session_id"].append(e.session_id)
        cols["name"].append(e.name)
        cols["score"].append(e.score)
        cols["label"].append(e.label)
        cols["explanation"].append(e.explanation)
        cols["annotator_kind"].append(e.annotator_kind)
        cols["annotator"].append(e.annotator)
        cols["created_at"].append(e.time_ns // 1000)
        cols["metadata"].append(_dumps(e.metadata) if e.metadata else None)
    return pa.Table.from_pydict(cols, schema=ANNOTATIONS.arrow_schema)
