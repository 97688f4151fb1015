"""What the server refuses before reading a body (too large, over the budget of bytes in
flight), and connections that send nothing or half a request."""

from __future__ import annotations

import json
import socket

import pytest
import requests
from google.rpc import status_pb2

from tests.helpers import otlp_body, wait_for
from tests.server.processes import post_head, raw_request, read_response
from workbench.server import Server
from workbench.store import Store


def _spans(n: int, text: int = 1000):
    def emit(tracer):
        for i in range(n):
            with tracer.start_as_current_span(f"s{i}") as span:
                span.set_attribute("input.value", "y" * text)

    return emit


@pytest.fixture
def limited(db_path, monkeypatch):
    """A server that takes bodies of at most 1 MiB and holds at most 1 MiB of OTLP requests."""
    monkeypatch.setenv("WORKBENCH_MAX_REQUEST_MB", "1")
    monkeypatch.setenv("WORKBENCH_INFLIGHT_MB", "1")
    monkeypatch.setenv("WORKBENCH_IDLE_TIMEOUT_S", "1")
    monkeypatch.setenv("WORKBENCH_BODY_TIMEOUT_S", "2")
    store = Store(db_path)
    server = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    yield server
    server.stop()
    store.close()


def test_an_oversized_otlp_body_gets_413_with_a_message_in_its_own_format(limited):
    body = b"\x00" * (2 << 20)
    answer = requests.post(limited.url + "/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"},
                           timeout=30)
    assert answer.status_code == 413
    assert answer.headers["Content-Type"] == "application/x-protobuf"
    status = status_pb2.Status.FromString(answer.content)
    assert "larger than the 1 MiB" in status.message and "WORKBENCH_MAX_REQUEST_MB" in status.message
    answer = requests.post(limited.url + "/v1/traces", data=body, headers={"Content-Type": "application/json"},
                           timeout=30)
    assert answer.status_code == 413
    assert "send smaller batches" in answer.json()["message"]
    # The server goes on serving, on a new connection and on the same one.
    with requests.Session() as session:
        for _ in range(2):
            ok = session.post(limited.url + "/v1/traces", data=otlp_body(_spans(3)),
                              headers={"Content-Type": "application/x-protobuf"}, timeout=30)
            assert ok.status_code == 200


def test_an_oversized_api_body_gets_a_json_413_not_a_bare_400(limited):
    answer = requests.post(limited.url + "/api/annotations", data=b"[" + b" " * (2 << 20) + b"]",
                           headers={"Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == 413
    assert answer.headers["Content-Type"] == "application/json"
    assert "MiB" in answer.json()["error"]


def test_a_body_far_over_the_limit_is_answered_without_being_read(limited):
    sock = raw_request(limited.port, post_head("/v1/traces", 1 << 30, "application/json"))
    with sock:
        status, _, body = read_response(sock)
    assert status == 413
    assert "1024 MiB" in json.loads(body)["message"]


def test_a_request_over_the_budget_is_refused_before_its_body_is_sent(limited):
    body = otlp_body(_spans(700))  # about 0.8 MiB: one fits in the 1 MiB budget, two do not
    assert 600_000 < len(body) < 1 << 20
    held = raw_request(limited.port, post_head("/v1/traces", len(body)) + body[:1000])
    with held:
        wait_for(lambda: limited.ingest.budget.used >= len(body))
        # Only the head of a second request: the answer comes without its body.
        with raw_request(limited.port, post_head("/v1/traces", len(body))) as second:
            status, headers, answer = read_response(second)
        assert status == 503
        assert headers["retry-after"] == "1"
        assert "WORKBENCH_INFLIGHT_MB" in status_pb2.Status.FromString(answer).message
        # A client that sends its whole body before reading gets the same answer, not a reset.
        refused = requests.post(limited.url + "/v1/traces", data=body,
                                headers={"Content-Type": "application/x-protobuf"}, timeout=30)
        assert refused.status_code == 503
        held.sendall(body[1000:])
        status, _, _ = read_response(held)
        assert status == 200
    wait_for(lambda: limited.ingest.budget.used == 0)
    assert limited.store.counts()["spans"] == 700
    again = requests.post(limited.url + "/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"},
                          timeout=30)
    assert again.status_code == 200
    assert limited.info()["refused_requests"] >= 2


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def test_half_a_request_is_closed_within_the_timeouts(limited):
    # Half the headers: closed after the idle (header) timeout of 1 s.
    with raw_request(limited.port, b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-") as half_head:
        assert _closed_within(half_head, 15)
    # The headers and half the body: closed after the body timeout of 2 s.
    with raw_request(limited.port, post_head("/v1/traces", 1000) + b"\x0a" * 500) as half_body:
        assert _closed_within(half_body, 15)
    # A kept-alive connection that sends nothing more after an answer.
    with raw_request(limited.port, b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") as idle:
        status, _, _ = read_response(idle)
        assert status == 200
        assert _closed_within(idle, 15)
    assert limited.ingest.budget.used == 0  # a dropped request gives back what it reserved
    assert requests.get(limited.url + "/api/health", timeout=10).status_code == 200
