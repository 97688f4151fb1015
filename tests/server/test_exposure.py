"""Who may talk to a real server: host names (DNS rebinding), other web pages (CORS and simple
cross-site writes), and the token required beyond loopback, with the real OTel SDK exporter."""

from __future__ import annotations

import json

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.helpers import wait_for
from workbench.errors import ServerError

FOREIGN = "http://127.0.0.2:8000"  # a web page on another origin


def _span_json(span_id: str = "eee19b7ec3c1b174") -> dict:
    return {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c", "spanId": span_id, "name": "posted",
        "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
    }]}]}]}


def _annotation(span_id: str) -> dict:
    return {"span_id": span_id, "name": "thumbs", "label": "up", "annotator": "user-1"}


def _start(store, **kwargs):
    from workbench.server import Server

    return Server(store, port=0, app=False, decode_workers=0, **kwargs).start()


@pytest.fixture
def beyond(store):
    """A server listening on every interface (reached here through 127.0.0.1)."""
    srv = _start(store, host="0.0.0.0")
    yield srv
    srv.stop()


def _export_one(endpoint: str, name: str = "exported", **kwargs) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=10, **kwargs)))
    with provider.get_tracer("t").start_as_current_span(name):
        pass
    provider.shutdown()


# Host names -----------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.3.2.1", "[::1]", "LOCALHOST", "localhost."])
def test_loopback_host_names_are_answered_with_any_port(server, host):
    for suffix in ("", f":{server.port}", ":1"):
        response = requests.get(server.url + "/api/stats", headers={"Host": host + suffix}, timeout=10)
        assert response.status_code == 200, (host + suffix, response.text)


@pytest.mark.parametrize("host", ["evil.example", "attacker.test:{port}", "rebind.localhost:{port}", "10.0.0.7:{port}",
                                  "127.0.0.1.evil.example", "localhost:notaport", "[::2]:{port}"])
def test_a_rebinding_host_name_is_refused_on_every_route(server, store, rag_spans, host):
    store.write(rag_spans)
    headers = {"Host": host.format(port=server.port)}
    spans = requests.get(server.url + "/api/spans?format=json", headers=headers, timeout=10)
    assert spans.status_code == 403
    message = spans.json()["error"]
    assert "host name" in message and "WORKBENCH_ALLOWED_HOSTS" in message
    assert "Refunds" not in spans.text
    otlp = requests.post(server.url + "/v1/traces", json=_span_json("aaaaaaaaaaaaaaaa"), headers=headers, timeout=10)
    assert otlp.status_code == 403 and "host name" in otlp.json()["message"]
    page = requests.get(server.url + "/", headers=headers, timeout=10)
    assert page.status_code == 403 and "host name" in page.text
    annotated = requests.post(server.url + "/api/annotations", json=_annotation("0000000000000001"), headers=headers,
                              timeout=10)
    assert annotated.status_code == 403
    assert store.counts()["spans"] == len(rag_spans) and store.counts()["annotations"] == 0
    assert requests.get(server.url + "/api/health", timeout=10).status_code == 200  # still serving


def test_host_names_the_user_allows_are_answered(store, monkeypatch):
    monkeypatch.setenv("WORKBENCH_ALLOWED_HOSTS", "workbench.lan, other.lan")
    srv = _start(store, host="127.0.0.1")
    try:
        for host in ("workbench.lan", f"other.lan:{srv.port}", "localhost"):
            assert requests.get(srv.url + "/api/stats", headers={"Host": host}, timeout=10).status_code == 200
        assert requests.get(srv.url + "/api/stats", headers={"Host": "evil.lan"}, timeout=10).status_code == 403
    finally:
        srv.stop()
    srv = _start(store, host="127.0.0.1", allowed_hosts=["argument.lan"])  # the argument beats the variable
    try:
        assert requests.get(srv.url + "/api/stats", headers={"Host": "argument.lan"}, timeout=10).status_code == 200
        assert requests.get(srv.url + "/api/stats", headers={"Host": "workbench.lan"}, timeout=10).status_code == 403
    finally:
        srv.stop()


# Other web pages and simple cross-site writes ---------------------------------------------


