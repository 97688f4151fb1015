"""The Playground page: an LLM span's messages, model and parameters, edited and sent again.

Opened from a span's detail (``?page=playground&trace_id=...&span_id=...``). The answer
streams into the page beside the original one; each run is recorded as a trace of its own,
linked to the original span (see :mod:`workbench.playground`). The request can be saved as
a named prompt, each save a new version, for experiments to use as their task.

The endpoint is ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` unless typed here.
"""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar

import panel as pn
import param
from panel.io.state import set_curdoc

from workbench.app.js_components import LinkedHTML
from workbench.app.markup import esc, fmt_count, fmt_ms, href, is_missing, short
from workbench.app.page import PageView
from workbench.app.style import CSS
from workbench.config import openai_endpoint
from workbench.errors import WorkbenchError
from workbench.playground import (
    ChatRequest,
    RunResult,
    list_prompts,
    load_prompt,
    original_output,
    request_from_span,
    run,
    save_prompt,
)

__all__ = ["PlaygroundView"]

ROLES = ["system", "user", "assistant", "tool"]


def _answer_html(text: str, *, done: bool, error: str | None = None) -> str:
    cursor = "" if done else "<span class='wb-cursor'>&#9613;</span>"
    body = esc(text) if text else ("<span class='wb-muted'>(no answer)</span>" if done else "")
    failure = f"<div class='wb-error-text wb-playground-error'>{esc(error)}</div>" if error else ""
    state = "done" if done else "streaming"
    return f"<pre class='wb-pre wb-playground-answer' data-state='{state}'>{body}{cursor}</pre>{failure}"


class _MessageRow:
    """One editable message: its role, its text, and a button that removes it."""

    def __init__(self, role: str, content: str, on_remove: Any, extra: dict[str, Any] | None = None) -> None:
        self.extra = extra or {}  # what the editor does not show (tool calls, the call answered) is kept
        self.role = pn.widgets.Select(options=ROLES if role in ROLES else [*ROLES, role], value=role, width=110,
                                      margin=(4, 4), css_classes=["wb-msg-role"])
        self.content = pn.widgets.TextAreaInput(value=content, auto_grow=True, max_rows=14, rows=2,
                                                sizing_mode="stretch_width", margin=(4, 4),
                                                css_classes=["wb-msg-content"])
        self.remove = pn.widgets.Button(label="\u2715", color="light", width=34, margin=(4, 4),
                                        description="remove this message")
        self.remove.on_click(lambda _: on_remove(self))
        self.panel = pn.Row(self.role, self.content, self.remove, sizing_mode="stretch_width", margin=0)

    def message(self) -> dict[str, Any]:
        text = str(self.content.value or "")
        content = None if not text and self.extra.get("tool_calls") else text
        return {**self.extra, "role": str(self.role.value), "content": content}


