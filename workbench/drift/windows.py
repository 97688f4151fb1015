"""What is compared: windows of query embeddings, the corpus, and named baseline sets.

A :class:`Window` picks embeddings recorded on EMBEDDING spans by time, project, span name
and a filter expression (the read API's filter language, applied to the embedding span), or
names a baseline saved earlier with :func:`save_baseline`. :func:`extract` turns a window
into an :class:`EmbeddingSet`: one row per embedded text with its ids, time and text, and a
float32 matrix of the vectors, row for row. :func:`corpus_set` does the same for the corpus.

Baselines live in the store's ``drift_baselines`` table (see ``docs/schema.md``), which
Parquet export and import carry like the others. It holds the embeddings' keys only (the
vectors stay in ``embeddings``), so a baseline stays the same set of points however much
data arrives later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from workbench.errors import ConfigError, NotFoundError, StoreError
from workbench.read import Reader, Selection, parse_time, require
from workbench.read import drift as queries
from workbench.store import drift as writes

__all__ = [
    "EmbeddingSet",
    "Window",
    "baselines",
    "corpus_set",
    "delete_baseline",
    "extract",
    "save_baseline",
    "vectors_of",
]

#: Columns of :attr:`EmbeddingSet.frame` for query points.
POINT_COLUMNS = (
    "point_id", "source", "trace_id", "span_id", "parent_span_id", "position", "time",
    "project", "span_name", "text",
)



@dataclass(frozen=True)
class Window:
    """A set of query embeddings: EMBEDDING spans by time, project, span name and filter.

    Args:
        start: Spans starting at or after this (datetime, ISO text, or ``"7d"`` back from now).
        end: Spans starting before this.
        project: One project or several.
        span_name: Only embedding spans of this name (e.g. ``"embed_query"``).
        filter: A filter expression over the embedding span's columns, as in
            :meth:`workbench.query.Reader.spans` (``"session_id is not None"``).
        baseline: The name of a set saved with :func:`save_baseline`; the other fields
            must then be left empty.
    """

    start: Any = None
    end: Any = None
    project: str | tuple[str, ...] | None = None
    span_name: str | None = None
    filter: str | None = None
    baseline: str | None = None

    def __post_init__(self) -> None:
        if self.baseline is not None and any(
            v is not None for v in (self.start, self.end, self.project, self.span_name, self.filter)
        ):
            raise ConfigError(
                f"Window(baseline={self.baseline!r}) also sets a time, project, span name or filter; "
                "a baseline is a fixed set of points, so give either baseline= or the other fields."
            )
        if isinstance(self.project, list):
            object.__setattr__(self, "project", tuple(self.project))

    def resolved(self, now: dt.datetime | None = None) -> Window:
        """The same window with relative times ("24h") turned into absolute UTC times."""
        return Window(parse_time(self.start, now=now), parse_time(self.end, now=now), self.project,
                      self.span_name, self.filter, self.baseline)

    def span_filter(self) -> str:
        """The filter expression that selects this window's embedding spans."""
        parts = ["span_kind == 'EMBEDDING'"]
        if self.span_name is not None:
            parts.append(f"name == {self.span_name!r}")
        if self.filter:
            parts.append(f"({self.filter})")
        return " and ".join(parts)

    def selection(self) -> Selection:
        """The embedding spans this window selects, as the reads take them."""
        return Selection(self.span_filter(), self.start, self.end, self.project)

    def describe(self) -> str:
        """A short description for titles and logs."""
        if self.baseline is not None:
            return f"baseline {self.baseline!r}"
        bits = []
        for label, value in (("from", self.start), ("to", self.end), ("project", self.project),
                             ("span", self.span_name), ("where", self.filter)):
            if value is not None and value != "":
                bits.append(f"{label} {value}")
        return ", ".join(bits) or "all embeddings"


