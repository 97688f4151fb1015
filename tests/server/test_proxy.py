"""The recording proxy, driven by the real openai and anthropic clients against stand-in upstreams."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pandas as pd
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import wait_for
from tests.server.upstream import Upstream
from workbench.read import Reader
from workbench.server import Server

SECRET = "sk-test-7c1d2e9f0a5b4c3d8e6f"
ANTHROPIC_SECRET = "sk-ant-test-4f3e2d1c0b9a8877"


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    up = Upstream()
    yield up
    up.stop()


@pytest.fixture
def proxied(store, upstream, monkeypatch) -> Iterator[Server]:
    monkeypatch.setenv("WORKBENCH_PROXY_OPENAI_URL", upstream.url + "/v1")
    monkeypatch.setenv("WORKBENCH_PROXY_ANTHROPIC_URL", upstream.url)
    monkeypatch.setenv("WORKBENCH_PROXY_TIMEOUT_S", "2")
    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    yield srv
    srv.stop()


def _openai(server: Server, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/proxy/openai/v1", api_key=SECRET, max_retries=0,
                         default_headers=headers, timeout=20)


def _anthropic(server: Server, **headers: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url + "/proxy/anthropic", api_key=ANTHROPIC_SECRET, max_retries=0,
                               default_headers=headers, timeout=20)


def _one_span(store, n: int = 1) -> dict[str, Any]:
    reader = Reader(store)
    wait_for(lambda: reader.count() >= n, timeout=20)
    spans = reader.spans()
    return spans.sort_values("start_time").iloc[-1].to_dict()


def test_an_openai_call_passes_through_and_is_recorded(proxied, store, upstream):
    client = _openai(proxied, **{
        "X-Workbench-Session": "sess-42", "X-Workbench-User": "user-7", "X-Workbench-Project": "shop",
        "X-Workbench-Property-Feature": "refunds", "X-Workbench-Tags": "beta, eu",
    })
    reply = client.chat.completions.create(
        model="gpt-4o-mini", temperature=0.2, max_tokens=50,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "How long do refunds take?"}],
    )
    assert reply.choices[0].message.content == "Refunds take 5 days."
    assert reply.usage is not None and reply.usage.prompt_tokens == 120
    sent = upstream.seen[-1]
    assert sent["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert not [h for h in sent["headers"] if h.lower().startswith("x-workbench")]
    assert sent["body"]["messages"][1]["content"] == "How long do refunds take?"

    span = _one_span(store)
    assert span["span_kind"] == "LLM"
    assert span["model_name"] == "gpt-4o-mini-2024"
    assert span["provider"] == "openai"
    assert span["project"] == "shop"
    assert span["status_code"] == "OK"
    assert (span["prompt_tokens"], span["completion_tokens"], span["total_tokens"]) == (120, 7, 127)
    assert (span["cache_read_tokens"], span["reasoning_tokens"]) == (100, 2)
    assert span["session_id"] == "sess-42" and span["user_id"] == "user-7"
    messages = json.loads(span["input_messages"])
    assert [m["role"] for m in messages] == ["system", "user"]
    assert json.loads(span["output_messages"])[0]["content"] == "Refunds take 5 days."
    attributes = json.loads(span["attributes"])
    assert json.loads(attributes["llm.invocation_parameters"]) == {"temperature": 0.2, "max_tokens": 50}
    assert json.loads(attributes["metadata"]) == {"feature": "refunds"}
    assert attributes["tag.tags"] == ["beta", "eu"]
    assert pd.isna(span["time_to_first_token_ms"])  # measured for streamed answers only


def test_an_openai_stream_passes_through_chunk_by_chunk(proxied, store, upstream):
    client = _openai(proxied)
    stream = client.chat.completions.create(
        model="gated", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Refunds?"}],
    )
    chunks = iter(stream)
    first = next(chunks)
    # The upstream holds the rest of its answer until the gate opens: the caller has the
    # first chunk already, so the proxy did not wait for the whole answer.
    assert not upstream.gate.is_set()
    assert first.choices[0].delta.content == "Refunds"
    upstream.gate.set()
    text = "Refunds" + "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Refunds take 5 days."

    span = _one_span(store)
    assert json.loads(span["output_messages"])[0]["content"] == "Refunds take 5 days."
    assert span["prompt_tokens"] == 120 and span["cache_read_tokens"] == 100
    assert 0 <= span["time_to_first_token_ms"] <= span["latency_ms"]
    assert json.loads(span["attributes"])["llm.is_streaming"] is True


def test_anthropic_calls_stream_or_not_are_recorded_with_cache_tokens(proxied, store, upstream):
    client = _anthropic(proxied, **{"X-Workbench-Session": "s-a"})
    message = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=100, system="You are terse.",
        messages=[{"role": "user", "content": "Hi"}],
    )
    assert message.content[0].text == "Hello from Claude."  # type: ignore[union-attr]
    sent = upstream.seen[-1]["headers"]
    assert ANTHROPIC_SECRET in (sent.get("X-Api-Key"), sent.get("Authorization", "").removeprefix("Bearer "))
    span = _one_span(store)
    assert span["provider"] == "anthropic" and span["model_name"] == "claude-sonnet-4-5"
    # Anthropic reports cache reads and writes apart from input_tokens; the prompt includes them.
    assert (span["prompt_tokens"], span["cache_read_tokens"], span["cache_write_tokens"]) == (370, 300, 50)
    assert span["completion_tokens"] == 9
    assert json.loads(span["input_messages"])[0] == {"role": "system", "content": "You are terse."}

    with client.messages.stream(model="gated", max_tokens=100, messages=[{"role": "user", "content": "Hi"}]) as s:
        texts = iter(s.text_stream)
        assert next(texts) == "Hello"
        assert not upstream.gate.is_set()
        upstream.gate.set()
        assert "Hello" + "".join(texts) == "Hello from Claude."
    span = _one_span(store, 2)
    assert json.loads(span["output_messages"])[0]["content"] == "Hello from Claude."
    assert span["prompt_tokens"] == 370 and span["completion_tokens"] == 9
    assert span["time_to_first_token_ms"] >= 0
    assert span["session_id"] == "s-a"


def test_upstream_errors_pass_through_unchanged_and_are_recorded(proxied, store):
    with pytest.raises(openai.RateLimitError) as raised:
        _openai(proxied).chat.completions.create(model="error-429", messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 429
    assert raised.value.response.headers["x-request-id"] == "req-err"
    assert raised.value.body["code"] == "rate_limit_exceeded"  # type: ignore[index]
    span = _one_span(store)
    assert span["status_code"] == "ERROR"
    assert "Rate limit reached" in span["status_message"]
    assert json.loads(span["attributes"])["error.type"] == "rate_limit_exceeded"

    with pytest.raises(anthropic.InternalServerError) as failed:
        _anthropic(proxied).messages.create(model="error-529", max_tokens=5,
                                            messages=[{"role": "user", "content": "x"}])
    assert failed.value.status_code == 529
    span = _one_span(store, 2)
    assert span["status_code"] == "ERROR" and json.loads(span["attributes"])["error.type"] == "overloaded_error"

    text = requests.get(proxied.url + "/metrics", timeout=10).text
    families = {f.name: f.samples for f in text_string_to_metric_families(text)}
    proxied_calls = {(s.labels["provider"], s.labels["status"]): s.value for s in families["workbench_proxy_requests"]}
    assert proxied_calls == {("openai", "429"): 1, ("anthropic", "529"): 1}
    errors = {s.labels["error_type"]: s.value for s in families["workbench_errors"]}
    assert errors == {"rate_limit_exceeded": 1, "overloaded_error": 1}


def test_a_timeout_answers_504_and_is_recorded(proxied, store):
    with pytest.raises(openai.APIStatusError) as raised:
        _openai(proxied).chat.completions.create(model="slow", messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 504
    assert "did not answer within 2 s" in raised.value.message
    span = _one_span(store)
    assert span["status_code"] == "ERROR"
    assert json.loads(span["attributes"])["error.type"] == "timeout"
    # The server goes on serving.
    reply = _openai(proxied).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert reply.choices[0].message.content


def test_an_unreachable_upstream_answers_502(store, monkeypatch):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    closed = sock.getsockname()[1]
    sock.close()
    monkeypatch.setenv("WORKBENCH_PROXY_ANTHROPIC_URL", f"http://127.0.0.1:{closed}")
    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    try:
        with pytest.raises(anthropic.APIStatusError) as raised:
            _anthropic(srv).messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        assert raised.value.status_code == 502
        span = _one_span(store)
        assert json.loads(span["attributes"])["error.type"] == "upstream_unreachable"
    finally:
        srv.stop()


def test_api_keys_are_never_stored_or_logged(proxied, store, db_path, caplog):
    caplog.set_level(logging.DEBUG)
    _openai(proxied).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    _openai(proxied).chat.completions.create(model="m", stream=True, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.RateLimitError):
        _openai(proxied).chat.completions.create(model="error-429", messages=[{"role": "user", "content": "x"}])
    _anthropic(proxied).messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    reader = Reader(store)
    wait_for(lambda: reader.count() == 4, timeout=20)
    everything = reader.spans().to_json(date_format="iso")
    assert "sk-test" not in everything and "sk-ant" not in everything
    proxied.stop()
    store.flush()
    for path in db_path.parent.glob(db_path.name + "*"):
        data = path.read_bytes()
        assert SECRET.encode() not in data and ANTHROPIC_SECRET.encode() not in data, path
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SECRET not in logged and ANTHROPIC_SECRET not in logged


def test_a_traceparent_makes_the_call_a_child_of_the_callers_span(proxied, store):
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    _openai(proxied, traceparent=f"00-{trace_id}-{parent}-01").chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}])
    span = _one_span(store)
    assert (span["trace_id"], span["parent_span_id"]) == (trace_id, parent)


def test_with_a_token_the_proxy_takes_it_in_its_own_header(store, upstream, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PROXY_OPENAI_URL", upstream.url + "/v1")
    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0, token="wb-token-1").start()
    try:
        with pytest.raises(openai.AuthenticationError):
            _openai(srv).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        reply = _openai(srv, **{"X-Workbench-Token": "wb-token-1"}).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}])
        assert reply.choices[0].message.content
        assert upstream.seen[-1]["headers"]["Authorization"] == f"Bearer {SECRET}"
        assert "X-Workbench-Token" not in upstream.seen[-1]["headers"]
    finally:
        srv.stop()


def test_embeddings_are_recorded_as_embedding_spans(proxied, store):
    result = _openai(proxied).embeddings.create(model="text-embedding-3-small", input="refund policy")
    assert [round(v, 3) for v in result.data[0].embedding] == [0.1, 0.2, 0.3]
    span = _one_span(store)
    assert span["span_kind"] == "EMBEDDING" and span["prompt_tokens"] == 5


def test_embeddings_keep_their_texts_vectors_and_tokens(proxied, store):
    # The openai SDK asks for base64 vectors by default; a list of texts is one call.
    result = _openai(proxied).embeddings.create(model="text-embedding-3-small", input=["refunds", "returns"])
    assert len(result.data) == 2
    span = _one_span(store)
    assert span["span_kind"] == "EMBEDDING"
    assert span["prompt_tokens"] == 10 and span["total_tokens"] == 10
    messages = span["input_messages"]  # texts are embeddings, not chat messages
    assert not isinstance(messages, str) or messages in ("[]", "null")
    rows = Reader(store).embeddings().sort_values("position")
    assert list(rows["text"]) == ["refunds", "returns"]
    assert [round(v, 3) for v in rows["vector"].iloc[1]] == [0.2, 0.2, 0.3]


def test_only_model_calls_are_recorded_and_each_as_its_kind(proxied, store):
    client = _openai(proxied)
    anthropic_client = _anthropic(proxied)
    assert anthropic_client.messages.count_tokens(
        model="c", messages=[{"role": "user", "content": "x"}]).input_tokens == 12
    batch = requests.post(proxied.url + "/proxy/openai/v1/batches", json={"input_file_id": "f"}, timeout=20,
                          headers={"Authorization": f"Bearer {SECRET}"})
    assert batch.status_code == 200 and batch.json()["id"] == "batch_1"
    assert client.models.list().data[0].id == "m-2024"
    moderation = client.moderations.create(model="omni-moderation-latest", input="is this fine?")
    assert moderation.results[0].flagged is False
    guard = _one_span(store)
    assert guard["span_kind"] == "GUARDRAIL" and "is this fine?" in guard["input_messages"]
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    wait_for(lambda: Reader(store).count() >= 2, timeout=20)
    kinds = sorted(Reader(store).spans()["span_kind"])
    assert kinds == ["GUARDRAIL", "LLM"]  # neither count_tokens, batches nor models became a span


def test_a_client_that_leaves_mid_stream_does_not_disturb_the_server(proxied, store, upstream):
    response = requests.post(
        proxied.url + "/proxy/openai/v1/chat/completions", stream=True, timeout=20,
        json={"model": "gated", "stream": True, "messages": [{"role": "user", "content": "x"}]},
        headers={"Authorization": f"Bearer {SECRET}"},
    )
    assert response.status_code == 200
    next(response.iter_content(64))
    response.close()
    upstream.gate.set()
    span = _one_span(store)
    assert span["span_kind"] == "LLM"
    reply = _openai(proxied).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert reply.choices[0].message.content


def test_a_stream_that_stalls_is_cut_off_and_recorded_as_a_timeout(proxied, store, upstream):
    client = _openai(proxied)
    stream = client.chat.completions.create(model="gated", stream=True, messages=[{"role": "user", "content": "x"}])
    chunks = iter(stream)
    assert next(chunks).choices[0].delta.content == "Refunds"
    # The upstream never sends the rest: after WORKBENCH_PROXY_TIMEOUT_S the caller's stream
    # ends in an error, never in what would look like a whole answer.
    with pytest.raises((openai.APIError, httpx.HTTPError)):
        for _ in chunks:
            pass
    span = _one_span(store)
    assert span["status_code"] == "ERROR"
    assert json.loads(span["attributes"])["error.type"] == "timeout"
    assert json.loads(span["output_messages"])[0]["content"] == "Refunds"  # what did arrive is kept
    upstream.gate.set()
    assert _openai(proxied).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}]).choices


def test_reads_pass_through_and_are_not_recorded(proxied, store):
    answer = requests.get(proxied.url + "/proxy/openai/v1/models", headers={"Authorization": f"Bearer {SECRET}"},
                          timeout=10)
    assert answer.status_code == 200 and answer.json()["data"][0]["id"] == "m-2024"
    _openai(proxied).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert _one_span(store)["model_name"] == "m-2024"
    assert Reader(store).count() == 1


def test_with_capture_text_off_no_prompt_or_answer_is_stored(store, upstream, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PROXY_OPENAI_URL", upstream.url + "/v1")
    monkeypatch.setenv("WORKBENCH_CAPTURE_TEXT", "false")
    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    try:
        _openai(srv).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "my card is 4111 1111 1111 1111"}])
        span = _one_span(store)
        assert span["prompt_tokens"] == 120  # what is kept: tokens, timings, model
        stored = json.dumps({k: str(v) for k, v in span.items()})
        assert "4111" not in stored and "Refunds take" not in stored
    finally:
        srv.stop()


def test_a_compressed_answer_and_an_error_after_the_200_are_recorded_as_they_were(proxied, store):
    client = _openai(proxied)
    reply = client.chat.completions.create(model="gzipped", messages=[{"role": "user", "content": "refunds?"}])
    assert reply.choices[0].message.content == "Refunds take 5 days."  # the client's own decoding
    span = _one_span(store)
    assert span["model_name"] == "gzipped-2024" and span["prompt_tokens"] == 120
    assert json.loads(span["output_messages"])[0]["content"] == "Refunds take 5 days."
    with pytest.raises(openai.APIError, match="had an error"):
        list(client.chat.completions.create(model="fails-midway", stream=True,
                                            messages=[{"role": "user", "content": "refunds?"}]))
    failed = _one_span(store, 2)
    assert failed["status_code"] == "ERROR" and "had an error" in failed["status_message"]
    assert json.loads(failed["attributes"])["error.type"] == "server_error"


def test_the_proxys_own_refusals_come_in_the_providers_format(store, upstream, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PROXY_OPENAI_URL", upstream.url + "/v1")
    monkeypatch.setenv("WORKBENCH_PROXY_ANTHROPIC_URL", upstream.url)
    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0, token="wb-token-1").start()
    try:
        with pytest.raises(openai.AuthenticationError, match="needs its access token"):
            _openai(srv).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        with pytest.raises(anthropic.AuthenticationError, match="needs its access token"):
            _anthropic(srv).messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        token = {"X-Workbench-Token": "wb-token-1"}
        no_v1 = openai.OpenAI(base_url=srv.url + "/proxy/openai", api_key=SECRET, max_retries=0, default_headers=token)
        with pytest.raises(openai.NotFoundError, match=r"give your client the base URL .*/proxy/openai/v1"):
            no_v1.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        other = requests.post(srv.url + "/proxy/gemini/v1beta/models", json={}, headers=token, timeout=20)
        assert other.status_code == 404 and "/proxy/anthropic" in other.json()["error"]["message"]
        form = requests.post(srv.url + "/proxy/anthropic/v1/messages", data=b"x=1", timeout=20,
                             headers={**token, "Content-Type": "application/x-www-form-urlencoded"})
        assert form.status_code == 415 and form.json()["type"] == "error"
        assert "application/json" in form.json()["error"]["message"]
    finally:
        srv.stop()


def test_a_gzipped_request_passes_through_and_is_recorded_readable(proxied, store, upstream):
    import gzip

    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "How long do refunds take?"}]}
    zipped = gzip.compress(json.dumps(body).encode())
    answer = requests.post(proxied.url + "/proxy/openai/v1/chat/completions", data=zipped,
                           headers={"Content-Type": "application/json", "Content-Encoding": "gzip",
                                    "Authorization": f"Bearer {SECRET}"}, timeout=20)
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "Refunds take 5 days."
    assert upstream.seen[-1]["body"] == body  # forwarded as sent; the provider unzips it
    span = _one_span(store)
    assert span["model_name"] == "gpt-4o-mini-2024" and span["input_value"] == json.dumps(body)
    assert json.loads(span["input_messages"])[0]["content"] == "How long do refunds take?"


def test_time_to_first_token_is_measured_to_the_first_token_not_the_streams_opening(proxied, store):
    client = _anthropic(proxied)
    with client.messages.stream(model="ponders", max_tokens=100, messages=[{"role": "user", "content": "Hi"}]) as s:
        assert "".join(s.text_stream) == "Hello from Claude."
    span = _one_span(store)
    # message_start and content_block_start arrive at once; the first text 0.6 s later
    assert 550 <= span["time_to_first_token_ms"] <= span["latency_ms"]


def test_every_method_and_error_under_proxy_answers_json_in_the_providers_format(proxied, store):
    listed = requests.head(proxied.url + "/proxy/openai/v1/models", timeout=20,
                           headers={"Authorization": f"Bearer {SECRET}"})
    assert listed.status_code == 200  # HEAD is forwarded like GET
    for method, path in (("OPTIONS", "/proxy/gemini/v1/models"), ("HEAD", "/proxy/openai/models"),
                         ("OPTIONS", "/proxy")):
        answer = requests.request(method, proxied.url + path, timeout=20)
        assert answer.status_code == 404 and answer.headers["Content-Type"] == "application/json", (method, path)
    other = requests.request("TRACE", proxied.url + "/proxy/anthropic/v1/messages", timeout=20)
    assert other.status_code == 405 and other.json()["type"] == "error"
    assert "does not forward TRACE requests" in other.json()["error"]["message"]
    other = requests.request("TRACE", proxied.url + "/proxy/openai/v1/chat/completions", timeout=20)
    assert other.status_code == 405 and "does not forward TRACE" in other.json()["error"]["message"]
    scrape = requests.options(proxied.url + "/metrics", timeout=20)
    assert scrape.status_code == 405 and "answers GET only" in scrape.json()["error"]
    assert Reader(store).count() == 0


def test_a_call_without_a_project_header_lands_in_the_servers_project(store, upstream, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PROXY_OPENAI_URL", upstream.url + "/v1")
    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0, default_project="support").start()
    try:
        _openai(srv).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        _openai(srv, **{"X-Workbench-Project": "shop"}).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "y"}])
        wait_for(lambda: Reader(store).count() >= 2, timeout=20)
        assert sorted(Reader(store).spans()["project"]) == ["shop", "support"]
    finally:
        srv.stop()


def test_a_call_too_large_is_refused_in_the_providers_format_with_its_size(store, upstream, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PROXY_OPENAI_URL", upstream.url + "/v1")
    monkeypatch.setenv("WORKBENCH_PROXY_ANTHROPIC_URL", upstream.url)
    monkeypatch.setenv("WORKBENCH_MAX_REQUEST_MB", "1")
    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    try:
        huge = [{"role": "user", "content": "x" * 1_900_000}]
        with pytest.raises(openai.APIStatusError, match=r"is 1\.8 MiB, larger than the 1 MiB") as raised:
            _openai(srv).chat.completions.create(model="m", messages=huge)
        assert raised.value.status_code == 413 and "send a smaller request" in raised.value.message
        with pytest.raises(anthropic.APIStatusError, match="WORKBENCH_MAX_REQUEST_MB") as refused:
            _anthropic(srv).messages.create(model="c", max_tokens=5, messages=huge)
        assert refused.value.body["type"] == "error" and refused.value.body["error"]["type"] == "request_too_large"
        assert _openai(srv).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}]).choices
    finally:
        srv.stop()


def test_file_and_audio_uploads_pass_through_unrecorded(proxied, store, upstream):
    client = _openai(proxied)
    made = client.files.create(file=("batch.jsonl", b'{"custom_id": "1"}\n'), purpose="batch")
    assert made.id == "file-1" and made.bytes == 19 and made.filename == "batch.jsonl"
    heard = client.audio.transcriptions.create(model="whisper-1", file=("hello.wav", b"RIFF-not-really-audio"))
    assert heard.text == "RIFF-not-really-audi"
    assert upstream.seen[-1]["headers"]["Authorization"] == f"Bearer {SECRET}"
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert _one_span(store)["span_kind"] == "LLM"
    assert Reader(store).count() == 1  # uploads run no model that workbench prices: not recorded
    plain = requests.post(proxied.url + "/proxy/openai/v1/files", data="x", timeout=20,
                          headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415 and "application/json" in plain.json()["error"]["message"]
    forged = requests.post(proxied.url + "/proxy/openai/v1/files", files={"file": ("x.txt", b"x")}, timeout=20,
                           headers={"Origin": "http://evil.example"})  # a web page's form: refused by its origin
    assert forged.status_code == 403 and "not allowed" in forged.json()["error"]["message"]
