"""Datasets: named and versioned in a real store file, made by hand or from traced spans."""

from __future__ import annotations

import pandas as pd
import pytest

import workbench
from tests.experiments.conftest import root, trace_id
from workbench.errors import CapabilityError, ConfigError, NotFoundError
from workbench.experiments import (
    create_dataset,
    dataset,
    delete_dataset,
    from_session,
    from_spans,
    from_traces,
    list_datasets,
)


def test_a_change_makes_a_new_version_and_old_versions_stay_as_they_were(store):
    first = create_dataset(store, "qa", [{"input": "2+2", "expected": "4", "example_id": "a"},
                                         {"input": {"x": 1, "y": 2}, "expected": {"sum": 3}, "example_id": "b"}],
                           description="sums")
    assert (first.name, first.version, len(first)) == ("qa", 1, 2)
    second = first.add([{"input": "5+5", "expected": "10", "example_id": "c"}])
    third = second.edit("a", expected="four")
    fourth = third.remove("b")
    assert [d.version for d in (second, third, fourth)] == [2, 3, 4]

    v1 = dataset(store, "qa", version=1).examples
    assert list(v1["example_id"]) == ["a", "b"] and v1.loc[0, "expected"] == "4"
    assert v1.loc[1, "input"] == {"x": 1, "y": 2} and v1.loc[1, "expected"] == {"sum": 3}  # JSON stays JSON
    latest = dataset(store, "qa")
    assert latest.version == 4 and list(latest.examples["example_id"]) == ["a", "c"]
    assert latest.examples.loc[0, "expected"] == "four" and latest.description == "sums"
    versions = latest.versions()
    assert list(versions["version"]) == [1, 2, 3, 4]
    assert list(versions["change"]) == ["created", "added 1", "edited a", "removed 1"]
    assert list(versions["example_count"]) == [2, 3, 3, 2]
    listed = list_datasets(store)
    assert listed.to_dict(orient="records")[0] | {"created_at": None} == {
        "name": "qa", "version": 4, "example_count": 2, "created_at": None, "description": "sums", "versions": 4}


def test_a_change_to_an_old_version_is_refused_rather_than_losing_a_newer_one(store):
    first = create_dataset(store, "qa", ["a question"])
    first.add(["another"])
    with pytest.raises(ConfigError, match="changed meanwhile"):
        first.add(["a third"])
    assert dataset(store, "qa").version == 2


def test_bad_examples_and_names_get_clear_errors(store):
    with pytest.raises(ConfigError, match="Example 1 has no input"):
        create_dataset(store, "qa", [{"input": "ok"}, {"expected": "no input"}])
    with pytest.raises(ConfigError, match="given twice"):
        create_dataset(store, "qa", [{"input": "a", "example_id": "1"}, {"input": "b", "example_id": "1"}])
    with pytest.raises(ConfigError, match="DataFrame"):
        create_dataset(store, "qa", "just text")
    create_dataset(store, "qa", ["a"])
    with pytest.raises(ConfigError, match="exists already"):
        create_dataset(store, "qa", ["b"])
    with pytest.raises(NotFoundError, match="no version 7; its versions are 1 to 1"):
        dataset(store, "qa", 7)
    with pytest.raises(NotFoundError, match="the datasets are qa"):
        dataset(store, "nope")
    assert delete_dataset(store, "qa") == 1
    with pytest.raises(NotFoundError, match="has none yet"):
        dataset(store, "qa")


def test_a_dataframe_with_other_columns_keeps_them_as_metadata(store):
    frame = pd.DataFrame({"question": ["q1", "q2"], "reference": ["r1", None], "topic": ["billing", "auth"]})
    made = create_dataset(store, "qa", frame)
    assert list(made.examples["input"]) == ["q1", "q2"]
    assert made.examples.loc[0, "expected"] == "r1" and made.examples.loc[1, "expected"] is None
    assert list(made.examples["metadata"]) == [{"topic": "billing"}, {"topic": "auth"}]
    other = create_dataset(store, "other", [{"query": "q", "ground_truth": "g"},
                                           {"prompt": "p", "expected_output": "e"}])
    assert list(other.examples["input"]) == ["q", "p"] and list(other.examples["expected"]) == ["g", "e"]


def test_from_spans_takes_inputs_outputs_and_expected_outputs_from_corrections_and_feedback(wb):
    made = from_spans(wb, "bad", [root(0), root(1)], expected_from=("correction", "user_feedback"))
    rows = made.examples.to_dict(orient="records")
    assert [r["source_span_id"] for r in rows] == [root(0), root(1)]
    assert [r["source_trace_id"] for r in rows] == [trace_id(0), trace_id(1)]
    assert rows[0]["input"] == "How do refunds work?"
    assert rows[0]["expected"] == "Refunds for annual plans are prorated to the day."  # the correction
    assert rows[1]["expected"] == "Open Settings, then Security, then Reset password."  # the thumbs-down note
    assert rows[1]["metadata"]["output"] == "Contact sales."  # what production answered
    # By default only corrections give expected outputs.
    assert list(from_spans(wb, "default", [root(1)]).examples["expected"]) == [None]


