"""Malformed and hostile spans against a real server, one test per row of a table.

Every request but the body-level ones carries one good span beside the bad one: the good span
must be stored, the bad one repaired (and flagged under ``workbench.repaired``) or rejected
through OTLP partial success, the answer must carry a message, and the server must answer the
next good request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.helpers import otlp_body

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
START = 1_700_000_000_000_000_000
BAD_TRACE = "5b8efff798038103d269b633813fc60c"
BAD_SPAN = "eee19b7ec3c1b174"
REPAIRED = "workbench.repaired"


def _good_json(n: int = 1) -> dict[str, Any]:
    return {"traceId": f"{n:032x}", "spanId": f"{n:016x}", "name": f"good-{n}",
            "startTimeUnixNano": str(START), "endTimeUnixNano": str(START + 10**9),
            "attributes": [{"key": "app.n", "value": {"intValue": str(n)}}]}


def _bad_json(**fields: Any) -> dict[str, Any]:
    span = {"traceId": BAD_TRACE, "spanId": BAD_SPAN, "name": "bad",
            "startTimeUnixNano": str(START), "endTimeUnixNano": str(START + 10**9)}
    span.update(fields)
    return span


def _json_request(*spans: Any, resource: list[Any] | None = None) -> bytes:
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": resource or [{"key": "service.name", "value": {"stringValue": "bad-input"}}]},
        "scopeSpans": [{"scope": {"name": "t"}, "spans": list(spans)}],
    }]}).encode()


def _attr(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"intValue": "1"}
    for _ in range(depth):
        value = {"arrayValue": {"values": [value]}}
    return value


def _vector(value: Any) -> list[dict[str, Any]]:
    return [_attr("openinference.span.kind", {"stringValue": "EMBEDDING"}),
            _attr("embedding.embeddings.0.embedding.text", {"stringValue": "hello"}),
            _attr("embedding.embeddings.0.embedding.vector",
                  {"arrayValue": {"values": [{"doubleValue": value}] + [{"doubleValue": 0.5}] * 9}})]


def _pb_request(make_bad: Callable[[Any], None]) -> bytes:
    """A protobuf request: one good span, and one made by ``make_bad`` (given a fresh span)."""
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    good = spans.add()
    good.trace_id, good.span_id, good.name = b"\x01" * 16, b"\x01" * 8, "good-1"
    good.start_time_unix_nano, good.end_time_unix_nano = START, START + 10**9
    bad = spans.add()
    bad.trace_id, bad.span_id, bad.name = bytes.fromhex(BAD_TRACE), bytes.fromhex(BAD_SPAN), "bad"
    bad.start_time_unix_nano, bad.end_time_unix_nano = START, START + 10**9
    make_bad(bad)
    return request.SerializeToString()


def _pb_attr(span: Any, key: str, **value: Any) -> None:
    attribute = span.attributes.add()
    attribute.key = key
    for name, v in value.items():
        setattr(attribute.value, name, v)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _pb_deeply_nested_value(depth: int) -> bytes:
    """An AnyValue that nests ``depth`` arrays (written by hand: protobuf refuses to)."""
    value = b"\x18\x01"  # AnyValue.int_value = 1
    for _ in range(depth):
        value = _field(5, _field(1, value))  # AnyValue.array_value { values { ... } }
    return value


def _pb_deeply_nested(depth: int) -> bytes:
    """A request whose one span's attribute nests ``depth`` arrays."""
    attribute = _field(1, b"k") + _field(2, _pb_deeply_nested_value(depth))
    span = _field(1, bytes.fromhex(BAD_TRACE)) + _field(2, bytes.fromhex(BAD_SPAN)) + _field(9, attribute)
    return _field(1, _field(2, _field(2, span)))  # request.resource_spans.scope_spans.spans


def _pb_deep_resource(depth: int) -> bytes:
    """A request of one span whose resource has an attribute nesting ``depth`` arrays."""
    resource = _field(1, _field(1, b"r") + _field(2, _pb_deeply_nested_value(depth)))
    span = _field(1, b"\x07" * 16) + _field(2, b"\x07" * 8)
    return _field(1, _field(1, resource) + _field(2, _field(2, span)))


def _sdk(emit: Callable[[Any], None]) -> bytes:
    """A protobuf body made by the real SDK encoder, with a good span first."""

    def both(tracer: Any) -> None:
        with tracer.start_as_current_span("good-1"):
            pass
        emit(tracer)

    return otlp_body(both)


def _sdk_span(tracer: Any, start: int | None = None, end: int | None = None, **attributes: Any) -> None:
    span = tracer.start_span("bad", start_time=start, attributes=attributes or None)
    span.end(end_time=end)


