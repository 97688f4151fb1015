"""A span's detail as HTML, by kind: messages and tool calls of an LLM call, the documents of a
retrieval, the texts of an embedding, a tool's arguments and result; and for every span its
raw attributes, events (exceptions with their stack traces), links and resource.

Pure functions from a span record (a row of the ``spans`` table, as a dict) to HTML, so they
are tested without a browser. Long values fold behind an expander; JSON is pretty-printed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.app.markup import (
    copy_button,
    esc,
    fmt_count,
    fmt_ms,
    fmt_time,
    fmt_usd,
    fold,
    href,
    is_missing,
    json_block,
    kv_table,
    markdown_html,
    number,
    pretty_json,
    short,
)
from workbench.app.style import kind_color
from workbench.app.tables import Column, table

__all__ = ["MESSAGE_VIEWS", "attributes_html", "correction_html", "detail_html", "events_html", "messages_html",
           "overview_html", "resource_html"]

# Invocation parameters: OpenInference's JSON blob, else the GenAI request attributes.
_PARAM_PREFIXES = ("gen_ai.request.", "llm.request.", "ai.settings.")


def _loads(value: Any, default: Any) -> Any:
    if is_missing(value):
        return default
    if isinstance(value, (dict, list)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return default


def _h(title: str, extra: str = "", *, copy: Any = None) -> str:
    button = copy_button(copy) if copy is not None else ""
    return (f"<h3 class='wb-h'>{esc(title)}{(' <span class=wb-muted>' + extra + '</span>') if extra else ''}"
            f"{button}</h3>")


def _id_html(value: Any) -> str:
    return f"<span class='wb-mono'>{esc(value)}</span>{copy_button(value, title='copy the id')}"


def _text_of(value: Any) -> str:
    """A value as the text to copy: JSON pretty-printed, other text as it is."""
    pretty = pretty_json(value)
    return pretty if pretty is not None else str(value)


def _badge(kind: str) -> str:
    return f"<span class='wb-badge' style='background:{kind_color(kind)}'>{esc(kind)}</span>"


def header_html(span: Mapping[str, Any], *, self_time_ms: float | None = None, critical: bool | None = None) -> str:
    """The span's name, kind, status and timings, and the ids that link elsewhere."""
    status = str(span.get("status_code") or "UNSET")
    rows: dict[str, Any] = {
        "Status": f"<span class='wb-status-{esc(status)}'>{esc(status)}</span>"
        + (f" &middot; <span class='wb-error-text'>{esc(span.get('status_message'))}</span>"
           if span.get("status_message") else ""),
        "Started": f"<span style='white-space:nowrap'>{esc(fmt_time(span.get('start_time')))}</span>",
        "Duration": esc(fmt_ms(span.get("latency_ms"))),
        "Self time": esc(fmt_ms(self_time_ms)) if self_time_ms is not None else "",
        "Critical path": "yes" if critical else "",
        "Model": esc(span.get("model_name")) + (f" <span class='wb-muted'>({esc(span.get('provider'))})</span>"
                                               if span.get("provider") else ""),
        "Session": f"<a href='{esc(href('sessions', session_id=span['session_id']))}'>{esc(span['session_id'])}</a>"
        if span.get("session_id") else "",
        "User": esc(span.get("user_id")),
        "Project": esc(span.get("project")),
        "Prompt template": " ".join(x for x in (
            esc(short(span.get("prompt_template"), 60)),
            f"<span class='wb-muted'>version {esc(span.get('prompt_template_version'))}</span>"
            if span.get("prompt_template_version") else "") if x),
        "Span id": _id_html(span.get("span_id")),
        "Trace id": _id_html(span.get("trace_id")) if span.get("trace_id") else "",
        "Parent": _id_html(span.get("parent_span_id")) if span.get("parent_span_id") else "",
        "Instrumentation": esc(" ".join(str(x) for x in (span.get("scope_name"), span.get("scope_version")) if x)),
    }
    return (f"<h2 class='wb-title'>{_badge(str(span.get('span_kind') or 'UNKNOWN'))} {esc(span.get('name'))}</h2>"
            + kv_table(rows, pairs=2))


