"""OTLP trace requests, protobuf or JSON, decoded into :class:`~workbench.model.Span`.

This is the edge where wire formats stop: one function per encoding, each making one
:class:`~workbench.model.RawSpan` record per span and handing it to
:func:`workbench.semconv.span_from`. Each span is checked on its own: a span with an invalid
id (trace and span ids of exactly 16 and 8 bytes, in JSON exactly 32 and 16 hex digits, not
all zero; a parent id of the same length, or none), or in JSON a malformed time or attribute,
is rejected one by one (OTLP's partial success) and the others are kept. Values that decode but
cannot be stored as they are (times past 2262, lone surrogates ...) are left to
:func:`workbench.store.rows.to_tables`, the one place every span passes on its way to the
store. A body that cannot be parsed at all raises :class:`DecodeError`.
"""

from __future__ import annotations

import binascii
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from workbench.collector.lenient import repair_utf8
from workbench.errors import DecodeError
from workbench.model import Event, Link, Span, StatusCode
from workbench.semconv import span_from
from workbench.semconv.build import new_raw_span
from workbench.semconv.repair import MAX_DEPTH, REPAIRED

__all__ = ["Decoded", "decode_json", "decode_protobuf"]

_KINDS = ("INTERNAL", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")  # index = OTLP enum
_STATUS = (StatusCode.UNSET, StatusCode.OK, StatusCode.ERROR)
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass
class Decoded:
    """The spans of one request, and the spans rejected with the first reason."""

    spans: list[Span] = field(default_factory=list)
    rejected: int = 0
    error: str = ""

    def reject(self, reason: str) -> None:
        """Count one rejected span, keeping the first reason."""
        self.rejected += 1
        if not self.error:
            # The reason may quote what was sent: lone surrogates would make the answer unsendable.
            self.error = reason.encode("utf-8", "replace").decode("utf-8")


# Protobuf ------------------------------------------------------------------------------


def _pb_value(value: Any, depth: int = 0) -> Any:
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bool_value":
        return value.bool_value
    if which == "array_value":
        items = value.array_value.values
        if len(items) > 8 and items[0].WhichOneof("value") == "double_value":
            doubles = _doubles(value.array_value)
            if doubles is not None:
                return doubles
        if depth >= MAX_DEPTH:
            raise _Rejected(f"an attribute value nests arrays and maps more than {MAX_DEPTH} levels deep")
        return [_pb_value(v, depth + 1) for v in items]
    if which == "kvlist_value":
        if depth >= MAX_DEPTH:
            raise _Rejected(f"an attribute value nests arrays and maps more than {MAX_DEPTH} levels deep")
        return {kv.key: _pb_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return value.bytes_value
    return None


# An array of doubles on the wire: per item, tag 0x0a (values), length 9, tag 0x21
# (double_value, fixed64), then 8 little-endian bytes. Reading that layout with numpy turns an
# embedding vector into floats ~50x faster than walking hundreds of AnyValue messages, and
# keeping it a numpy array spares building hundreds of Python floats that the store's float
# column would only convert back. They stay 64-bit: an array that is not a vector is kept exactly.
_ITEM = 11


def _doubles(array: Any) -> np.ndarray | None:
    """The floats of an all-double ArrayValue as a float64 array, or None for any other layout."""
    raw = array.SerializeToString()
    n = len(array.values)
    # Every item's three head bytes, compared as strided byte slices: cheaper than numpy here.
    if len(raw) != _ITEM * n or raw[0::_ITEM] != b"\x0a" * n or raw[1::_ITEM] != b"\x09" * n \
            or raw[2::_ITEM] != b"\x21" * n:
        return None
    return np.ndarray(n, dtype="<f8", buffer=raw, offset=3, strides=(_ITEM,)).copy()


def _pb_attributes(items: Iterable[Any]) -> dict[str, Any]:
    # The scalar cases inline: a span has a dozen attributes, and this runs for each.
    out = {}
    for kv in items:
        value = kv.value
        which = value.WhichOneof("value")
        if which == "string_value":
            out[kv.key] = value.string_value
        elif which == "int_value":
            out[kv.key] = value.int_value
        elif which == "double_value":
            out[kv.key] = value.double_value
        else:
            out[kv.key] = _pb_value(value)
    return out


def decode_protobuf(body: bytes, *, default_project: str = "default") -> Decoded:
    """Decode an OTLP/HTTP protobuf ``ExportTraceServiceRequest``.

    Spans with a malformed id are rejected one by one (see :class:`Decoded`).

    Raises:
        DecodeError: The body is not a valid request.
    """
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (ProtobufDecodeError, ValueError, RuntimeError) as exc:
        # Text that is not UTF-8 costs only the spans that hold it, repaired and flagged.
        repaired = repair_utf8(body) if "UTF-8" in str(exc) else None
        if repaired is None:
            raise DecodeError(_pb_error(exc)) from None
        request = ExportTraceServiceRequest()
        request.ParseFromString(repaired)
    out = Decoded()
    for resource_spans in request.resource_spans:
        try:
            resource = _pb_attributes(resource_spans.resource.attributes)
        except _Rejected as exc:  # every span of this resource goes with it
            for scope_spans in resource_spans.scope_spans:
                for _ in scope_spans.spans:
                    out.reject(f"the resource of these spans cannot be read: {exc}")
            continue
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            scope_name = scope.name or None
            scope_version = scope.version or None
            for s in scope_spans.spans:
                try:
                    out.spans.append(_pb_span(s, resource, scope_name, scope_version, default_project))
                except _Rejected as exc:
                    reason = str(exc)
                    out.reject(reason if reason.startswith("span ") else f"span {s.name!r}: {reason}")
                except (ValueError, TypeError, OverflowError, RecursionError) as exc:
                    out.reject(f"span {s.name!r} could not be read ({type(exc).__name__}: {exc})")
    return out


def _pb_error(exc: Exception) -> str:
    if "MaxDepth" in str(exc):
        return ("The body nests messages more than 100 levels deep (attribute values inside values); "
                f"send attribute values nested at most {MAX_DEPTH} levels.")
    return (f"The body is not a valid OTLP ExportTraceServiceRequest in protobuf ({exc}); send "
            "protobuf with Content-Type application/x-protobuf, or OTLP/JSON with application/json.")


def _pb_span(s: Any, resource: dict[str, Any], scope_name: str | None, scope_version: str | None,
             default_project: str) -> Span:
    raw_trace, raw_span, raw_parent = s.trace_id, s.span_id, s.parent_span_id
    trace_id = raw_trace.hex()
    span_id = raw_span.hex()
    if len(raw_trace) != 16 or trace_id == _ZERO_TRACE:
        raise _Rejected(f"span {s.name!r} has trace_id of {len(raw_trace)} bytes; it must be 16 bytes, not all zero")
    if len(raw_span) != 8 or span_id == _ZERO_SPAN:
        raise _Rejected(f"span {s.name!r} has span_id of {len(raw_span)} bytes; it must be 8 bytes, not all zero")
    parent = None
    if raw_parent:
        if len(raw_parent) != 8:
            raise _Rejected(f"span {s.name!r} has parent_span_id of {len(raw_parent)} bytes; it must be 8 bytes, "
                            "or empty for a root span")
        parent = raw_parent.hex()
        if parent == _ZERO_SPAN:
            parent = None
    status = s.status
    code = status.code
    kind = s.kind
    start = s.start_time_unix_nano
    events = s.events
    links = s.links
    if links:
        for k in links:
            if len(k.trace_id) != 16 or len(k.span_id) != 8:
                raise _Rejected(f"span {s.name!r} has a link to trace_id of {len(k.trace_id)} bytes, span_id of "
                                f"{len(k.span_id)} bytes; a link needs 16 and 8 bytes")
    return span_from(
        new_raw_span(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent,
            name=s.name,
            start_time_ns=start,
            end_time_ns=s.end_time_unix_nano or start,
            status_code=_STATUS[code] if 0 <= code < 3 else StatusCode.UNSET,
            status_message=status.message,
            otel_kind=_KINDS[kind] if 0 <= kind < 6 else "INTERNAL",
            attributes=_pb_attributes(s.attributes),
            resource=resource,
            events=tuple(
                Event(e.name, e.time_unix_nano, _pb_attributes(e.attributes)) for e in events
            ) if events else (),
            links=tuple(
                Link(k.trace_id.hex(), k.span_id.hex(), _pb_attributes(k.attributes)) for k in links
            ) if links else (),
            scope_name=scope_name,
            scope_version=scope_version,
        ),
        default_project=default_project,
    )


# JSON ----------------------------------------------------------------------------------


def _get(obj: Mapping[str, Any], camel: str, snake: str, default: Any = None) -> Any:
    # OTLP/JSON writes lowerCamelCase; protobuf JSON parsers also accept the snake_case names.
    value = obj.get(camel)
    if value is None:
        value = obj.get(snake, default)
    return default if value is None else value


class _Rejected(ValueError):
    """One span cannot be decoded; the message says why (it becomes the partial-success reason)."""


def _int64(value: Any, where: str, notes: list[str]) -> int | str:
    """An ``intValue``: a JSON number or decimal text; beyond 64 bits it is kept as its text."""
    if type(value) is int:
        number = value
    elif (type(value) is str and _DECIMAL.fullmatch(value)) or (
        type(value) is float and math.isfinite(value) and value.is_integer()
    ):
        number = int(value)
    else:
        raise _Rejected(f"attribute {where!r} has intValue {value!r:.40}; it must be a whole number")
    if _INT64[0] <= number <= _INT64[1]:
        return number
    note = f"attributes: integer outside 64 bits stored as text ({where})"
    if note not in notes:
        notes.append(note)
    return str(number)


def _double(value: Any, where: str, notes: list[str]) -> float:
    """A ``doubleValue``: a JSON number, decimal text, or "NaN", "Infinity", "-Infinity"."""
    if type(value) is float or type(value) is int:
        try:
            return float(value)
        except OverflowError:
            pass
    elif type(value) is str and (value in _SPECIAL_DOUBLES or _FLOAT.fullmatch(value)):
        return float(value)
    raise _Rejected(f"attribute {where!r} has doubleValue {value!r:.40}; it must be a number")


def _bool(value: Any, where: str, notes: list[str]) -> bool:
    if type(value) is bool:
        return value
    if value in ("true", "false"):
        return value == "true"
    raise _Rejected(f"attribute {where!r} has boolValue {value!r:.40}; it must be true or false")


def _string(value: Any, where: str, notes: list[str]) -> str:
    if type(value) is str:
        return value
    raise _Rejected(f"attribute {where!r} has stringValue {value!r:.40}; it must be a JSON string")


_JSON_SCALARS = (
    ("stringValue", _string),
    ("string_value", _string),
    ("intValue", _int64),
    ("int_value", _int64),
    ("doubleValue", _double),
    ("double_value", _double),
    ("boolValue", _bool),
    ("bool_value", _bool),
)
_INT64 = (-(2**63), 2**63 - 1)
_DECIMAL = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_DOUBLES = frozenset({"NaN", "Infinity", "-Infinity"})
_HEX = {32: re.compile("[0-9a-fA-F]{32}"), 16: re.compile("[0-9a-fA-F]{16}")}


# The one-key values that need no check: most of a request's values (an embedding's hundreds
# of doubles among them). Taking them first kept the stricter checks below at no cost.
_PLAIN = {"stringValue": str, "doubleValue": float, "boolValue": bool}


def _json_value(value: Any, where: str = "", notes: list[str] | None = None, depth: int = 0) -> Any:
    """A Python value from an OTLP/JSON ``AnyValue``; out-of-range integers are noted in ``notes``.

    Raises:
        ValueError: The value is malformed or nests more than ``MAX_DEPTH`` levels (the message says which).
    """
    if notes is None:
        notes = []
    if type(value) is dict and len(value) == 1:
        for key, scalar in value.items():
            if type(scalar) is _PLAIN.get(key):
                return scalar
    if not isinstance(value, Mapping):
        raise _Rejected(f"attribute {where!r} is not an AnyValue object like {{\"stringValue\": \"x\"}}; "
                        f"got {value!r:.40}")
    for key, converter in _JSON_SCALARS:
        scalar = value.get(key)
        if scalar is not None:
            return converter(scalar, where, notes)
    array = _get(value, "arrayValue", "array_value")
    if array is not None:
        if depth >= MAX_DEPTH:
            raise _Rejected(f"attribute {where!r} nests arrays and maps more than {MAX_DEPTH} levels deep")
        items = array.get("values", []) if isinstance(array, Mapping) else None
        if not isinstance(items, list):
            raise _Rejected(f"attribute {where!r} has an arrayValue without a list of values")
        return [_json_value(v, where, notes, depth + 1) for v in items]
    kvlist = _get(value, "kvlistValue", "kvlist_value")
    if kvlist is not None:
        if depth >= MAX_DEPTH:
            raise _Rejected(f"attribute {where!r} nests arrays and maps more than {MAX_DEPTH} levels deep")
        if not isinstance(kvlist, Mapping):
            raise _Rejected(f"attribute {where!r} has a kvlistValue that is not an object")
        return _json_attributes(kvlist.get("values", []), notes, depth + 1)
    data = _get(value, "bytesValue", "bytes_value")
    if data is not None:
        try:
            return binascii.a2b_base64(data)
        except (binascii.Error, TypeError, ValueError):
            raise _Rejected(f"attribute {where!r} has a bytesValue that is not base64 text") from None
    return None


def _json_attributes(items: Any, notes: list[str] | None = None, depth: int = 0) -> dict[str, Any]:
    """OTLP/JSON attributes (a list of ``{key, value}``) as a dict; see :func:`_json_value`."""
    if notes is None:
        notes = []
    if not isinstance(items, list):
        raise _Rejected(f"attributes must be a list of {{key, value}} objects; got {type(items).__name__}")
    out = {}
    for kv in items:
        if not isinstance(kv, Mapping) or type(kv.get("key")) is not str:
            raise _Rejected(f"an attribute must be an object with a string key and a value; got {kv!r:.60}")
        key = kv["key"]
        value = kv.get("value")
        out[key] = None if value is None else _json_value(value, key, notes, depth)
    return out


def _hex_id(value: Any, length: int) -> str | None:
    """``value`` if it is exactly ``length`` ASCII hex digits, not all zero, in lower case; else None."""
    if type(value) is not str or not _HEX[length].fullmatch(value):
        return None
    value = value.lower()
    return None if value == "0" * length else value


def _id(s: Mapping[str, Any], camel: str, snake: str, length: int, name: str) -> str:
    raw = _get(s, camel, snake)
    found = _hex_id(raw, length)
    if found is None:
        raise _Rejected(
            f"span {name!r} has {camel} {raw!r:.60}; it must be {length} hex characters, not all zero "
            "(OTLP/JSON writes ids as hex, not base64)"
        )
    return found


def _nanos(value: Any, field: str, name: str) -> int:
    """A time in nanoseconds: a JSON number or decimal text (OTLP/JSON writes 64-bit integers as text)."""
    if type(value) is int:
        return value
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    if type(value) is float and math.isfinite(value) and value.is_integer():
        return int(value)
    raise _Rejected(f"span {name!r} has {field} {value!r:.40}; it must be a whole number of nanoseconds")


def _text(value: Any, field: str, name: str) -> str:
    if value is None:
        return ""
    if type(value) is str:
        return value
    raise _Rejected(f"span {name!r} has {field} {value!r:.40}; it must be a JSON string")


def _list(value: Any, field: str, name: str) -> list[Any]:
    if value is None:
        return []
    if type(value) is list:
        return value
    raise _Rejected(f"span {name!r} has {field} of type {type(value).__name__}; it must be a list")


def _enum(value: Any, names: tuple[str, ...], prefix: str) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str):
        name = value.upper().removeprefix(prefix)
        for number, candidate in enumerate(names):
            if candidate == name:
                return number
    return 0


_KIND_NAMES = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
_STATUS_NAMES = ("UNSET", "OK", "ERROR")


def decode_json(body: bytes, *, default_project: str = "default") -> Decoded:
    """Decode an OTLP/JSON ``ExportTraceServiceRequest`` (hex ids, as the OTLP spec writes them).

    Each span is checked on its own: a span with a malformed id, time or attribute is rejected
    with the reason (see :class:`Decoded`), and the others are kept. An integer attribute
    outside 64 bits is kept as its decimal text, and noted under ``workbench.repaired``.

    Raises:
        DecodeError: The body is not JSON, nests too deeply, or is not shaped like an OTLP request.
    """
    try:
        data = json.loads(body)
    except RecursionError:
        raise DecodeError(
            "The JSON body nests too deeply to be read; send attribute values nested at most "
            f"{MAX_DEPTH} levels."
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"The body is not valid JSON ({exc}); send an OTLP/JSON ExportTraceServiceRequest.") from None
    if not isinstance(data, dict):
        raise DecodeError("The body must be a JSON object with a resourceSpans list.")
    resource_spans_list = _get(data, "resourceSpans", "resource_spans", [])
    if not isinstance(resource_spans_list, list):
        raise DecodeError("resourceSpans must be a list.")
    out = Decoded()
    try:
        for resource_spans in resource_spans_list:
            if not isinstance(resource_spans, dict):
                raise DecodeError("Each entry of resourceSpans must be an object with scopeSpans.")
            if not isinstance(resource_spans.get("resource") or {}, dict):
                raise DecodeError("A resource must be an object with attributes, as in {\"attributes\": []}.")
            scopes = _get(resource_spans, "scopeSpans", "scope_spans", [])
            if not isinstance(scopes, list):
                raise DecodeError("scopeSpans must be a list.")
            if not all(isinstance(scope_spans, dict) for scope_spans in scopes):
                raise DecodeError("Each entry of scopeSpans must be an object with spans.")
            resource_notes: list[str] = []
            try:
                resource = _json_attributes((resource_spans.get("resource") or {}).get("attributes") or [],
                                            resource_notes)
            except _Rejected as exc:  # every span of this resource goes with it
                for scope_spans in scopes:
                    for _ in _spans_of(scope_spans):
                        out.reject(f"the resource of these spans cannot be read: {exc}")
                continue
            for scope_spans in scopes:
                scope = scope_spans.get("scope") or {}
                scope_name = _scope_text(scope.get("name"))
                scope_version = _scope_text(scope.get("version"))
                for s in _spans_of(scope_spans):
                    try:
                        out.spans.append(_json_span(s, resource, resource_notes, scope_name, scope_version,
                                                    default_project))
                    except _Rejected as exc:
                        out.reject(str(exc))
                    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
                        out.reject(f"a span could not be read ({type(exc).__name__}: {exc})")
    except (AttributeError, TypeError, ValueError) as exc:
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"The JSON is not shaped like an OTLP ExportTraceServiceRequest ({exc}).") from None
    return out


