"""A streamed chat completion from any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama ...).

Standard library only (``urllib``). :func:`stream_chat` posts ``stream: true`` and yields the
answer's text as it arrives (server-sent events, ``data: {...}`` lines), then a last
:class:`Completion` with the whole text, the token counts the endpoint reported and the
time to the first token. An endpoint that refuses ``stream_options`` (asked for, to get the
token counts) is asked again without it; one that answers with a plain, unstreamed
completion is read as one piece.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench import config
from workbench.errors import ConfigError, EndpointError
from workbench.evals.llm import error_text
from workbench.tls import tls_failure

__all__ = ["Completion", "stream_chat"]


@dataclass
class Completion:
    """What one streamed call produced.

    Attributes:
        text: The answer's text, whole.
        model: The model the endpoint says answered (else the one asked for).
        prompt_tokens, completion_tokens: As the endpoint reported them (None when it did not).
        first_token_ms: Milliseconds from the request to the first piece of text.
        finish_reason: Why the answer ended (``stop``, ``length`` ...), when said.
    """

    text: str = ""
    model: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_ms: float | None = None
    finish_reason: str | None = None
    pieces: list[str] = field(default_factory=list, repr=False)


def stream_chat(
    messages: Sequence[Mapping[str, Any]],
    *,
    model: str,
    base_url: str,
    api_key: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    timeout: float = 120.0,
) -> Iterator[str | Completion]:
    """Send a chat completion with ``stream: true``; yield each piece of text, then the :class:`Completion`.

    Args:
        messages: Chat messages (``{"role": ..., "content": ...}``).
        model: The model name the endpoint knows.
        base_url: The API root, up to and including ``/v1``.
        api_key: Sent as ``Authorization: Bearer``; local servers usually need none.
        parameters: Other request fields (``temperature``, ``max_tokens`` ...).
        timeout: Seconds to wait for the answer to start, and between two pieces of it.

    Raises:
        EndpointError: The endpoint cannot be reached, refused the request (its own message
            is quoted), or answered something that is not a chat completion.
    """
    if not model:
        raise EndpointError("No model is given; type the model name the endpoint knows, e.g. gpt-4o-mini.")
    if not base_url.startswith(("http://", "https://")):
        raise EndpointError(f"The base URL {base_url!r} is not an http(s) URL; give one like http://127.0.0.1:11434/v1.")
    try:
        # refuses a port outside 0-65535, or no host
        config.as_url(base_url, example="http://127.0.0.1:11434/v1", bare_ok=False)
    except ConfigError as exc:
        raise EndpointError(f"The base URL: {exc}") from None
    url = base_url.rstrip("/") + "/chat/completions"
    body: dict[str, Any] = {k: v for k, v in (parameters or {}).items() if k not in ("model", "messages", "stream")}
    body.update(model=model, messages=[dict(m) for m in messages], stream=True)
    body.setdefault("stream_options", {"include_usage": True})
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    started = time.monotonic()
    response = _open(url, body, headers, timeout, model, bool(api_key))
    done = Completion(model=model)
    with response:
        if "text/event-stream" not in (response.headers.get("Content-Type") or ""):
            _read_whole(response, done, url)
            if done.text:
                done.first_token_ms = (time.monotonic() - started) * 1000
                done.pieces.append(done.text)
                yield done.text
            yield done
            return
        for payload in _events(response, url):
            text = _take_chunk(payload, done)
            if text:
                if done.first_token_ms is None:
                    done.first_token_ms = (time.monotonic() - started) * 1000
                done.pieces.append(text)
                yield text
    done.text = "".join(done.pieces)
    yield done


def _open(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float, model: str,
          has_key: bool) -> Any:
    while True:
        request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            return urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            detail = error_text(exc)
            if exc.code == 400 and "stream_options" in body and "stream_options" in detail:
                body = {k: v for k, v in body.items() if k != "stream_options"}
                continue
            raise EndpointError(_http_message(url, exc.code, detail, model, has_key)) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EndpointError(tls_failure(reason, "The endpoint", url, "base URL") or (
                f"Cannot reach the endpoint {url} ({reason}); check the base URL and that the server is running."
            )) from None


def _events(response: Any, url: str) -> Iterator[dict[str, Any]]:
    """The JSON payloads of the ``data:`` lines, until ``[DONE]`` or the end."""
    try:
        for raw in response:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue  # comments, event names, blank separators
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                payload = json.loads(data)
            except ValueError:
                raise EndpointError(f"The endpoint {url} streamed a line that is not JSON ({data[:120]!r}); "
                                    "check that it speaks the OpenAI chat-completions API.") from None
            if isinstance(payload, dict) and payload.get("error"):
                error = payload["error"]
                message = error.get("message") if isinstance(error, dict) else error
                raise EndpointError(f"The endpoint {url} stopped the answer with an error: {message}.")
            if isinstance(payload, dict):
                yield payload
    except (TimeoutError, ConnectionError, OSError) as exc:
        raise EndpointError(f"The endpoint {url} stopped answering mid-stream ({exc}); try again.") from None


def _take_chunk(payload: Mapping[str, Any], done: Completion) -> str:
    """Fold one streamed chunk into ``done``; return its new text."""
    if payload.get("model"):
        done.model = str(payload["model"])
    usage = payload.get("usage")
    if isinstance(usage, dict):
        done.prompt_tokens = _int(usage.get("prompt_tokens"), done.prompt_tokens)
        done.completion_tokens = _int(usage.get("completion_tokens"), done.completion_tokens)
    text = ""
    for choice in payload.get("choices") or ():
        if not isinstance(choice, dict) or choice.get("index", 0) != 0:
            continue
        delta = choice.get("delta") or {}
        content = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(content, str):
            text += content
        if choice.get("finish_reason"):
            done.finish_reason = str(choice["finish_reason"])
    return text


def _read_whole(response: Any, done: Completion, url: str) -> None:
    raw = response.read()
    try:
        payload = json.loads(raw)
        message = payload["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise EndpointError(f"The endpoint {url} answered without choices[0].message ({raw[:120]!r}); "
                            "check the base URL (it should end in /v1).") from None
    done.text = str(message.get("content") or "")
    done.model = str(payload.get("model") or done.model)
    choice = payload["choices"][0]
    done.finish_reason = choice.get("finish_reason") if isinstance(choice, dict) else None
    usage = payload.get("usage") or {}
    done.prompt_tokens = _int(usage.get("prompt_tokens"), None)
    done.completion_tokens = _int(usage.get("completion_tokens"), None)


def _int(value: Any, default: int | None) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _http_message(url: str, status: int, detail: str, model: str, has_key: bool) -> str:
    fix = {
        401: "check the API key" if has_key else "no API key was sent: set OPENAI_API_KEY or type one",
        403: "check the API key's permissions",
        404: f"check the base URL (it should end in /v1) and that the model {model!r} exists there",
        429: "the endpoint is rate-limiting; wait a moment and run again",
    }.get(status, "check the endpoint's logs")
    return f"The endpoint {url} answered {status}: {detail}; {fix}."