def _tokens_html(span: Mapping[str, Any]) -> str:
    rows = {
        "Prompt": fmt_count(span.get("prompt_tokens")),
        "Completion": fmt_count(span.get("completion_tokens")),
        "Total": fmt_count(span.get("total_tokens")),
        "Cache read": fmt_count(span.get("cache_read_tokens")),
        "Cache write": fmt_count(span.get("cache_write_tokens")),
        "Reasoning": fmt_count(span.get("reasoning_tokens")),
        "Time to first token": fmt_ms(span.get("time_to_first_token_ms")),
    }
    # Values of a row: numbers, None or NaN (is_missing tells).
    completion: Any = span.get("completion_tokens")
    latency: Any = span.get("latency_ms")
    ttft: Any = span.get("time_to_first_token_ms")
    if not is_missing(completion) and completion and not is_missing(latency):
        generating = float(latency) - (0.0 if is_missing(ttft) else float(ttft))
        if generating > 0:
            rows["Output tokens/s"] = number(float(completion) * 1000 / generating)
    if not is_missing(span.get("client_cost")):
        rows["Cost (sent)"] = fmt_usd(span["client_cost"])
    shown = {k: esc(v) for k, v in rows.items() if v}
    return (_h("Tokens and timing") + kv_table(shown, pairs=2)) if shown else ""


#: How a message can be read: (name, button label).
MESSAGE_VIEWS = (("raw", "text"), ("md", "markdown"), ("json", "JSON"))


def messages_html(messages: Sequence[Mapping[str, Any]]) -> str:
    """Chat messages with their roles, tool calls (arguments pretty-printed) and tool results.

    Each message can be read as its text, rendered as Markdown, or as the JSON recorded (a
    toggle in its head), and copied.
    """
    out = []
    for message in messages:
        role = str(message.get("role") or "unknown")
        extra = []
        if message.get("name"):
            extra.append(esc(message["name"]))
        if message.get("tool_call_id"):
            extra.append(f"for call <span class='wb-mono'>{esc(message['tool_call_id'])}</span>")
        body = ""
        content = message.get("content")
        has_text = not is_missing(content) and content != ""
        if has_text:
            body += json_block(content) if pretty_json(content) else fold(str(content))
        for call in message.get("tool_calls") or ():
            body += (
                f"<div class='wb-call'><b>calls {esc(call.get('name'))}</b>"
                + (f" <span class='wb-muted wb-mono'>{esc(call.get('id'))}</span>" if call.get("id") else "")
                + json_block(call.get("arguments")) + "</div>"
            )
        if not body:
            body = "<pre class='wb-pre wb-muted'>(empty)</pre>"
        recorded = json.dumps(dict(message), indent=2, ensure_ascii=False, default=str)
        rendered = markdown_html(str(content)) if has_text and not pretty_json(content) else body
        views = "".join(f"<button type='button' class='wb-view{' on' if name == 'raw' else ''}' data-view='{name}'>"
                        f"{label}</button>" for name, label in MESSAGE_VIEWS)
        copy = copy_button(str(content) if has_text else recorded, title="copy the message")
        out.append(
            f"<div class='wb-msg wb-role-{esc(role.lower())}' data-views='raw'><div class='wb-msg-head'>{esc(role)}"
            f"{''.join(f'<span class=wb-muted>{e}</span>' for e in extra)}"
            f"<span class='wb-views'>{views}{copy}</span></div>"
            f"<div class='wb-view-body' data-v='raw'>{body}</div>"
            f"<div class='wb-view-body' data-v='md' hidden>{rendered}</div>"
            f"<div class='wb-view-body' data-v='json' hidden>{fold(recorded, css='wb-pre wb-json')}</div></div>"
        )
    return "".join(out)


def _invocation_parameters(attributes: Mapping[str, Any]) -> Any:
    blob = attributes.get("llm.invocation_parameters")
    if blob is not None:
        return blob
    found = {k: v for k, v in attributes.items() if k.startswith(_PARAM_PREFIXES) and not k.endswith(".model")}
    return found or None


def _io_html(span: Mapping[str, Any], input_title: str = "Input", output_title: str = "Output") -> str:
    out = ""
    if not is_missing(span.get("input_value")):
        out += _h(input_title, copy=_text_of(span["input_value"])) + json_block(span["input_value"])
    if not is_missing(span.get("output_value")):
        out += _h(output_title, copy=_text_of(span["output_value"])) + json_block(span["output_value"])
    return out


def _playground_link(span: Mapping[str, Any]) -> str:
    if not span.get("span_id") or not span.get("trace_id"):
        return ""
    link = href("playground", trace_id=span["trace_id"], span_id=span["span_id"])
    return (f"<div style='margin:6px 0'><a class='wb-button wb-playground-open' href='{esc(link)}' "
            "title='edit its messages, model and parameters and run it again'>Open in playground</a></div>")


