"""Datasets from what was traced: spans, traces or a session become examples.

Each example takes the span's input (JSON inputs as objects; an LLM span that recorded only
chat messages gives its input messages), its output as ``metadata["output"]`` (what production
answered), and the ids of the span and trace it came from. Its expected output comes from an
annotation: the explanation of the newest annotation named ``correction`` on the span itself,
else on its trace or another span of it (labelled, say, ``corrected``), else, when
``expected_from`` names feedback such as ``user_feedback``, the note (explanation) of a
negative one.

A dataset that exists gets the examples as its next version (an example of a span already in
it is replaced), so "add to dataset" and "make a dataset" are the same call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from workbench.errors import ConfigError, NotFoundError
from workbench.evals.outcome import passed
from workbench.experiments.datasets import Dataset, create_dataset, dataset
from workbench.experiments.where import opened, store_of
from workbench.read import Reader, Selection

__all__ = ["CORRECTION", "from_session", "from_spans", "from_traces"]

#: The annotation name whose explanation (else label) is an example's expected output.
CORRECTION = "correction"

_COLUMNS = ["span_id", "trace_id", "name", "input_value", "input_mime_type", "output_value", "output_mime_type",
            "input_messages", "output_messages", "session_id", "project", "model_name", "status_code"]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # None, or NaN from a DataFrame


def _messages(value: Any) -> Any:
    """Chat messages recorded as JSON, as a list (None when there are none)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return list(value) if isinstance(value, (list, tuple)) and len(value) else None


def _value(text: Any, mime: Any) -> Any:
    if _missing(text):
        return None
    if mime == "application/json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _ids(items: Sequence[Any], what: str) -> list[str]:
    ids = [str(i).lower() for i in items]
    if not ids:
        raise ConfigError(f"No {what} were given; pick at least one.")
    return ids


def _span_rows(reader: Reader, spans: Any) -> pd.DataFrame:
    if isinstance(spans, pd.DataFrame):
        if "span_id" not in spans.columns:
            raise ConfigError("The DataFrame has no span_id column; pass rows of wb.spans(...) or a list of span ids.")
        spans = list(spans["span_id"])
    if isinstance(spans, (str, Selection)) and not (isinstance(spans, str) and _looks_like_id(spans)):
        return reader.spans(spans, columns=_COLUMNS, limit=None)
    if isinstance(spans, str):
        spans = [spans]
    ids = _ids(list(spans), "span ids")
    found = reader.spans("span_id in [" + ", ".join(repr(i) for i in ids) + "]", columns=_COLUMNS)
    missing = sorted(set(ids) - set(found["span_id"]))
    if missing:
        raise NotFoundError(f"There is no span {missing[0]!r} in {store_of(reader).path}.")
    order = {span_id: n for n, span_id in enumerate(ids)}
    return found.sort_values("span_id", key=lambda s: s.map(order)).reset_index(drop=True)


def _looks_like_id(text: str) -> bool:
    return len(text) in (16, 32) and all(c in "0123456789abcdefABCDEF" for c in text)


def _expected(reader: Reader, rows: pd.DataFrame, expected_from: Sequence[str]) -> dict[str, Any]:
    """span_id -> expected output, from the annotations on the span or its trace."""
    if rows.empty or not expected_from:
        return {}
    notes = reader.annotations(trace_ids=list(rows["trace_id"].unique()))
    notes = notes[notes["name"].isin(list(expected_from))]
    by_trace = dict(zip(rows["trace_id"], rows["span_id"]))
    chosen = set(rows["span_id"])
    # A span's own correction beats one on its trace or on another span of it; within each,
    # the newest wins; a correction beats a feedback note.
    own: dict[str, Any] = {}
    borrowed: dict[str, Any] = {}
    feedback: dict[str, Any] = {}
    for note in notes.itertuples(index=False):  # oldest first
        text = note.explanation if isinstance(note.explanation, str) and note.explanation else None
        if text is None:
            continue
        direct = isinstance(note.span_id, str) and note.span_id in chosen
        span_id = note.span_id if direct else by_trace.get(note.trace_id)
        if span_id is None:
            continue
        if note.name == CORRECTION:
            (own if direct else borrowed)[span_id] = text
        elif passed(note.score, note.label) is False:
            feedback.setdefault(span_id, text)
    return {**feedback, **borrowed, **own}


