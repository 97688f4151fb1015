"""``workbench eval``, run in-process against a stand-in judge and with the local one."""

from __future__ import annotations

import socket

import pandas as pd
import pytest
from click.testing import CliRunner

from tests.evals.conftest import ids, rag_traces
from workbench.cli import main
from workbench.query import Reader
from workbench.store import Store


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "rag.duckdb"
    with Store(path) as store:
        store.write(rag_traces())
    return str(path)


def _annotations(db):
    with Store(db, read_only=True) as store:
        return Reader(store).annotations()


def test_eval_with_an_llm_judge_writes_and_summarises(db, standin):
    result = CliRunner().invoke(main, ["eval", "faithfulness", "context_relevance", "--model", "judge-1",
                                       "--base-url", standin.url, "--db", db, "--quiet"])
    assert result.exit_code == 0, result.output
    summary = "faithfulness: 2 verdicts, mean score 0.50, pass rate 50%, 1 skipped (1 no retrieved context)"
    assert summary in result.output
    assert "context_relevance: 4 verdicts" in result.output and "Wrote 6 annotations" in result.output
    assert sorted(_annotations(db)["name"].value_counts().items()) == [("context_relevance", 4), ("faithfulness", 2)]
    again = CliRunner().invoke(main, ["eval", "faithfulness", "--model", "judge-1", "--base-url", standin.url,
                                      "--db", db, "--quiet"])
    assert "0 verdicts" in again.output and "2 already judged" in again.output


def test_eval_with_the_similarity_judge_a_filter_and_a_dry_run(db):
    result = CliRunner().invoke(main, ["eval", "answer_relevance", "--similarity", "--db", db, "--quiet",
                                       "--filter", "prompt_template_version == 'v2'", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "answer_relevance: 2 verdicts" in result.output and "Dry run: nothing written." in result.output
    assert _annotations(db).empty


def test_context_recall_reads_references_from_a_file(db, tmp_path, standin):
    references = tmp_path / "refs.csv"
    pd.DataFrame({"trace_id": [ids(0, 0)[0]], "reference": ["Annual plans are refunded prorated."]}).to_csv(
        references, index=False)
    result = CliRunner().invoke(main, ["eval", "context_recall", "--model", "judge-1", "--base-url", standin.url,
                                       "--references", str(references), "--db", db, "--quiet"])
    assert result.exit_code == 0, result.output
    assert "context_recall: 1 verdicts, mean score 1.00" in result.output


def test_eval_mistakes_are_one_line(db, standin, tmp_path):
    runner = CliRunner()
    neither = runner.invoke(main, ["eval", "--db", db])
    assert neither.exit_code == 2 and "Give --model MODEL for an LLM judge, or --similarity" in neither.output
    dead = runner.invoke(main, ["eval", "--model", "missing-model", "--base-url", standin.url, "--db", db, "--quiet"])
    assert dead.exit_code == 1 and "Traceback" not in dead.output
    assert dead.output.startswith("Error: The first 5 evaluations all failed") or "answered 404" in dead.output
    bad = tmp_path / "bad.csv"
    bad.write_text("question,answer\nq,a\n")
    missing = runner.invoke(main, ["eval", "context_recall", "--similarity", "--references", str(bad), "--db", db])
    assert missing.exit_code == 1 and "needs a 'reference' column" in missing.output


@pytest.fixture
def no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_eval_whose_every_judge_call_fails_exits_non_zero_with_the_cause(db, standin, no_key):
    # Two tasks, fewer than the five that stop a run early: both fail, and nothing was judged.
    result = CliRunner().invoke(main, ["eval", "faithfulness", "--model", "missing-model", "--base-url", standin.url,
                                       "--db", db, "--quiet"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: All 2 evaluations failed; the first error: The judge endpoint")
    assert "answered 404" in result.output and "Traceback" not in result.output
    assert _annotations(db).empty


def test_eval_without_a_key_for_openai_says_so_before_calling(db, no_key):
    result = CliRunner().invoke(main, ["eval", "faithfulness", "--model", "gpt-4o-mini", "--db", db, "--quiet"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: No OPENAI_API_KEY is set")


def test_eval_refused_for_a_missing_key_names_the_variable(db, standin, no_key):
    standin.script = ["401"] * 2
    result = CliRunner().invoke(main, ["eval", "faithfulness", "--model", "judge-1", "--base-url", standin.url,
                                       "--db", db, "--quiet", "--concurrency", "1"])
    assert result.exit_code == 1
    assert "answered 401" in result.output and "set OPENAI_API_KEY" in result.output


def test_eval_against_an_endpoint_that_is_down_names_it(db, no_key):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    base = f"http://127.0.0.1:{port}/v1"
    result = CliRunner().invoke(main, ["eval", "answer_relevance", "--model", "m", "--base-url", base,
                                       "--db", db, "--quiet", "--limit", "1"])
    assert result.exit_code == 1
    assert f"Cannot reach the judge endpoint {base}/chat/completions" in result.output


def test_eval_with_some_failures_writes_the_rest_and_exits_3(db, standin, no_key):
    standin.script = ["garbage"]
    result = CliRunner().invoke(main, ["eval", "faithfulness", "--model", "judge-1", "--base-url", standin.url,
                                       "--db", db, "--quiet", "--concurrency", "1"])
    assert result.exit_code == 3, result.output
    assert "Wrote 1 annotations" in result.output
    assert "1 of 2 evaluations failed" in result.output
    assert len(_annotations(db)) == 1


def test_eval_with_nothing_to_judge_exits_0(db, no_key):
    result = CliRunner().invoke(main, ["eval", "answer_relevance", "--similarity", "--db", db, "--quiet",
                                       "--filter", "name == 'no such span'"])
    assert result.exit_code == 0, result.output
    assert "Wrote 0 annotations" in result.output


def test_a_failed_eval_leaves_no_new_database_file(tmp_path):
    db = tmp_path / "new.duckdb"
    result = CliRunner().invoke(main, ["eval", "--similarity", "--db", str(db), "--quiet", "--filter", "latncy > 1"])
    assert result.exit_code == 1 and "did you mean 'latency_ms'" in result.output
    assert list(tmp_path.iterdir()) == []
