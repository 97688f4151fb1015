"""A playground re-run recorded as a trace of its own, linked to the span it re-ran.

The trace is one LLM span in OpenInference's attributes (messages, model, parameters,
tokens, a first-token event), in the project ``playground``, so every page shows it like
any other model call. It points back at the original span twice: an OpenTelemetry link,
and the attributes ``workbench.playground.source_span_id`` and
``workbench.playground.source_trace_id``, which filters can name::

    attributes['workbench.playground.source_span_id'] == '5f1c...'
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.model import Event, Link, Span, StatusCode
from workbench.semconv import make_span

__all__ = ["PROJECT", "SOURCE_SPAN", "SOURCE_TRACE", "rerun_span"]

#: The project re-runs are recorded in (kept apart from the application's own traffic).
PROJECT = "playground"
#: The attribute naming the span a re-run re-ran, and its trace.
SOURCE_SPAN = "workbench.playground.source_span_id"
SOURCE_TRACE = "workbench.playground.source_trace_id"


def _flat_messages(prefix: str, messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, message in enumerate(messages):
        for key in ("role", "content", "name", "tool_call_id"):
            value = message.get(key)
            if value is not None and value != "":
                out[f"{prefix}.{i}.message.{key}"] = str(value)
    return out


def rerun_span(
    *,
    messages: Sequence[Mapping[str, Any]],
    model: str,
    parameters: Mapping[str, Any],
    output: str,
    start_ns: int,
    end_ns: int,
    source_trace_id: str | None = None,
    source_span_id: str | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    first_token_ns: int | None = None,
    error: str | None = None,
    prompt_name: str | None = None,
    prompt_version: str | None = None,
) -> Span:
    """The span of one re-run (a new trace), ready for :meth:`Store.write`.

    Args:
        messages: The messages sent.
        model: The model asked.
        parameters: The other request fields sent.
        output: The answer's text (what arrived, when the call failed midway).
        start_ns, end_ns: When the call started and ended (ns since the epoch).
        source_trace_id, source_span_id: The span re-run (None for a prompt run from scratch).
        prompt_tokens, completion_tokens: As the endpoint reported them.
        first_token_ns: When the first piece of the answer arrived.
        error: Why the call failed (the span's status is then ERROR).
        prompt_name, prompt_version: The saved prompt run, if any.
    """
    attributes: dict[str, Any] = {
        "openinference.span.kind": "LLM",
        "llm.model_name": model,
        "llm.invocation_parameters": json.dumps(dict(parameters), ensure_ascii=False, default=str),
        "input.value": json.dumps([dict(m) for m in messages], ensure_ascii=False, default=str),
        "input.mime_type": "application/json",
        "output.value": output,
        **_flat_messages("llm.input_messages", messages),
        **_flat_messages("llm.output_messages", [{"role": "assistant", "content": output}] if output else []),
    }
    if prompt_tokens is not None:
        attributes["llm.token_count.prompt"] = prompt_tokens
    if completion_tokens is not None:
        attributes["llm.token_count.completion"] = completion_tokens
    if prompt_tokens is not None and completion_tokens is not None:
        attributes["llm.token_count.total"] = prompt_tokens + completion_tokens
    if prompt_name:
        attributes["llm.prompt_template.template"] = prompt_name
        if prompt_version:
            attributes["llm.prompt_template.version"] = str(prompt_version)
    links: tuple[Link, ...] = ()
    if source_span_id and source_trace_id:
        attributes[SOURCE_SPAN] = source_span_id
        attributes[SOURCE_TRACE] = source_trace_id
        links = (Link(source_trace_id, source_span_id, {"workbench.link": "playground source"}),)
    events = (Event("First Token Stream Event", first_token_ns, {}),) if first_token_ns else ()
    return make_span(
        trace_id=secrets.token_hex(16), span_id=secrets.token_hex(8), parent_span_id=None,
        name="playground.chat", start_time_ns=start_ns, end_time_ns=max(end_ns, start_ns),
        status_code=StatusCode.ERROR if error else StatusCode.OK, status_message=error or "",
        otel_kind="CLIENT", attributes=attributes,
        resource={"openinference.project.name": PROJECT, "service.name": "workbench-playground"},
        events=events, links=links, scope_name="workbench.playground",
    )
