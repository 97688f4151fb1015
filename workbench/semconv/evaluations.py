"""Evaluations and feedback that arrive on spans, read as annotations.

Two conventions carry them:

=================================================  =========================================
what the span carries                              what it annotates
=================================================  =========================================
OpenInference ``annotations.N.annotation.*``       the span carrying it
OpenInference ``evaluations.N.evaluation.*``       the span it links to (an EVALUATOR span
                                                   has exactly one link); without exactly
                                                   one link, the span carrying it
``trace.annotations.N.annotation.*``,              the trace (of the one linked span, else
``trace.evaluations.N.evaluation.*``               of the span carrying it)
``session.annotations.N.annotation.*``,            the session of the span carrying it
``session.evaluations.N.evaluation.*``             (its ``session.id``); skipped without one
OTel GenAI event ``gen_ai.evaluation.result``      the span carrying the event
OTel GenAI ``gen_ai.evaluation.*`` as span         the span it links to, else its parent (a
attributes (a span standing for the event)         span standing in for an event is parented
                                                   as the event would be), else itself
=================================================  =========================================

Fields: OpenInference ``name``, ``score``, ``label``, ``explanation``, ``annotator_kind``,
``identifier`` and ``metadata`` (a JSON object); GenAI ``gen_ai.evaluation.name``,
``gen_ai.evaluation.score.value``, ``gen_ai.evaluation.score.label`` and
``gen_ai.evaluation.explanation``. An item needs a name and a score, label or explanation;
others are skipped (the attributes stay on the span, as everything does).

``identifier`` becomes the annotator (else, for a result carried by another span, that
span's name). ``annotator_kind`` is kept when it is HUMAN, LLM or CODE, else left empty and
recorded in the metadata. The metadata also says where the result came from
(``ingested_from``). The annotation id is derived from the carrying span and the attribute
prefix, so a span sent twice gives the same ids.

They are read once, by the conventions layer when it builds the span
(:attr:`Span.evaluations <workbench.model.Span.evaluations>`); everything downstream (the
store's rows, sampling) asks :func:`evaluations_of`. Redaction and repair, which change the
span's attributes, clear what was read, so the evaluations stored are read from the span as
it is stored: an explanation that quoted personal data is redacted like every other attribute.

A list is looked for only when its item 0 carries a name (producers number from 0), except
on EVALUATOR spans, whose attributes are always walked; this keeps the common span, which
carries no evaluation, at a few dictionary lookups.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from workbench.model import Evaluation, Span, SpanKind

__all__ = ["ANNOTATOR_KINDS", "GENAI_EVENT", "Evaluation", "evaluations_of", "read_evaluations"]

ANNOTATOR_KINDS = frozenset({"HUMAN", "LLM", "CODE"})
GENAI_EVENT = "gen_ai.evaluation.result"

# (attribute prefix, item word, scope): e.g. "trace.evaluations." items are "N.evaluation.<field>".
_LISTS: tuple[tuple[str, str, str], ...] = (
    ("annotations.", "annotation", "span"),
    ("evaluations.", "evaluation", "linked"),
    ("trace.annotations.", "annotation", "trace"),
    ("trace.evaluations.", "evaluation", "trace"),
    ("session.annotations.", "annotation", "session"),
    ("session.evaluations.", "evaluation", "session"),
)
_FIRST_NAMES = tuple(f"{prefix}0.{word}.name" for prefix, word, _ in _LISTS)
_GENAI_NAME = "gen_ai.evaluation.name"
_EVALUATOR = SpanKind.EVALUATOR
_GENAI = {
    "name": _GENAI_NAME,
    "score": "gen_ai.evaluation.score.value",
    "label": "gen_ai.evaluation.score.label",
    "explanation": "gen_ai.evaluation.explanation",
}


def evaluations_of(span: Span) -> tuple[Evaluation, ...]:
    """The evaluations ``span`` carries: as the conventions layer extracted them, else read now."""
    found = span.evaluations
    return found if found is not None else read_evaluations(span)


def read_evaluations(span: Span) -> tuple[Evaluation, ...]:
    """The evaluations and feedback ``span`` carries, in the conventions above; usually ``()``."""
    attrs = span.attributes
    if type(attrs) is not dict and not isinstance(attrs, Mapping):
        attrs = {}
    k0, k1, k2, k3, k4, k5 = _FIRST_NAMES
    # Runs for every span stored: plain membership tests, no loop, for the common empty case.
    walk = (span.span_kind is _EVALUATOR or k0 in attrs or k1 in attrs or k2 in attrs or k3 in attrs
            or k4 in attrs or k5 in attrs)
    genai = _GENAI_NAME in attrs
    if not (walk or genai or span.events):
        return ()
    found: list[Evaluation] = []
    if walk:
        found.extend(_lists(span, attrs))
    if genai:
        item = {f: attrs.get(k) for f, k in _GENAI.items()}
        found.extend(_build(span, item, _genai_target(span), "gen_ai.evaluation.", "gen_ai", span.end_time_ns))
    for number, event in enumerate(span.events):
        if getattr(event, "name", None) == GENAI_EVENT and isinstance(getattr(event, "attributes", None), Mapping):
            item = {f: event.attributes.get(k) for f, k in _GENAI.items()}
            target = ("span", span.trace_id, span.span_id)
            found.extend(_build(span, item, target, f"event.{number}.", "gen_ai", event.time_ns))
    return tuple(found)


def _lists(span: Span, attrs: Mapping[str, Any]) -> list[Evaluation]:
    groups: dict[tuple[int, int], dict[str, Any]] = {}
    for key, value in attrs.items():
        if type(key) is not str:
            continue
        for number, (prefix, word, _) in enumerate(_LISTS):
            if key.startswith(prefix):
                index, dot, rest = key[len(prefix):].partition(".")
                head, dot2, name = rest.partition(".")
                if dot and dot2 and index.isdigit() and head == word:
                    groups.setdefault((number, int(index)), {})[name] = value
                break
    out: list[Evaluation] = []
    for (number, position), item in sorted(groups.items()):
        prefix, _, scope = _LISTS[number]
        target = _list_target(span, scope)
        if target is not None:
            out.extend(_build(span, item, target, f"{prefix}{position}.", "openinference", span.end_time_ns))
    return out


def _one_link(span: Span) -> tuple[str, str] | None:
    links = span.links
    if len(links) == 1:
        link = links[0]
        trace_id, span_id = getattr(link, "trace_id", None), getattr(link, "span_id", None)
        if isinstance(trace_id, str) and isinstance(span_id, str) and trace_id and span_id:
            return trace_id.lower(), span_id.lower()
    return None


def _list_target(span: Span, scope: str) -> tuple[str, str | None, str | None] | None:
    """(target, trace_id, span_id or session_id) for one OpenInference list."""
    link = _one_link(span)
    if scope == "span":
        return "span", span.trace_id, span.span_id
    if scope == "linked":
        return ("span", *link) if link else ("span", span.trace_id, span.span_id)
    if scope == "trace":
        return "trace", (link[0] if link else span.trace_id), None
    if span.session_id:
        return "session", None, span.session_id
    return None


def _genai_target(span: Span) -> tuple[str, str | None, str | None]:
    link = _one_link(span)
    if link:
        return "span", *link
    if span.parent_span_id:
        return "span", span.trace_id, span.parent_span_id
    return "span", span.trace_id, span.span_id


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {"metadata": value}
        return dict(parsed) if isinstance(parsed, dict) else {"metadata": parsed}
    return {"metadata": value}


def _build(
    span: Span,
    item: Mapping[str, Any],
    target: tuple[str, str | None, str | None],
    source: str,
    convention: str,
    time_ns: int,
) -> list[Evaluation]:
    name = _text(item.get("name"))
    score, label, explanation = _number(item.get("score")), _text(item.get("label")), _text(item.get("explanation"))
    if name is None or (score is None and label is None and explanation is None):
        return []
    kind_text = _text(item.get("annotator_kind"))
    kind = kind_text.upper() if kind_text else None
    metadata = _metadata(item.get("metadata"))
    if kind is not None and kind not in ANNOTATOR_KINDS:
        metadata.setdefault("annotator_kind", kind_text)
        kind = None
    kind_of_target, trace_id, ident = target
    carried_elsewhere = kind_of_target != "span" or ident != span.span_id
    annotator = _text(item.get("identifier")) or (span.name if carried_elsewhere and span.name else None)
    metadata["ingested_from"] = {"convention": convention, "attributes": source, "span_id": span.span_id}
    digest = hashlib.sha1(f"{span.trace_id}:{span.span_id}:{source}".encode()).hexdigest()[:32]
    return [
        Evaluation(
            annotation_id=digest,
            target=kind_of_target,
            trace_id=trace_id,
            span_id=ident if kind_of_target == "span" else None,
            session_id=ident if kind_of_target == "session" else None,
            name=name,
            score=score,
            label=label,
            explanation=explanation,
            annotator_kind=kind,
            annotator=annotator,
            time_ns=int(time_ns),
            metadata=metadata,
        )
    ]
