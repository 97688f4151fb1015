"""``workbench.pricing.prices.Prices``: the effective price table and the operations on it."""

from __future__ import annotations

import json

import pytest

from workbench.errors import ConfigError
from workbench.pricing.prices import Prices


def test_the_setting_names_the_file_and_an_argument_beats_it(price_file, tmp_path):
    assert Prices().path == price_file
    assert Prices(tmp_path / "other.json").path == tmp_path / "other.json"


def test_set_list_test_and_remove(prices, price_file):
    assert prices.list(user_only=True).empty
    row = prices.set("acme-large", input=1.5, output=6, provider="acme", valid_from="2025-02-01", source="contract")
    assert row.origin == "user" and json.loads(price_file.read_text())["rows"][0]["pattern"] == "acme-large"
    listed = prices.list("acme/acme-large-2025-03-01")
    assert list(listed["origin"]) == ["user"] and listed["input"].iloc[0] == 1.5
    assert "gpt-4o-mini" in set(prices.list("openai/gpt-4o-mini")["model"])
    assert len(prices.list()) > 50 and set(prices.list()["origin"]) == {"shipped", "user"}

    text = prices.test("acme-large", "acme", "2025-03-01")
    assert "priced by user row 'acme-large' (acme)" in text
    assert "unpriced" in prices.test("acme-large", "acme", "2025-01-15")
    assert prices.match("acme-large", at="2025-01-15") is None

    assert prices.remove("acme-large", provider="acme") == 1
    assert prices.list(user_only=True).empty


def test_a_change_to_the_file_is_seen_by_the_next_lookup(prices, price_file):
    first = prices.table()
    assert prices.table() is first  # unchanged: the same table, its caches warm
    prices.set("zeta-1", input=1, output=1)
    assert prices.match("zeta-1").row.input == 1
    prices.set("zeta-1", input=2, output=1)  # same size, same instant: contents still differ
    assert prices.match("zeta-1").row.input == 2
    price_file.write_text(json.dumps({"rows": [{"pattern": "zeta-1", "input": 7, "output": 1}]}))  # by hand
    assert prices.match("zeta-1").row.input == 7


def test_import_and_export(prices, tmp_path):
    source = tmp_path / "team.csv"
    source.write_text("pattern,provider,input,output,valid_from\nteam-model,acme,2,8,2025-01-01\nother,,1,1,\n")
    assert prices.import_from(source) == 2
    assert prices.export_to(tmp_path / "mine.json") == 2
    exported = json.loads((tmp_path / "mine.json").read_text())["rows"]
    assert [r["pattern"] for r in exported] == ["team-model", "other"]
    everything = prices.export_to(tmp_path / "all.csv", user_only=False)
    assert everything == len(prices.table().rows) > 50


def test_a_broken_file_names_itself_and_the_fix(prices, price_file):
    price_file.write_text("{not json")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        prices.table()
    price_file.write_text(json.dumps({"rows": [{"pattern": "x", "input": -1, "output": 1}]}))
    with pytest.raises(ConfigError, match="negative"):
        prices.table()


def test_save_replaces_the_users_rows_and_refuses_a_broken_one(prices, price_file):
    prices.set("old-model", input=1, output=1)
    saved = prices.save([
        {"pattern": "acme-1", "input": 1.0, "output": 2.0, "provider": "acme", "valid_from": "2025-01-01",
         "cache_read": float("nan"), "source": None},
        {"pattern": "acme-1", "input": 3.0, "output": 4.0, "provider": "acme", "valid_from": "2025-06-01"},
    ])
    assert [r.input for r in saved] == [1.0, 3.0]
    assert [r.pattern for r in prices.table().rows if r.origin == "user"] == ["acme-1", "acme-1"]
    assert prices.match("acme-1", "acme", "2025-03-01").row.input == 1.0
    with pytest.raises(ConfigError, match="both price pattern 'x'"):
        prices.save([{"pattern": "x", "input": 1, "output": 1}, {"pattern": "x", "input": 2, "output": 2}])
    assert len(prices.list(user_only=True)) == 2  # nothing written
