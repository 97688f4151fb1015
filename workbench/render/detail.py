"""A span's detail as data for the page's script: sections of key-value rows, text blocks and boxes.

The script draws these with ``textContent`` only, so span content never becomes markup. What
a span shows depends on its kind: messages and tool calls of a model call, the documents a
retriever returned, a tool's arguments and result, embedded texts; then errors, attributes,
events and links for every span. Long text is cut (:class:`~workbench.render.values.Clip`) and
the whole output keeps to a byte budget (:class:`Budget`). A long text is embedded once and
referred to by its index wherever it recurs (``v`` is then a number, an index into the output's
``str`` list).

Item shapes (``t`` is the type)::

    {"t": "kv", "rows": [[key, value, note], ...]}     (note only where the value was cut)
    {"t": "pre", "v": text, "note": why it was cut}     (note only where the text was cut)
    {"t": "box", "head": text, "cls": one of BOX_CLASSES, "body": [item, ...]}
    {"t": "note", "v": text}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.pricing.money import usd
from workbench.render.values import Clip, fmt_count, fmt_ms, fmt_utc, is_missing, loads, number, pretty, text

__all__ = ["BOX_CLASSES", "Budget", "resource_item", "span_detail"]

#: The classes a box may carry (a role or a document never reaches the page as a class name).
BOX_CLASSES = ("user", "assistant", "system", "tool", "other", "call", "doc", "err", "event")
_ROLES = {"user": "user", "human": "user", "assistant": "assistant", "ai": "assistant", "model": "assistant",
          "system": "system", "developer": "system", "tool": "tool", "function": "tool", "ipython": "tool"}
_PARAM_PREFIXES = ("gen_ai.request.", "llm.request.", "ai.settings.")


class Budget:
    """The bytes of detail an output may still embed.

    Args:
        max_bytes: The most bytes of span detail (as JSON) one output carries.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.left = max_bytes
        self.short = 0  # spans whose detail was left out

    @property
    def spent(self) -> bool:
        """Whether nothing more fits."""
        return self.left <= 0

    def left_out(self) -> dict[str, Any]:
        """The section that stands for the detail left out."""
        self.short += 1
        return _section("Detail left out", [_note(
            f"This output's budget of {self.max_bytes:,} bytes of span detail is spent; pass a larger "
            "max_bytes (trace.view(max_bytes=...)) or open the trace in the app.")])

    @staticmethod
    def size(entry: dict[str, Any], clip: Clip, mark: int) -> int:
        """About the bytes ``entry`` and the texts stored for it since ``mark`` add to the output."""
        return len(json.dumps(entry, ensure_ascii=False)) + clip.bytes_since(mark)

    def take(self, size: int) -> None:
        """Count ``size`` bytes against the budget."""
        self.left -= size


def _section(title: str, items: list[dict[str, Any]], count: int | None = None) -> dict[str, Any]:
    return {"h": title, "n": "" if count is None else f"{count:,}", "items": items}


