"""Which spans of a trace's tree the Trace page sends (workbench.app.folds)."""

from __future__ import annotations

import datetime as dt

from workbench.app.folds import Folds
from workbench.app.outline import Outline

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _span(span_id: str, parent: str | None, at: int, **extra) -> dict:
    start = T0 + dt.timedelta(milliseconds=at)
    return {"span_id": span_id, "parent_span_id": parent, "start_time": start,
            "end_time": start + dt.timedelta(milliseconds=10), "name": f"span {span_id}", **extra}


def _outline(groups: int, leaves: int) -> Outline:
    spans = [_span("r", None, 0)]
    for g in range(groups):
        spans.append(_span(f"g{g}", "r", 1 + g * (leaves + 1)))
        spans += [_span(f"g{g}.{i}", f"g{g}", 2 + g * (leaves + 1) + i) for i in range(leaves)]
    return Outline.from_spans("t", spans)


def _ids(outline: Outline, folds: Folds) -> list[str]:
    return [outline.ids[i] for i in folds.shown()]


def test_a_small_trace_is_sent_whole():
    outline = _outline(3, 4)
    folds = Folds(outline)
    assert folds.complete and len(_ids(outline, folds)) == 16
    assert _ids(outline, folds)[:3] == ["r", "g0", "g0.0"]


def test_a_big_trace_starts_with_whole_levels_from_the_root():
    outline = _outline(20, 200)
    folds = Folds(outline, eager=100, first=300)
    shown = _ids(outline, folds)
    # The root and its 20 groups, then the first group's 200 leaves: the second would pass 300.
    assert shown[:2] == ["r", "g0"] and len(shown) == 221
    assert "g1.0" not in shown and "g1" in shown
    assert not folds.complete


def test_opening_a_fold_and_revealing_a_span_add_rows_in_display_order():
    outline = _outline(20, 200)
    folds = Folds(outline, eager=100, first=30)
    assert _ids(outline, folds) == ["r", *[f"g{g}" for g in range(20)]]
    assert folds.open("g3") and not folds.open("g3")
    shown = _ids(outline, folds)
    assert shown.index("g3.0") == shown.index("g3") + 1 and shown.index("g4") == shown.index("g3.199") + 1
    assert folds.reveal("g7.5") and "g7.5" in _ids(outline, folds)
    assert not folds.reveal("nope")
    assert folds.open_all() and folds.complete and len(_ids(outline, folds)) == len(outline)


def test_parents_in_a_circle_are_cut_and_every_span_shows_once():
    spans = [_span("a", "c", 0), _span("b", "a", 1), _span("c", "b", 2), _span("d", "d", 3)]
    outline = Outline.from_spans("t", spans)
    folds = Folds(outline, eager=0, first=1)
    assert folds.reveal("c") and not folds.reveal("c")
    folds.open_all()
    assert sorted(_ids(outline, folds)) == ["a", "b", "c", "d"]
    assert _ids(outline, folds)[:3] == ["a", "b", "c"]  # cut at its earliest span


def test_a_search_opens_the_folds_above_every_match_in_any_case():
    outline = _outline(20, 200)
    folds = Folds(outline, eager=100, first=30)
    assert not folds.reveal_matching("   ") and not folds.reveal_matching("nothing like it")
    assert folds.reveal_matching("SPAN G12.7")  # any case
    shown = _ids(outline, folds)
    assert "g12.7" in shown and "g11.0" not in shown
    assert not folds.reveal_matching("span g12.7")  # nothing more to show


def test_a_search_matches_the_start_of_inputs_and_outputs_too():
    spans = [_span("r", None, 0), _span("a", "r", 1), _span("b", "a", 2, input_value="x" * 150 + " needle here"),
             _span("c", "a", 3, output_value="y" * 300 + " needle too far")]
    outline = Outline.from_spans("t", spans)
    folds = Folds(outline, eager=0, first=2)
    assert folds.reveal_matching("NEEDLE")
    assert [outline.ids[i] for i in outline.matching("needle")] == ["b"]  # only the first 200 characters
