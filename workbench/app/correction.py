"""The "Correct this answer" box of an LLM, CHAIN or AGENT span's detail.

A user types the answer the span should have given and saves it: it is kept as an annotation
named ``correction`` (label ``corrected``, the text as its explanation, by a HUMAN) on that
span, written with :func:`workbench.evals.annotate`. A dataset made afterwards from the span or
its trace (:mod:`workbench.experiments`, or "Add to dataset" on any page) takes the newest
correction as the example's expected output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn
import param
from panel.viewable import Viewer

from workbench.app.markup import esc
from workbench.app.style import CSS
from workbench.errors import WorkbenchError
from workbench.evals import annotate
from workbench.experiments.sources import CORRECTION

__all__ = ["CORRECTABLE_KINDS", "CorrectionBox", "latest_correction"]

#: The span kinds whose answer can be corrected: the calls and the steps that answer a user.
CORRECTABLE_KINDS = frozenset({"LLM", "CHAIN", "AGENT"})


def latest_correction(reader: Any, trace_id: str, span_id: str, *, root: bool = False) -> str | None:
    """The newest correction of a span (for the trace's root span, one on the whole trace
    counts too), or None when there is none or the store cannot say."""
    if not trace_id or not span_id:
        return None
    try:
        notes = reader.annotations(CORRECTION, trace_ids=[trace_id])
    except (WorkbenchError, TypeError):
        return None
    if notes is None or notes.empty:
        return None
    mine = notes["span_id"] == span_id
    if root:
        mine = mine | notes["span_id"].isna()
    notes = notes[mine & notes["explanation"].notna() & (notes["explanation"] != "")]
    if notes.empty:
        return None
    return str(notes.sort_values("created_at", kind="stable").iloc[-1]["explanation"])


class CorrectionBox(Viewer):
    """A text area for the expected answer of one span and a button that saves it.

    Args:
        reader: A reader over a writable store (the app's), or a server's.
        on_saved: Called with the text once a correction is saved (the page shows it).
        annotator: Who the correction is recorded as.
    """

    trace_id = param.String(default="", doc="The trace of the span corrected.")
    span_id = param.String(default="", doc="The span corrected.")
    annotator = param.String(default="workbench app", doc="Who the correction is recorded as.")

    def __init__(self, reader: Any, *, on_saved: Callable[[str], Any] | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.reader = reader
        self.on_saved = on_saved
        self._text = pn.widgets.TextAreaInput(placeholder="The answer it should have given", height=90,
                                              sizing_mode="stretch_width", margin=(4, 8),
                                              css_classes=["wb-correction-text"])
        self._save = pn.widgets.Button(label="Save correction", color="primary", width=140, margin=(4, 8),
                                       css_classes=["wb-correction-save"])
        self._save.on_click(lambda _: self.save())
        self._status = pn.pane.HTML("", stylesheets=[CSS], margin=(10, 8), css_classes=["wb-correction-status"])
        note = pn.pane.HTML("<div class='wb-muted'>Saved as the annotation <b>correction</b>; a dataset made from "
                            "this span or its trace takes it as the expected output.</div>",
                            stylesheets=[CSS], sizing_mode="stretch_width", margin=(0, 8))
        self.param.watch(lambda *_: self._status.param.update(object=""), ["trace_id", "span_id"])
        self._layout = pn.Column(note, self._text, pn.Row(self._save, self._status, margin=0),
                                 sizing_mode="stretch_width", margin=0)

    def __panel__(self) -> Any:
        return self._layout

    def save(self, text: str | None = None) -> str | None:
        """Save ``text`` (default: what is typed) as the span's correction; return the
        annotation id, or None when refused (the reason is shown)."""
        text = (text if text is not None else self._text.value_input or self._text.value or "").strip()
        if not self.trace_id or not self.span_id:
            self._say("Choose a span first.", error=True)
            return None
        if not text:
            self._say("Type the answer it should have given, then save.", error=True)
            return None
        try:
            annotation_id = annotate(self.reader, name=CORRECTION, label="corrected", explanation=text,
                                     annotator_kind="HUMAN", annotator=self.annotator, trace_id=self.trace_id,
                                     span_id=self.span_id)
        except WorkbenchError as exc:
            self._say(str(exc), error=True)
            return None
        self._text.param.update(value="", value_input="")
        self._say("Saved: datasets made from this trace now expect it.", error=False)
        if self.on_saved is not None:
            self.on_saved(text)
        return annotation_id

    def _say(self, text: str, *, error: bool) -> None:
        css = "wb-error-text" if error else "wb-muted"
        self._status.object = f"<span class='{css}'>{esc(text)}</span>"