@dataclass
class Case:
    """One malformed request and what must come of it."""

    id: str
    body: Callable[[], bytes]
    content_type: str = JSON
    status: int = 200
    rejected: int = 0
    message: str = ""  # a part of the partial-success or error message
    stored: int = 2  # spans stored after the request
    check: Callable[[dict[str, Any]], None] | None = None  # on the stored bad span's row
    extra: dict[str, Any] = field(default_factory=dict)


def _repaired(note: str) -> Callable[[dict[str, Any]], None]:
    def check(row: dict[str, Any]) -> None:
        notes = json.loads(row["attributes"])[REPAIRED]
        assert any(note in n for n in notes), notes
    return check


def _all(*checks: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def check(row: dict[str, Any]) -> None:
        for c in checks:
            c(row)
    return check


def _column(name: str, expected: Any) -> Callable[[dict[str, Any]], None]:
    def check(row: dict[str, Any]) -> None:
        assert row[name] == expected, (name, row[name])
    return check


def _attribute(key: str, expected: Any) -> Callable[[dict[str, Any]], None]:
    def check(row: dict[str, Any]) -> None:
        assert json.loads(row["attributes"])[key] == expected
    return check


def _vector_is_null(row: dict[str, Any]) -> None:
    assert row["vectors"] == [None], row["vectors"]
    _repaired("vector with NaN")(row)


def _rejected(id: str, body: Callable[[], bytes], message: str, content_type: str = JSON) -> Case:
    return Case(id, body, content_type, rejected=1, message=message, stored=1)


CASES = [
    # Values that fail late: kept when that is safe, and flagged.
    Case("lone-surrogate-in-name", lambda: _json_request(_good_json(), _bad_json(name="a\ud800b")),
         check=_all(_column("name", "a\ufffdb"), _repaired("lone surrogate"))),
    Case("lone-surrogate-in-attribute-key-and-value",
         lambda: _json_request(_good_json(), _bad_json(attributes=[_attr("k\udc00", {"stringValue": "v\ud800"})])),
         check=_all(_attribute("k\ufffd", "v\ufffd"), _repaired("lone surrogate"))),
    Case("lone-surrogate-in-resource",
         lambda: _json_request(_good_json(), _bad_json(),
                               resource=[_attr("service.name", {"stringValue": "svc\udfff"})]),
         check=_repaired("resource: lone surrogate")),
    Case("integer-past-2^64-kept-as-text",
         lambda: _json_request(_good_json(), _bad_json(attributes=[_attr("big", {"intValue": str(2**64)})])),
         check=_all(_attribute("big", str(2**64)), _repaired("outside 64 bits"))),
    Case("token-count-of-2^63",
         lambda: _json_request(_good_json(), _bad_json(attributes=[
             _attr("llm.token_count.prompt", {"intValue": str(2**63)})])),
         check=_all(_column("prompt_tokens", None), _attribute("llm.token_count.prompt", str(2**63)))),
    Case("token-counts-whose-sum-overflows",
         lambda: _json_request(_good_json(), _bad_json(attributes=[
             _attr("llm.token_count.prompt", {"intValue": str(2**62)}),
             _attr("llm.token_count.completion", {"intValue": str(2**62)})])),
         check=_all(_column("prompt_tokens", None), _column("total_tokens", None))),
    Case("end-before-start-clamped",
         lambda: _json_request(_good_json(), _bad_json(endTimeUnixNano=str(START - 10**9))),
         check=_all(_column("latency_ms", 0.0), _repaired("end_time: before start_time"))),
    Case("end-of-10^30-ns-clamped",
         lambda: _json_request(_good_json(), _bad_json(endTimeUnixNano=str(10**30))),
         check=_all(_column("latency_ms", 0.0), _repaired("end_time"))),
    Case("event-time-of-10^30-ns",
         lambda: _json_request(_good_json(), _bad_json(events=[{"name": "e", "timeUnixNano": str(10**30)}])),
         check=_all(_repaired("events.time"),
                    lambda row: json.loads(row["events"])[0]["time_ns"] == START or pytest.fail(row["events"]))),
    Case("nan-vector-stored-as-null", lambda: _json_request(_good_json(), _bad_json(attributes=_vector("NaN"))),
         check=_vector_is_null),
    Case("infinite-vector-stored-as-null",
         lambda: _json_request(_good_json(), _bad_json(attributes=_vector("-Infinity"))), check=_vector_is_null),
    Case("double-past-float32-vector-stored-as-null",
         lambda: _json_request(_good_json(), _bad_json(attributes=_vector(1e300))), check=_vector_is_null),
    Case("nan-double-attribute-is-json-null",
         lambda: _json_request(_good_json(), _bad_json(attributes=[_attr("x", {"doubleValue": "NaN"})])),
         check=_attribute("x", None)),
    Case("document-position-past-2^31",
         lambda: _json_request(_good_json(), _bad_json(attributes=[
             _attr(f"retrieval.documents.{2**40}.document.id", {"stringValue": "d"})])),
         check=_repaired("documents: position")),
    # Spans that cannot be stored: rejected alone.
    _rejected("start-of-10^30-ns", lambda: _json_request(_good_json(), _bad_json(startTimeUnixNano=str(10**30))),
              "start time"),
    _rejected("start-infinite", lambda: _json_request(_good_json(), _bad_json(startTimeUnixNano="INF")).replace(
        b'"INF"', b"1e400"), "startTimeUnixNano"),
    _rejected("start-in-arabic-indic-digits",
              lambda: _json_request(_good_json(), _bad_json(startTimeUnixNano="\u0661" * 19)), "startTimeUnixNano"),
    _rejected("start-negative", lambda: _json_request(_good_json(), _bad_json(startTimeUnixNano=-5)), "start time"),
    _rejected("trace-id-with-0x", lambda: _json_request(_good_json(), _bad_json(traceId="0x" + BAD_TRACE[2:])),
              "traceId"),
    _rejected("trace-id-with-sign", lambda: _json_request(_good_json(), _bad_json(traceId="+" + BAD_TRACE[1:])),
              "traceId"),
    _rejected("trace-id-with-underscores",
              lambda: _json_request(_good_json(), _bad_json(traceId=BAD_TRACE[:15] + "_" + BAD_TRACE[16:])),
              "traceId"),
    _rejected("span-id-with-spaces", lambda: _json_request(_good_json(), _bad_json(spanId=" " + BAD_SPAN[1:])),
              "spanId"),
    _rejected("span-id-in-non-ascii-digits",
              lambda: _json_request(_good_json(), _bad_json(spanId=BAD_SPAN[:15] + "\u0661")), "spanId"),
    _rejected("span-id-too-long", lambda: _json_request(_good_json(), _bad_json(spanId=BAD_SPAN + "00")), "spanId"),
    _rejected("ids-in-base64", lambda: _json_request(_good_json(), _bad_json(traceId="W47/95gDgQPSabYzgT/GDA==")),
              "hex, not base64"),
    _rejected("parent-id-of-wrong-length", lambda: _json_request(_good_json(), _bad_json(parentSpanId="abc123")),
              "parentSpanId"),
    _rejected("link-with-bad-id",
              lambda: _json_request(_good_json(), _bad_json(links=[{"traceId": "xyz", "spanId": BAD_SPAN}])),
              "traceId"),
    _rejected("bad-id-and-a-lone-surrogate-in-the-name",
              lambda: _json_request(_good_json(), _bad_json(name="x\ud800", spanId="nope")), "spanId"),
    _rejected("name-not-a-string", lambda: _json_request(_good_json(), _bad_json(name=5)), "name"),
    _rejected("bool-as-other-text",
              lambda: _json_request(_good_json(), _bad_json(attributes=[_attr("b", {"boolValue": "yes"})])),
              "boolValue"),
    _rejected("int-that-is-no-number",
              lambda: _json_request(_good_json(), _bad_json(attributes=[_attr("i", {"intValue": "12abc"})])),
              "intValue"),
    _rejected("attributes-not-a-list", lambda: _json_request(_good_json(), _bad_json(attributes={"a": 1})),
              "attributes"),
    _rejected("attribute-nested-40-deep",
              lambda: _json_request(_good_json(), _bad_json(attributes=[_attr("deep", _nested(40))])), "levels"),
    # Bodies that cannot be read at all: a 400 with a message.
    Case("only-a-bad-span", lambda: _json_request(_bad_json(spanId="0x" + BAD_SPAN[2:])), status=400,
         rejected=1, message="No span was accepted", stored=0),
    Case("json-nested-100000-deep", lambda: b"[" * 100_000, status=400, message="nests too deeply", stored=0),
    Case("json-object-nested-100000-deep", lambda: b'{"a":' * 100_000, status=400, message="nests too deeply",
         stored=0),
    Case("protobuf-nested-too-deep", lambda: _pb_deeply_nested(200), PROTOBUF, status=400,
         message="nests messages", stored=0),
    # Protobuf.
    Case("protobuf-attribute-nested-40-deep", lambda: _pb_request(lambda s: None) + _pb_deeply_nested(40),
         PROTOBUF, rejected=1, message="levels", stored=2),
    Case("protobuf-resource-nested-40-deep", lambda: _pb_request(lambda s: None) + _pb_deep_resource(40),
         PROTOBUF, rejected=1, message="resource", stored=2),
    _rejected("protobuf-start-of-2^64-1", lambda: _pb_request(lambda s: setattr(s, "start_time_unix_nano", 2**64 - 1)),
              "start time", PROTOBUF),
    _rejected("protobuf-parent-of-5-bytes", lambda: _pb_request(lambda s: setattr(s, "parent_span_id", b"\x01" * 5)),
              "parent_span_id", PROTOBUF),
    _rejected("protobuf-link-to-a-3-byte-trace",
              lambda: _pb_request(lambda s: s.links.add(trace_id=b"abc", span_id=b"\x01" * 8)), "link", PROTOBUF),
    Case("protobuf-text-not-utf8",
         lambda: _pb_request(lambda s: setattr(s, "name", "bad-NAME")).replace(b"bad-NAME", b"bad\xed\xa0\x80\xff\xfe"),
         PROTOBUF, check=_all(lambda row: row["name"].startswith("bad\ufffd") or pytest.fail(row["name"]),
                              _repaired("invalid UTF-8"))),
    Case("protobuf-token-counts-at-int64-max",
         lambda: _pb_request(lambda s: (_pb_attr(s, "llm.token_count.prompt", int_value=2**63 - 1),
                                        _pb_attr(s, "llm.token_count.completion", int_value=2**63 - 1))),
         PROTOBUF, check=_all(_column("prompt_tokens", None), _column("total_tokens", None))),
    Case("protobuf-event-time-of-2^64-1",
         lambda: _pb_request(lambda s: s.events.add(name="e", time_unix_nano=2**64 - 1)), PROTOBUF,
         check=_all(_repaired("events.time"),
                    lambda row: json.loads(row["events"])[0]["time_ns"] == START or pytest.fail(row["events"]))),
    Case("sdk-end-before-start", lambda: _sdk(lambda t: _sdk_span(t, start=START, end=START - 5)), PROTOBUF,
         check=_all(_column("latency_ms", 0.0), _repaired("end_time: before start_time"))),
    Case("sdk-nan-vector", lambda: _sdk(lambda t: _sdk_span(t, **{
        "openinference.span.kind": "EMBEDDING", "embedding.embeddings.0.embedding.text": "x",
        "embedding.embeddings.0.embedding.vector": [math.nan] + [0.5] * 15})), PROTOBUF, check=_vector_is_null),
    Case("sdk-start-past-2262", lambda: _sdk(lambda t: _sdk_span(t, start=2**63 + 5, end=2**63 + 10)), PROTOBUF,
         rejected=1, message="start time", stored=1),
]


def _post(url: str, body: bytes, content_type: str) -> requests.Response:
    return requests.post(url + "/v1/traces", data=body, headers={"Content-Type": content_type}, timeout=30)


def _outcome(response: requests.Response, content_type: str) -> tuple[int, str]:
    """(rejected spans, message) of an answer, in the encoding it came in."""
    if content_type == PROTOBUF:
        assert response.headers["Content-Type"] == PROTOBUF
        if response.status_code == 200:
            partial = ExportTraceServiceResponse.FromString(response.content).partial_success
            return partial.rejected_spans, partial.error_message
        return -1, status_pb2.Status.FromString(response.content).message
    assert response.headers["Content-Type"].startswith(JSON)
    payload = response.json()  # standard JSON, always
    text = json.dumps(payload, ensure_ascii=False)
    assert not any("\ud800" <= c <= "\udfff" for c in text), text  # nothing a strict reader refuses
    if response.status_code == 200:
        partial = payload.get("partialSuccess", {})
        return int(partial.get("rejectedSpans", 0)), partial.get("errorMessage", "")
    return -1, payload["message"]


def _bad_row(store: Any) -> dict[str, Any] | None:
    rows = store.query(
        "SELECT s.*, (SELECT list(e.vector) FROM embeddings e WHERE e.span_id = s.span_id) AS vectors "
        "FROM spans s WHERE span_id NOT LIKE '000000000000000%' AND name NOT LIKE 'good-%'"
    ).to_pylist()
    assert len(rows) <= 1
    return rows[0] if rows else None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input(case: Case, server, store) -> None:
    response = _post(server.url, case.body(), case.content_type)
    assert response.status_code == case.status, response.text
    rejected, message = _outcome(response, case.content_type)
    if case.status == 200:
        assert rejected == case.rejected, message
    if case.message:
        assert case.message in message, message
    if case.rejected or case.status != 200:
        assert message and message[-1] != "\n"
    assert store.counts()["spans"] == case.stored  # a 200 means committed: no waiting
    assert server.ingest.rejected_spans == case.rejected
    if case.check is not None:
        row = _bad_row(store)
        assert row is not None, "the bad span was not stored"
        case.check(row)
    # The server goes on serving.
    after = _post(server.url, _json_request(_good_json(7)), JSON)
    assert after.status_code == 200 and after.json() == {}
    assert store.counts()["spans"] == case.stored + 1
