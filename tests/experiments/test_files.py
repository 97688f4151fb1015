"""Datasets travel as Parquet, JSONL and CSV, and with `workbench export`/`import`."""

from __future__ import annotations

import json

import pytest

from workbench.errors import ImportFormatError
from workbench.experiments import ExactMatch, create_dataset, dataset, import_dataset, list_experiments, run_experiment
from workbench.store import Store

EXAMPLES = [
    {"example_id": "a", "input": "What is 2+2?", "expected": "4", "metadata": {"topic": "sums", "hard": False}},
    {"example_id": "b", "input": {"question": "Capital?", "country": "France"}, "expected": {"city": "Paris"},
     "metadata": {}},
    {"example_id": "c", "input": "Text, with \"quotes\", commas\nand a new line; ünïcode", "expected": None,
     "metadata": {"n": 3}, "source_trace_id": "0" * 31 + "1", "source_span_id": "0" * 15 + "1"},
]


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_a_dataset_round_trips_through_each_format(store, tmp_path, suffix):
    made = create_dataset(store, "qa", EXAMPLES, description="round trip")
    path = made.export(tmp_path / f"qa{suffix}")
    back = import_dataset(store, path, "copy")
    assert back.name == "copy" and back.version == 1
    original = made.examples.to_dict(orient="records")
    copied = back.examples.to_dict(orient="records")
    assert copied == original
    again = import_dataset(store, path, "copy")  # importing into an existing dataset: its next version
    assert again.version == 2 and again.examples.to_dict(orient="records") == original


def test_the_file_name_names_the_dataset_and_rows_need_an_input(store, tmp_path):
    path = tmp_path / "refunds.jsonl"
    path.write_text(json.dumps({"question": "How do refunds work?", "reference": "Prorated."}) + "\n\n")
    made = import_dataset(store, path)
    assert made.name == "refunds" and made.examples.loc[0, "expected"] == "Prorated."
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "ok"}\nnot json\n')
    with pytest.raises(ImportFormatError, match=r"Line 2 of bad\.jsonl is not JSON"):
        import_dataset(store, bad)
    empty_input = tmp_path / "bad.csv"
    empty_input.write_text("input,expected\n,4\n")
    with pytest.raises(ImportFormatError, match=r"bad\.csv: Example 0 has no input"):
        import_dataset(store, empty_input)
    with pytest.raises(ImportFormatError, match="There is no file"):
        import_dataset(store, tmp_path / "missing.parquet")


def test_workbench_export_and_import_carry_datasets_and_experiments(store, tmp_path):
    made = create_dataset(store, "qa", EXAMPLES)
    made.add([{"input": "more", "example_id": "d"}])
    run_experiment(store, "qa", lambda input: "4", [ExactMatch()], name="fours", progress=False)
    counts = store.export_parquet(tmp_path / "out")
    assert counts["datasets"] == 2 and counts["dataset_examples"] == 7
    assert counts["experiments"] == 1 and counts["experiment_runs"] == 4
    with Store(tmp_path / "copy.duckdb") as copy:
        added = copy.import_parquet(tmp_path / "out")
        assert added["experiment_runs"] == 4 and added["dataset_examples"] == 7
        assert dataset(copy, "qa", 1).examples.to_dict(orient="records") == made.examples.to_dict(orient="records")
        listed = list_experiments(copy)
        assert list(listed["name"]) == ["fours"] and int(listed["runs"][0]) == 4
        assert copy.import_parquet(tmp_path / "out")["dataset_examples"] == 0  # nothing twice


def test_files_from_spreadsheets_and_windows_tools_import_as_written(store, tmp_path):
    # Excel's "CSV UTF-8" starts with a byte-order mark; many locales separate with ';'.
    excel = tmp_path / "excel.csv"
    excel.write_bytes("\ufeffinput,expected\nWhat is 2+2?,4\n".encode())
    assert import_dataset(store, excel).examples.loc[0, "input"] == "What is 2+2?"
    semicolons = tmp_path / "semi.csv"
    semicolons.write_bytes("\ufeffinput;expected\n\"Refunds, how?\";Prorated\n".encode())
    made = import_dataset(store, semicolons).examples
    assert made.loc[0, "input"] == "Refunds, how?" and made.loc[0, "expected"] == "Prorated"
    tabs = tmp_path / "tabs.csv"
    tabs.write_text("input\texpected\nq\ta\n")
    assert import_dataset(store, tabs).examples.loc[0, "expected"] == "a"
    single = tmp_path / "single.csv"
    single.write_text("input\nonly; a question\n")
    assert import_dataset(store, single).examples.loc[0, "input"] == "only; a question"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("input,expected\ncaf\u00e9,1\n".encode("cp1252"))
    with pytest.raises(ImportFormatError, match=r"latin\.csv is not UTF-8 text \(byte 0xe9 at position 18\); save it"):
        import_dataset(store, latin)
    marked = tmp_path / "marked.jsonl"
    marked.write_bytes("\ufeff".encode() + json.dumps({"input": "a", "expected": "b"}).encode() + b"\r\n")
    assert import_dataset(store, marked).examples.loc[0, "expected"] == "b"
