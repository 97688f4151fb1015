"""Stand-in OpenAI and Anthropic APIs on 127.0.0.1, for the recording proxy's tests.

The model name in a request picks the behaviour: ``error-<status>`` answers that status with
the provider's error body, ``slow`` waits past any test timeout, ``gated`` streams its first
chunk then waits for :attr:`Upstream.gate` before the rest, ``gzipped`` compresses its answer
unasked, ``fails-midway`` streams a chunk then an error, ``ponders`` (Anthropic) opens its stream
then waits before its first token; anything else answers normally.
Every request's headers and body are kept in :attr:`Upstream.seen`.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import socket
import struct
import threading
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError
from tornado.web import Application, RequestHandler

OPENAI_USAGE = {
    "prompt_tokens": 120, "completion_tokens": 7, "total_tokens": 127,
    "prompt_tokens_details": {"cached_tokens": 100}, "completion_tokens_details": {"reasoning_tokens": 2},
}


class Upstream:
    """A stand-in provider on its own thread and loop."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.gate = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        app = Application([
            (r"/v1/chat/completions", _OpenAIChat, {"upstream": self}),
            (r"/v1/embeddings", _OpenAIEmbeddings, {"upstream": self}),
            (r"/v1/messages", _AnthropicMessages, {"upstream": self}),
            (r"/v1/(messages/count_tokens|moderations|batches|models)", _Other, {"upstream": self}),
            (r"/v1/(files|audio/transcriptions)", _Upload, {"upstream": self}),
        ])
        server = HTTPServer(app, decompress_request=True)  # as providers take a gzipped request
        server.listen(self.port, "127.0.0.1")
        self._ready.set()
        loop.run_forever()
        server.stop()

    def stop(self) -> None:
        self.gate.set()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


class _Base(RequestHandler):
    def initialize(self, upstream: Upstream) -> None:
        self.upstream = upstream

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if not isinstance(value, StreamClosedError):  # the proxy hung up (a caller left, a timeout)
            super().log_exception(typ, value, tb)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        if not self._headers_written:
            super().send_error(status_code, **kwargs)

    def body(self) -> dict[str, Any]:
        data = json.loads(self.request.body)
        self.upstream.seen.append({"headers": dict(self.request.headers), "body": data, "path": self.request.path})
        return data

    async def special(self, model: str, error: dict[str, Any]) -> bool:
        """Answer the error and slow models; True when answered."""
        if model.startswith("error-"):
            self.set_status(int(model[6:]))
            self.set_header("Content-Type", "application/json")
            self.set_header("x-request-id", "req-err")
            self.finish(json.dumps(error))
            return True
        if model == "slow":
            await asyncio.sleep(30)
            return True
        return False

    async def wait_gate(self) -> None:
        while not self.upstream.gate.is_set():
            await asyncio.sleep(0.01)

    def event(self, data: dict[str, Any], name: str | None = None) -> None:
        if name:
            self.write(f"event: {name}\n")
        self.write(f"data: {json.dumps(data)}\n\n")


class _OpenAIChat(_Base):
    async def post(self) -> None:
        body = self.body()
        model = body["model"]
        error = {"error": {"message": "Rate limit reached for requests", "type": "rate_limit_exceeded",
                           "code": "rate_limit_exceeded", "param": None}}
        if await self.special(model, error):
            return
        self.set_header("x-request-id", "req-1")
        if not body.get("stream"):
            self.set_header("Content-Type", "application/json")
            answer = json.dumps({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model + "-2024",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Refunds take 5 days."},
                             "finish_reason": "stop"}],
                "usage": OPENAI_USAGE,
            }).encode()
            if model == "gzipped":  # compressed although the proxy asked for identity
                self.set_header("Content-Encoding", "gzip")
                answer = gzip.compress(answer)
            self.finish(answer)
            return
        self.set_header("Content-Type", "text/event-stream")
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model + "-2024"}
        self.event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Refunds"}}]})
        await self.flush()
        if model == "fails-midway":  # an error after the 200, as OpenAI sends one
            self.event({"error": {"message": "The server had an error while processing your request.",
                                  "type": "server_error", "param": None, "code": None}})
            self.finish()
            return
        if model == "gated":
            await self.wait_gate()
        for word in [" take", " 5 days."]:
            self.event({**base, "choices": [{"index": 0, "delta": {"content": word}}]})
            await self.flush()
        self.event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            self.event({**base, "choices": [], "usage": OPENAI_USAGE})
        self.write("data: [DONE]\n\n")
        self.finish()


