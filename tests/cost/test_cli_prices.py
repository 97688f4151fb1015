"""``workbench prices``, run in-process: each command prints its answer, each error one line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.helpers import make_span
from workbench.cli import main
from workbench.model import SpanKind, TokenUsage
from workbench.store import Store


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_help_lists_the_subcommands(runner):
    assert "prices" in runner.invoke(main, ["--help"]).output
    result = runner.invoke(main, ["prices", "--help"])
    for command in ("list", "set", "remove", "import", "export", "test", "unpriced"):
        assert command in result.output


def test_set_list_test_remove(runner, price_file):
    result = runner.invoke(main, ["prices", "set", "acme-large", "--input", "1.5", "--output", "6",
                                  "--provider", "acme", "--from", "2025-02-01", "--cache-read", "0.1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Set 'acme-large' (acme, from 2025-02-01): $1.5 in, $6 out")
    assert json.loads(price_file.read_text())["rows"][0]["cache_read"] == 0.1

    listed = runner.invoke(main, ["prices", "list", "--user"])
    assert listed.exit_code == 0 and "acme-large" in listed.output and "gpt-4o" not in listed.output
    assert "gpt-4o-mini" in runner.invoke(main, ["prices", "list", "openai/gpt-4o-mini"]).output

    tested = runner.invoke(main, ["prices", "test", "acme/acme-large-latest", "--at", "2025-03-01"])
    assert tested.exit_code == 0 and "priced by user row 'acme-large'" in tested.output
    assert "unpriced" in runner.invoke(main, ["prices", "test", "acme-large", "--at", "2025-01-01"]).output

    removed = runner.invoke(main, ["prices", "remove", "acme-large", "--provider", "acme"])
    assert removed.output.strip() == f"Removed 1 row from {price_file}."


def test_import_export_and_a_file_option(runner, tmp_path, price_file):
    source = tmp_path / "team.json"
    source.write_text(json.dumps({"rows": [{"pattern": "team-model", "input": 2, "output": 8}]}))
    assert runner.invoke(main, ["prices", "import", str(source)]).output.strip() == (
        f"Imported 1 row into {price_file}."
    )
    out = tmp_path / "out.csv"
    assert runner.invoke(main, ["prices", "export", str(out)]).exit_code == 0
    assert out.read_text().splitlines()[1].startswith(",team-model,team-model,2.0,8.0")
    other = tmp_path / "other.json"
    result = runner.invoke(main, ["prices", "--file", str(other), "set", "x-1", "--input", "1", "--output", "1"])
    assert result.exit_code == 0 and other.exists()


def test_errors_are_one_line(runner, price_file):
    result = runner.invoke(main, ["prices", "set", "gpt(", "--input", "1", "--output", "1"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: the pattern 'gpt(' cannot be used: the '(' is never closed "
                                    "at character 4")
    assert "position" not in result.output  # no place in the expression built around the pattern
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    # A value's error names the flag that gave it.
    negative = runner.invoke(main, ["prices", "set", "gpt-x", "--input", "-1", "--output", "1"])
    assert negative.exit_code == 1 and negative.output.startswith("Error: --input -1.0 is negative;"), negative.output
    day = runner.invoke(main, ["prices", "set", "gpt-x", "--input", "1", "--output", "1", "--from", "2025-13-01"])
    assert day.exit_code == 1 and day.output.startswith("Error: --from '2025-13-01' is not a date;"), day.output
    bad = runner.invoke(main, ["prices", "export", str(price_file.with_suffix(".txt"))])
    assert bad.exit_code == 1 and "use one of those names" in bad.output


def test_unpriced_lists_stored_models_with_a_fix(runner, tmp_path, price_file):
    db = tmp_path / "w.duckdb"
    with Store(db) as store:
        store.write([make_span(0, kind=SpanKind.LLM, model_name="homegrown-7b", provider="local",
                               tokens=TokenUsage(prompt=120, completion=30))])
    result = runner.invoke(main, ["prices", "unpriced", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "homegrown-7b (local): 1 call, 120 input and 30 output tokens; no price row matches this name.",
        "    workbench prices set 'homegrown-7b' --input USD --output USD --provider local",
    ]
    runner.invoke(main, ["prices", "set", "homegrown-7b", "--input", "0", "--output", "0"])
    listed = runner.invoke(main, ["prices", "unpriced", "--db", str(db)]).output.strip()
    assert listed == "Every stored call has a price."
