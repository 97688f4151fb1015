"""Which rows of a trace's tree the Trace page sends (workbench.app.folds)."""

from __future__ import annotations

from workbench.app.folds import Folds


def _rows(groups: int, leaves: int) -> list[dict]:
    rows = [{"id": "r", "parent": None, "children": groups}]
    for g in range(groups):
        rows.append({"id": f"g{g}", "parent": "r", "children": leaves})
        rows += [{"id": f"g{g}.{i}", "parent": f"g{g}", "children": 0} for i in range(leaves)]
    return rows


def test_a_small_trace_is_sent_whole():
    rows = _rows(3, 4)
    folds = Folds(rows)
    assert folds.complete and folds.shown() == rows


def test_a_big_trace_starts_with_whole_levels_from_the_root():
    folds = Folds(_rows(20, 200), eager=100, first=300)
    shown = [r["id"] for r in folds.shown()]
    # The root and its 20 groups, then the first group's 200 leaves: the second would pass 300.
    assert shown[:2] == ["r", "g0"] and len(shown) == 221
    assert "g1.0" not in shown and "g1" in shown
    assert not folds.complete


def test_opening_a_fold_and_revealing_a_span_add_rows_in_display_order():
    rows = _rows(20, 200)
    folds = Folds(rows, eager=100, first=30)
    assert [r["id"] for r in folds.shown()] == ["r", *[f"g{g}" for g in range(20)]]
    assert folds.open("g3") and not folds.open("g3")
    shown = [r["id"] for r in folds.shown()]
    assert shown.index("g3.0") == shown.index("g3") + 1 and shown.index("g4") == shown.index("g3.199") + 1
    assert folds.reveal("g7.5") and "g7.5" in [r["id"] for r in folds.shown()]
    assert not folds.reveal("nope")
    assert folds.open_all() and folds.complete and folds.shown() == rows


def test_a_loop_of_parents_does_not_hang():
    rows = [{"id": "a", "parent": None, "children": 1}, {"id": "b", "parent": "a", "children": 1},
            {"id": "c", "parent": "b", "children": 0}]
    folds = Folds(rows, eager=0, first=1)
    folds._parent["a"] = "c"  # as if the ids pointed round in a circle
    assert folds.reveal("c")


def test_a_search_opens_the_folds_above_every_match_and_a_refill_keeps_the_folds():
    rows = _rows(20, 200)
    for r in rows:
        r["text"] = f"span {r['id']}"
    folds = Folds(rows, eager=100, first=30)
    assert not folds.reveal_matching("   ") and not folds.reveal_matching("nothing like it")
    assert folds.reveal_matching("SPAN G12.7")  # any case
    shown = [r["id"] for r in folds.shown()]
    assert "g12.7" in shown and "g11.0" not in shown
    assert not folds.reveal_matching("span g12.7")  # nothing more to show
    folds.refill([{**r, "cost": 1.0} for r in rows])
    assert [r["id"] for r in folds.shown()] == shown and folds.shown()[0]["cost"] == 1.0
