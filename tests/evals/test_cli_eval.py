"""``workbench eval``, run in-process against a stand-in judge and with the local one."""

from __future__ import annotations

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
    assert "faithfulness: 2 verdicts, mean score 0.50, pass rate 50%, 1 skipped (1 no retrieved context)" in result.output
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
