"""`workbench dataset ...` and `workbench experiment ...`, the CI gate included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.cli.experiments import BELOW_BAR
from workbench.store import Store

ROOT = Path(__file__).resolve().parents[2]

TASKS = '''
def good(input):
    a, b = input.split("+")
    return str(int(a) + int(b))


def off_by_one(input):
    a, b = input.split("+")
    return str(int(a) + int(b) + (1 if a == "3" else 0))


def broken(input):
    raise ConnectionError("the model endpoint is down")


def is_even(output):
    return int(output) % 2 == 0
'''


@pytest.fixture
def project(tmp_path):
    """A folder as a user's repository: a task module and a dataset file."""
    (tmp_path / "mytasks.py").write_text(TASKS)
    rows = [{"input": f"{n}+{n}", "expected": str(2 * n), "example_id": f"e{n}"} for n in range(1, 5)]
    (tmp_path / "sums.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def _workbench(project, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_ci_gate_passes_and_fails_on_the_bar_as_a_subprocess(project):
    db = str(project / "ci.duckdb")
    made = _workbench(project, "dataset", "import", "sums.jsonl", "--db", db)
    assert made.returncode == 0, made.stderr
    assert "Dataset sums version 1: 4 examples." in made.stdout
    ok = _workbench(project, "experiment", "run", "sums", "--task", "mytasks:good", "--evaluator", "exact_match",
                    "--evaluator", "mytasks:is_even", "--fail-under", "0.8", "--db", db, "--quiet")
    assert ok.returncode == 0, ok.stderr
    assert "exact_match" in ok.stdout and "is_even" in ok.stdout and "Pass rate 100% passes the bar of 80%" in ok.stdout
    bad = _workbench(project, "experiment", "run", "sums", "--task", "mytasks:off_by_one", "--evaluator",
                     "exact_match", "--fail-under", "0.8", "--db", db, "--quiet", "--name", "off")
    assert bad.returncode == BELOW_BAR, bad.stderr
    shown = _workbench(project, "experiment", "show", "off", "--db", db)
    assert "Failing examples (1):" in shown.stdout and "3+3  ->  7" in shown.stdout
    assert "Pass rate 75% is under the bar of 80%." in bad.stdout
    table = bad.stdout.splitlines()
    assert any(line.split()[:2] == ["exact_match", "4"] and line.endswith("75%") for line in table)


def test_unknown_tasks_and_evaluators_are_one_line_errors(project):
    db = str(project / "ci.duckdb")
    _workbench(project, "dataset", "import", "sums.jsonl", "--db", db)
    missing = _workbench(project, "experiment", "run", "sums", "--task", "mytasks:nope", "--db", db)
    assert missing.returncode == 1 and missing.stderr.startswith("Error: The module 'mytasks' has no 'nope'")
    assert "Traceback" not in missing.stderr
    unknown = _workbench(project, "experiment", "run", "sums", "--task", "mytasks:good", "--evaluator", "bleu",
                         "--db", db)
    assert unknown.returncode == 1 and "'bleu' names no evaluator" in unknown.stderr
    no_dataset = _workbench(project, "experiment", "run", "nope", "--task", "mytasks:good", "--db", db)
    assert no_dataset.returncode == 1 and "There is no dataset 'nope'; the datasets are sums." in no_dataset.stderr
    neither = _workbench(project, "experiment", "run", "sums", "--db", db)
    assert neither.returncode == 2 and "Give --task module:function, or --prompt" in neither.stderr


@pytest.mark.parametrize("bar", [[], ["--fail-under", "0.5"]])
def test_an_experiment_whose_every_run_failed_exits_1_whatever_the_bar(project, monkeypatch, bar):
    db = str(project / "ci.duckdb")
    monkeypatch.chdir(project)
    runner = CliRunner()
    assert runner.invoke(main, ["dataset", "import", "sums.jsonl", "--db", db]).exit_code == 0
    result = runner.invoke(main, ["experiment", "run", "sums", "--task", "mytasks:broken", "--evaluator",
                                  "exact_match", "--max-retries", "0", "--db", db, "--quiet", "--name", "down", *bar])
    assert result.exit_code == 1, result.output
    assert "4 runs failed; the first: ConnectionError: the model endpoint is down" in result.output
    assert "Error: Every run of down failed, so nothing was scored" in result.output
    assert "--name down" in result.output and "Traceback" not in result.output


def test_dataset_and_experiment_commands_in_process(project, monkeypatch, standin):
    monkeypatch.chdir(project)
    runner = CliRunner()
    db = str(project / "cli.duckdb")

    def run(*args):
        result = runner.invoke(main, [*args, "--db", db])
        assert result.exit_code == 0, result.output
        return result.output

    missing = runner.invoke(main, ["dataset", "list", "--db", db])
    assert missing.exit_code == 1 and "There is no database file at" in missing.output
    Store(db).close()  # an empty store
    assert "No datasets yet" in run("dataset", "list")
    assert "No experiments yet" in run("experiment", "list")
    run("dataset", "import", "sums.jsonl", "--name", "s", "--description", "small sums")
    run("dataset", "import", "sums.jsonl", "--name", "s")
    listed = run("dataset", "list")
    assert "s     2        4         2" in listed and "small sums" in listed
    shown = run("dataset", "show", "s", "--version", "1", "--limit", "2")
    assert "s version 1: 4 examples (small sums)" in shown and "e1" in shown and "2 more" in shown
    for suffix in (".csv", ".parquet"):
        assert "Wrote 4 examples of s version 2" in run("dataset", "export", "s", str(project / f"out{suffix}"))
    run("experiment", "run", "s", "--task", "mytasks:good", "--evaluator", "exact_match", "--name", "a", "--quiet")
    run("experiment", "run", "s", "--prompt", "{input}=?", "--model", "gpt-4o-mini", "--base-url", standin.url,
        "--evaluator", "contains:Answer", "--name", "b", "--quiet", "--max-tokens", "20")
    assert [r["messages"][-1]["content"] for r in standin.requests][:1] in (["1+1=?"], ["2+2=?"], ["3+3=?"], ["4+4=?"])
    listed = run("experiment", "list")
    assert listed.index("\nb ") < listed.index("\na ") and "mytasks:good" in listed and "prompt:gpt-4o-mini" in listed
    compared = run("experiment", "compare", "a", "b", "--out", str(project / "cmp.csv"))
    assert "b against a: 0 examples changed verdict" in compared
    assert (project / "cmp.csv").read_text().startswith("example_id,input,expected,output[a]")
    result = runner.invoke(main, ["experiment", "compare", "a", "--production", "--db", db])
    assert result.exit_code == 1 and "came from no spans" in result.output
    result = runner.invoke(main, ["experiment", "compare", "a", "--db", db])
    assert result.exit_code == 2 and "or one with --production" in result.output
    result = runner.invoke(main, ["experiment", "compare", "a", "b", "--out", str(project / "cmp.xlsx"), "--db", db])
    assert result.exit_code == 2 and "names no .csv or .parquet file" in result.output
    assert not (project / "cmp.xlsx").exists()
    shown = run("experiment", "show", "b")
    assert "Experiment b: prompt:gpt-4o-mini on s version 2, 4 runs, pass rate 100%." in shown
    assert "Failing examples" not in shown and "contains" in shown
    result = runner.invoke(main, ["dataset", "delete", "s", "--db", db], input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    assert "Deleted 2 versions of dataset s." in run("dataset", "delete", "s", "--yes")
    result = runner.invoke(main, ["dataset", "delete", "s", "--yes", "--db", db])
    assert result.exit_code == 1 and "There is no dataset 's'" in result.output


SLOW = '''
import time


def slow(input):
    with open("calls.txt", "a") as out:
        out.write(input + "\\n")
    time.sleep(0.3)
    return input
'''


def test_ctrl_c_keeps_the_finished_runs_and_the_same_command_with_name_resumes(project):
    import re
    import signal

    from tests.helpers import wait_for
    from workbench.experiments import load_experiment

    (project / "slowtask.py").write_text(SLOW)
    rows = [{"input": f"q{n}", "example_id": f"e{n}"} for n in range(12)]
    (project / "many.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    db = str(project / "ci.duckdb")
    assert _workbench(project, "dataset", "import", "many.jsonl", "--db", db).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "experiment", "run", "many", "--task", "slowtask:slow",
                             "--concurrency", "1", "--db", db, "--quiet"], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    calls = project / "calls.txt"
    wait_for(lambda: calls.exists() and len(calls.read_text().split()) >= 4, timeout=120)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    name = re.search(r"--name (\S+) to resume", err).group(1)
    assert "Traceback" not in err
    stored = set(load_experiment(db, name).runs["example_id"])
    assert 3 <= len(stored) < 12
    calls.unlink()
    done = _workbench(project, "experiment", "run", "many", "--task", "slowtask:slow", "--name", name, "--db", db,
                      "--quiet")
    assert done.returncode == 0, done.stderr
    assert sorted(calls.read_text().split()) == sorted(f"q{n}" for n in range(12) if f"e{n}" not in stored)
    assert len(load_experiment(db, name).runs) == 12


def test_a_prompt_saved_from_the_playground_is_a_cli_task(project, monkeypatch, standin):
    from workbench.playground import save_prompt
    from workbench.playground.request import ChatRequest

    monkeypatch.chdir(project)
    runner = CliRunner()
    db = str(project / "cli.duckdb")
    assert runner.invoke(main, ["dataset", "import", "sums.jsonl", "--name", "s", "--db", db]).exit_code == 0
    request = ChatRequest(messages=[{"role": "system", "content": "Add."}, {"role": "user", "content": "{input}=?"}],
                          model="gpt-4o-mini", parameters={"temperature": 0})
    with Store(db) as store:
        save_prompt(store, "adder", request)
    args = ["experiment", "run", "s", "--base-url", standin.url, "--evaluator", "contains:Answer", "--quiet",
            "--db", db]
    result = runner.invoke(main, [*args, "--saved-prompt", "adder@1", "--fail-under", "1"])
    assert result.exit_code == 0, result.output
    assert "Experiment s-adder-" in result.output and "Pass rate 100% passes" in result.output
    sent = standin.requests[0]
    assert sent["model"] == "gpt-4o-mini" and sent["messages"][0] == {"role": "system", "content": "Add."}
    assert sent["messages"][1]["content"].endswith("=?") and sent["temperature"] == 0
    missing = runner.invoke(main, [*args, "--saved-prompt", "nope"])
    assert missing.exit_code == 1 and "There is no prompt 'nope'; saved prompts: adder." in missing.output
    both = runner.invoke(main, [*args, "--saved-prompt", "adder", "--task", "mytasks:good"])
    assert both.exit_code == 2 and "--saved-prompt NAME: one task" in both.output
    unread = runner.invoke(main, [*args, "--prompt", "@no-such-template.txt", "--model", "m"])
    assert unread.exit_code == 2 and "Cannot read the template file no-such-template.txt" in unread.output
    assert "Traceback" not in unread.output
