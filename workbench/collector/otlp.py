"""OTLP trace requests, protobuf or JSON, decoded into :class:`~workbench.model.Span`.

This is the edge where wire formats stop: one function per encoding, both ending in
:func:`workbench.semconv.make_span`. Spans with invalid ids are rejected one by one (OTLP's
partial success); a body that cannot be parsed at all raises :class:`DecodeError`.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from workbench.errors import DecodeError
from workbench.model import Event, Link, Span, StatusCode
from workbench.semconv import make_span

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
            self.error = reason


# Protobuf ------------------------------------------------------------------------------


def _pb_value(value: Any) -> Any:
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
        return [_pb_value(v) for v in items]
    if which == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in value.kvlist_value.values}
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

    Raises:
        DecodeError: The body is not a valid request.
    """
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (ProtobufDecodeError, ValueError, RuntimeError) as exc:
        raise DecodeError(
            f"The body is not a valid OTLP ExportTraceServiceRequest in protobuf ({exc}); send "
            "protobuf with Content-Type application/x-protobuf, or OTLP/JSON with application/json."
        ) from None
    out = Decoded()
    for resource_spans in request.resource_spans:
        resource = _pb_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            scope_name = scope.name or None
            scope_version = scope.version or None
            for s in scope_spans.spans:
                raw_trace, raw_span, raw_parent = s.trace_id, s.span_id, s.parent_span_id
                trace_id = raw_trace.hex()
                span_id = raw_span.hex()
                if len(raw_trace) != 16 or trace_id == _ZERO_TRACE:
                    out.reject(f"span {s.name!r} has trace_id of {len(raw_trace)} bytes; it must be 16 non-zero bytes")
                    continue
                if len(raw_span) != 8 or span_id == _ZERO_SPAN:
                    out.reject(f"span {s.name!r} has span_id of {len(raw_span)} bytes; it must be 8 non-zero bytes")
                    continue
                parent = raw_parent.hex() if len(raw_parent) == 8 else None
                status = s.status
                code = status.code
                kind = s.kind
                start = s.start_time_unix_nano
                events = s.events
                links = s.links
                out.spans.append(
                    make_span(
                        trace_id=trace_id,
                        span_id=span_id,
                        parent_span_id=parent if parent != _ZERO_SPAN else None,
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
                        default_project=default_project,
                    )
                )
    return out


# JSON ----------------------------------------------------------------------------------


def _get(obj: Mapping[str, Any], camel: str, snake: str, default: Any = None) -> Any:
    # OTLP/JSON writes lowerCamelCase; protobuf JSON parsers also accept the snake_case names.
    value = obj.get(camel)
    if value is None:
        value = obj.get(snake, default)
    return default if value is None else value