def _examples(reader: Reader, rows: pd.DataFrame, expected_from: Sequence[str]) -> list[dict[str, Any]]:
    expected = _expected(reader, rows, expected_from)
    examples = []
    for r in rows.itertuples(index=False):
        given = _value(r.input_value, r.input_mime_type)
        if given is None:
            given = _messages(r.input_messages)
        if given is None:
            continue
        output = _value(r.output_value, r.output_mime_type)
        if output is None:
            output = _messages(r.output_messages)
        metadata = {k: v for k, v in (("span_name", r.name), ("session_id", r.session_id), ("project", r.project),
                                      ("model_name", r.model_name), ("status", r.status_code),
                                      ("output", output)) if not _missing(v)}
        examples.append({
            "example_id": r.span_id, "input": given,
            "expected": expected.get(r.span_id), "metadata": metadata,
            "source_trace_id": r.trace_id, "source_span_id": r.span_id,
        })
    return examples


def _save(where: Any, reader: Reader, name: str, examples: list[dict[str, Any]], description: str | None) -> Dataset:
    if not examples:
        raise ConfigError(f"None of the chosen spans has an input, so dataset {name!r} would be empty; choose others.")
    try:
        existing = dataset(reader, name)
    except NotFoundError:
        made = create_dataset(reader, name, examples, description=description)
    else:
        made = existing.add(examples)
    made.where = where
    return made


def from_spans(where: Any, name: str, spans: Any, *, expected_from: Sequence[str] = (CORRECTION,),
               description: str | None = None) -> Dataset:
    """Make (or add to) dataset ``name`` from spans.

    Args:
        where: The store (see :mod:`workbench.experiments.where`).
        name: The dataset; one that exists gets a new version with these examples added.
        spans: A filter expression (``"span_kind == 'LLM' and latency_ms > 2000"``), a
            :class:`~workbench.read.Selection`, span ids, or a DataFrame with ``span_id``
            (rows of ``wb.spans(...)``, ticked by hand).
        expected_from: Annotation names that give expected outputs (see the module).
        description: What the dataset is for (a new dataset).
    """
    with opened(where, write=True) as reader:
        return _save(where, reader, name, _examples(reader, _span_rows(reader, spans), expected_from), description)


def from_traces(where: Any, name: str, traces: Any, *, expected_from: Sequence[str] = (CORRECTION,),
                description: str | None = None) -> Dataset:
    """Make (or add to) dataset ``name`` from traces' root spans.

    ``traces`` is a filter expression (the traces with a matching span), trace ids, or a
    DataFrame with ``trace_id`` (rows of ``wb.traces(...)``, or a Quality page's worst traces).
    """
    with opened(where, write=True) as reader:
        if isinstance(traces, pd.DataFrame):
            if "trace_id" not in traces.columns:
                raise ConfigError("The DataFrame has no trace_id column; pass rows of wb.traces(...) or trace ids.")
            ids = _ids(list(traces["trace_id"]), "trace ids")
        elif isinstance(traces, (str, Selection)) and not (isinstance(traces, str) and _looks_like_id(traces)):
            ids = list(reader.traces(traces, limit=None)["trace_id"])
        else:
            ids = _ids([traces] if isinstance(traces, str) else list(traces), "trace ids")
        roots = reader.spans(trace_ids=ids, root_only=True, columns=_COLUMNS)
        order = {trace_id: n for n, trace_id in enumerate(ids)}
        roots = roots.sort_values("trace_id", key=lambda s: s.map(order)).drop_duplicates("trace_id")
        if roots.empty:
            raise NotFoundError(f"None of the {len(ids)} traces has a root span in {store_of(reader).path}.")
        return _save(where, reader, name, _examples(reader, roots, expected_from), description)


def from_session(where: Any, name: str, session_id: str, *, expected_from: Sequence[str] = (CORRECTION,),
                 description: str | None = None) -> Dataset:
    """Make (or add to) dataset ``name`` from the turns (traces' root spans) of one session."""
    with opened(where) as reader:
        found = reader.spans(f"session_id == {json.dumps(str(session_id))}", root_only=True, columns=["trace_id"])
    if found.empty:
        raise NotFoundError(f"There is no session {session_id!r} (no root span has that session_id).")
    return from_traces(where, name, list(dict.fromkeys(found["trace_id"])), expected_from=expected_from,
                       description=description)