def _llm_html(span: Mapping[str, Any], attributes: Mapping[str, Any]) -> str:
    out = _playground_link(span) + _tokens_html(span)
    inputs = _loads(span.get("input_messages"), [])
    outputs = _loads(span.get("output_messages"), [])
    if inputs:
        out += _h("Input messages", str(len(inputs))) + messages_html(inputs)
    if outputs:
        out += _h("Output messages", str(len(outputs))) + messages_html(outputs)
    if not inputs and not outputs:
        out += _io_html(span)
    parameters = _invocation_parameters(attributes)
    if parameters is not None:
        out += _h("Invocation parameters") + json_block(parameters)
    return out


def documents_html(documents: Sequence[Mapping[str, Any]]) -> str:
    """Retrieved documents in order with position, id, score, content and metadata."""
    out = []
    for doc in documents:
        score: Any = doc.get("score")  # a number, None or NaN
        meta = _loads(doc.get("metadata"), None)
        out.append(
            "<div class='wb-doc'><div class='wb-doc-head'>"
            f"<b>#{int(doc.get('position', 0)) + 1}</b>"
            f"<span class='wb-mono'>{esc(doc.get('document_id')) or '<span class=wb-muted>no id</span>'}</span>"
            + (f"<span>score <b>{float(score):.3f}</b></span>" if not is_missing(score) else "")
            + "</div>"
            + fold(str(doc.get("content") or ""), limit=400)
            + (f"<div style='padding:0 8px 6px'>{json_block(meta, limit=300)}</div>" if meta else "")
            + "</div>"
        )
    return "".join(out)


def _retriever_html(span: Mapping[str, Any], documents: Sequence[Mapping[str, Any]]) -> str:
    out = ""
    if not is_missing(span.get("input_value")):
        out += _h("Query", copy=_text_of(span["input_value"])) + json_block(span["input_value"])
    out += _h("Documents", f"{len(documents)}, in the order returned")
    out += documents_html(documents) if documents else "<div class='wb-muted'>No documents were recorded.</div>"
    return out


def _embedding_html(span: Mapping[str, Any], embeddings: Sequence[Mapping[str, Any]]) -> str:
    models = sorted({str(e.get("model")) for e in embeddings if e.get("model")}) or (
        [span["model_name"]] if span.get("model_name") else [])
    dims = sorted({len(e["vector"]) for e in embeddings if e.get("vector") is not None})
    out = _h("Embedding") + kv_table({
        "Model": esc(", ".join(models)),
        "Texts": str(len(embeddings)),
        "Dimensions": esc(", ".join(str(d) for d in dims)),
    })
    def preview(e: Mapping[str, Any]) -> str:
        vector = e.get("vector")
        text = "" if vector is None else "[" + ", ".join(f"{float(v):.3f}" for v in list(vector)[:6]) + (
            ", …]" if len(vector) > 6 else "]")
        return f"<span class='wb-mono wb-muted'>{esc(text)}</span>"

    if embeddings:
        out += _h("Texts") + table(embeddings, [
            Column("#", lambda e: str(int(e.get("position", 0)) + 1), numeric=True),
            Column("Text", lambda e: fold(str(e.get("text") or ""), limit=300)),
            Column("Vector", preview),
        ])
    elif not is_missing(span.get("input_value")):
        out += _h("Input") + json_block(span["input_value"])
    return out


def _tool_html(span: Mapping[str, Any], attributes: Mapping[str, Any]) -> str:
    name = span.get("tool_name") or attributes.get("tool.name") or span.get("name")
    out = _h("Tool") + kv_table({"Name": f"<b>{esc(name)}</b>",
                                  "Description": esc(attributes.get("tool.description"))})
    arguments = span.get("input_value")
    if is_missing(arguments):
        arguments = attributes.get("tool.parameters")
    out += _h("Arguments", copy=None if is_missing(arguments) else _text_of(arguments)) + json_block(arguments)
    result = span.get("output_value")
    out += _h("Result", copy=None if is_missing(result) else _text_of(result)) + json_block(result)
    return out


def exceptions_html(events: Sequence[Mapping[str, Any]]) -> str:
    """The span's exception events: type, message and stack trace."""
    out = []
    for event in events:
        if event.get("name") != "exception":
            continue
        attrs = event.get("attributes") or {}
        out.append(
            "<div class='wb-event wb-exc'>"
            f"<b class='wb-error-text'>{esc(attrs.get('exception.type') or 'Exception')}</b>: "
            f"{esc(attrs.get('exception.message'))}"
            + (fold(str(attrs["exception.stacktrace"]), limit=1500) if attrs.get("exception.stacktrace") else "")
            + "</div>"
        )
    return "".join(out)