def test_no_route_answers_any_origin(server):
    routes = [("OPTIONS", "/v1/traces"), ("POST", "/v1/traces"), ("GET", "/api/spans"), ("GET", "/api/health")]
    for method, path in routes:
        response = requests.request(method, server.url + path, headers={"Origin": FOREIGN}, timeout=10)
        assert "Access-Control-Allow-Origin" not in response.headers, (method, path)
        assert response.status_code == 403, (method, path, response.text)


def test_a_foreign_page_can_neither_post_spans_nor_read_them(server, store, rag_spans):
    store.write(rag_spans)
    preflight = requests.options(server.url + "/v1/traces", headers={
        "Origin": FOREIGN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type",
    }, timeout=10)
    assert preflight.status_code == 403 and "WORKBENCH_ALLOWED_ORIGINS" in preflight.json()["message"]
    # What a page can send without a preflight: a text/plain body.
    simple = requests.post(server.url + "/v1/traces", data=json.dumps(_span_json("bbbbbbbbbbbbbbbb")),
                           headers={"Origin": FOREIGN, "Content-Type": "text/plain"}, timeout=10)
    assert simple.status_code == 403
    read = requests.get(server.url + "/api/spans?format=json", headers={"Origin": FOREIGN}, timeout=10)
    assert read.status_code == 403 and "Refunds" not in read.text
    assert store.counts()["spans"] == len(rag_spans)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_writes_need_a_json_content_type(server, store, rag_spans, content_type):
    """The simple requests any web page can send cross-site (no Origin: some browsers and
    extensions leave it out) write nothing."""
    store.write(rag_spans)
    body = json.dumps(_annotation(rag_spans[0].span_id))
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(server.url + "/api/annotations", data=body, headers=headers, timeout=10)
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]
    otlp = requests.post(server.url + "/v1/traces", data=json.dumps(_span_json("cccccccccccccccc")), headers=headers,
                         timeout=10)
    assert otlp.status_code == 415
    assert store.counts()["annotations"] == 0 and store.counts()["spans"] == len(rag_spans)
    ok = requests.post(server.url + "/api/annotations", data=body,
                       headers={"Content-Type": "application/json; charset=utf-8"}, timeout=10)
    assert ok.status_code == 201 and store.counts()["annotations"] == 1


def test_the_pages_own_origin_may_write(server, store, rag_spans):
    store.write(rag_spans)
    for origin in (server.url, f"http://localhost:{server.port}"):
        host = origin.split("//")[1]
        response = requests.post(server.url + "/api/annotations", json=_annotation(rag_spans[0].span_id),
                                 headers={"Origin": origin, "Host": host}, timeout=10)
        assert response.status_code == 201, response.text
    other_name = requests.post(server.url + "/api/annotations", json=_annotation(rag_spans[0].span_id),
                               headers={"Origin": f"http://localhost:{server.port}"}, timeout=10)
    assert other_name.status_code == 201  # another loopback name of this server, on its port
    other_port = requests.post(server.url + "/api/annotations", json=_annotation(rag_spans[0].span_id),
                               headers={"Origin": f"http://127.0.0.1:{server.port + 1}"}, timeout=10)
    assert other_port.status_code == 403
    sandboxed = requests.post(server.url + "/api/annotations", json=_annotation(rag_spans[0].span_id),
                              headers={"Origin": "null"}, timeout=10)
    assert sandboxed.status_code == 403


