"""OTLP log requests, protobuf or JSON, decoded into :class:`~workbench.model.LogRecord`.

The logs twin of :mod:`workbench.collector.otlp` (whose attribute readers it shares). A
record whose trace or span id has the wrong length is rejected alone (OTLP's partial
success); a body that cannot be parsed at all raises :class:`DecodeError`. Ids are optional
on log records: a record without them belongs to no span and is kept as it is.

:func:`redact_records` runs the ingest pipeline's redaction over records, through the span
event each stands for, so that log records meet exactly the policy span events do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from workbench.collector.otlp import _get, _json_attributes, _json_value, _pb_attributes, _pb_value
from workbench.errors import DecodeError
from workbench.model import LogRecord, Span
from workbench.semconv.logs import as_event, body_keys

__all__ = ["DecodedLogs", "decode_logs_json", "decode_logs_protobuf", "redact_records"]

_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass
class DecodedLogs:
    """The log records of one request, and those rejected with the first reason."""

    records: list[LogRecord] = field(default_factory=list)
    rejected: int = 0
    error: str = ""

    def reject(self, reason: str) -> None:
        """Count one rejected record, keeping the first reason."""
        self.rejected += 1
        if not self.error:
            self.error = reason


_MAX_TIME_NS = 2**63 - 1  # a signed 64-bit nanosecond count, as stored


def _record_time(time_ns: int, observed_ns: int) -> int | None:
    """OTLP: the event's time when known, else when it was observed, else now; None when
    the time is out of range (a fixed64 on the wire may exceed what can be stored)."""
    moment = time_ns or observed_ns or time.time_ns()
    return moment if 0 < moment <= _MAX_TIME_NS else None


class _BadRecord(ValueError):
    """A log record that cannot be stored; the message says why (its request keeps the others)."""


def _json_text(record: Mapping[str, Any], camel: str, snake: str) -> str | None:
    value = _get(record, camel, snake)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _BadRecord(f"a log record has {camel} {value!r}; it must be text")
    return value


def _json_time(record: Mapping[str, Any], camel: str, snake: str) -> int:
    value = _get(record, camel, snake, 0)
    if isinstance(value, float) and value.is_integer() and value >= 0:
        value = int(value)  # a JSON number, as some encoders write 64-bit integers
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise _BadRecord(f"a log record has {camel} {value!r}; it must be a whole number of nanoseconds")
    return int(value)


def _json_record(r: Any, resource: dict[str, Any], scope: Mapping[str, Any]) -> LogRecord:
    """One OTLP/JSON log record; :class:`_BadRecord` (or a ValueError) when it cannot be stored."""
    if not isinstance(r, dict):
        raise _BadRecord(f"a log record must be a JSON object; got {r!r:.60}")
    ok_trace, trace_id = _json_id(_get(r, "traceId", "trace_id"), 32)
    ok_span, span_id = _json_id(_get(r, "spanId", "span_id"), 16)
    if not ok_trace:
        raise _BadRecord(
            f"a log record has traceId {_get(r, 'traceId', 'trace_id')!r}; it must be 32 hex "
            "characters or absent (OTLP/JSON writes ids as hex, not base64)"
        )
    if not ok_span:
        raise _BadRecord(
            f"a log record has spanId {_get(r, 'spanId', 'span_id')!r}; it must be 16 hex "
            "characters or absent (OTLP/JSON writes ids as hex, not base64)"
        )
    raw_body = r.get("body")
    stated = _json_time(r, "timeUnixNano", "time_unix_nano")
    observed = _json_time(r, "observedTimeUnixNano", "observed_time_unix_nano")
    moment = _record_time(stated, observed)
    if moment is None:
        raise _BadRecord(_out_of_range(stated or observed))
    return LogRecord(
        time_ns=moment,
        trace_id=trace_id,
        span_id=span_id,
        event_name=_json_text(r, "eventName", "event_name"),
        body=_json_value(raw_body) if raw_body else None,
        attributes=_json_attributes(r.get("attributes", [])),
        resource=resource,
        severity_number=_severity(_get(r, "severityNumber", "severity_number")),
        severity_text=_json_text(r, "severityText", "severity_text"),
        scope_name=_scope_text(scope.get("name")),
        scope_version=_scope_text(scope.get("version")),
    )


def _scope_text(value: Any) -> str | None:
    return None if value is None or value == "" else value if isinstance(value, str) else str(value)


def _out_of_range(value: int) -> str:
    return f"a log record has time {value}, out of range; send nanoseconds since the Unix epoch"


# Protobuf --------------------------------------------------------------------------------


def decode_logs_protobuf(body: bytes) -> DecodedLogs:
    """Decode an OTLP/HTTP protobuf ``ExportLogsServiceRequest``.

    Raises:
        DecodeError: The body is not a valid request.
    """
    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(body)
    except (ProtobufDecodeError, ValueError, RuntimeError) as exc:
        raise DecodeError(
            f"The body is not a valid OTLP ExportLogsServiceRequest in protobuf ({exc}); send "
            "protobuf with Content-Type application/x-protobuf, or OTLP/JSON with application/json."
        ) from None
    out = DecodedLogs()
    for resource_logs in request.resource_logs:
        resource = _pb_attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            for r in scope_logs.log_records:
                raw_trace, raw_span = r.trace_id, r.span_id
                if len(raw_trace) not in (0, 16):
                    out.reject(f"a log record has trace_id of {len(raw_trace)} bytes; it must be 16 bytes or empty")
                    continue
                if len(raw_span) not in (0, 8):
                    out.reject(f"a log record has span_id of {len(raw_span)} bytes; it must be 8 bytes or empty")
                    continue
                moment = _record_time(r.time_unix_nano, r.observed_time_unix_nano)
                if moment is None:
                    out.reject(_out_of_range(r.time_unix_nano or r.observed_time_unix_nano))
                    continue
                trace_id = raw_trace.hex() if raw_trace else None
                span_id = raw_span.hex() if raw_span else None
                out.records.append(
                    LogRecord(
                        time_ns=moment,
                        trace_id=None if trace_id == _ZERO_TRACE else trace_id,
                        span_id=None if span_id == _ZERO_SPAN else span_id,
                        event_name=getattr(r, "event_name", "") or None,
                        body=_pb_value(r.body) if r.HasField("body") else None,
                        attributes=_pb_attributes(r.attributes),
                        resource=resource,
                        severity_number=_severity(r.severity_number),
                        severity_text=r.severity_text or None,
                        scope_name=scope.name or None,
                        scope_version=scope.version or None,
                    )
                )
    return out


# JSON ------------------------------------------------------------------------------------


def _json_id(value: Any, length: int) -> tuple[bool, str | None]:
    """(valid, id): an id is optional on a log record, but when present it must be hex."""
    if value in (None, ""):
        return True, None
    if not isinstance(value, str) or len(value) != length:
        return False, None
    try:
        int(value, 16)
    except ValueError:
        return False, None
    value = value.lower()
    return True, None if value == "0" * length else value


def _severity(value: Any) -> int | None:
    """An OTel severity number (1-24), or None when unset or out of that range."""
    if isinstance(value, str):  # the enum's name, as some JSON encoders write it
        from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber

        try:
            value = SeverityNumber.Value(value.upper())
        except ValueError:
            value = int(value) if value.isdigit() else None
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 24:
        return value
    return None


def decode_logs_json(body: bytes) -> DecodedLogs:
    """Decode an OTLP/JSON ``ExportLogsServiceRequest`` (hex ids, as the OTLP spec writes them).

    Raises:
        DecodeError: The body is not JSON, or not shaped like an OTLP logs request.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"The body is not valid JSON ({exc}); send an OTLP/JSON ExportLogsServiceRequest.") from None
    if not isinstance(data, dict):
        raise DecodeError("The body must be a JSON object with a resourceLogs list.")
    resource_logs_list = _get(data, "resourceLogs", "resource_logs", [])
    if not isinstance(resource_logs_list, list):
        raise DecodeError("resourceLogs must be a list.")
    out = DecodedLogs()
    try:
        for resource_logs in resource_logs_list:
            if not isinstance(resource_logs, dict):
                raise DecodeError("Each entry of resourceLogs must be an object with scopeLogs.")
            resource = _json_attributes((resource_logs.get("resource") or {}).get("attributes", []))
            for scope_logs in _get(resource_logs, "scopeLogs", "scope_logs", []):
                if not isinstance(scope_logs, dict):
                    raise DecodeError("Each entry of scopeLogs must be an object with logRecords.")
                scope = scope_logs.get("scope") or {}
                for r in _get(scope_logs, "logRecords", "log_records", []):
                    try:  # one bad record costs only itself (OTLP partial success), as a bad span does
                        record = _json_record(r, resource, scope)
                    except _BadRecord as exc:
                        out.reject(str(exc))
                        continue
                    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
                        out.reject(f"a log record could not be read ({exc})")
                        continue
                    out.records.append(record)
    except (AttributeError, TypeError, ValueError) as exc:
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"The JSON is not shaped like an OTLP ExportLogsServiceRequest ({exc}).") from None
    return out


