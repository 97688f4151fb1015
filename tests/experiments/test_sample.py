"""The sample's dataset and experiments tell the Quality story, and are made again the same."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sample_data import experiments as story
from workbench.experiments import compare, dataset, list_experiments, load_experiment, run_experiment
from workbench.read import Reader
from workbench.store import Store

TRACES = Path(__file__).resolve().parents[2] / "sample_data" / "traces"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("sample") / "sample.duckdb")
    store.import_parquet(TRACES)  # this checkout's files, as load_sample imports them
    yield store
    store.close()


def test_the_dataset_holds_the_worst_prompt_v2_traces_with_their_documents(sample):
    made = dataset(sample, story.DATASET)
    assert made.version == 2 and len(made) == story.WORST
    assert list(made.versions()["change"]) == ["created", f"replaced {story.WORST}"]
    assert dataset(sample, story.DATASET, 1).examples["metadata"].map(lambda m: "documents" in m).sum() == 0
    assert made.examples["metadata"].map(lambda m: len(m["documents"]) > 0).all()
    reader = Reader(sample, owns_store=False)
    traces = list(made.examples["source_trace_id"])
    versions = reader.spans("span_kind == 'LLM'", trace_ids=traces, columns=["trace_id", "prompt_template_version"])
    assert set(versions["prompt_template_version"]) == {"v2"} and set(versions["trace_id"]) == set(traces)
    feedback = reader.annotations("user_feedback", trace_ids=traces)
    assert set(feedback["label"]) == {"thumbs_down"} and set(feedback["trace_id"]) == set(traces)


def test_prompt_v1_beats_v2_on_the_examples_users_disliked(sample):
    listed = list_experiments(sample)
    assert set(listed["name"]) == set(story.EXPERIMENTS) and (listed["runs"] == story.WORST).all()
    cmp = compare(sample, "support-prompt-v2", "support-prompt-v1")
    summary = cmp.summary().set_index("experiment")
    assert summary.loc["support-prompt-v1", "cites_a_source"] == 1 and summary.loc["support-prompt-v2",
                                                                                  "cites_a_source"] == 0
    assert summary.loc["support-prompt-v1", "detailed"] > 0.9 > 0.5 > summary.loc["support-prompt-v2", "detailed"]
    assert summary.loc["support-prompt-v1", "pass_rate"] >= 0.5 and summary.loc["support-prompt-v2", "pass_rate"] == 0
    assert summary.loc["support-prompt-v1", "improved"] >= 10 and summary.loc["support-prompt-v1", "regressed"] == 0
    production = compare(sample, "support-prompt-v1", "production").summary().set_index("experiment")
    assert production.loc["production", "user_feedback"] == 0  # every source trace was thumbed down
    assert production.loc["production", "cost"] > 0 and production.loc["production", "mean_latency_ms"] > 100


def test_the_experiments_run_again_give_the_same_outputs(sample):
    shipped = {e: compare(sample, e, "production").examples.set_index("example_id")[f"output[{e}]"]
               for e in story.EXPERIMENTS}
    again = run_experiment(sample, story.DATASET, story.answer_v1, story.EVALUATORS, name="v1-again", progress=False)
    assert again.runs.set_index("example_id")["output"].to_dict() == shipped["support-prompt-v1"].to_dict()
    assert again.summary().equals(
        compare(sample, "support-prompt-v1", "v1-again").experiments[0].summary())


def test_the_runs_are_traces_on_the_samples_last_day(sample):
    reader = Reader(sample, owns_store=False)
    traces = [t for e in story.EXPERIMENTS for t in load_experiment(sample, e).runs["trace_id"]]
    runs = reader.spans(trace_ids=traces, columns=["start_time", "name", "project"])
    production = reader.spans("project != 'experiments'", columns=["start_time"])
    assert len(runs) == 2 * story.WORST and set(runs["name"]) == {"experiment.run"}
    assert set(runs["project"]) == {"experiments"}
    last = production["start_time"].max()
    assert last - dt.timedelta(days=1) < runs["start_time"].min() <= runs["start_time"].max() < last
