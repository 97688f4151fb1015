"""The command line, run in-process: each error is one line, never a traceback."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.store import Store


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_help_lists_the_commands(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "export", "import", "settings"):
        assert command in result.output


def test_export_then_import(tmp_path, runner, rag_spans):
    with Store(tmp_path / "a.duckdb") as store:
        store.write(rag_spans)
    result = runner.invoke(main, ["export", str(tmp_path / "out"), "--db", str(tmp_path / "a.duckdb")])
    assert result.exit_code == 0, result.output
    assert "4 spans" in result.output
    result = runner.invoke(main, ["import", str(tmp_path / "out"), "--db", str(tmp_path / "b.duckdb")])
    assert result.exit_code == 0, result.output
    assert "4 spans" in result.output
    with Store(tmp_path / "b.duckdb", read_only=True) as store:
        assert store.counts()["spans"] == 4


def test_serve_on_a_port_in_use_is_one_line(tmp_path, runner):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = runner.invoke(main, ["serve", "--db", str(tmp_path / "x.duckdb"), "--port", str(port), "--no-app"])
    finally:
        taken.close()
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: Port {port} on 127.0.0.1 is already in use")
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_import_of_a_bad_folder_is_one_line(tmp_path, runner):
    (tmp_path / "nothing").mkdir()
    result = runner.invoke(main, ["import", str(tmp_path / "nothing"), "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: No workbench Parquet tables were found")


def test_export_of_a_missing_file_is_one_line(tmp_path, runner):
    result = runner.invoke(main, ["export", str(tmp_path / "out"), "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1
    assert "There is no database file" in result.output


def test_settings_lists_every_variable(runner):
    from workbench.config import SETTINGS

    result = runner.invoke(main, ["settings"])
    for setting in SETTINGS.values():
        assert setting.env in result.output