# Redaction -------------------------------------------------------------------------------


def redact_records(pipeline: Any, records: Iterable[LogRecord]) -> list[LogRecord]:
    """``records`` after the pipeline's redaction, applied to the span event each stands for.

    A record the pipeline drops (redaction failed) is left out, as a span would be.
    """
    out: list[LogRecord] = []
    for record in records:
        event = as_event(record)
        carrier = Span(
            trace_id=record.trace_id or _ZERO_TRACE,
            span_id=record.span_id or _ZERO_SPAN,
            parent_span_id=None,
            name=event.name,
            start_time_ns=record.time_ns,
            end_time_ns=record.time_ns,
            events=(event,),
        )
        kept = pipeline([carrier])
        if not kept:
            continue
        redacted = kept[0].events[0].attributes if kept[0].events else {}
        if redacted is event.attributes:
            out.append(record)
            continue
        out.append(_split(record, redacted))
    return out


def _split(record: LogRecord, attributes: Mapping[str, Any]) -> LogRecord:
    """The record with body and attributes taken back from its redacted event attributes."""
    keys = body_keys(record)
    if isinstance(record.body, Mapping):
        body: Any = {key: attributes[key] for key in keys if key in attributes}
    elif keys:
        body = attributes.get(keys[0])
    else:
        body = None
    original = record.attributes if isinstance(record.attributes, Mapping) else {}
    rest = {k: v for k, v in attributes.items() if k in original and k not in keys}
    for key in original:  # the event name attribute is not part of the event's attributes
        if key not in attributes and key not in keys and key == "event.name":
            rest[key] = original[key]
    return replace(record, body=body, attributes=rest)
