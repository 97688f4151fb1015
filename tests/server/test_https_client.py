"""A client that speaks TLS (an ``https://`` address) to ``workbench serve``, which speaks plain
http: it is answered at once with a 400 and closed (its TLS library says "wrong version
number"), instead of waiting for a request line until a timeout, and the server goes on serving."""

from __future__ import annotations

import logging
import socket
import ssl

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from workbench.evals import JudgeError, LLMJudge, Task
from workbench.query import Reader
from workbench.server import Server
from workbench.server.plain_http import is_tls_hello
from workbench.store import Store


@pytest.fixture
def server(db_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_IDLE_TIMEOUT_S", "2")
    store = Store(db_path)
    server = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    yield server
    server.stop()
    store.close()


def _tls_client() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_a_tls_handshake_is_answered_at_once_and_the_server_keeps_serving(server, caplog):
    caplog.set_level(logging.WARNING, logger="workbench.server.plain_http")
    for _ in range(2):
        # The idle timeout is 2 s; a socket timeout of 30 s tells an answer from a wait.
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw, \
                pytest.raises(ssl.SSLError) as failed:
            _tls_client().wrap_socket(raw, server_hostname="127.0.0.1")
        assert failed.value.reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE"), failed.value
    told = [r.getMessage() for r in caplog.records if r.name == "workbench.server.plain_http"]
    assert told == ["A client at 127.0.0.1 spoke TLS (https) to this plain-http server and was answered 400; "
                    "give it an http:// address."]  # once per address

    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:  # what a plain client reads
        raw.sendall(bytes.fromhex("160301") + b"\x00\x05hello")
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert answer.endswith(b"This server speaks plain http, not https: use an http:// address.\n")

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=server.url + "/v1/traces")))
    with provider.get_tracer("t").start_as_current_span("after the tls attempts"):
        pass
    provider.shutdown()
    assert list(Reader(server.store).spans()["name"]) == ["after the tls attempts"]
    assert requests.get(server.url + "/api/health", timeout=10).status_code == 200


def test_a_judge_given_https_for_the_proxy_is_told_at_once(server):
    judge = LLMJudge("m", base_url=server.url.replace("http://", "https://") + "/proxy/openai/v1", backoff=30)
    with pytest.raises(JudgeError, match=r"does not speak TLS \(https\).*use an http:// base_url"):
        judge.judge(Task("answer_relevance", question="a question", answer="an answer"))
    assert judge.calls == 1 and judge.retries == 0


def test_a_connection_that_sends_nothing_is_still_closed_after_the_idle_timeout(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as silent:
        assert silent.recv(1) == b""  # closed by the server (2 s), not by the 30 s timeout
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as plain:
        plain.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert plain.recv(4096).startswith(b"HTTP/1.1 200")


def test_what_counts_as_a_tls_hello():
    assert is_tls_hello(bytes.fromhex("1603010200"))
    assert not is_tls_hello(b"GET / HTTP/1.1")
    assert not is_tls_hello(b"\x16")
    assert not is_tls_hello(b"")
