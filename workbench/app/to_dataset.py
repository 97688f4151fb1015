"""The "Add to dataset" control, one for every page where examples are found.

The Traces page (the traces matching the filter, or rows ticked by hand), the Quality page
(the worst traces) and the Sessions page (a session's turns) each mount an
:class:`AddToDataset` with a function saying what to add; the control asks for a dataset
name (one of those stored, or a new one typed) and writes a new version of that dataset
through :mod:`workbench.experiments` (a new dataset starts at version 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn
from panel.viewable import Viewer

from workbench.app.js_components import LinkedHTML
from workbench.app.markup import esc, href
from workbench.errors import WorkbenchError

__all__ = ["AddToDataset", "Examples"]

#: What a page adds: ``("traces" | "spans" | "session", what)`` where ``what`` is ids, a
#: filter (a Selection) or a session id; or None with the reason there is nothing to add.
Examples = tuple[str, Any]


class AddToDataset(Viewer):
    """A dataset name (chosen or typed) and a button that adds the page's examples to it.

    Args:
        reader: A reader over the store the datasets are kept in.
        source: Called when the button is pressed: what to add (see :data:`Examples`); it
            raises ValueError with a sentence for the user when there is nothing to add.
        label: The button's text (a page updates it: "Add 3 ticked traces").
        on_link: Where the link to the new version goes (the page's link handler).
    """

    def __init__(self, reader: Any, source: Callable[[], Examples], *, label: str = "Add to dataset",
                 on_link: Callable[[str, dict[str, str]], Any] | None = None) -> None:
        super().__init__()
        self.reader = reader
        self.source = source
        self._name = pn.widgets.TextInput(placeholder="dataset name (new or existing)", width=200, margin=(5, 5),
                                          css_classes=["wb-dataset-name"])
        # The datasets stored, to pick from: choosing one writes its name above (a name typed
        # is never replaced by a stored one that resembles it).
        self._existing = pn.widgets.Select(options=self._choices(), width=140, margin=(5, 5),
                                           css_classes=["wb-dataset-existing"])
        self._existing.param.watch(self._picked, "value")
        self._button = pn.widgets.Button(label=label, color="light", width=190, margin=(5, 5),
                                         css_classes=["wb-add-to-dataset"])
        self._button.on_click(lambda _: self.add())
        self._status = LinkedHTML(on_link=on_link or (lambda page, params: None), margin=(10, 5), width=340,
                                  css_classes=["wb-add-status"])
        self.last: Any = None  # the version written last
        self._layout = pn.Row(self._existing, self._name, self._button, self._status, margin=0)

    def __panel__(self) -> Any:
        return self._layout

    @property
    def label(self) -> str:
        """The button's text."""
        return str(self._button.label)

    @label.setter
    def label(self, text: str) -> None:
        self._button.label = text

    def _choices(self) -> dict[str, str]:
        from workbench.experiments import list_datasets

        try:
            names = [str(n) for n in list_datasets(self.reader)["name"]]
        except WorkbenchError:
            names = []
        return {"existing\u2026": ""} | {n: n for n in names}

    def _picked(self, event: Any) -> None:
        if event.new:
            self._name.param.update(value=event.new, value_input=event.new)

    def add(self, name: str | None = None) -> Any:
        """Add the page's examples to dataset ``name`` (default: the one typed); return the
        version written (a :class:`~workbench.experiments.Dataset`), or None when refused."""
        from workbench.experiments import from_session, from_spans, from_traces

        name = (name if name is not None else self._name.value_input or self._name.value or "").strip()
        if not name:
            self._say("Type a dataset name, or choose one.", error=True)
            return None
        try:
            kind, what = self.source()
            make = {"traces": from_traces, "spans": from_spans, "session": from_session}[kind]
            made = make(self.reader, name, what)
        except (ValueError, WorkbenchError) as exc:
            self._say(str(exc), error=True)
            return None
        self.last = made
        link = href("experiments", dataset=made.name, version=made.version)
        added = "made" if made.version == 1 else f"version {made.version}"
        count = f"{len(made):,} example{'' if len(made) == 1 else 's'}"
        self._status.html = (f"<span class='wb-muted'><b>{esc(made.name)}</b> {esc(added)}: {count} "
                             f"&middot; <a class='wb-dataset-link' href='{esc(link)}'>open &rarr;</a></span>")
        self._existing.options = self._choices()
        return made

    def _say(self, text: str, *, error: bool) -> None:
        css = "wb-error-text" if error else "wb-muted"
        self._status.html = f"<span class='{css}'>{esc(text)}</span>"