def test_an_allowed_origin_may_post_spans_and_nothing_else(store, rag_spans, monkeypatch):
    monkeypatch.setenv("WORKBENCH_ALLOWED_ORIGINS", "http://localhost:3000," + FOREIGN + "/")
    store.write(rag_spans)
    srv = _start(store, host="127.0.0.1")
    try:
        preflight = requests.options(srv.url + "/v1/traces", headers={
            "Origin": FOREIGN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-custom"}, timeout=10)
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == FOREIGN
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        allowed = {h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"content-type", "x-custom", "authorization"} <= allowed
        assert "Origin" in preflight.headers["Vary"]
        assert preflight.headers["Access-Control-Allow-Credentials"] == "true"  # for sendBeacon
        posted = requests.post(srv.url + "/v1/traces", json=_span_json(), headers={"Origin": FOREIGN}, timeout=10)
        assert posted.status_code == 200 and posted.headers["Access-Control-Allow-Origin"] == FOREIGN
        assert store.counts()["spans"] == len(rag_spans) + 1
        # Allowed to send spans, not to read them or to annotate.
        assert requests.get(srv.url + "/api/spans", headers={"Origin": FOREIGN}, timeout=10).status_code == 403
        assert requests.post(srv.url + "/api/annotations", json=_annotation(rag_spans[0].span_id),
                             headers={"Origin": FOREIGN}, timeout=10).status_code == 403
        other = requests.post(srv.url + "/v1/traces", json=_span_json("dddddddddddddddd"),
                              headers={"Origin": "http://localhost:3001"}, timeout=10)
        assert other.status_code == 403 and "Access-Control-Allow-Origin" not in other.headers
    finally:
        srv.stop()


# Beyond loopback: the token -----------------------------------------------------------------


def test_listening_beyond_loopback_makes_up_a_token(beyond, store):
    assert beyond.token and len(beyond.token) >= 24
    assert beyond.app_url.endswith("/?token=" + beyond.token)
    for method, path in [("GET", "/api/health"), ("GET", "/api/spans"), ("GET", "/"), ("POST", "/v1/traces")]:
        response = requests.request(method, beyond.url + path, json=_span_json() if method == "POST" else None,
                                    timeout=10)
        assert response.status_code == 401, (path, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in response.text
    wrong = requests.get(beyond.url + "/api/health", headers={"Authorization": "Bearer " + "x" * len(beyond.token)},
                         timeout=10)
    assert wrong.status_code == 401
    right = requests.get(beyond.url + "/api/health", headers={"Authorization": "Bearer " + beyond.token}, timeout=10)
    assert right.status_code == 200
    assert store.counts()["spans"] == 0


def test_a_refused_request_is_answered_before_its_body_is_read(beyond):
    # 8 MiB that the server never buffers: the 401 comes with the headers.
    body = b"0" * (8 << 20)
    response = requests.post(beyond.url + "/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"},
                             timeout=30)
    assert response.status_code == 401
    assert requests.get(beyond.url + "/api/health", headers={"Authorization": "Bearer " + beyond.token},
                        timeout=10).status_code == 200


def test_the_sdk_exporter_sends_spans_with_the_token_header(beyond, store, monkeypatch):
    endpoint = beyond.url + "/v1/traces"
    _export_one(endpoint, "no token")
    assert store.counts()["spans"] == 0
    _export_one(endpoint, "by argument", headers={"Authorization": f"Bearer {beyond.token}"})
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer%20{beyond.token}")
    _export_one(endpoint, "by variable")
    wait_for(lambda: store.counts()["spans"] == 2)
    store.flush()
    names = {row[0] for row in store.fetchall("SELECT name FROM spans")}
    assert names == {"by argument", "by variable"}


def test_register_sends_the_token_to_its_endpoint(beyond, store, monkeypatch):
    import workbench

    provider = workbench.register("remote", endpoint=beyond.url, token=beyond.token, set_global=False)
    with provider.get_tracer("t").start_as_current_span("with token"):
        pass
    provider.force_flush(10_000)
    provider.shutdown()
    monkeypatch.setenv("WORKBENCH_TOKEN", beyond.token)
    provider = workbench.register("remote", endpoint=beyond.url, set_global=False)
    with provider.get_tracer("t").start_as_current_span("token from the setting"):
        pass
    provider.force_flush(10_000)
    provider.shutdown()
    wait_for(lambda: store.counts()["spans"] == 2)


def test_remote_readers_pass_the_token(beyond, store, rag_spans, monkeypatch):
    import workbench

    store.write(rag_spans)
    with pytest.raises(ServerError, match="access token"):
        workbench.open(beyond.url).spans()
    assert len(workbench.open(beyond.url, token=beyond.token).spans()) == len(rag_spans)
    reader = workbench.open(beyond.app_url)  # the browser address, as printed
    assert len(reader.spans()) == len(rag_spans) and "token" not in reader.url
    assert reader.add_annotations([_annotation(rag_spans[0].span_id)]) == 1
    monkeypatch.setenv("WORKBENCH_TOKEN", beyond.token)
    assert len(workbench.open(beyond.url).traces()) == 1


def test_the_export_command_reads_through_the_token(beyond, store, rag_spans, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from workbench.cli import main

    store.write(rag_spans)
    refused = CliRunner().invoke(main, ["export", str(tmp_path / "a"), "--url", beyond.url])
    assert refused.exit_code == 1 and "access token" in refused.output and "Traceback" not in refused.output
    by_url = CliRunner().invoke(main, ["export", str(tmp_path / "b"), "--url", beyond.app_url])
    assert by_url.exit_code == 0, by_url.output
    monkeypatch.setenv("WORKBENCH_TOKEN", beyond.token)
    by_setting = CliRunner().invoke(main, ["export", str(tmp_path / "c"), "--url", beyond.url])
    assert by_setting.exit_code == 0, by_setting.output
    assert f"{len(rag_spans)} spans" in by_setting.output


def test_a_browser_presents_the_token_once_and_keeps_it_in_a_cookie(beyond):
    session = requests.Session()
    first = session.get(beyond.url + f"/?token={beyond.token}&page=latency", allow_redirects=False, timeout=10)
    assert first.status_code == 302
    assert first.headers["Location"] == "/?page=latency"  # the token leaves the address bar
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert session.get(beyond.url + "/api/health", timeout=10).status_code == 200
    assert requests.get(beyond.url + "/api/health", timeout=10).status_code == 401  # no cookie, no entry
    elsewhere = requests.get(beyond.url + f"//evil.example/?token={beyond.token}", allow_redirects=False, timeout=10)
    assert elsewhere.headers["Location"].startswith("/evil.example")  # stays on this server
    bad = requests.get(beyond.url + "/?token=wrong", allow_redirects=False, timeout=10)
    assert bad.status_code == 401 and "Set-Cookie" not in bad.headers


def test_a_token_set_for_a_loopback_server_is_required_too(store, monkeypatch):
    monkeypatch.setenv("WORKBENCH_TOKEN", "s3cret-token")
    srv = _start(store, host="127.0.0.1")
    try:
        assert requests.get(srv.url + "/api/health", timeout=10).status_code == 401
        assert requests.get(srv.url + "/api/health", headers={"Authorization": "bearer s3cret-token"},
                            timeout=10).status_code == 200
    finally:
        srv.stop()
    srv = _start(store, host="0.0.0.0", token="given-token")  # beyond loopback, the given one is kept
    try:
        assert srv.token == "given-token"
    finally:
        srv.stop()


def test_the_banner_prints_the_real_address_the_token_and_a_warning(beyond, store):
    from workbench.server.run import banner

    lines = banner(beyond, store.path)
    text = "\n".join(lines)
    assert f"0.0.0.0:{beyond.port}" in text
    assert beyond.token in text and f"?token={beyond.token}" in text
    assert f"OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20{beyond.token}" in text
    warnings = [line for line in lines if line.startswith("Warning")]
    assert len(warnings) == 1 and "0.0.0.0" in warnings[0] and "token" in warnings[0]
    assert "127.0.0.1" not in text
    # The name printed is one the server answers to.
    app_line = next(line for line in lines if "app and API:" in line)
    host = app_line.split("//")[1].split("/")[0]
    response = requests.get(beyond.url + "/api/health",
                            headers={"Host": host, "Authorization": "Bearer " + beyond.token}, timeout=10)
    assert response.status_code == 200


def test_the_banner_on_loopback_has_no_token_and_no_warning(server, store):
    from workbench.server.run import banner

    text = "\n".join(banner(server, store.path))
    assert f"app and API: {server.url}/" in text
    assert f"MCP:         {server.url}/mcp  (streamable HTTP, for agents)" in text
    assert "Warning" not in text and "token" not in text


def test_a_bad_token_setting_in_the_environment_still_answers(store, monkeypatch):
    """An empty WORKBENCH_TOKEN is no token, not a token anyone matches by sending nothing."""
    monkeypatch.setenv("WORKBENCH_TOKEN", "")
    srv = _start(store, host="0.0.0.0")
    try:
        assert srv.token
        assert requests.get(srv.url + "/api/health", timeout=10).status_code == 401
        empty = requests.get(srv.url + "/api/health", headers={"Authorization": "Bearer "}, timeout=10)
        assert empty.status_code == 401
    finally:
        srv.stop()


# As users start it ------------------------------------------------------------------------


def _serve_process(db, *args):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["WORKBENCH_DECODE_WORKERS"] = "0"
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "serve", "--db", str(db), "--port", "0", "--no-app", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )


def _banner(process) -> list[str]:
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip())
        if line.startswith("Press Ctrl-C"):
            return lines
    raise AssertionError("workbench serve printed no banner:\n" + "\n".join(lines))


def test_serve_on_every_interface_prints_where_and_how_and_requires_the_token(tmp_path):
    process = _serve_process(tmp_path / "cli.duckdb", "--host", "0.0.0.0", "--allowed-host", "alias.lan",
                             "--allowed-origin", FOREIGN)
    try:
        lines = _banner(process)
        text = "\n".join(lines)
        port = int(text.split("0.0.0.0:")[1].split()[0])
        token = next(line.split()[-1] for line in lines if line.strip().startswith("token:"))
        assert sum(line.startswith("Warning") for line in lines) == 1
        local = f"http://127.0.0.1:{port}"
        assert requests.get(local + "/api/health", timeout=10).status_code == 401
        authorized = {"Authorization": f"Bearer {token}"}
        assert requests.get(local + "/api/health", headers=authorized, timeout=10).status_code == 200
        alias = requests.get(local + "/api/health", headers={**authorized, "Host": "alias.lan"}, timeout=10)
        assert alias.status_code == 200
        evil = requests.get(local + "/api/health", headers={**authorized, "Host": "evil.lan"}, timeout=10)
        assert evil.status_code == 403
        preflight = requests.options(local + "/v1/traces",
                                     headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST"}, timeout=10)
        assert preflight.headers.get("Access-Control-Allow-Origin") == FOREIGN
    finally:
        process.terminate()
        process.communicate(timeout=60)


def test_serve_takes_the_token_it_is_given(tmp_path):
    process = _serve_process(tmp_path / "cli.duckdb", "--token", "chosen-token-1234")
    try:
        lines = _banner(process)
        url = next(line.split("app and API:")[1].strip() for line in lines if "app and API:" in line).rstrip("/")
        assert any("chosen-token-1234" in line for line in lines)
        assert not any(line.startswith("Warning") for line in lines)
        assert requests.get(url + "/api/health", timeout=10).status_code == 401
        assert requests.get(url + "/api/health?token=chosen-token-1234", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=60)


def test_launch_beyond_loopback_follows_the_same_rules(tmp_path):
    import workbench

    session = workbench.launch("nb-remote", db=tmp_path / "nb.duckdb", host="0.0.0.0", port=0)
    try:
        token = session.server.token
        assert token and f"?token={token}" in session._repr_html_()
        assert requests.get(session.url + "/api/health", timeout=10).status_code == 401
        assert requests.get(session.url + "/api/health", headers={"Authorization": f"Bearer {token}"}, timeout=10).ok
        with workbench.span("in the notebook"):
            pass
        assert list(session.traces()["name"]) == ["in the notebook"]  # the in-process collector needs no token
    finally:
        session.stop()


def test_an_allowed_origin_that_is_not_an_origin_is_a_clear_error(store, monkeypatch):
    from workbench.errors import ConfigError
    from workbench.server import Server

    for bad in ("localhost:3000", "http://localhost:3000/app", "file:///tmp/x"):
        with pytest.raises(ConfigError, match="scheme://host"):
            Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0, allowed_origins=[bad])
    monkeypatch.setenv("WORKBENCH_ALLOWED_ORIGINS", "example.com")
    with pytest.raises(ConfigError, match="WORKBENCH_ALLOWED_ORIGINS"):
        Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0)