class PlaygroundView(PageView):
    """Edit an LLM span's request and run it again against an OpenAI-compatible endpoint.

    Args:
        reader: Where the span comes from; runs are written to its store.
        trace_id, span_id: The LLM span opened.
    """

    trace_id = param.String(default="", doc="The trace of the span opened.")
    span_id = param.String(default="", doc="The LLM span opened.")

    url_params: ClassVar[tuple[str, ...]] = ("trace_id", "span_id")
    uses_scope: ClassVar[bool] = False

    def __init__(self, reader: Any, **params: Any) -> None:
        super().__init__(reader, **params)
        self.result: RunResult | None = None
        self.running = False
        self._rows: list[_MessageRow] = []

    # Layout -------------------------------------------------------------------------------

    def _build(self) -> Any:
        endpoint = openai_endpoint()
        self._title = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(6, 12))
        self._model = pn.widgets.TextInput(label="Model", width=180, margin=(4, 8), css_classes=["wb-pg-model"])
        self._base_url = pn.widgets.TextInput(label="Base URL", value=str(endpoint["base_url"]), width=250,
                                              margin=(4, 8), css_classes=["wb-pg-base-url"])
        self._api_key = pn.widgets.PasswordInput(
            label="API key", width=170, margin=(4, 8),
            placeholder="from OPENAI_API_KEY" if endpoint["api_key"] else "none (no OPENAI_API_KEY)")
        self._parameters = pn.widgets.TextAreaInput(label="Parameters (JSON)", rows=3, auto_grow=True, max_rows=10,
                                                    sizing_mode="stretch_width", margin=(4, 8),
                                                    css_classes=["wb-pg-parameters"])
        self._messages = pn.Column(sizing_mode="stretch_width", margin=(0, 4))
        self._add = pn.widgets.Button(label="+ Message", color="light", width=110, margin=(4, 8))
        self._add.on_click(lambda _: self._add_row("user", ""))
        self._run = pn.widgets.Button(label="Run", color="primary", width=110, margin=(8, 8),
                                      css_classes=["wb-pg-run"])
        self._run.on_click(lambda _: self.start())
        self._reset = pn.widgets.Button(label="Reset to the span", color="light", width=150, margin=(8, 8))
        self._reset.on_click(lambda _: self._load())
        self._status = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 12),
                                  css_classes=["wb-pg-status"])
        self._original = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(0, 8),
                                      css_classes=["wb-pg-original"])
        self._answer = pn.pane.HTML("", stylesheets=[CSS + ".wb-cursor { color: #2563eb; }"],
                                    sizing_mode="stretch_width", margin=(0, 8), css_classes=["wb-pg-answer"])
        self._prompt_name = pn.widgets.TextInput(placeholder="prompt name, e.g. support-answer", width=240,
                                                 margin=(4, 8), css_classes=["wb-pg-prompt-name"])
        self._save = pn.widgets.Button(label="Save as prompt", color="light", width=140, margin=(4, 8),
                                       css_classes=["wb-pg-save"])
        self._save.on_click(lambda _: self.save_prompt())
        self._saved = pn.pane.HTML("", stylesheets=[CSS], margin=(10, 8), css_classes=["wb-pg-saved"])
        self._saved_prompts = pn.widgets.Select(options=self._prompt_choices(), width=220, margin=(4, 8),
                                                css_classes=["wb-pg-open-prompt"])
        self._saved_prompts.param.watch(self._open_prompt, "value")
        self.watch(self._load, ["trace_id", "span_id"])
        self._load()

        def heading(text: str, note: str = "") -> Any:
            extra = f" <span class='wb-muted' style='font-weight:400'>{note}</span>" if note else ""
            return pn.pane.HTML(f"<h3 class='wb-h'>{text}{extra}</h3>", stylesheets=[CSS],
                                sizing_mode="stretch_width", margin=(6, 10, 0, 10))

        request = pn.Column(
            heading("Request", "edit, then run"),
            pn.Row(self._model, self._base_url, self._api_key, margin=0),
            self._parameters,
            heading("Messages"),
            self._messages,
            self._add,
            pn.Row(self._run, self._reset, margin=0),
            heading("Save", "a named prompt; each save is a new version, usable as an experiment's task"),
            pn.Row(self._prompt_name, self._save, self._saved, margin=0),
            pn.Row(self._saved_prompts, margin=0),
            sizing_mode="stretch_width", margin=0,
        )
        answers = pn.Column(
            heading("Original output"), self._original,
            heading("New output", "streamed from the endpoint"), self._answer, self._status,
            sizing_mode="stretch_width", margin=0,
        )
        return pn.Column(self._title, pn.Row(request, answers, sizing_mode="stretch_width", margin=0),
                         sizing_mode="stretch_both", scroll=True, margin=0)

    def _follow(self, page: str, params: dict[str, str]) -> None:
        self.link(page, **params)

    # The span -----------------------------------------------------------------------------

    def _load(self) -> None:
        """Fill the editor from the span (or leave it empty to write a prompt from scratch)."""
        self.span: dict[str, Any] | None = None
        request = ChatRequest(messages=[{"role": "user", "content": ""}])
        title = ("<h2 class='wb-title'>Playground</h2><div class='wb-muted'>Open an LLM span's "
                 "<b>Open in playground</b> on the Trace page, or write messages below.</div>")
        if self.span_id:
            try:
                frame = self.reader.spans(f"span_id == {self.span_id.strip().lower()!r}")
            except WorkbenchError as exc:
                frame = None
                title = f"<h2 class='wb-title'>Playground</h2><div class='wb-error-text'>{esc(exc)}</div>"
            if frame is not None and frame.empty:
                title = (f"<h2 class='wb-title'>Playground</h2><div class='wb-muted'>There is no span "
                         f"<span class='wb-mono'>{esc(self.span_id)}</span> in this store.</div>")
            elif frame is not None:
                self.span = frame.iloc[0].to_dict()
                request = request_from_span(self.span)
                link = href("trace", trace_id=self.span["trace_id"], span_id=self.span["span_id"])
                title = (f"<h2 class='wb-title'>Playground: {esc(self.span.get('name'))}</h2>"
                         f"<div class='wb-muted'>{esc(request.model or 'no model recorded')} &middot; "
                         f"span <span class='wb-mono'>{esc(self.span['span_id'])}</span> &middot; "
                         f"<a href='{esc(link)}'>open the original &rarr;</a></div>")
        self._title.html = title
        self._model.value = request.model or str(openai_endpoint()["model"] or "")
        self._parameters.value = json.dumps(request.parameters, indent=1) if request.parameters else "{}"
        self._rows = []
        for message in request.messages:
            extra = {k: v for k, v in message.items() if k not in ("role", "content")}
            self._add_row(str(message.get("role", "user")), str(message.get("content") or ""), show=False,
                          extra=extra)
        self._messages[:] = [row.panel for row in self._rows]
        self._original.object = self._original_html()
        self._answer.object = "<div class='wb-muted'>Run to see the new answer here.</div>"
        self._status.html = ""

    def _original_html(self) -> str:
        if self.span is None:
            return "<div class='wb-muted'>No span opened.</div>"
        text = original_output(self.span)
        facts = " &middot; ".join(x for x in (
            esc(fmt_ms(self.span.get("latency_ms"))),
            f"{fmt_count(self.span.get('completion_tokens'))} completion tokens"
            if not is_missing(self.span.get("completion_tokens")) else "") if x)
        shown = esc(text) or "<span class='wb-muted'>(none recorded)</span>"
        return f"<pre class='wb-pre wb-playground-original'>{shown}</pre><div class='wb-muted'>{facts}</div>"

    def _add_row(self, role: str, content: str, *, show: bool = True, extra: dict[str, Any] | None = None) -> None:
        row = _MessageRow(role, content, self._remove_row, extra)
        self._rows.append(row)
        if show:
            self._messages.append(row.panel)

    def _remove_row(self, row: _MessageRow) -> None:
        if row in self._rows:
            self._rows.remove(row)
            self._messages[:] = [r.panel for r in self._rows]

    # Running ------------------------------------------------------------------------------

    def edited_request(self) -> ChatRequest:
        """The request as edited.

        Raises:
            ValueError: The parameters are not a JSON object.
        """
        text = (self._parameters.value or "").strip() or "{}"
        try:
            parameters = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"The parameters are not JSON ({exc.msg} at line {exc.lineno}); write an object "
                             "like {\"temperature\": 0.2}.") from None
        if not isinstance(parameters, dict):
            raise ValueError("The parameters must be a JSON object like {\"temperature\": 0.2}.")
        messages = [row.message() for row in self._rows]
        return ChatRequest(messages=messages, model=(self._model.value or "").strip(), parameters=parameters)

    def start(self) -> None:
        """Run the edited request; the answer streams into the page (served: on a thread)."""
        if self.running:
            return
        try:
            request = self.edited_request()
        except ValueError as exc:
            self._status.html = f"<div class='wb-error-text'>{esc(exc)}</div>"
            return
        if not any(str(m.get("content") or "").strip() for m in request.messages):
            self._status.html = "<div class='wb-error-text'>Every message is empty; write at least one.</div>"
            return
        source = (str(self.span["trace_id"]), str(self.span["span_id"])) if self.span else None
        base_url = (self._base_url.value or "").strip() or None
        api_key = (self._api_key.value or "").strip() or None
        self.running = True
        self._run.disabled = True
        self._status.html = "<div class='wb-muted'>Running&hellip;</div>"
        pieces: list[str] = []
        self._answer.object = _answer_html("", done=False)
        doc = pn.state.curdoc
        served = doc is not None and doc.session_context is not None
        state = {"due": False}
        lock = threading.Lock()

        def flush() -> None:
            with lock:
                state["due"] = False
                text = "".join(pieces)
            if self.running:
                with set_curdoc(doc):
                    self._answer.object = _answer_html(text, done=False)

        def on_piece(piece: str) -> None:
            with lock:
                pieces.append(piece)
                if not served:
                    self._answer.object = _answer_html("".join(pieces), done=False)
                    return
                if state["due"]:
                    return
                state["due"] = True
            # Pieces arrive on the run's thread; the page catches up on the event loop, taking
            # every piece that arrived meanwhile at once (the one thread-safe way into the document).
            doc.add_next_tick_callback(flush)

        def work() -> RunResult | Exception:
            try:
                return run(self.reader, request, base_url=base_url, api_key=api_key, source=source,
                           on_piece=on_piece)
            except WorkbenchError as exc:  # the store cannot be written: said on the page
                return exc

        if not served:  # a notebook or a test: no event loop to come back to
            self._finish(work(), pieces)
            return

        def background() -> None:
            outcome = work()

            def finish() -> None:
                with set_curdoc(doc):
                    self._finish(outcome, pieces)

            doc.add_next_tick_callback(finish)

        threading.Thread(target=background, name="workbench-playground", daemon=True).start()

    def _finish(self, outcome: RunResult | Exception, pieces: list[str]) -> None:
        self.running = False
        self._run.disabled = False
        if isinstance(outcome, Exception):
            self._answer.object = _answer_html("".join(pieces), done=True)
            self._status.html = f"<div class='wb-error-text'>{esc(outcome)}</div>"
            return
        self.result = outcome
        self._answer.object = _answer_html(outcome.text, done=True, error=outcome.error)
        facts = []
        if outcome.completion is not None:
            done = outcome.completion
            if done.first_token_ms is not None:
                facts.append(f"first token after {esc(fmt_ms(done.first_token_ms))}")
            if done.completion_tokens is not None:
                facts.append(f"{fmt_count(done.completion_tokens)} completion tokens")
        link = href("trace", trace_id=outcome.trace_id, span_id=outcome.span_id)
        facts.append(f"<a class='wb-pg-run-link' href='{esc(link)}'>recorded as trace "
                     f"{esc(short(outcome.trace_id, 12))} &rarr;</a>")
        self._status.html = f"<div class='wb-muted'>{' &middot; '.join(facts)}</div>"

    # Prompts ------------------------------------------------------------------------------

    def _prompt_choices(self) -> dict[str, str]:
        try:
            frame = list_prompts(self.reader)
        except WorkbenchError:
            return {"open a saved prompt\u2026": ""}
        return {"open a saved prompt\u2026": ""} | {f"{r.name} v{int(r.version)}": f"{r.name}@{int(r.version)}"
                                                    for r in frame.itertuples(index=False)}

    def _open_prompt(self, event: Any) -> None:
        if not event.new:
            return
        name, _, version = str(event.new).rpartition("@")
        try:
            request, _ = load_prompt(self.reader, name, int(version))
        except WorkbenchError as exc:
            self._saved.object = f"<span class='wb-error-text'>{esc(exc)}</span>"
            return
        self._model.value = request.model
        self._parameters.value = json.dumps(request.parameters, indent=1) if request.parameters else "{}"
        self._rows = []
        for message in request.messages:
            extra = {k: v for k, v in message.items() if k not in ("role", "content")}
            self._add_row(str(message.get("role", "user")), str(message.get("content") or ""), show=False,
                          extra=extra)
        self._messages[:] = [row.panel for row in self._rows]
        self._prompt_name.value = name
        self._saved.object = f"<span class='wb-muted'>Opened <b>{esc(name)}</b> version {esc(version)}.</span>"

    def save_prompt(self) -> None:
        """Save the request as a new version of the named prompt."""
        name = (self._prompt_name.value or "").strip()
        if not name:
            self._saved.object = "<span class='wb-error-text'>Type a name for the prompt first.</span>"
            return
        try:
            request = self.edited_request()
            version = save_prompt(self.reader, name, request,
                                  source_span_id=str(self.span["span_id"]) if self.span else None)
        except (ValueError, WorkbenchError) as exc:
            self._saved.object = f"<span class='wb-error-text'>{esc(exc)}</span>"
            return
        self._saved.object = (f"<span class='wb-muted'>Saved <b>{esc(name)}</b> version {esc(version)}; run it "
                              f"in an experiment with <span class='wb-mono'>prompt_task(wb, {esc(repr(name))})"
                              "</span>.</span>")
        self._saved_prompts.options = self._prompt_choices()

    def close(self) -> None:
        """End the view; a run under way finishes and is recorded, but is no longer shown."""
        self.running = False
        super().close()