def correction_html(text: str) -> str:
    """The answer a user said the span should have given (its newest ``correction``)."""
    return (_h("Corrected answer", "expected output of datasets made from it", copy=text)
            + f"<div class='wb-correction'>{json_block(text)}</div>")


def overview_html(
    span: Mapping[str, Any],
    *,
    documents: Sequence[Mapping[str, Any]] = (),
    embeddings: Sequence[Mapping[str, Any]] = (),
    self_time_ms: float | None = None,
    critical: bool | None = None,
    correction: str | None = None,
) -> str:
    """The header, any exceptions, then what matters for the span's kind, and the answer a user
    gave as its correction (``correction``)."""
    attributes = _loads(span.get("attributes"), {})
    events = _loads(span.get("events"), [])
    kind = str(span.get("span_kind") or "UNKNOWN")
    out = header_html(span, self_time_ms=self_time_ms, critical=critical)
    exceptions = exceptions_html(events)
    if exceptions:
        out += _h("Exception") + exceptions
    if kind == "LLM":
        out += _llm_html(span, attributes)
    elif kind in ("RETRIEVER", "RERANKER"):
        out += _retriever_html(span, documents)
    elif kind == "EMBEDDING":
        out += _embedding_html(span, embeddings)
    elif kind == "TOOL":
        out += _tool_html(span, attributes)
    else:
        out += _io_html(span)
        if not is_missing(span.get("total_tokens")):
            out += _tokens_html(span)
    if correction:
        out += correction_html(correction)
    return out


def attributes_html(span: Mapping[str, Any]) -> str:
    """Every attribute as sent, one row per key, values pretty-printed and folded."""
    attributes = _loads(span.get("attributes"), {})
    if not attributes:
        return "<div class='wb-muted'>No attributes.</div>"
    return table(sorted(attributes.items()), [
        Column("Key", lambda kv: f"<span class='wb-mono'>{esc(kv[0])}</span>", nowrap=True),
        Column("Value", lambda kv: _value_html(kv[1])),
    ])


def _value_html(value: Any) -> str:
    if isinstance(value, (dict, list)) or (isinstance(value, str) and pretty_json(value)):
        return json_block(value, limit=400)
    text = str(value)
    if len(text) > 200 or "\n" in text:
        return fold(text, limit=400)
    return f"<span class='wb-mono'>{esc(text)}</span>"


def events_html(span: Mapping[str, Any]) -> str:
    """Events in time order (exceptions with stack traces) and links to other spans."""
    events = _loads(span.get("events"), [])
    links = _loads(span.get("links"), [])
    start: Any = span.get("start_time")
    start_ns = int(start.timestamp() * 1e9) if hasattr(start, "timestamp") else None
    out = []
    for event in sorted(events, key=lambda e: e.get("time_ns") or 0):
        at = ""
        if start_ns is not None and event.get("time_ns"):
            at = f"+{fmt_ms((int(event['time_ns']) - start_ns) / 1e6)}"
        attrs = event.get("attributes") or {}
        body = exceptions_html([event]) if event.get("name") == "exception" else (
            json_block(attrs, limit=400) if attrs else "")
        out.append(f"<div class='wb-event'><b>{esc(event.get('name'))}</b> "
                   f"<span class='wb-muted'>{esc(at)}</span>{body}</div>")
    if links:
        out.append(_h("Links"))
        for link in links:
            out.append(
                "<div class='wb-event'><a class='wb-mono' "
                f"href='{esc(href('trace', trace_id=link.get('trace_id'), span_id=link.get('span_id')))}'>"
                f"{esc(link.get('trace_id'))} / {esc(link.get('span_id'))}</a>"
                + (json_block(link.get("attributes"), limit=300) if link.get("attributes") else "") + "</div>"
            )
    return "".join(out) or "<div class='wb-muted'>No events or links.</div>"


def resource_html(span: Mapping[str, Any]) -> str:
    """The resource attributes (service, SDK, host ...)."""
    resource = _loads(span.get("resource"), {})
    if not resource:
        return "<div class='wb-muted'>No resource attributes.</div>"
    return attributes_html({"attributes": resource})


def detail_html(span: Mapping[str, Any], **kwargs: Any) -> str:
    """Everything about a span on one page: overview, attributes, events and resource."""
    return (overview_html(span, **kwargs) + _h("Attributes") + attributes_html(span)
            + _h("Events") + events_html(span) + _h("Resource") + resource_html(span))
