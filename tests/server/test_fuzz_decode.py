"""A seeded fuzzer over the OTLP protobuf and JSON decoders, fed with mutated SDK-made bodies.

Each case mutates a real request body (made by the OpenTelemetry SDK's encoder, or its
OTLP/JSON form): flipped, cut, spliced or inserted bytes, and values swapped for hostile ones
in the decoded structure. What must hold, for every case:

* decoding raises nothing but :class:`DecodeError` (which the server answers with a 400);
* when it decodes, accepted + rejected spans add up to the spans in the body, and the accepted
  ones are all in the Arrow batch;
* the batches are stored by the real writer with nothing refused;
* and over real HTTP: never a 500, every 200 means its accepted spans are committed, and the
  server answers the next good request.

CI runs a few thousand cases. More by hand, with another seed::

    FUZZ_CASES=100000 FUZZ_SEED=7 python -m pytest -q tests/server/test_fuzz_decode.py
"""

from __future__ import annotations

import base64
import copy
import json
import math
import os
import random
from typing import Any

import pytest
import requests
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.helpers import otlp_body, wait_for
from workbench.errors import DecodeError
from workbench.server.decode import decode_body
from workbench.store.rows import SpanBatch

CASES = int(os.environ.get("FUZZ_CASES", "2500"))
SEED = int(os.environ.get("FUZZ_SEED", "20261205"))
HTTP_CASES = max(40, CASES // 20)
JSON = "application/json"
PROTOBUF = "application/x-protobuf"


# Seeds: real SDK bodies ------------------------------------------------------------------


def _emit(tracer: Any) -> None:
    with tracer.start_as_current_span("rag") as root:
        root.set_attributes({"openinference.span.kind": "CHAIN", "input.value": "How do refunds work?",
                             "session.id": "s-1", "tags": ["a", "b"], "flags": [True, False]})
        with tracer.start_as_current_span("embed") as span:
            span.set_attributes({"openinference.span.kind": "EMBEDDING",
                                 "embedding.embeddings.0.embedding.text": "refunds",
                                 "embedding.embeddings.0.embedding.vector": [0.25] * 12})
        with tracer.start_as_current_span("retrieve") as span:
            span.set_attributes({"openinference.span.kind": "RETRIEVER",
                                 "retrieval.documents.0.document.id": "kb-1",
                                 "retrieval.documents.0.document.score": 0.9,
                                 "retrieval.documents.0.document.content": "Within 30 days."})
        with tracer.start_as_current_span("llm") as span:
            span.set_attributes({"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o",
                                 "llm.token_count.prompt": 120, "llm.token_count.completion": 30,
                                 "llm.input_messages.0.message.role": "user",
                                 "llm.input_messages.0.message.content": "hi",
                                 "eval.correct.score": 1.0, "eval.correct.label": "yes"})
            span.add_event("first token", {"n": 1})
            span.record_exception(ValueError("boom"))
    with tracer.start_as_current_span("chat gpt-4o") as span:
        span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                             "gen_ai.usage.input_tokens": 42, "gen_ai.usage.output_tokens": 7})


def _to_json(body: bytes) -> dict[str, Any]:
    """The OTLP/JSON form of a protobuf request (ids in hex, as the OTLP spec writes them)."""
    data = json_format.MessageToDict(ExportTraceServiceRequest.FromString(body))
    for resource_spans in data.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for holder in [span, *span.get("links", [])]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in holder:
                            holder[key] = base64.b64decode(holder[key]).hex()
    return data


@pytest.fixture(scope="module")
def seeds() -> tuple[list[bytes], list[dict[str, Any]]]:
    bodies = [otlp_body(_emit, resource={"service.name": "fuzz"}), otlp_body(_emit)]
    return bodies, [_to_json(body) for body in bodies]


# Mutations -------------------------------------------------------------------------------


HOSTILE: list[Any] = [
    None, "", 0, -1, 1, 2**31, 2**53, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1, 1.5, -0.0, 1e300,
    math.nan, math.inf, -math.inf, True, False, "\ud800", "a\udfffb", "\x00", "0x1f", "1_000", " 12 ",
    "\u0661\u0662", "NaN", "Infinity", "-5", "1e400", "AAAA", "W47/95gDgQPSabYzgT/GDA==", "00" * 16, "0" * 16,
    "ff" * 16, "f" * 15, "zz" * 8, [], {}, [1, "a", None], {"a": {"b": {}}}, "x" * 300,
    {"stringValue": 5}, {"intValue": "nope"}, {"doubleValue": "NaN"}, {"boolValue": "true"},
    {"arrayValue": {"values": 5}}, {"kvlistValue": []}, {"bytesValue": "!!"},
]


