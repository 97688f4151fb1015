"""`workbench vacuum` in-process: limits from the command line over the config file's, export
first with one flag, and a file that shrinks."""

from __future__ import annotations

import os

from click.testing import CliRunner

from tests.store.test_retention import _checkpoint, _fill
from workbench.cli import main
from workbench.store import Store


def test_vacuum_exports_removes_and_shrinks_the_file(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    with Store(db) as store:
        _fill(store, project="a", traces=3000, first_day=30, days=30)
        _fill(store, project="b", traces=100, first_day=30, days=30)
        _checkpoint(store)
    full = os.path.getsize(db)
    config = tmp_path / "config.toml"
    config.write_text('[retention]\nmax_age = "3650d"\n\n[retention.projects.b]\nmax_spans = 30\n')
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))

    result = CliRunner().invoke(main, ["vacuum", "--db", str(db), "--max-spans", "600", "--project", "a",
                                       "--export", str(tmp_path / "before")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"Exported to {tmp_path / 'before'}: 9300 spans")
    assert lines[1].startswith("Removed 8670 spans (2890 traces): every project: traces older than 3650d; "
                               "b: traces older than 3650d and beyond the newest 30 spans; a: ")
    assert lines[2].startswith(f"Compacted {db}: ")
    # 7% of the spans are left; each table keeps at least a block of its own (256 KiB).
    assert os.path.getsize(db) < full * 0.35
    with Store(db, read_only=True) as store:
        assert dict(store.fetchall("SELECT project, count(*) FROM spans GROUP BY project")) == {"a": 600, "b": 30}
    assert any((tmp_path / "before").rglob("*.parquet"))


def test_vacuum_with_a_bad_limit_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["vacuum", "--db", str(tmp_path / "w.duckdb"), "--max-age", "soon"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: The --max-age is 'soon', which is not a duration")
    assert not (tmp_path / "w.duckdb").exists()


def test_vacuum_of_a_missing_file_creates_none(tmp_path):
    result = CliRunner().invoke(main, ["vacuum", "--db", str(tmp_path / "none.duckdb"), "--max-age", "3d"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: There is no database file at")
    assert not (tmp_path / "none.duckdb").exists()


def test_vacuum_of_a_file_another_process_holds_names_the_fix(tmp_path):
    import subprocess
    import sys
    import textwrap

    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from workbench.store import Store
            s = Store({str(db)!r})
            print("held", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = CliRunner().invoke(main, ["vacuum", "--db", str(db), "--max-age", "3d"])
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert result.exit_code == 1
    assert "is in use by another process" in result.output and "workbench serve --max-age" in result.output
