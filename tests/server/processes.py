"""Helpers for fault tests: `workbench serve` in a process of its own, an instrumented OTLP
sender that knows which batches were acknowledged, and raw HTTP over a socket."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """`workbench serve --no-app` in its own process group (as a terminal runs it), on a free port.

    Its output goes to files, read with :meth:`output`.
    """

    def __init__(self, db: Path, logs: Path, *, workers: int = 0, env: dict[str, str] | None = None,
                 wait: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        logs.mkdir(parents=True, exist_ok=True)
        n = len(list(logs.glob("*.out")))
        self.stdout_path, self.stderr_path = logs / f"{n}.out", logs / f"{n}.err"
        environ = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_DECODE_WORKERS=str(workers), **(env or {}))
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "workbench", "serve", "--db", str(db), "--port", str(self.port), "--no-app"],
                stdout=out, stderr=err, env=environ, start_new_session=True, cwd=ROOT,
            )
        if wait:
            wait_for(self._answers, timeout=60, interval=0.05)

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"workbench serve exited with {self.proc.returncode}: {self.output()}")
        try:
            self.health()
        except OSError:
            return False
        return True

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/api/health", timeout=10) as response:
            return json.loads(response.read())

    def output(self) -> str:
        return self.stdout_path.read_text() + self.stderr_path.read_text()

    def children(self) -> list[int]:
        """Pids of the server's child processes (decode workers, resource tracker)."""
        return [pid for pid, parent in _parents().items() if parent == self.proc.pid]

    def signal_group(self, signum: int) -> None:
        """Send a signal to every process of the group, as a terminal's Ctrl-C does."""
        os.killpg(self.proc.pid, signum)

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)


def _parents() -> dict[int, int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return parents


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def group_alive(pgid: int) -> list[int]:
    """Pids of the live processes in a process group."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def make_batches(n: int, spans: int = 50, text: int = 200) -> list[list[Any]]:
    """``n`` batches of finished SDK spans (ReadableSpan), every span unique."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Keep(SpanExporter):
        def __init__(self) -> None:
            self.spans: list[Any] = []

        def export(self, batch: Any) -> SpanExportResult:
            self.spans.extend(batch)
            return SpanExportResult.SUCCESS

    keep = Keep()
    provider = TracerProvider(resource=Resource.create({"service.name": "faults"}))
    provider.add_span_processor(SimpleSpanProcessor(keep))
    tracer = provider.get_tracer("faults")
    for b in range(n):
        for i in range(spans):
            with tracer.start_as_current_span(f"call-{b}-{i}") as span:
                span.set_attributes({"openinference.span.kind": "LLM", "input.value": "x" * text, "batch": b})
    provider.shutdown()
    return [keep.spans[b * spans:(b + 1) * spans] for b in range(n)]


def span_key(span: Any) -> tuple[str, str]:
    return f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"


class Sender(threading.Thread):
    """Exports batches with the real OTLP/HTTP exporter, one after another, and records which
    were acknowledged (the exporter returned SUCCESS: the server answered 200)."""

    def __init__(self, url: str, batches: list[list[Any]], *, timeout: float = 5.0) -> None:
        super().__init__(daemon=True)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        self.exporter = OTLPSpanExporter(endpoint=url + "/v1/traces", timeout=timeout)
        self.batches = batches
        self.acked: list[int] = []
        self.failed: list[int] = []
        self.stop = threading.Event()
        self.progress = threading.Condition()

    def send(self, index: int) -> bool:
        from opentelemetry.sdk.trace.export import SpanExportResult

        ok = self.exporter.export(self.batches[index]) == SpanExportResult.SUCCESS
        with self.progress:
            (self.acked if ok else self.failed).append(index)
            self.progress.notify_all()
        return ok

    def run(self) -> None:
        for index in range(len(self.batches)):
            if self.stop.is_set():
                return
            self.send(index)

    def acked_keys(self) -> set[tuple[str, str]]:
        return {span_key(span) for index in self.acked for span in self.batches[index]}


def stored_keys(url: str) -> list[tuple[str, str]]:
    """Every stored span's (trace_id, span_id), duplicates included, read through the API."""
    with urllib.request.urlopen(url + "/api/spans?format=json&columns=trace_id,span_id", timeout=60) as response:
        rows = json.loads(response.read())
    return [(row["trace_id"], row["span_id"]) for row in rows]


def raw_request(port: int, data: bytes, *, timeout: float = 10.0) -> socket.socket:
    """A socket to the server that has sent ``data`` (a request, or part of one)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(data)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP response with a Content-Length from a socket: status, headers, body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response: {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def post_head(path: str, length: int, content_type: str = "application/x-protobuf", extra: str = "") -> bytes:
    """The head of a POST request that declares a body of ``length`` bytes."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()
