"""A stand-in for an OpenAI-compatible chat-completions server, on 127.0.0.1 in a thread.

It answers like a judge, deterministically, from the prompt alone: it reads the sections of
the judge's prompt (QUESTION, DOCUMENT, ANSWER, CONTEXT, REFERENCE) and compares their
content words (five letters or more). A document or answer is relevant when it shares one
with the question; an answer or reference sentence is supported when half its content words
are in the context.

``script`` makes the next requests misbehave, one entry per request: ``"500"``/``"429"``
(an error status; 429 with ``Retry-After: 0``), ``"sleep:S"`` (answer after S seconds),
``"401"`` (a refused key), ``"garbage"`` (text without a verdict), ``"fenced"`` (the JSON inside a Markdown fence with
chatter), ``"no-json-mode"`` (400 naming response_format when it is asked for), ``"429:S"`` (429 with
``Retry-After: S``).

A prompt that is not a judge's (no ``TASK:`` line) is answered as a model would be asked a
question: ``"Answer: "`` and the last message's text; a request with ``"stream": true`` gets
the answer as server-sent events, a word at a time, then the usage (with ``stream_options``);
``"stream-slow:S"`` waits S seconds before each word, ``"stream-cut"`` stops after the first
word with an error event.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_SECTION = re.compile(r"^([A-Z]+):\n<<<\n(.*?)\n>>>", re.DOTALL | re.MULTILINE)
_WORD = re.compile(r"[a-z]{5,}")
_LABELS = {
    "context_relevance": ("relevant", "irrelevant"),
    "faithfulness": ("faithful", "unfaithful"),
    "answer_relevance": ("relevant", "irrelevant"),
    "context_recall": ("complete", "incomplete"),
}


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _supported_share(text: str, context: str) -> float:
    known = _words(context)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if _words(s)]
    if not sentences:
        return 0.0
    supported = sum(len(_words(s) & known) * 2 >= len(_words(s)) for s in sentences)
    return supported / len(sentences)


def judge(prompt: str) -> dict[str, Any]:
    """The verdict the stand-in gives for a judge prompt."""
    kind = re.search(r"^TASK: (\w+)", prompt, re.MULTILINE).group(1)
    parts = dict(_SECTION.findall(prompt))
    question = parts.get("QUESTION", "")
    if kind in ("context_relevance", "answer_relevance"):
        other = parts.get("DOCUMENT") if kind == "context_relevance" else parts.get("ANSWER")
        shared = sorted(_words(question) & _words(other or ""))
        score = 1.0 if shared else 0.0
        why = f"shares {', '.join(shared)} with the question" if shared else "shares no content word with the question"
    else:
        text = parts.get("ANSWER") if kind == "faithfulness" else parts.get("REFERENCE")
        score = round(_supported_share(text or "", parts.get("CONTEXT", "")), 4)
        why = f"{score:.0%} of the sentences are supported by the context"
    positive, negative = _LABELS[kind]
    return {"explanation": f"stand-in: {why}", "label": positive if score >= 0.5 else negative, "score": score}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is part of the tests


class StandIn:
    """The server; use as a context manager. ``url`` is the base URL (ending in /v1)."""

    def __init__(self) -> None:
        self.script: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stand_in._lock:
                    stand_in.requests.append(body)
                    stand_in.headers.append(dict(self.headers))
                    step = stand_in.script.pop(0) if stand_in.script else ""
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                if body.get("model") == "missing-model":
                    self._send(404, {"error": {"message": "The model `missing-model` does not exist"}})
                    return
                if step == "401":
                    self._send(401, {"error": {"message": "Incorrect API key provided"}})
                    return
                if step in ("500", "429") or step.startswith("429:"):
                    wait = step.split(":")[1] if ":" in step else "0"
                    self._send(int(step[:3]), {"error": {"message": "try again"}}, {"Retry-After": wait})
                    return
                if step == "no-json-mode" and "response_format" in body:
                    self._send(400, {"error": {"message": "response_format is not supported by this model"}})
                    return
                if step.startswith("sleep:"):
                    time.sleep(float(step.split(":")[1]))
                prompt = body["messages"][-1]["content"]
                if not re.search(r"^TASK: (\w+)", prompt, re.MULTILINE):
                    self._answer(body, "Answer: " + prompt, step)
                    return
                verdict = judge(prompt)
                content = json.dumps(verdict)
                if step == "garbage":
                    content = "I cannot decide."
                elif step == "fenced":
                    content = f"Here is my verdict:\n```json\n{content}\n```\nHope this helps."
                self._send(200, {
                    "id": "chatcmpl-standin", "object": "chat.completion", "model": body.get("model"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                })

            def _answer(self, body: dict[str, Any], content: str, step: str = "") -> None:
                prompt_tokens, completion_tokens = len(str(body["messages"]).split()), len(content.split())
                usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                         "total_tokens": prompt_tokens + completion_tokens}
                if not body.get("stream"):
                    self._send(200, {
                        "id": "chatcmpl-standin", "object": "chat.completion", "model": body.get("model"),
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": content}}],
                        "usage": usage,
                    })
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = re.findall(r"\S+\s*", content)
                pause = float(step.split(":")[1]) if step.startswith("stream-slow:") else 0.0
                for word in words:
                    if pause:
                        time.sleep(pause)
                    event = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "model": body.get("model"),
                             "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                    if step == "stream-cut":
                        self.wfile.write(b'data: {"error": {"message": "the stand-in was cut off"}}\n\n')
                        self.wfile.flush()
                        self.close_connection = True
                        return
                last = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(last)}\n\n".encode())
                if (body.get("stream_options") or {}).get("include_usage"):
                    self.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StandIn:  # typing.Self needs Python 3.11
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