@dataclass
class EmbeddingSet:
    """Embedded texts and their vectors, row for row.

    Attributes:
        frame: One row per text (see :data:`POINT_COLUMNS`; the corpus has ``document_id``
            in ``point_id`` and empty span columns).
        vectors: float32, one row per row of ``frame``.
    """

    frame: pd.DataFrame
    vectors: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def dims(self) -> int | None:
        """The vectors' length, or None when the set is empty."""
        return int(self.vectors.shape[1]) if len(self) else None

    def take(self, rows: np.ndarray | Sequence[int]) -> EmbeddingSet:
        """The rows at these positions."""
        index = np.asarray(rows, dtype=np.int64)
        return EmbeddingSet(self.frame.iloc[index].reset_index(drop=True), self.vectors[index])

    def sample(self, n: int | None, seed: int) -> EmbeddingSet:
        """At most ``n`` rows drawn without replacement with a fixed seed, in their original order."""
        if n is None or len(self) <= n:
            return self
        rows = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return self.take(rows)

    @staticmethod
    def concat(sets: Sequence[EmbeddingSet]) -> EmbeddingSet:
        """The rows of several sets, one after another."""
        sets = [s for s in sets if len(s)]
        if not sets:
            return EmbeddingSet(pd.DataFrame(columns=list(POINT_COLUMNS)), np.zeros((0, 0), np.float32))
        dims = {s.dims for s in sets}
        if len(dims) > 1:
            raise ConfigError(
                f"The embeddings have different lengths ({sorted(d for d in dims if d)}); they come "
                "from different models. Narrow the windows to one model, e.g. filter=\"model_name == "
                "'all-MiniLM-L6-v2'\", and load a corpus embedded with the same model."
            )
        frame = pd.concat([s.frame for s in sets], ignore_index=True)
        return EmbeddingSet(frame, np.concatenate([s.vectors for s in sets]))


def vectors_of(column: pa.ChunkedArray | pa.Array, what: str) -> np.ndarray:
    """A float32 matrix from an Arrow list column of vectors.

    Raises:
        ConfigError: Vectors are missing or have different lengths.
    """
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(array)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    if array.null_count:
        raise ConfigError(f"{array.null_count} of {n} {what} have no vector; drop them or embed them first.")
    lengths = np.diff(array.offsets.to_numpy())
    if lengths.min() != lengths.max():
        raise ConfigError(
            f"The {what} have vectors of different lengths ({lengths.min()} to {lengths.max()}); "
            "they come from different models. Narrow the window to one model, e.g. "
            "filter=\"model_name == '...'\"."
        )
    flat = array.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return flat.reshape(n, int(lengths[0]))


def _empty() -> EmbeddingSet:
    return EmbeddingSet(pd.DataFrame(columns=list(POINT_COLUMNS)), np.zeros((0, 0), np.float32))


def _frame(embeddings: pa.Table, spans: pa.Table, source: str) -> EmbeddingSet:
    """Embeddings joined with their spans' name, project and parent."""
    if embeddings.num_rows == 0:
        return _empty()
    vectors = vectors_of(embeddings.column("vector"), "embedded texts")
    # Plain lists and dicts: pandas' per-column machinery costs more than the work at this size.
    info = {sid: (parent, project, name) for sid, parent, project, name in zip(
        *(spans.column(c).to_pylist() for c in ("span_id", "parent_span_id", "project", "name")))}
    span_ids = embeddings.column("span_id").to_pylist()
    positions = embeddings.column("position").to_pylist()
    missing = (None, None, None)
    found = [info.get(sid, missing) for sid in span_ids]
    frame = pd.DataFrame({
        "point_id": [f"{sid}:{pos}" for sid, pos in zip(span_ids, positions)],
        "source": source,
        "trace_id": embeddings.column("trace_id").to_pylist(),
        "span_id": span_ids,
        "parent_span_id": [f[0] for f in found],
        "position": positions,
        "time": embeddings.column("start_time").to_pandas(),
        "project": [f[1] for f in found],
        "span_name": [f[2] for f in found],
        "text": embeddings.column("text").to_pylist(),
    }, columns=list(POINT_COLUMNS))
    return EmbeddingSet(frame, vectors)


_SPAN_INFO = ["trace_id", "span_id", "parent_span_id", "name", "project"]


def extract(reader: Reader, window: Window, source: str = "primary") -> EmbeddingSet:
    """The query embeddings a window selects, oldest first.

    Raises:
        NotFoundError: ``window.baseline`` names no saved baseline.
        FilterError: The filter expression or a time cannot be understood.
        ConfigError: The vectors have different lengths.
    """
    if window.baseline is not None:
        keys = _baseline_keys(reader, window.baseline)
        span_ids = sorted(set(keys["span_id"]))
        table = reader.embeddings(span_ids=span_ids, arrow=True)
        wanted = set(zip(keys["span_id"], keys["position"]))
        mask = [(s, p) in wanted for s, p in zip(table.column("span_id").to_pylist(),
                                                    table.column("position").to_pylist())]
        table = table.filter(pa.array(mask, pa.bool_()))
        spans = reader.spans(trace_ids=sorted(set(keys["trace_id"])), columns=_SPAN_INFO,
                             filter="span_kind == 'EMBEDDING'", arrow=True)
        return _frame(table, spans, source)
    selection = window.selection()
    table = reader.embeddings(selection, arrow=True)
    if table.num_rows == 0:
        return _empty()
    spans = reader.spans(selection, columns=_SPAN_INFO, arrow=True)
    return _frame(table, spans, source)