class _OpenAIEmbeddings(_Base):
    async def post(self) -> None:
        body = self.body()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = []
        for i, _text in enumerate(texts):
            vector = [0.1 * (i + 1), 0.2, 0.3]
            if body.get("encoding_format") == "base64":  # what the openai SDK asks for by default
                data.append({"object": "embedding", "index": i,
                             "embedding": base64.b64encode(struct.pack("<3f", *vector)).decode()})
            else:
                data.append({"object": "embedding", "index": i, "embedding": vector})
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({
            "object": "list", "model": body["model"], "data": data,
            "usage": {"prompt_tokens": 5 * len(texts), "total_tokens": 5 * len(texts)},
        }))


class _Upload(_Base):
    """Multipart uploads (files, audio): answers with what it received."""

    async def post(self, route: str) -> None:
        files = self.request.files
        self.upstream.seen.append({"headers": dict(self.request.headers), "path": self.request.path,
                                   "files": {k: v[0]["body"] for k, v in files.items()}})
        self.set_header("Content-Type", "application/json")
        upload = next(iter(files.values()))[0] if files else {"filename": None, "body": b""}
        if route == "files":
            self.finish(json.dumps({"id": "file-1", "object": "file", "bytes": len(upload["body"]),
                                    "created_at": 0, "filename": upload["filename"], "purpose": "batch",
                                    "status": "processed"}))
        else:
            self.finish(json.dumps({"text": upload["body"].decode("latin-1")[:20]}))


class _Other(_Base):
    """Calls that run no model: token counting, moderations, batches, the model list."""

    async def post(self, route: str) -> None:
        body = self.body()
        answers: dict[str, Any] = {
            "messages/count_tokens": {"input_tokens": 12},
            "moderations": {"id": "modr-1", "model": body.get("model", "omni-moderation-latest"),
                            "results": [{"flagged": False, "categories": {"violence": False}}]},
            "batches": {"id": "batch_1", "object": "batch", "status": "validating"},
        }
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(answers.get(route, {"id": "x", "route": route})))

    async def get(self, route: str) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"object": "list", "data": [{"id": "m-2024", "object": "model"}]}))

    head = get


class _AnthropicMessages(_Base):
    async def post(self) -> None:
        body = self.body()
        model = body["model"]
        error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        if await self.special(model, error):
            return
        usage = {"input_tokens": 20, "cache_read_input_tokens": 300, "cache_creation_input_tokens": 50,
                 "output_tokens": 9}
        if not body.get("stream"):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({
                "id": "msg_1", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": "Hello from Claude."}],
                "stop_reason": "end_turn", "stop_sequence": None, "usage": usage,
            }))
            return
        self.set_header("Content-Type", "text/event-stream")
        start = {"id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [],
                 "stop_reason": None, "stop_sequence": None, "usage": {**usage, "output_tokens": 1}}
        self.event({"type": "message_start", "message": start}, "message_start")
        self.event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                   "content_block_start")
        if model == "ponders":  # the stream opens at once; the first token comes later
            await self.flush()
            await asyncio.sleep(0.6)
        self.event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
                   "content_block_delta")
        await self.flush()
        if model == "gated":
            await self.wait_gate()
        self.event({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": " from Claude."}}, "content_block_delta")
        self.event({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self.event({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 9}}, "message_delta")
        self.event({"type": "message_stop"}, "message_stop")
        self.finish()
