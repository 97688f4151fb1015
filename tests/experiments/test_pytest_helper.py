"""An eval suite beside unit tests: the plugin's fixture and assert_pass_rate, in a real pytest run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SUITE = '''
from workbench.experiments import Contains, assert_pass_rate, import_dataset, run_experiment


def answer(question):
    return "Refunds are prorated to the day." if "refund" in question else "I do not know."


def test_refunds_pass(workbench_store, tmp_path):
    data = tmp_path / "refunds.jsonl"
    data.write_text('{"input": "How do refunds work?", "expected": "prorated"}\\n')
    import_dataset(workbench_store, data)
    exp = run_experiment(workbench_store, "refunds", answer, [Contains()], progress=False)
    assert assert_pass_rate(exp, 0.8) == 1.0


def test_everything_fails_the_bar(workbench_store, tmp_path):
    data = tmp_path / "mixed.jsonl"
    data.write_text('{"input": "How do refunds work?", "expected": "prorated"}\\n'
                    '{"input": "Can I pause?", "expected": "yes", "example_id": "pause"}\\n')
    import_dataset(workbench_store, data)
    exp = run_experiment(workbench_store, "mixed", answer, [Contains()], progress=False)
    assert_pass_rate(exp, 0.8)
'''


def test_the_plugin_fixture_and_assert_pass_rate_in_a_users_suite(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["workbench.experiments.pytest_plugin"]\n')
    (tmp_path / "test_answers.py").write_text(SUITE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKBENCH_", "PYTEST_"))}
    env.update(PYTHONPATH=str(ROOT), HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_answers.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 1 passed" in done.stdout
    assert "pass rate 50% is under 80%" in done.stdout
    assert "pause: 'Can I pause?' -> 'I do not know.' (contains: lacks 'yes')" in done.stdout
    assert list(tmp_path.rglob("*.duckdb")) == []  # the fixture's stores are in pytest's own temp folders
