"""The playground: send an LLM span's request again, edited, and record the new answer as a trace.

::

    from workbench.playground import request_from_span, run

    span = reader.spans("span_id == '5f1c...'").iloc[0].to_dict()
    request = request_from_span(span)            # its messages, model and parameters
    request.parameters["temperature"] = 0.7
    result = run(store, request, base_url="http://127.0.0.1:11434/v1",
                 source=(span["trace_id"], span["span_id"]), on_piece=print)
    result.trace_id                               # the re-run, linked to the original span

The endpoint defaults to ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` (see
:func:`workbench.config.openai_endpoint`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.config import openai_endpoint
from workbench.errors import CapabilityError, EndpointError
from workbench.playground.prompts import list_prompts, load_prompt, prompt_task, save_prompt
from workbench.playground.record import PROJECT, SOURCE_SPAN, SOURCE_TRACE, rerun_span
from workbench.playground.request import ChatRequest, original_output, request_from_span
from workbench.playground.stream import Completion, stream_chat

__all__ = [
    "PROJECT",
    "SOURCE_SPAN",
    "SOURCE_TRACE",
    "ChatRequest",
    "Completion",
    "RunResult",
    "list_prompts",
    "load_prompt",
    "original_output",
    "prompt_task",
    "request_from_span",
    "rerun_span",
    "run",
    "save_prompt",
    "stream_chat",
]


@dataclass
class RunResult:
    """One playground run: the answer and the trace it was recorded as.

    Attributes:
        text: The answer (what arrived before a failure, when ``error`` is set).
        trace_id, span_id: The recorded re-run.
        error: Why the call failed, or None.
        completion: The endpoint's counts and timing (None when the call failed).
    """

    text: str
    trace_id: str
    span_id: str
    error: str | None = None
    completion: Completion | None = None


def _store_of(where: Any) -> Any:
    store = where if callable(getattr(where, "write", None)) and hasattr(where, "submit") else getattr(where, "store",
                                                                                                     None)
    if store is None or not callable(getattr(store, "write", None)):
        raise CapabilityError(f"Cannot record a playground run in a {type(where).__name__}; pass a Store, or a "
                              "reader over a writable store (the app's).")
    return store


def run(
    where: Any,
    request: ChatRequest,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    source: tuple[str, str] | None = None,
    on_piece: Callable[[str], Any] | None = None,
    timeout: float = 120.0,
    prompt: tuple[str, str] | None = None,
) -> RunResult:
    """Send ``request`` streamed, call ``on_piece`` with each piece of text, record the run.

    A failed call is recorded too (status ERROR, with what arrived) and reported in
    :attr:`RunResult.error`; it does not raise.

    Args:
        where: A Store, or a reader over a writable store.
        request: The messages, model and parameters.
        base_url, api_key: The endpoint (default: ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``).
        source: ``(trace_id, span_id)`` of the span re-run, linked from the new trace.
        on_piece: Called on this thread with each piece of the answer as it arrives.
        timeout: Seconds to wait for the answer to start, and between two pieces.
        prompt: ``(name, version)`` of a saved prompt being run, recorded on the span.

    Raises:
        CapabilityError: ``where`` cannot be written to.
    """
    store = _store_of(where)
    endpoint = openai_endpoint()
    start_ns = time.time_ns()
    pieces: list[str] = []
    completion: Completion | None = None
    first_ns: int | None = None
    error: str | None = None
    try:
        for item in stream_chat(request.messages, model=request.model or str(endpoint["model"] or ""),
                                base_url=base_url or str(endpoint["base_url"]),
                                api_key=api_key if api_key else endpoint["api_key"],
                                parameters=request.parameters, timeout=timeout):
            if isinstance(item, Completion):
                completion = item
                continue
            if first_ns is None:
                first_ns = time.time_ns()
            pieces.append(item)
            if on_piece is not None:
                on_piece(item)
    except EndpointError as exc:
        error = str(exc)
    text = completion.text if completion is not None else "".join(pieces)
    span = rerun_span(
        messages=request.messages, model=(completion.model if completion else "") or request.model,
        parameters=request.parameters, output=text, start_ns=start_ns, end_ns=time.time_ns(),
        source_trace_id=source[0] if source else None, source_span_id=source[1] if source else None,
        prompt_tokens=completion.prompt_tokens if completion else None,
        completion_tokens=completion.completion_tokens if completion else None,
        first_token_ns=first_ns, error=error,
        prompt_name=prompt[0] if prompt else None, prompt_version=prompt[1] if prompt else None,
    )
    store.write([span])
    return RunResult(text=text, trace_id=span.trace_id, span_id=span.span_id, error=error, completion=completion)
