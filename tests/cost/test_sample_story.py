"""The sample's cost story, read the way the Cost page reads it: with no configuration, the
ticket-draft feature is the one whose daily spend jumps (its prompt grew with prompt v4)."""

from __future__ import annotations

from typing import Any

import pytest

from workbench.analysis import cost


@pytest.fixture(scope="module")
def sample_reader(tmp_path_factory: Any) -> Any:
    from workbench.errors import StoreError
    from workbench.query import Reader
    from workbench.sample import load_sample
    from workbench.store import Store

    store = Store(tmp_path_factory.mktemp("sample") / "workbench.duckdb")
    try:
        load_sample(store)
    except StoreError as exc:  # a checkout without the generated sample
        store.close()
        pytest.skip(str(exc))
    yield Reader(store)
    store.close()


def test_the_ticket_draft_burn_jumps(sample_reader, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PRICES", str(tmp_path / "none.json"))  # shipped prices only
    change = cost.cost_change(sample_reader).set_index("feature")
    assert set(change.index) >= {"ticket_draft", "support_chat", "billing_assistant", "help_center_search"}
    jumped = change[change["change"] >= 1.0]
    assert list(jumped.index) == ["ticket_draft"], change
    by_version = cost.cost_by(sample_reader, "prompt_template_version == 'v4'", by="feature")
    assert list(by_version["feature"]) == ["ticket_draft"]
    # Every call with tokens has a price: the sample's story is not hidden behind unknowns. The
    # local embedding model has none (and reports no tokens): its calls are unpriced, not $0.
    by_model = cost.cost_by(sample_reader, by="model").set_index("model")
    unpriced = by_model[by_model["unpriced_calls"] > 0]
    assert list(unpriced.index) == ["all-MiniLM-L6-v2"] and unpriced["total_tokens"].iloc[0] == 0
