"""The user's price file: set, load, remove, import, export, and the errors on bad input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from workbench.errors import ConfigError
from workbench.pricing import (
    PriceTable,
    import_prices,
    load_user_prices,
    read_rows,
    remove_price,
    save_user_prices,
    set_price,
    shipped_rows,
    write_rows,
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "workbench" / "prices.json"


def test_a_missing_file_has_no_rows(path: Path) -> None:
    assert load_user_prices(path) == []
    assert len(PriceTable.load(path)) == len(shipped_rows())


def test_set_price_writes_a_row_that_beats_the_shipped_one(path: Path) -> None:
    row = set_price(path, pattern="gpt-4o", input=2.0, output=8.0, provider="OpenAI", source="contract 2025")
    assert path.exists()
    assert (row.provider, row.model, row.origin, row.valid_from) == ("openai", "gpt-4o", "user", None)
    assert load_user_prices(path) == [row]
    found = PriceTable.load(path).match("gpt-4o-2024-11-20", at=date(2025, 3, 1))
    assert found is not None and found.origin == "user" and found.price.input == 2.0


def test_set_price_replaces_the_same_key_and_keeps_history(path: Path) -> None:
    set_price(path, pattern="acme-1", input=1.0, output=2.0)
    set_price(path, pattern="acme-1", input=1.5, output=2.5)  # same key: replaced
    set_price(path, pattern="acme-1", input=0.5, output=1.0, valid_from="2025-06-01")  # new key
    rows = load_user_prices(path)
    assert [(r.input, r.valid_from) for r in rows] == [(1.5, None), (0.5, date(2025, 6, 1))]
    table = PriceTable.load(path)
    assert table.match("acme-1", at=date(2025, 5, 31)).price.input == 1.5  # type: ignore[union-attr]
    assert table.match("acme-1", at=date(2025, 6, 1)).price.input == 0.5  # type: ignore[union-attr]


def test_remove_price(path: Path) -> None:
    set_price(path, pattern="acme-1", input=1.0, output=2.0)
    set_price(path, pattern="acme-1", input=0.5, output=1.0, valid_from="2025-06-01")
    set_price(path, pattern="acme-2", input=1.0, output=2.0)
    assert remove_price(path, pattern="acme-1", valid_from="2025-06-01") == 1
    assert remove_price(path, pattern="acme-1") == 1
    assert remove_price(path, pattern="acme-9") == 0
    assert [r.pattern for r in load_user_prices(path)] == ["acme-2"]


def test_the_file_is_plain_json_rows(path: Path) -> None:
    set_price(path, pattern="acme-1", input=1.0, output=2.0, cache_read=0.1, valid_from=date(2025, 1, 2))
    data = json.loads(path.read_text())
    assert data == {
        "rows": [
            {
                "provider": None,
                "model": "acme-1",
                "pattern": "acme-1",
                "input": 1.0,
                "output": 2.0,
                "cache_read": 0.1,
                "cache_write": None,
                "reasoning": None,
                "valid_from": "2025-01-02",
                "source": None,
                "retrieved": None,
            }
        ]
    }
    # A hand-written file may leave optional columns out, or be a bare list.
    path.write_text(json.dumps([{"pattern": "acme-2", "input": "0.5", "output": 1}]))
    (row,) = load_user_prices(path)
    assert (row.pattern, row.input, row.output, row.cache_read) == ("acme-2", 0.5, 1.0, None)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_export_and_import_round_trip(tmp_path: Path, path: Path, suffix: str) -> None:
    set_price(path, pattern="acme-1", input=1.0, output=2.0, cache_write=1.25, provider="acme")
    set_price(
        path, pattern="acme-2", input=0.5, output=1.0, valid_from="2025-06-01", source="https://acme.example/prices"
    )
    exported = tmp_path / f"export{suffix}"
    write_rows(exported, load_user_prices(path))
    assert read_rows(exported) == load_user_prices(path)
    other = tmp_path / "other.json"
    set_price(other, pattern="acme-1", input=9.0, output=9.0, provider="acme")  # same key: replaced
    assert import_prices(other, exported) == 2
    assert [(r.pattern, r.input) for r in load_user_prices(other)] == [("acme-1", 1.0), ("acme-2", 0.5)]


def test_the_shipped_table_exports_to_csv(tmp_path: Path) -> None:
    exported = tmp_path / "shipped.csv"
    write_rows(exported, shipped_rows())
    header = exported.read_text().splitlines()[0]
    assert header == "provider,model,pattern,input,output,cache_read,cache_write,reasoning,valid_from,source,retrieved"
    assert len(read_rows(exported)) == len(shipped_rows())


def test_csv_import_with_a_subset_of_columns(tmp_path: Path) -> None:
    source = tmp_path / "deal.csv"
    source.write_text('pattern,input,output,cache_read\nacme-1,1.0,2.0,\n"acme-(?:2|3)",$0.5,1,0.1\n')
    rows = read_rows(source)
    assert [(r.pattern, r.input, r.cache_read) for r in rows] == [("acme-1", 1.0, None), ("acme-(?:2|3)", 0.5, 0.1)]


def _message(excinfo: pytest.ExceptionInfo[ConfigError]) -> str:
    message = str(excinfo.value)
    assert message.endswith("."), message
    return message


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        (
            {"pattern": "gpt-4o(", "input": 1.0, "output": 1.0},
            ["the pattern 'gpt-4o(' cannot be used", "'(' is never closed at character 7", "\\( for a literal"],
        ),
        ({"pattern": "acme", "input": -1.0, "output": 1.0}, ["input -1.0 is negative", "write zero or more"]),
        ({"pattern": "acme", "input": 1.0, "output": float("nan")}, ["output nan is not a number", "such as 2.5"]),
        ({"pattern": "acme", "input": "cheap", "output": 1.0}, ["input 'cheap' is not a number"]),
        ({"pattern": "acme", "input": 1.0, "output": 1.0, "cache_read": True}, ["cache_read True is not a number"]),
        (
            {"pattern": "acme", "input": 1.0, "output": 1.0, "valid_from": "June 1"},
            ["valid_from 'June 1' is not a date", "YYYY-MM-DD"],
        ),
        ({"pattern": "  ", "input": 1.0, "output": 1.0}, ["the 'pattern' column is missing or empty"]),
        # Counts and nesting past what Python's re takes raise OverflowError or RecursionError there.
        ({"pattern": "a{99999999999}", "input": 1.0, "output": 1.0},
         ["the pattern 'a{99999999999}' cannot be used", "write a smaller count"]),
        ({"pattern": "gpt{4294967296,}", "input": 1.0, "output": 1.0}, ["cannot be used", "smaller count"]),
    ],
)
def test_set_price_refuses_bad_values(path: Path, kwargs: dict, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        set_price(path, **kwargs)
    message = _message(excinfo)
    assert message.startswith("set_price: ")
    for fragment in fragments:
        assert fragment in message
    assert not path.exists()  # nothing was written


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (
            '{"rows": [{"pattern": "a", "inptu": 1, "output": 1}]}',
            ["row 1: 'inptu' is not a price column", "rename it to 'input' or remove it."],
        ),
        (
            '{"rows": [{"pattern": "a", "price": 1, "output": 1}]}',
            ["'price' is not a price column", "rename or remove it"],
        ),
        ('{"rows": [{"pattern": "a", "output": 1}]}', ["row 1: the 'input' column is missing or empty"]),
        (
            '{"rows": [{"pattern": "a", "input": 1, "output": 1}, {"pattern": "a", "input": 2, "output": 2}]}',
            ["rows 1 and 2 both price pattern 'a'", "remove one of them"],
        ),
        ('{"rows": {"pattern": "a"}}', ['"rows" is missing or is not a list']),
        ('{"prices": []}', ["'prices' is not a key of a price file"]),
        ('"hello"', ["the file holds str, not price rows"]),
        ('{"rows": [1]}', ["row 1: 1 is not a row"]),
        ('{"rows": [', ["is not valid JSON", "line 1", "fix the syntax"]),
    ],
)
def test_load_refuses_bad_files(path: Path, content: str, fragments: list[str]) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(ConfigError) as excinfo:
        load_user_prices(path)
    message = _message(excinfo)
    assert message.startswith(f"user price file {path}")
    for fragment in fragments:
        assert fragment in message


def test_import_refuses_other_kinds_and_missing_files(tmp_path: Path, path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ends in '\.xlsx'; price rows are read and written as \.json or \.csv"):
        import_prices(path, tmp_path / "prices.xlsx")
    with pytest.raises(ConfigError, match="does not exist; check the path"):
        import_prices(path, tmp_path / "missing.csv")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("pattern,input,output\nacme,1,2,3\n")
    with pytest.raises(ConfigError, match="row 1: it has more cells than the header has columns"):
        read_rows(ragged)


def test_save_refuses_duplicate_keys(path: Path) -> None:
    row = set_price(path, pattern="acme", input=1.0, output=2.0)
    with pytest.raises(ConfigError, match="rows 1 and 2 both price pattern 'acme'"):
        save_user_prices(path, [row, row])


@pytest.mark.parametrize(
    ("pattern", "fragments"),
    [
        ("claude[3", ["'[' is never closed at character 7", "\\[ for a literal"]),
        ("*gpt", ["nothing before it at character 1"]),
        ("gpt-4o)", ["')' has no '(' before it at character 7"]),
        ("(?i)gpt-4o", ["flags such as (?i)", "already ignores case"]),
        ("gpt**", ["two repeats follow each other at character 5"]),
    ],
)
def test_a_bad_pattern_is_explained_in_the_text_the_user_typed(path: Path, pattern: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        set_price(path, pattern=pattern, input=1.0, output=1.0)
    message = _message(excinfo)
    for fragment in fragments:
        assert fragment in message
    # re's own wording counts places in the expression wrapped around the pattern.
    assert "position" not in message and "(?:" not in message


def test_a_price_file_that_cannot_be_read_is_a_config_error_that_names_it(tmp_path: Path) -> None:
    from workbench.pricing.prices import Prices

    blocked = tmp_path / "prices.json"
    blocked.mkdir()  # a folder where the file should be: exists, yet cannot be read (even by root)
    for attempt in (lambda: load_user_prices(blocked), lambda: Prices(blocked).table()):
        with pytest.raises(ConfigError, match=r"The price file .*prices\.json cannot be read .*fix its permissions"):
            attempt()


def test_save_takes_the_rows_of_an_edited_table(path: Path) -> None:
    saved = save_user_prices(path, [
        {"pattern": "acme-1", "input": 1.0, "output": 2.0, "cache_read": float("nan"), "origin": "user"},
        set_price(tmp := path.with_name("other.json"), pattern="acme-2", input=3.0, output=4.0),
    ])
    assert [(r.pattern, r.cache_read) for r in saved] == [("acme-1", None), ("acme-2", None)]
    assert load_user_prices(path) == saved and tmp.exists()
