"""The LLM judge: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama ...).

Standard library only (``urllib``). Each task is one ``POST {base_url}/chat/completions``
with ``temperature`` 0 and, unless the endpoint refuses it, ``response_format`` JSON. Rate
limits (429), server errors (5xx), timeouts and dropped connections are retried with
exponential backoff and jitter, honouring ``Retry-After``; other client errors (a wrong key,
an unknown model) fail at once with the endpoint's own message.

:meth:`LLMJudge.post` is that transport on its own (a streamed answer included), for other
callers of a chat-completions endpoint: experiments' prompt tasks use it.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from workbench import config
from workbench.errors import ConfigError
from workbench.evals import prompts
from workbench.evals.judge import JudgeError, Task, Verdict
from workbench.evals.parse import verdict
from workbench.tls import tls_failure

__all__ = ["LLMJudge", "error_text"]

_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


class LLMJudge:
    """Judges with a language model behind an OpenAI-compatible API.

    Args:
        model: The model name the endpoint knows (``gpt-4o-mini``, ``llama3.1`` ...).
        base_url: The API root, up to and including ``/v1`` (default OpenAI's; Ollama serves
            ``http://127.0.0.1:11434/v1``, vLLM ``http://127.0.0.1:8000/v1``).
        api_key: Sent as ``Authorization: Bearer``; local servers usually need none.
        timeout: Seconds to wait for one answer.
        max_retries: Retries of one request after a retryable failure.
        backoff: Seconds before the first retry; doubled each time (with jitter).
        temperature: Sampling temperature; 0 for repeatable verdicts.
        json_mode: Ask for ``response_format: json_object``. Turned off by itself for an
            endpoint that rejects it.
        headers: Extra HTTP headers (an organisation id, a proxy token ...).
        max_tokens: The most tokens an answer may take.
        role: What the endpoint is to the caller, as errors name it.

    Thread-safe: one judge may serve several worker threads.
    """

    annotator_kind = "LLM"

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        temperature: float = 0.0,
        json_mode: bool = True,
        headers: Mapping[str, str] | None = None,
        max_tokens: int = 400,
        role: str = "judge endpoint",
    ) -> None:
        if not model:
            raise JudgeError("LLMJudge needs a model name, such as model='gpt-4o-mini'.")
        if not base_url.startswith(("http://", "https://")):
            raise JudgeError(f"base_url={base_url!r} is not an http(s) URL; give one like http://127.0.0.1:11434/v1.")
        try:
            # refuses a port outside 0-65535, or no host
            config.as_url(base_url, example="http://127.0.0.1:11434/v1", bare_ok=False)
        except ConfigError as exc:
            raise JudgeError(f"base_url: {exc}") from None
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.temperature = temperature
        self.json_mode = json_mode
        self.headers = dict(headers or {})
        self.max_tokens = max_tokens
        self.role = role
        self.name = f"llm:{model}"
        self._lock = threading.Lock()
        self.calls = 0  # requests sent, retries included
        self.retries = 0

    def __repr__(self) -> str:
        return f"LLMJudge(model={self.model!r}, base_url={self.base_url!r})"

    def judge(self, task: Task) -> Verdict:
        """Ask the model about ``task`` and read its verdict.

        Raises:
            JudgeError: The endpoint failed after retries, or its answer had no verdict.
        """
        text = self.complete(prompts.messages(task))
        result = verdict(text, task.kind)
        return Verdict(result.score, result.label, result.explanation, {"model": self.model})

    def complete(self, messages: list[dict[str, str]]) -> str:
        """Send chat messages; return the first choice's text."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.json_mode:
            body["response_format"] = {"type": "json_object"}
        payload = self.post(body)
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise JudgeError(
                f"The judge endpoint {self.base_url} answered without choices[0].message.content "
                f"({json.dumps(payload)[:200]}); check that it speaks the OpenAI chat-completions API."
            ) from None
        if not isinstance(content, str):
            raise JudgeError(f"The judge model {self.model} returned no text; try again or use another model.")
        return content

    def post(self, body: dict[str, Any], on_text: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Send one chat-completions request body, retrying as the module says; return the answer.

        With ``"stream": true`` in ``body`` the answer is read as server-sent events: each piece
        of text goes to ``on_text`` as it comes, and the result is assembled like an answer
        that was not streamed (``choices[0].message.content``, ``usage`` when the endpoint
        sent it), plus ``time_to_first_token_ms``.

        Raises:
            JudgeError: The endpoint failed after retries or answered something unreadable.
        """
        url = f"{self.base_url}/chat/completions"
        headers = {"Content-Type": "application/json", "Accept": "application/json", **self.headers}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        attempt = 0
        while True:
            with self._lock:
                self.calls += 1
            request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
            try:
                began = time.monotonic()
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    if body.get("stream"):
                        return _streamed(response, began, on_text, url, self.role)
                    raw = response.read()
                try:
                    return json.loads(raw)
                except ValueError:
                    raise JudgeError(
                        f"The {self.role} {url} answered with something that is not JSON "
                        f"({raw[:120]!r}); check base_url (it should end in /v1)."
                    ) from None
            except urllib.error.HTTPError as exc:
                detail = error_text(exc)
                if exc.code == 400 and "response_format" in body and "response_format" in detail:
                    body = {k: v for k, v in body.items() if k != "response_format"}
                    self.json_mode = False  # this endpoint does not do JSON mode; the prompt still asks
                    continue
                if exc.code not in _RETRY_STATUS or attempt >= self.max_retries:
                    raise JudgeError(
                        _http_message(url, exc.code, detail, self.model, bool(self.api_key), self.role)
                    ) from None
                wait = _retry_after(exc) or self._delay(attempt)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                tls = tls_failure(reason, f"The {self.role}", url, "base_url")
                if tls:  # a retry meets the same server: say it now
                    raise JudgeError(tls) from None
                if attempt >= self.max_retries:
                    raise JudgeError(
                        f"Cannot reach the {self.role} {url} ({reason}) after {attempt + 1} attempts; "
                        f"check base_url and that the server is running, or raise timeout (now {self.timeout}s)."
                    ) from None
                wait = self._delay(attempt)
            attempt += 1
            with self._lock:
                self.retries += 1
            time.sleep(wait)

    def _delay(self, attempt: int) -> float:
        return self.backoff * (2 ** attempt) * (0.5 + random.random() / 2)


def error_text(exc: urllib.error.HTTPError) -> str:
    """The message of an HTTP error's body (an OpenAI-style ``error.message``), else its text."""
    try:
        raw = exc.read()
    except OSError:
        return str(exc.reason)
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:300] or str(exc.reason)
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers else None
    try:
        return min(60.0, max(0.0, float(value))) if value else None
    except ValueError:
        return None


def _streamed(response: Any, began: float, on_text: Callable[[str], None] | None, url: str,
              role: str) -> dict[str, Any]:
    """A streamed answer (server-sent events) assembled like one that was not streamed."""
    pieces: list[str] = []
    usage: Any = None
    first: float | None = None
    finish: Any = None
    for raw_line in response:
        line = raw_line.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            event = json.loads(data)
        except ValueError:
            raise JudgeError(f"The {role} {url} streamed an event that is not JSON ({data[:120]!r}).") from None
        usage = event.get("usage") or usage
        for choice in event.get("choices") or []:
            finish = choice.get("finish_reason") or finish
            text = (choice.get("delta") or {}).get("content")
            if text:
                if first is None:
                    first = time.monotonic()
                pieces.append(text)
                if on_text is not None:
                    on_text(text)
    return {
        "choices": [{"index": 0, "finish_reason": finish,
                     "message": {"role": "assistant", "content": "".join(pieces)}}],
        "usage": usage,
        "time_to_first_token_ms": None if first is None else (first - began) * 1000,
    }


def _http_message(url: str, status: int, detail: str, model: str, has_key: bool = True,
                  role: str = "judge endpoint") -> str:
    fix = {
        401: "check the API key" if has_key else "no API key was sent: set OPENAI_API_KEY (or pass api_key=)",
        403: "check the API key's permissions",
        404: f"check base_url (it should end in /v1) and that the model {model!r} exists there",
        429: "the endpoint is rate-limiting; lower concurrency or try later",
    }.get(status, "check the endpoint's logs")
    return f"The {role} {url} answered {status}: {detail}; {fix}."