def _scope_text(value: Any) -> str | None:
    """A scope's name or version: text as sent, anything else as its text, nothing as None."""
    if value is None or value == "":
        return None
    return value if type(value) is str else str(value)


def _spans_of(scope_spans: Any) -> list[Any]:
    spans = scope_spans.get("spans") or []
    if not isinstance(spans, list):
        raise DecodeError("spans must be a list of span objects.")
    return spans


def _json_span(s: Any, resource: dict[str, Any], resource_notes: list[str], scope_name: str | None,
               scope_version: str | None, default_project: str) -> Span:
    if not isinstance(s, Mapping):
        raise _Rejected(f"a span must be a JSON object; got {s!r:.40}")
    name = _text(s.get("name"), "name", "")
    trace_id = _id(s, "traceId", "trace_id", 32, name)
    span_id = _id(s, "spanId", "span_id", 16, name)
    parent = None
    raw_parent = _get(s, "parentSpanId", "parent_span_id", "")
    if raw_parent != "":
        parent = _hex_id(raw_parent, 16)
        if parent is None and raw_parent != _ZERO_SPAN:
            raise _Rejected(f"span {name!r} has parentSpanId {raw_parent!r:.60}; it must be 16 hex characters, "
                            "or empty for a root span")
    status = s.get("status") or {}
    if not isinstance(status, Mapping):
        raise _Rejected(f"span {name!r} has a status that is not an object")
    code = _enum(status.get("code", 0), _STATUS_NAMES, "STATUS_CODE_")
    kind = _enum(s.get("kind", 0), _KIND_NAMES, "SPAN_KIND_")
    start = _nanos(_get(s, "startTimeUnixNano", "start_time_unix_nano", 0), "startTimeUnixNano", name)
    end = _nanos(_get(s, "endTimeUnixNano", "end_time_unix_nano", 0), "endTimeUnixNano", name)
    notes = list(resource_notes)
    attributes = _json_attributes(s.get("attributes") or [], notes)
    events = []
    for e in _list(s.get("events"), "events", name):
        if not isinstance(e, Mapping):
            raise _Rejected(f"span {name!r} has an event that is not an object")
        events.append(Event(
            _text(e.get("name"), "an event name", name),
            _nanos(_get(e, "timeUnixNano", "time_unix_nano", 0), "an event timeUnixNano", name),
            _json_attributes(e.get("attributes") or [], notes),
        ))
    links = []
    for k in _list(s.get("links"), "links", name):
        if not isinstance(k, Mapping):
            raise _Rejected(f"span {name!r} has a link that is not an object")
        links.append(Link(
            _id(k, "traceId", "trace_id", 32, name + " (a link)"),
            _id(k, "spanId", "span_id", 16, name + " (a link)"),
            _json_attributes(k.get("attributes") or [], notes),
        ))
    if notes:
        attributes[REPAIRED] = notes
    return span_from(
        new_raw_span(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent,
            name=name,
            start_time_ns=start,
            end_time_ns=end or start,
            status_code=_STATUS[code] if 0 <= code < 3 else StatusCode.UNSET,
            status_message=_text(status.get("message"), "status.message", name),
            otel_kind=_KINDS[kind] if 0 <= kind < 6 else "INTERNAL",
            attributes=attributes,
            resource=resource,
            events=tuple(events),
            links=tuple(links),
            scope_name=scope_name,
            scope_version=scope_version,
        ),
        default_project=default_project,
    )