def _nested(rng: random.Random) -> Any:
    value: Any = {"intValue": str(rng.randrange(10))}
    for _ in range(rng.choice([5, 31, 32, 33, 60, 250])):
        value = {"arrayValue": {"values": [value]}} if rng.random() < 0.5 else \
            {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    return value


def _nodes(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if len(path) > 40:  # inside a value nested on purpose: deep enough
        return out
    if isinstance(data, dict):
        for key, value in data.items():
            out += _nodes(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += _nodes(value, (*path, index))
    return out


def _mutate_json(data: dict[str, Any], rng: random.Random) -> bytes:
    data = json.loads(json.dumps(data))  # a deep copy
    for _ in range(rng.choice([1, 1, 2, 3, 6])):
        nodes = [p for p in _nodes(data) if p]
        if not nodes:
            break
        path = rng.choice(nodes)
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        choice = rng.random()
        if choice < 0.1 and isinstance(parent, dict):
            del parent[last]
        elif choice < 0.2 and isinstance(parent, list):
            try:
                parent.insert(rng.randrange(len(parent) + 1), copy.deepcopy(parent[last]))
            except RecursionError:  # a value nested on purpose: leave it be
                pass
        elif choice < 0.3:
            parent[last] = _nested(rng)
        else:
            parent[last] = copy.deepcopy(rng.choice(HOSTILE))
    text = json.dumps(data)  # surrogates escaped, NaN and infinities as JSON's extensions
    if rng.random() < 0.15:
        return _mutate_bytes(text.encode(), rng)
    return text.encode()


def _mutate_bytes(body: bytes, rng: random.Random) -> bytes:
    data = bytearray(body)
    for _ in range(rng.choice([1, 1, 2, 4, 8])):
        if not data:
            break
        choice = rng.random()
        at = rng.randrange(len(data))
        if choice < 0.3:
            data[at] ^= 1 << rng.randrange(8)
        elif choice < 0.5:
            data[at] = rng.choice([0x00, 0xFF, 0x80, 0x7F, 0xED, 0xC0, rng.randrange(256)])
        elif choice < 0.6:
            del data[at:at + rng.randrange(1, 16)]
        elif choice < 0.7:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
        elif choice < 0.8:
            end = min(len(data), at + rng.randrange(1, 64))
            data[at:at] = data[at:end]
        elif choice < 0.9:
            del data[at:]
        else:
            data[at:at + 3] = b"\xed\xa0\x80"  # a lone surrogate, as a careless encoder writes it
    return bytes(data)


def _mutate_protobuf(body: bytes, rng: random.Random) -> bytes:
    request = ExportTraceServiceRequest.FromString(body)
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    for _ in range(rng.choice([1, 2, 3])):
        span = rng.choice(spans)
        choice = rng.randrange(9)
        if choice == 0:
            span.trace_id = rng.randbytes(rng.choice([0, 1, 15, 16, 17]))
        elif choice == 1:
            span.span_id = rng.choice([b"", b"\x00" * 8, rng.randbytes(rng.choice([7, 8, 9]))])
        elif choice == 2:
            span.parent_span_id = rng.randbytes(rng.choice([0, 5, 8, 8, 16]))
        elif choice == 3:
            span.start_time_unix_nano = rng.choice([0, 1, 2**63 - 1, 2**63, 2**64 - 1, rng.randrange(2**64)])
        elif choice == 4:
            span.end_time_unix_nano = rng.choice([0, 1, max(0, span.start_time_unix_nano - 1), 2**64 - 1])
        elif choice == 5:
            attribute = span.attributes.add()
            attribute.key = rng.choice(["llm.token_count.prompt", "llm.token_count.completion", "x",
                                        "embedding.embeddings.0.embedding.vector",
                                        "retrieval.documents.9.document.score"])
            kind = rng.randrange(4)
            if kind == 0:
                attribute.value.int_value = rng.choice([2**63 - 1, -(2**63), -1, 0])
            elif kind == 1:
                attribute.value.double_value = rng.choice([math.nan, math.inf, -math.inf, 1e308, -0.0])
            elif kind == 2:
                for _ in range(rng.choice([1, 9, 20])):
                    attribute.value.array_value.values.add().double_value = rng.choice([0.5, math.nan, 1e300])
            else:
                attribute.value.string_value = rng.choice(["\u0661", "x" * 1000, "", "\x00"])
        elif choice == 6:
            link = span.links.add()
            link.trace_id, link.span_id = rng.randbytes(rng.choice([3, 16])), rng.randbytes(rng.choice([8, 2]))
        elif choice == 7:
            span.kind, span.status.code = rng.choice([-1, 0, 7, 2**31 - 1]), rng.choice([-5, 0, 2, 9])
        else:
            span.events.add(name="e", time_unix_nano=rng.choice([0, 2**64 - 1, span.start_time_unix_nano]))
    out = request.SerializeToString()
    return _mutate_bytes(out, rng) if rng.random() < 0.3 else out


def _case(number: int, seeds: tuple[list[bytes], list[dict[str, Any]]]) -> tuple[bytes, str]:
    rng = random.Random(f"{SEED}-{number}")
    bodies, documents = seeds
    kind = rng.random()
    if kind < 0.35:
        return _mutate_protobuf(rng.choice(bodies), rng), PROTOBUF
    if kind < 0.55:
        return _mutate_bytes(rng.choice(bodies), rng), PROTOBUF
    if kind < 0.6:  # two requests back to back: protobuf merges them
        return _mutate_bytes(rng.choice(bodies) + rng.choice(bodies), rng), PROTOBUF
    return _mutate_json(rng.choice(documents), rng), JSON


# What a body holds -----------------------------------------------------------------------


def _get(obj: Any, camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _spans_in(body: bytes, content_type: str) -> int:
    """How many spans a body that decoded holds."""
    if content_type == JSON:
        data = json.loads(body)
        return sum(len(ss.get("spans") or []) for rs in _get(data, "resourceSpans", "resource_spans") or []
                   for ss in _get(rs, "scopeSpans", "scope_spans") or [])
    from workbench.collector.lenient import repair_utf8

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except Exception:  # noqa: BLE001 - text that is not UTF-8: the decoder repaired it
        request.ParseFromString(repair_utf8(body))
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def _decode(body: bytes, content_type: str, number: int) -> Any:
    try:
        return decode_body(body, content_type, "fuzz", None, None)
    except DecodeError as exc:
        assert str(exc), f"case {number}: a DecodeError without a message"
        return None
    except BaseException as exc:  # noqa: BLE001 - anything else is the bug this test looks for
        pytest.fail(f"case {number} (FUZZ_SEED={SEED}): {content_type} body raised {type(exc).__name__}: {exc}\n"
                    f"body: {body[:300]!r}")


# The tests -------------------------------------------------------------------------------


def _wait_stored(store: Any, expected: int) -> None:
    """The rows in the file, give or take the copies of a span sent twice (removed in pauses)."""
    wait_for(lambda: store.counts()["spans"] + store.writer.duplicates_removed == expected, timeout=60)


def test_decoders_never_fail_but_with_a_decode_error_and_counts_add_up(seeds, store):
    decoded_cases = 0
    stored = 0
    pending: list[SpanBatch] = []
    for number in range(CASES):
        body, content_type = _case(number, seeds)
        decoded = _decode(body, content_type, number)
        if decoded is None:
            continue
        decoded_cases += 1
        batch = decoded.to_batch()
        assert batch.num_spans == decoded.spans, number
        assert decoded.spans + decoded.rejected == _spans_in(body, content_type), (
            f"case {number} (FUZZ_SEED={SEED}): {decoded.spans} accepted + {decoded.rejected} rejected")
        assert not decoded.rejected or decoded.error, number
        stored += decoded.spans
        pending.append(batch)
        if len(pending) == 200 or number == CASES - 1:
            written = store.writer.submit_batch(SpanBatch.concat(pending)).result(120)
            assert written == sum(b.num_spans for b in pending) and not written.rejected, written.error
            pending = []
    if pending:
        store.writer.submit_batch(SpanBatch.concat(pending)).result(120)
    assert decoded_cases > CASES // 4  # the mutations leave most bodies readable
    assert store.writer.committed_spans == stored
    _wait_stored(store, stored)
    # and what was stored reads back as standard JSON
    for (attributes,) in store.fetchall("SELECT attributes FROM spans USING SAMPLE 200 ROWS"):
        json.loads(attributes, parse_constant=lambda name: pytest.fail(f"non-standard JSON {name}"))


def test_mutated_requests_over_http_never_get_a_500(seeds, server, store):
    accepted = 0
    statuses: dict[int, int] = {}
    for number in range(CASES, CASES + HTTP_CASES):
        body, content_type = _case(number, seeds)
        response = requests.post(server.url + "/v1/traces", data=body, headers={"Content-Type": content_type},
                                 timeout=60)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code in (200, 400), (number, response.status_code, response.text[:300])
        if response.status_code == 200:
            if content_type == PROTOBUF:
                rejected = ExportTraceServiceResponse.FromString(response.content).partial_success.rejected_spans
            else:
                rejected = int(response.json().get("partialSuccess", {}).get("rejectedSpans", 0))
            accepted += _spans_in(body, content_type) - rejected
            assert store.writer.committed_spans == accepted, number  # a 200 means committed
            _wait_stored(store, accepted)
        else:
            message = (response.json()["message"] if content_type == JSON else response.content)
            assert message
    assert statuses.get(200, 0) > HTTP_CASES // 4, statuses
    good = requests.post(server.url + "/v1/traces", data=seeds[0][0], headers={"Content-Type": PROTOBUF}, timeout=30)
    assert good.status_code == 200
    assert server.ingest.accepted_spans == accepted + _spans_in(seeds[0][0], PROTOBUF)