def _short(value: str, limit: int) -> str:
    line = " ".join(value.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _note(value: str) -> dict[str, Any]:
    return {"t": "note", "v": value}


def _pre(value: Any, clip: Clip) -> dict[str, Any]:
    shown, note = clip(pretty(value))
    return {"t": "pre", "v": clip.ref(shown), "note": note} if note else {"t": "pre", "v": clip.ref(shown)}


def _kv(rows: Mapping[str, Any], clip: Clip) -> dict[str, Any]:
    out = []
    for key, value in rows.items():
        if is_missing(value) or value == "":
            continue
        shown, note = clip(pretty(value))
        out.append([text(key), clip.ref(shown), note] if note else [text(key), clip.ref(shown)])
    return {"t": "kv", "rows": out}


def _box(head: str, cls: str, body: list[dict[str, Any]]) -> dict[str, Any]:
    return {"t": "box", "head": head, "cls": cls if cls in BOX_CLASSES else "other", "body": body}


def _overview(span: Mapping[str, Any], node: Any, clip: Clip) -> dict[str, Any]:
    status = text(span.get("status_code")) or "UNSET"
    tokens = " · ".join(f"{label} {fmt_count(span.get(key))}" for label, key in (
        ("prompt", "prompt_tokens"), ("completion", "completion_tokens"), ("total", "total_tokens"),
        ("cache read", "cache_read_tokens"), ("reasoning", "reasoning_tokens")) if fmt_count(span.get(key)))
    model = text(span.get("model_name"))
    if model and text(span.get("provider")):
        model += f" ({text(span.get('provider'))})"
    cost = number(span.get("client_cost"))
    rows = {
        "Kind": text(span.get("span_kind")) or "UNKNOWN",
        "Status": status + (f": {text(span.get('status_message'))}" if text(span.get("status_message")) else ""),
        "Started": fmt_utc(node.start_us),
        "Duration": fmt_ms(node.duration_ms),
        "Self time": fmt_ms(node.self_time_ms),
        "Critical path": "yes" if node.on_critical_path else "",
        "Model": model,
        "Tokens": tokens,
        "Time to first token": fmt_ms(span.get("time_to_first_token_ms")),
        "Cost (as sent)": usd(cost, missing=""),
        "Session": span.get("session_id"),
        "User": span.get("user_id"),
        "Project": span.get("project"),
        # The template's start names it; the whole text is among the attributes.
        "Prompt template": " ".join(x for x in (_short(text(span.get("prompt_template")), 100),
                                                 text(span.get("prompt_template_version")) and
                                                 f"(version {text(span.get('prompt_template_version'))})") if x),
        "Span id": span.get("span_id"),
        "Parent span id": span.get("parent_span_id"),
        "Trace id": span.get("trace_id"),
        "Instrumentation": " ".join(x for x in (text(span.get("scope_name")), text(span.get("scope_version"))) if x),
    }
    return _section("Span", [_kv(rows, clip)])


def _errors(span: Mapping[str, Any], events: Sequence[Any], clip: Clip) -> dict[str, Any] | None:
    boxes = []
    for event in events:
        if not isinstance(event, Mapping) or event.get("name") != "exception":
            continue
        found = event.get("attributes")
        attrs: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        head = f"{text(attrs.get('exception.type')) or 'Exception'}: {text(attrs.get('exception.message'))}"
        body = [_pre(attrs["exception.stacktrace"], clip)] if attrs.get("exception.stacktrace") else []
        boxes.append(_box(clip(head)[0], "err", body))
    if not boxes and text(span.get("status_code")) == "ERROR":
        boxes.append(_box("The span failed", "err", [_pre(span.get("status_message") or "(no message)", clip)]))
    return _section("Error", boxes) if boxes else None


def _messages(messages: Sequence[Any], clip: Clip) -> list[dict[str, Any]]:
    out = []
    for message in messages:
        if not isinstance(message, Mapping):
            out.append(_box("message", "other", [_pre(message, clip)]))
            continue
        role = text(message.get("role")) or "unknown"
        call = f"for call {text(message['tool_call_id'])}" if message.get("tool_call_id") else ""
        head = " · ".join(x for x in (role, text(message.get("name")), call) if x)
        body = []
        if not is_missing(message.get("content")) and message.get("content") != "":
            body.append(_pre(message["content"], clip))
        for call in message.get("tool_calls") or ():
            if isinstance(call, Mapping):
                call_head = f"calls {text(call.get('name'))}" + (f" · {text(call.get('id'))}" if call.get("id") else "")
                body.append(_box(call_head, "call", [_pre(call.get("arguments") or "", clip)]))
        if not body:
            body.append(_note("(empty)"))
        out.append(_box(clip(head)[0], _ROLES.get(role.lower(), "other"), body))
    return out


def _documents(span: Mapping[str, Any], attributes: Mapping[str, Any], clip: Clip) -> list[dict[str, Any]]:
    documents = span.get("documents")  # a reader's span() attaches the stored rows
    if not isinstance(documents, list) or not documents:
        documents = _attribute_documents(attributes, text(span.get("span_kind")) == "RERANKER")
    out = []
    for index, doc in enumerate(documents):
        position = number(doc.get("position"))
        score = number(doc.get("score"))
        head = " · ".join(x for x in (
            f"#{int(position if position is not None else index) + 1}",
            text(doc.get("document_id") or doc.get("id")) or "no id",
            "" if score is None else f"score {score:.3f}") if x)
        body = [_pre(doc.get("content") or "", clip)]
        metadata = loads(doc.get("metadata"), None)
        if metadata:
            body.append(_pre(metadata, clip))
        out.append(_box(head, "doc", body))
    return out


def _attribute_documents(attributes: Mapping[str, Any], reranker: bool) -> list[dict[str, Any]]:
    """The documents as the conventions put them in the attributes (the stored rows keep them there)."""
    from workbench.semconv.indexed import scan
    from workbench.semconv.openinference import documents

    _, groups, _ = scan(attributes)
    found = documents(groups.get("reranker.output_documents.")) if reranker else ()
    found = found or documents(groups.get("retrieval.documents."))
    return [{"position": d.position, "id": d.id, "content": d.content, "score": d.score, "metadata": d.metadata}
            for d in found]


def _embedded_texts(attributes: Mapping[str, Any]) -> list[str]:
    from workbench.semconv.indexed import scan

    _, groups, _ = scan(attributes)
    found = groups.get("embedding.embeddings.") or {}
    return [text(found[i].get("embedding.text")) for i in sorted(found)]


def _io(span: Mapping[str, Any], clip: Clip, names: tuple[str, str] = ("Input", "Output")) -> list[dict[str, Any]]:
    out = []
    for title, key in zip(names, ("input_value", "output_value")):
        if not is_missing(span.get(key)):
            out.append(_section(title, [_pre(span[key], clip)]))
    return out


def _by_kind(span: Mapping[str, Any], attributes: Mapping[str, Any], clip: Clip) -> list[dict[str, Any]]:
    kind = text(span.get("span_kind")) or "UNKNOWN"
    if kind == "LLM":
        out = []
        for title, key in (("Input messages", "input_messages"), ("Output messages", "output_messages")):
            messages = loads(span.get(key), [])
            if isinstance(messages, list) and messages:
                out.append(_section(title, _messages(messages, clip), len(messages)))
        if not out:
            out = _io(span, clip)
        parameters = attributes.get("llm.invocation_parameters") or {
            k: v for k, v in attributes.items() if k.startswith(_PARAM_PREFIXES) and not k.endswith(".model")}
        if parameters:
            out.append(_section("Invocation parameters", [_pre(parameters, clip)]))
        return out
    if kind in ("RETRIEVER", "RERANKER"):
        out = _io(span, clip, ("Query", "Output"))[:1]
        documents = _documents(span, attributes, clip)
        out.append(_section("Documents", documents or [_note("No documents were recorded.")], len(documents)))
        return out
    if kind == "TOOL":
        name = span.get("tool_name") or attributes.get("tool.name") or span.get("name")
        arguments = span.get("input_value")
        if is_missing(arguments):
            arguments = attributes.get("tool.parameters")
        return [_section("Tool", [_kv({"Name": name, "Description": attributes.get("tool.description")}, clip)]),
                _section("Arguments", [_pre(arguments if not is_missing(arguments) else "", clip)]),
                _section("Result", [_pre(span.get("output_value") if not is_missing(span.get("output_value")) else "",
                                         clip)])]
    if kind == "EMBEDDING":
        texts = _embedded_texts(attributes)
        if texts:
            return [_section("Embedded texts", [_box(f"#{i + 1}", "doc", [_pre(t, clip)]) for i, t in enumerate(texts)],
                             len(texts))]
    return _io(span, clip)


def _events(events: Sequence[Any], start_us: int, clip: Clip) -> list[dict[str, Any]]:
    out = []
    ordered = [e for e in events if isinstance(e, Mapping)]
    ordered.sort(key=lambda e: number(e.get("time_ns")) or 0)
    for event in ordered:
        at = number(event.get("time_ns"))
        head = text(event.get("name")) + ("" if at is None else f" · +{fmt_ms((at / 1000 - start_us) / 1000)}")
        attrs = event.get("attributes")
        out.append(_box(clip(head)[0], "err" if event.get("name") == "exception" else "event",
                        [_kv(attrs, clip)] if isinstance(attrs, Mapping) and attrs else []))
    return out


def span_detail(node: Any, clip: Clip, resources: dict[str, int], budget: Budget) -> dict[str, Any]:
    """One span's entry: its name, kind and status, and its sections, within the budget.

    The span's summary and errors always come; the rest only while the budget lasts.

    Args:
        node: A :class:`workbench.tree.Node` (``span``, ``start_us``, ``duration_ms`` ...).
        clip: Cuts long values and keeps each long text once.
        resources: Resource attributes seen so far, as JSON text -> index; the span refers to its
            resource by index, so a resource shared by every span is embedded once.
        budget: The bytes of detail the output may still embed.
    """
    span = node.span
    events = loads(span.get("events"), [])
    events = events if isinstance(events, list) else []
    start = clip.mark()
    sections = [_overview(span, node, clip)]
    errors = _errors(span, events, clip)
    if errors:
        sections.append(errors)
    entry: dict[str, Any] = {"name": text(span.get("name")), "kind": text(span.get("span_kind")) or "UNKNOWN",
                             "status": text(span.get("status_code")) or "UNSET", "sec": sections}
    resource = loads(span.get("resource"), {})
    if isinstance(resource, Mapping) and resource:
        key = json.dumps(resource, sort_keys=True, default=str)
        entry["res"] = resources.setdefault(key, len(resources))
    if not budget.spent:
        essentials = clip.mark()
        entry["sec"] = sections + _rest(span, node, events, clip)
        size = budget.size(entry, clip, start)
        if size <= budget.left:
            budget.take(size)
            return entry
        clip.rollback(essentials)
    entry["sec"] = [*sections, budget.left_out()]
    budget.take(budget.size(entry, clip, start))
    return entry


def resource_item(resource: Mapping[str, Any], clip: Clip) -> dict[str, Any]:
    """A resource's attributes as one key-value item, its values cut like any other."""
    return _kv(dict(sorted(resource.items())), clip)


def _rest(span: Mapping[str, Any], node: Any, events: list[Any], clip: Clip) -> list[dict[str, Any]]:
    """What the span's kind shows, then its attributes, events and links."""
    attributes = loads(span.get("attributes"), {})
    attributes = attributes if isinstance(attributes, Mapping) else {}
    sections = _by_kind(span, attributes, clip)
    sections.append(_section("Attributes", [_kv(dict(sorted(attributes.items())), clip)] if attributes
                             else [_note("No attributes.")], len(attributes)))
    if events:
        sections.append(_section("Events", _events(events, node.start_us, clip), len(events)))
    links = loads(span.get("links"), [])
    if isinstance(links, list) and links:
        sections.append(_section("Links", [_kv({f"{text(link.get('trace_id'))} / {text(link.get('span_id'))}":
                                                link.get("attributes") or "" for link in links
                                                if isinstance(link, Mapping)}, clip)], len(links)))
    return sections
