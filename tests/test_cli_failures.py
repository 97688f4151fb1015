"""Commands that fail say so in one line and leave nothing behind; what users type is understood."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

import workbench
from workbench import config
from workbench.cli import main
from workbench.errors import ConfigError
from workbench.remote import RemoteReader, as_url, server_url
from workbench.store import Store


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("port", ["70000", "65536", "-1"])
def test_a_port_outside_the_range_is_refused_in_one_line(tmp_path, runner, port):
    db = tmp_path / "x.duckdb"
    result = runner.invoke(main, ["serve", "--db", str(db), "--port", port, "--no-app"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "0<=x<=65535" in result.output
    assert not db.exists()


@pytest.mark.parametrize("port", [70000, -1, "65536", "4318x"])
def test_a_port_outside_the_range_is_refused_in_python(store, port):
    from workbench.server import Server

    with pytest.raises(ConfigError, match="must be a port number from 0 to 65535"):
        Server(store, port=port, app=False, decode_workers=0)
    with pytest.raises(ConfigError, match="must be a port number from 0 to 65535"):
        config.get("port", port)


def test_a_port_in_the_environment_is_checked(monkeypatch):
    monkeypatch.setenv("WORKBENCH_PORT", "70000")
    with pytest.raises(ConfigError, match="WORKBENCH_PORT='70000' is not valid"):
        config.get("port")


def test_serve_on_a_port_in_use_leaves_no_new_file(tmp_path, runner):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    db = tmp_path / "new.duckdb"
    try:
        result = runner.invoke(main, ["serve", "--db", str(db), "--port", str(port), "--no-app"])
    finally:
        taken.close()
    assert result.exit_code == 1 and "already in use" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_serve_on_a_port_in_use_keeps_an_existing_file(tmp_path, runner, rag_spans):
    db = tmp_path / "old.duckdb"
    with Store(db) as store:
        store.write(rag_spans)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        result = runner.invoke(main, ["serve", "--db", str(db), "--port", str(taken.getsockname()[1]), "--no-app"])
    finally:
        taken.close()
    assert result.exit_code == 1
    with Store(db, read_only=True) as store:
        assert store.counts()["spans"] == len(rag_spans)


@pytest.mark.parametrize("content", [b"this is not parquet", b"PAR1" + b"\0" * 64])
def test_import_of_a_bad_parquet_file_is_one_line_and_leaves_no_new_file(tmp_path, runner, content):
    bad = tmp_path / "in" / "spans.parquet"
    bad.parent.mkdir()
    bad.write_bytes(content)
    db = tmp_path / "out" / "new.duckdb"
    db.parent.mkdir()
    result = runner.invoke(main, ["import", str(bad), "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert list(db.parent.iterdir()) == []


def test_import_of_a_bad_folder_keeps_an_existing_file(tmp_path, runner, rag_spans):
    db = tmp_path / "old.duckdb"
    with Store(db) as store:
        store.write(rag_spans)
    (tmp_path / "nothing").mkdir()
    result = runner.invoke(main, ["import", str(tmp_path / "nothing"), "--db", str(db)])
    assert result.exit_code == 1
    assert db.exists()


@pytest.mark.parametrize(("typed", "url"), [
    ("127.0.0.1:4318", "http://127.0.0.1:4318"),
    ("localhost:4318/", "http://localhost:4318"),
    ("[::1]:4318", "http://[::1]:4318"),
    ("https://example.org:8443", "https://example.org:8443"),
    ("HTTP://127.0.0.1:4318", "http://127.0.0.1:4318"),
])
def test_a_server_is_recognised_with_or_without_a_scheme(typed, url):
    assert server_url(typed) == url
    assert RemoteReader(typed).url == url


@pytest.mark.parametrize("path", ["spans.duckdb", "~/x/workbench.duckdb", "/tmp/a:b/x.duckdb", "C:\\data\\x.duckdb"])
def test_a_file_path_is_not_taken_for_a_server(path):
    assert server_url(path) is None


@pytest.mark.parametrize("typed", ["ftp://127.0.0.1:21", "http://", "127.0.0.1:99999"])
def test_what_is_not_a_server_url_is_refused(typed):
    with pytest.raises(ConfigError):
        as_url(typed)


def test_open_and_the_cli_reach_a_server_without_a_scheme(server, store, rag_spans, runner, tmp_path):
    store.write(rag_spans)
    bare = server.url.removeprefix("http://")
    reader = workbench.open(bare)
    assert isinstance(reader, RemoteReader)
    assert len(reader.spans()) == len(rag_spans)
    result = runner.invoke(main, ["export", str(tmp_path / "out"), "--url", bare])
    assert result.exit_code == 0, result.output
    assert "4 spans" in result.output
    assert not (tmp_path / bare).exists()  # not taken for a file name


def test_a_bad_url_on_the_command_line_is_one_line(runner, tmp_path):
    result = runner.invoke(main, ["export", str(tmp_path / "out"), "--url", "ftp://127.0.0.1:21"])
    assert result.exit_code == 2 and "is not a server URL" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("typed", "says"),
    [("127.0.0.1:99999", "has a port outside 0-65535"), ("ftp://127.0.0.1:21", "is not a server URL"),
     ("http://", "is not a server URL")],
)
def test_register_refuses_an_endpoint_that_is_not_a_server_url(typed, says):
    with pytest.raises(ConfigError, match=says):
        workbench.register(endpoint=typed, set_global=False)


def test_register_sends_to_an_endpoint_typed_without_a_scheme(server, store):
    from opentelemetry.sdk.trace import TracerProvider

    from tests.helpers import wait_for
    from workbench.query import Reader

    provider: TracerProvider = workbench.register(
        "bare", endpoint=server.url.removeprefix("http://"), set_global=False
    )
    with provider.get_tracer("t").start_as_current_span("sent-without-a-scheme"):
        pass
    assert provider.force_flush(30_000)
    provider.shutdown()
    reader = Reader(store)
    wait_for(lambda: reader.count("name == 'sent-without-a-scheme'") == 1, timeout=60)


@pytest.mark.parametrize("variable", ["WORKBENCH_PROXY_OPENAI_URL", "WORKBENCH_PROXY_ANTHROPIC_URL"])
def test_a_bad_upstream_url_stops_the_server_from_starting_and_leaves_no_note(store, monkeypatch, variable):
    from pathlib import Path

    from workbench.server import Server

    monkeypatch.setenv(variable, "http://127.0.0.1:99999/v1")
    with pytest.raises(ConfigError, match=f"{variable}='http://127.0.0.1:99999/v1' is not valid: .*0 to 65535"):
        Server(store, port=0, app=False, decode_workers=0)
    assert not Path(store.path + ".holder").exists()  # no note that a server holds the file


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:99999/v1", "http://:8080/v1"])
def test_a_model_endpoint_with_a_port_out_of_range_is_refused_not_wrapped(base_url):
    from workbench.errors import EndpointError
    from workbench.evals.judge import JudgeError
    from workbench.evals.llm import LLMJudge
    from workbench.playground.stream import stream_chat

    with pytest.raises(JudgeError, match=r"port outside 0-65535|is not a server URL"):
        LLMJudge(model="m", base_url=base_url)
    with pytest.raises(EndpointError, match=r"port outside 0-65535|is not a server URL"):
        next(iter(stream_chat([{"role": "user", "content": "hi"}], model="m", base_url=base_url)))