def test_a_spans_own_correction_beats_a_newer_one_elsewhere_in_its_trace(wb):
    from workbench.evals import annotate

    llm = f"{(0 << 16) + 2:016x}"  # trace 0's LLM span, under root(0) which has its own correction
    annotate(wb, name="correction", label="corrected", explanation="The LLM call should have cited a source.",
             span_id=llm, trace_id=trace_id(0))
    assert list(from_spans(wb, "roots", [root(0)]).examples["expected"]) == [
        "Refunds for annual plans are prorated to the day."]
    assert list(from_spans(wb, "calls", [llm]).examples["expected"]) == ["The LLM call should have cited a source."]
    # A trace whose root has none takes the correction of another span of it.
    annotate(wb, name="correction", label="corrected", explanation="Paris, the capital.",
             span_id=f"{(2 << 16) + 2:016x}", trace_id=trace_id(2))
    assert list(from_traces(wb, "traces", [trace_id(2)]).examples["expected"]) == ["Paris, the capital."]


def test_an_llm_span_with_only_chat_messages_gives_them_as_its_input(store):
    from tests.helpers import make_span
    from workbench.model import Message
    from workbench.read import Reader

    store.write([make_span(0, trace=7, name="chat", input_messages=(
        Message(role="system", content="Be brief."), Message(role="user", content="Is VAT charged?")),
        output_messages=(Message(role="assistant", content="Yes."),))])
    made = from_spans(Reader(store, owns_store=False), "chats", [f"{(7 << 16) + 1:016x}"])
    row = made.examples.iloc[0]
    assert [m["content"] for m in row["input"]] == ["Be brief.", "Is VAT charged?"]
    assert row["metadata"]["output"][0]["content"] == "Yes."
    assert row["expected"] is None


def test_from_spans_takes_a_filter_or_ticked_rows_and_adds_to_an_existing_dataset(wb):
    made = from_spans(wb, "slow", "span_kind == 'CHAIN' and latency_ms > 850")
    assert sorted(made.examples["input"]) == ["How do I reset my password?", "What is the capital of France?"]
    ticked = wb.spans("name == 'answer'")
    ticked = ticked[ticked["input_value"].str.contains("refunds")]
    more = from_spans(wb, "slow", ticked)
    assert more.version == 2 and len(more) == 3
    again = from_spans(wb, "slow", ticked)  # the same span again replaces its example
    assert again.version == 3 and len(again) == 3
    assert list(again.versions()["change"]) == ["created", "added 1", "replaced 1"]


def test_from_traces_and_from_a_session_take_the_root_spans(wb):
    traces = wb.traces(limit=None)
    worst = traces[traces["trace_id"] == trace_id(1)]
    made = from_traces(wb, "worst", worst)
    assert list(made.examples["source_span_id"]) == [root(1)]
    by_filter = from_traces(wb, "gpt", "model_name == 'gpt-4o-mini'")
    assert len(by_filter) == 3 and set(by_filter.examples["source_span_id"]) == {root(0), root(1), root(2)}
    session = from_session(wb, "session", "s-1")
    assert set(session.examples["source_span_id"]) == {root(0), root(1)}
    with pytest.raises(NotFoundError, match="no session"):
        from_session(wb, "none", "s-404")
    with pytest.raises(NotFoundError, match="no span"):
        from_spans(wb, "none", ["ffffffffffffffff"])


def test_datasets_survive_reopening_the_file_and_a_server_reader_is_told_what_to_do(db_path, server):
    with workbench.open(db_path.with_name("other.duckdb"), read_only=False) as wb:
        create_dataset(wb, "kept", ["q"])
    assert len(dataset(str(db_path.with_name("other.duckdb")), "kept")) == 1
    with pytest.raises(CapabilityError, match="kept in a store file"):
        create_dataset(workbench.open(server.url), "qa", ["q"])


def test_a_read_only_reader_reads_datasets_and_says_how_to_write(db_path):
    from workbench.errors import StoreError
    from workbench.store import Store

    with Store(db_path) as store:
        create_dataset(store, "qa", ["q"])
    with workbench.open(db_path) as wb:  # read-only, the default
        assert len(dataset(wb, "qa")) == 1
        with pytest.raises(StoreError, match="read-only; open it without read_only"):
            create_dataset(wb, "other", ["q"])