def corpus_set(reader: Reader) -> EmbeddingSet:
    """The corpus documents that have a vector, by id."""
    table = reader.corpus(arrow=True)
    if table.column("vector").null_count:
        table = table.filter(pc.is_valid(table.column("vector")))
    if table.num_rows == 0:
        return _empty()
    vectors = vectors_of(table.column("vector"), "corpus documents")
    ids = table.column("document_id").to_pylist()
    frame = pd.DataFrame({
        "point_id": ids, "source": "corpus", "trace_id": None, "span_id": None, "parent_span_id": None,
        "position": None, "time": pd.NaT, "project": None, "span_name": None,
        "text": table.column("text").to_pylist(),
    }, columns=list(POINT_COLUMNS))
    return EmbeddingSet(frame, vectors)


# Baselines -----------------------------------------------------------------------------


def _has_baselines(reader: Reader) -> bool:
    return queries.has_table(reader, "drift_baselines")


def _store(reader: Reader) -> Any:
    """The store baselines are written to: a reader with the ``store`` capability has one."""
    return require(reader, "store").store


def _writable(reader: Reader, doing: str) -> None:
    if _store(reader).db.read_only:
        raise StoreError(
            f"The store {_store(reader).path} is open read-only, so a baseline cannot be {doing}; open it with "
            f"workbench.open(path, read_only=False), or do it through the process that writes the store."
        )


def _ensure_baselines(reader: Reader) -> None:
    _writable(reader, "saved")
    if not _has_baselines(reader):  # a file made before the table was
        _store(reader).execute_write(writes.create_table("drift_baselines"))


def save_baseline(reader: Reader, name: str, window: Window, *, replace: bool = False) -> int:
    """Save the embeddings a window selects now as a named baseline; return how many.

    Raises:
        ConfigError: The name is taken (pass ``replace=True``), or the window is a baseline.
        NotFoundError: The window selects no embeddings.
        StoreError: The store is open read-only.
    """
    if not name or not isinstance(name, str):
        raise ConfigError(f"A baseline needs a name; got {name!r}.")
    if window.baseline is not None:
        raise ConfigError(f"Save a baseline from a window of times and filters, not from baseline {window.baseline!r}.")
    _ensure_baselines(reader)
    taken = queries.baseline_size(reader, name)
    if taken and not replace:
        raise ConfigError(f"There is already a baseline named {name!r}; pass replace=True or pick another name.")
    points = extract(reader, window.resolved())
    if not len(points):
        raise NotFoundError(f"The window ({window.describe()}) has no embeddings to save as baseline {name!r}.")
    now = dt.datetime.now(dt.timezone.utc)
    positions = pa.array(points.frame["position"].tolist(), pa.int32()).to_pylist()
    _store(reader).execute_write(writes.replace_baseline(
        name, now, points.frame["trace_id"].tolist(), points.frame["span_id"].tolist(), positions))
    return len(points)


def baselines(reader: Reader) -> pd.DataFrame:
    """The saved baselines: name, points, created_at."""
    if not _has_baselines(reader):
        return pd.DataFrame({"name": pd.Series(dtype=object), "points": pd.Series(dtype="int64"),
                             "created_at": pd.Series(dtype="datetime64[us, UTC]")})
    return queries.baseline_list(reader).to_pandas()


def delete_baseline(reader: Reader, name: str) -> bool:
    """Delete a baseline; return whether it existed."""
    if not _has_baselines(reader):
        return False
    if _store(reader).db.read_only:
        if not queries.baseline_size(reader, name):
            return False
        _writable(reader, "deleted")
    deleted = _store(reader).execute_write(writes.drop_baseline(name))
    return bool(deleted)


def _baseline_keys(reader: Reader, name: str) -> dict[str, list[Any]]:
    table = queries.baseline_points(reader, name) if _has_baselines(reader) else None
    if table is None or table.num_rows == 0:
        known = baselines(reader)["name"].tolist()
        hint = f"saved ones: {', '.join(known)}" if known else "none is saved yet; save one with save_baseline()"
        raise NotFoundError(f"There is no drift baseline named {name!r} ({hint}).")
    return table.to_pydict()