def _json_value(value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise DecodeError(f"An attribute value must be an AnyValue object like {{\"stringValue\": \"x\"}}; got {value!r:.60}.")
    for key, converter in _JSON_SCALARS:
        if key in value:
            return converter(value[key])
    array = _get(value, "arrayValue", "array_value")
    if array is not None:
        return [_json_value(v) for v in array.get("values", [])]
    kvlist = _get(value, "kvlistValue", "kvlist_value")
    if kvlist is not None:
        return _json_attributes(kvlist.get("values", []))
    data = _get(value, "bytesValue", "bytes_value")
    if data is not None:
        try:
            return binascii.a2b_base64(data)
        except (binascii.Error, TypeError):
            raise DecodeError("A bytesValue is not base64 text.") from None
    return None


_JSON_SCALARS = (
    ("stringValue", str),
    ("string_value", str),
    ("intValue", int),
    ("int_value", int),
    ("doubleValue", float),
    ("double_value", float),
    ("boolValue", bool),
    ("bool_value", bool),
)


def _json_attributes(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        raise DecodeError(f"attributes must be a list of {{key, value}} objects; got {type(items).__name__}.")
    try:
        return {kv["key"]: _json_value(kv.get("value", {})) for kv in items}
    except (KeyError, TypeError) as exc:
        raise DecodeError(f"An attribute is missing its key or value ({exc}).") from None
    except ValueError as exc:
        raise DecodeError(f"An attribute value cannot be read: {exc}.") from None


def _hex_id(value: Any, length: int) -> str | None:
    if not isinstance(value, str) or len(value) != length:
        return None
    try:
        int(value, 16)
    except ValueError:
        return None
    value = value.lower()
    return None if value == "0" * length else value


def _enum(value: Any, names: tuple[str, ...], prefix: str) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        name = value.upper().removeprefix(prefix)
        for number, candidate in enumerate(names):
            if candidate == name:
                return number
    return 0


def decode_json(body: bytes, *, default_project: str = "default") -> Decoded:
    """Decode an OTLP/JSON ``ExportTraceServiceRequest`` (hex ids, as the OTLP spec writes them).

    Raises:
        DecodeError: The body is not JSON, or not shaped like an OTLP request.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"The body is not valid JSON ({exc}); send an OTLP/JSON ExportTraceServiceRequest.") from None
    if not isinstance(data, dict):
        raise DecodeError("The body must be a JSON object with a resourceSpans list.")
    resource_spans_list = _get(data, "resourceSpans", "resource_spans", [])
    if not isinstance(resource_spans_list, list):
        raise DecodeError("resourceSpans must be a list.")
    out = Decoded()
    kind_names = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
    status_names = ("UNSET", "OK", "ERROR")
    try:
        for resource_spans in resource_spans_list:
            resource = _json_attributes((resource_spans.get("resource") or {}).get("attributes", []))
            for scope_spans in _get(resource_spans, "scopeSpans", "scope_spans", []):
                scope = scope_spans.get("scope") or {}
                for s in scope_spans.get("spans", []):
                    name = s.get("name", "")
                    trace_id = _hex_id(_get(s, "traceId", "trace_id"), 32)
                    span_id = _hex_id(_get(s, "spanId", "span_id"), 16)
                    if trace_id is None:
                        out.reject(
                            f"span {name!r} has traceId {_get(s, 'traceId', 'trace_id')!r}; it must be 32 hex "
                            "characters, not all zero (OTLP/JSON writes ids as hex, not base64)"
                        )
                        continue
                    if span_id is None:
                        out.reject(
                            f"span {name!r} has spanId {_get(s, 'spanId', 'span_id')!r}; it must be 16 hex "
                            "characters, not all zero (OTLP/JSON writes ids as hex, not base64)"
                        )
                        continue
                    status = s.get("status") or {}
                    code = _enum(status.get("code", 0), status_names, "STATUS_CODE_")
                    kind = _enum(s.get("kind", 0), kind_names, "SPAN_KIND_")
                    start = int(_get(s, "startTimeUnixNano", "start_time_unix_nano", 0))
                    out.spans.append(
                        make_span(
                            trace_id=trace_id,
                            span_id=span_id,
                            parent_span_id=_hex_id(_get(s, "parentSpanId", "parent_span_id", ""), 16),
                            name=name,
                            start_time_ns=start,
                            end_time_ns=int(_get(s, "endTimeUnixNano", "end_time_unix_nano", 0)) or start,
                            status_code=_STATUS[code] if 0 <= code < 3 else StatusCode.UNSET,
                            status_message=status.get("message", ""),
                            otel_kind=_KINDS[kind] if 0 <= kind < 6 else "INTERNAL",
                            attributes=_json_attributes(s.get("attributes", [])),
                            resource=resource,
                            events=tuple(
                                Event(
                                    e.get("name", ""),
                                    int(_get(e, "timeUnixNano", "time_unix_nano", 0)),
                                    _json_attributes(e.get("attributes", [])),
                                )
                                for e in s.get("events", [])
                            ),
                            links=tuple(
                                Link(
                                    str(_get(k, "traceId", "trace_id", "")).lower(),
                                    str(_get(k, "spanId", "span_id", "")).lower(),
                                    _json_attributes(k.get("attributes", [])),
                                )
                                for k in s.get("links", [])
                            ),
                            scope_name=scope.get("name") or None,
                            scope_version=scope.get("version") or None,
                            default_project=default_project,
                        )
                    )
    except (AttributeError, TypeError, ValueError) as exc:
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"The JSON is not shaped like an OTLP ExportTraceServiceRequest ({exc}).") from None
    return out
