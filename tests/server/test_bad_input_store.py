"""What the store refuses or holds from elsewhere reaches clients as clear, standard answers."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
import requests

from tests.helpers import make_span
from workbench.model import Embedding, SpanKind

START = 1_700_000_000_000_000_000


def _request(n: int) -> dict:
    return {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": f"{i + 1:032x}", "spanId": f"{i + 1:016x}", "name": f"span-{i}",
         "startTimeUnixNano": str(START), "endTimeUnixNano": str(START + 10**6)} for i in range(n)]}]}]}


def test_spans_the_store_refuses_are_rejected_through_partial_success(server, store, monkeypatch):
    decode = server.ingest.decode

    async def not_utf8_in_second_span(body, content_type):
        # A decode worker's batch whose text DuckDB refuses (Arrow does not check text it maps).
        decoded = await decode(body, content_type)
        batch = decoded.to_batch()
        names = [name.encode() for name in batch.spans.column("name").to_pylist()]
        names[1] = b"\xff\xfe"
        index = batch.spans.schema.get_field_index("name")
        batch.spans = batch.spans.set_column(index, "name", pa.array(names, pa.binary()).view(pa.string()))
        return decoded

    monkeypatch.setattr(server.ingest, "decode", not_utf8_in_second_span)
    response = requests.post(server.url + "/v1/traces", json=_request(5), timeout=30)
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1" and "could not be stored" in partial["errorMessage"]
    assert store.counts()["spans"] == 4
    assert server.ingest.accepted_spans == 4 and server.ingest.rejected_spans == 1


def _strict(text: str):
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} is not standard JSON"))


def test_nan_held_from_elsewhere_comes_back_as_standard_json(server, store):
    # A file imported from elsewhere may hold NaN: JSON answers give null, never the bare NaN token.
    span = make_span(0, kind=SpanKind.EMBEDDING, embeddings=(Embedding(0, "x", (0.5, 0.5)),))
    store.write([span])
    store.execute_write(lambda cur: cur.execute("UPDATE embeddings SET vector = ['NaN'::FLOAT, 'Infinity'::FLOAT]"))
    store.execute_write(lambda cur: cur.execute("UPDATE spans SET client_cost = 'NaN'::DOUBLE"))
    rows = _strict(requests.get(server.url + "/api/embeddings?format=json", timeout=30).text)
    assert rows[0]["vector"] == [None, None]
    rows = _strict(requests.get(server.url + "/api/spans?format=json", timeout=30).text)
    assert rows[0]["client_cost"] is None
    one = requests.get(server.url + f"/api/spans/{span.span_id}", timeout=30)
    assert one.status_code == 200
    _strict(one.text)


def test_decode_workers_repair_and_reject_as_the_thread_does(db_path):
    from tests.helpers import wait_for
    from workbench.server import Server
    from workbench.store import Store

    body = _request(4)
    spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[1]["name"] = "lone \ud800"
    spans[2]["startTimeUnixNano"] = str(10**30)
    spans[3]["attributes"] = [
        {"key": "deep", "value": {"arrayValue": {"values": [{"arrayValue": {"values": []}}] * 2}}},
        {"key": "nested", "value": json.loads('{"arrayValue":{"values":[' * 40 + ']}}' * 40)},
    ]
    with Store(db_path) as store:
        server = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=1).start()
        try:
            requests.post(server.url + "/v1/traces", json=_request(1), timeout=60)  # starts the workers
            wait_for(server.ingest.pool.ready.is_set, timeout=60)
            response = requests.post(server.url + "/v1/traces", data=json.dumps(body), timeout=60,
                                     headers={"Content-Type": "application/json"})
            assert response.status_code == 200, response.text
            partial = response.json()["partialSuccess"]
            assert partial["rejectedSpans"] == "2" and "levels" in partial["errorMessage"]
            names = {name for (name,) in store.fetchall("SELECT name FROM spans")}
            assert names == {"span-0", "lone \ufffd"}
        finally:
            server.stop()
