"""Turning OTLP request bodies into Arrow batches, on worker processes or on a thread.

Decoding a request and building its Arrow rows is pure Python: under the GIL it caps a server
at one core. :class:`DecodePool` runs that work in worker processes (spawned, so no lock or
DuckDB handle of the server is inherited) that write Arrow IPC streams to a file in a spool
folder, on a memory file system where there is one; the server process maps the file and
hands the tables to DuckDB without copying them, so it only receives HTTP and writes to
DuckDB. With ``workers=0`` the same work runs on one thread in the server process (what a
notebook wants).

The ingest pipeline's stateless stages (:class:`workbench.ingest.Prepare`: redaction, then
the Arrow rows) run inside the workers, from the same configuration, and each answer carries
the redaction counts it added; sampling and the sink run in the server process
(:meth:`workbench.ingest.IngestPipeline.admit`).

Lifecycle: the workers ignore Ctrl-C and SIGTERM (a terminal sends Ctrl-C to the whole
process group): the server stops them itself once it has answered what it accepted. They
exit when the server process dies, even by ``kill -9`` (Linux's parent-death signal, and a
thread that watches the parent's pid elsewhere), and a new server removes the spool folders
of servers that are gone (their folder names carry their pid).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.collector.otlp import decode_json, decode_protobuf
from workbench.errors import DecodeError
from workbench.ingest import prepare_for
from workbench.store.rows import SpanBatch

if TYPE_CHECKING:
    from workbench.collector.redaction import RedactionConfig

__all__ = ["DecodePool", "DecodedBatch", "decode_body", "remove_orphan_spools"]

logger = logging.getLogger(__name__)

JSON = "application/json"
_TOO_DEEP = "The body nests too deeply to be decoded; send attribute values nested at most 32 levels."


@dataclass
class DecodedBatch:
    """What decoding one request gives back (picklable)."""

    path: str | None = None  # a spool file of Arrow IPC streams, when from a worker
    streams: tuple[bytes, ...] = ()  # the same streams inline, when the spool could not be written
    sizes: tuple[int, ...] = ()  # the size of each stream in that file
    batch: SpanBatch | None = None  # Arrow tables, when decoded in-process
    spans: int = 0
    rejected: int = 0
    error: str = ""
    redacted: dict[str, int] = field(default_factory=dict)

    def to_batch(self) -> SpanBatch:
        """The Arrow tables, mapped from the worker's spool file (then removed) if need be."""
        if self.batch is None and self.path is None:
            self.batch = SpanBatch.from_ipc(self.streams)
        if self.batch is None:
            assert self.path is not None
            try:
                self.batch = SpanBatch.read_file(self.path, self.sizes)
            finally:
                self.discard()
        return self.batch

    def discard(self) -> None:
        """Remove the spool file, if any (the mapped tables stay readable)."""
        if self.path is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            self.path = None


def decode_body(
    body: bytes,
    content_type: str,
    default_project: str,
    redaction: RedactionConfig | None,
    spool: str | None,
) -> DecodedBatch:
    """Decode a request body and run the pipeline's stateless stages: redaction, the Arrow rows.

    With ``spool`` (a folder), the rows are written to a new file there rather than returned.

    A span that cannot be stored costs only itself: it is counted in ``rejected`` with the
    first reason in ``error`` (OTLP partial success), and the other spans are kept.

    Raises:
        DecodeError: The body cannot be decoded at all.
    """
    try:
        decoded = (decode_json if content_type == JSON else decode_protobuf)(body, default_project=default_project)
    except DecodeError:
        raise
    except RecursionError:
        raise DecodeError(_TOO_DEEP) from None
    except Exception as exc:  # a case the decoder does not know: still the client's answer, not a 500
        logger.exception("an OTLP body could not be decoded")
        raise DecodeError(f"The body could not be decoded ({type(exc).__name__}: {exc}); check that it is an "
                          "OTLP ExportTraceServiceRequest.") from None
    prepared = prepare_for(redaction)(decoded.spans)  # spans that cannot be stored are left out, and listed
    batch = prepared.batch
    rejected = decoded.rejected + prepared.rejected + prepared.dropped
    error = decoded.error or prepared.error or ("redaction failed on a span" if prepared.dropped else "")
    out = DecodedBatch(spans=batch.num_spans, rejected=rejected, error=error, redacted=prepared.redacted)
    if spool is not None:
        path = os.path.join(spool, f"{uuid.uuid4().hex}.arrows")
        try:
            out.sizes = batch.write_file(path)
            out.path = path
        except OSError:  # the spool is full or gone: hand the rows over through the pipe
            try:
                os.unlink(path)
            except OSError:
                pass
            out.streams = batch.to_ipc()
    else:
        out.batch = batch
    return out


_SHM = "/dev/shm"
_SHM_MIN_FREE = 512 << 20  # room for the batches of many requests in flight


def _spool_base() -> str | None:
    """A memory file system with room to spare (containers often give /dev/shm 64 MB), or
    None for the system's temporary folder."""
    statvfs = getattr(os, "statvfs", None)  # not on Windows
    if statvfs is None:
        return None
    try:
        stat = statvfs(_SHM)
    except OSError:
        return None
    if stat.f_bavail * stat.f_frsize < _SHM_MIN_FREE or not os.access(_SHM, os.W_OK):
        return None
    return _SHM


def _warm() -> int:
    """Decode a small request, so that a worker's first real one does not pay for the imports
    done on first use (pyarrow imports pandas when it first builds an array: 0.4 s)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = b"\x01" * 16, b"\x01" * 8, "warm"
    for key, text in (("openinference.span.kind", "EMBEDDING"), ("embedding.embeddings.0.embedding.text", "warm")):
        attribute = span.attributes.add()
        attribute.key, attribute.value.string_value = key, text
    vector = span.attributes.add()
    vector.key = "embedding.embeddings.0.embedding.vector"
    for _ in range(16):
        vector.value.array_value.values.add().double_value = 0.25
    return decode_body(request.SerializeToString(), "application/x-protobuf", "warm", None, None).spans


_LARGE_BODY = 1 << 20  # bodies at least this large wait for the worker processes
_WORKER_WAIT_S = 30.0
_SPOOL_PREFIX = "workbench-spool-"
_SPOOL_NAME = re.compile(re.escape(_SPOOL_PREFIX) + r"(\d+)-")
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Make this worker exit when the server process ``parent`` does, however it ends."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # no libc to load: the watching thread still works
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(0)

    def watch() -> None:
        # The parent-death signal follows the thread that started the worker, not the
        # process, and exists only on Linux: the pid is watched as well.
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="workbench-parent-watch", daemon=True).start()


def _start_worker(parent: int | None = None) -> None:
    # Ctrl-C reaches every process of the terminal's group, and a service manager may send
    # SIGTERM to all of them: the server stops its workers once it has answered what it
    # accepted, so they ignore both (and print no traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if parent is not None:
        _die_with_parent(parent)
    # Everything a worker imported stays for its life: freezing it keeps the garbage
    # collector from walking it again on every collection, a tenth of decoding's time
    # (measured: 69 against 60 microseconds a span).
    gc.freeze()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_orphan_spools(bases: list[str | None] | None = None) -> list[str]:
    """Remove the spool folders of servers whose process is gone; return their paths.

    A server killed with ``kill -9`` cannot remove its own; its name holds its pid.
    """
    removed = []
    for base in bases if bases is not None else [_SHM, tempfile.gettempdir()]:
        folder = base or tempfile.gettempdir()
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            match = _SPOOL_NAME.match(name)
            if match is None or _pid_alive(int(match[1])):
                continue
            path = os.path.join(folder, name)
            shutil.rmtree(path, ignore_errors=True)
            if not os.path.exists(path):
                removed.append(path)
    if removed:
        logger.info("removed %d spool folders left by stopped servers", len(removed))
    return removed


def _decode_in_worker(*args: Any) -> DecodedBatch:
    """:func:`decode_body` (same arguments) with the cycle collector paused, in a worker process.

    Decoding a request builds tens of thousands of dicts, tuples and spans that all live until
    the request is done, so the collector would walk them over and over while they are built
    and never find anything to free: reference counting frees them, since they hold no cycles.
    Pausing it for the request took a quarter off a worker's time (measured on the shared
    ingest workload: 72-100 against 57-65 microseconds a span). A worker runs one request at a
    time, so nothing else is paused with it.
    """
    gc.disable()
    try:
        return decode_body(*args)
    finally:
        gc.enable()


class DecodePool:
    """Where request bodies are decoded: ``workers`` processes, or one thread when 0.

    The worker processes start with the first request, not with the server, and stop again
    after ``idle_stop_s`` without one: a server that receives no spans (one opened to browse
    a file, a notebook's, a laptop's between test runs) does not carry them. Until they have
    started (about a second), requests are decoded on the thread.

    Args:
        workers: Worker processes; 0 decodes on a thread of this process.
        idle_stop_s: Seconds without a request after which the worker processes stop.
    """

    def __init__(self, workers: int = 0, *, idle_stop_s: float = 300.0) -> None:
        self.workers = workers
        self.idle_stop_s = idle_stop_s
        # One thread: decoding holds the GIL, and a DuckDB commit on a writer thread releases
        # it, so one decoder overlaps with writing without contention.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-decode")
        self._processes: ProcessPoolExecutor | None = None
        self._spool: str | None = None
        self._lock = threading.Lock()
        self._in_flight = 0  # requests on the worker processes now
        self._last_request = time.monotonic()
        self._closed = threading.Event()
        self.ready = threading.Event()  # set while the worker processes answer
        self._start_failed = False

    @property
    def started(self) -> bool:
        """Whether the worker processes are running (started by a request)."""
        return self._processes is not None

    @property
    def spool(self) -> str | None:
        """The folder the workers hand their batches over in, while they run."""
        return self._spool

    def _start_processes(self) -> None:
        with self._lock:
            if self._processes is not None or self.workers <= 0 or self._closed.is_set():
                return
            base = _spool_base()
            remove_orphan_spools([base])
            self._spool = tempfile.mkdtemp(prefix=f"{_SPOOL_PREFIX}{os.getpid()}-", dir=base)
            context = multiprocessing.get_context("spawn")
            processes = self._processes = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
            )
        # Off the caller's path: a worker's imports take a second.
        threading.Thread(
            target=self._run_processes, args=(processes,), name="workbench-decode-workers", daemon=True
        ).start()

    def _run_processes(self, processes: ProcessPoolExecutor) -> None:
        try:
            futures = [processes.submit(_warm) for _ in range(self.workers)]
            for future in futures:
                future.result(60)
        except Exception:  # decoding stays on the thread
            self._start_failed = True
            logger.exception("decode workers did not start; decoding on one thread instead")
            return
        self.ready.set()
        # Then watch for a long pause, and stop the processes in it.
        while not self._closed.wait(min(self.idle_stop_s / 4, 30.0)):
            with self._lock:
                idle = time.monotonic() - self._last_request
                if self._processes is not processes or self._in_flight or idle < self.idle_stop_s:
                    continue
                self.ready.clear()
                self._processes = None
                spool, self._spool = self._spool, None
            processes.shutdown(wait=True)
            if spool is not None:
                shutil.rmtree(spool, ignore_errors=True)
            logger.info("decode workers stopped after %.0f s without a request", idle)
            return

    async def decode(
        self, body: bytes, content_type: str, default_project: str, redaction: RedactionConfig | None
    ) -> DecodedBatch:
        """Decode on the pool without blocking the event loop.

        A large body waits for the worker processes to start rather than being decoded on
        the thread: decoding tens of thousands of spans builds hundreds of megabytes of
        short-lived objects, and the server process keeps much of that memory (16 bodies of
        48 MB at once: 2.1 GB peak for the server process without the wait, 1.8 GB with it).
        """
        loop = asyncio.get_running_loop()
        if self.workers > 0 and len(body) >= _LARGE_BODY and not self.ready.is_set():
            if self._processes is None:
                self._start_processes()
            deadline = time.monotonic() + _WORKER_WAIT_S
            while not self.ready.is_set() and not self._start_failed and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        with self._lock:
            self._last_request = time.monotonic()
            processes = self._processes if self.ready.is_set() else None
            spool = self._spool
            if processes is not None:
                self._in_flight += 1
        if processes is not None:
            try:
                return await loop.run_in_executor(
                    processes, _decode_in_worker, body, content_type, default_project, redaction, spool
                )
            except BrokenProcessPool:
                # A worker died (killed, out of memory): this request is decoded on the thread,
                # and the next one starts new workers.
                logger.warning("a decode worker stopped unexpectedly; starting new ones")
                self._discard(processes)
            finally:
                with self._lock:
                    self._in_flight -= 1
        if self.workers > 0 and self._processes is None:
            self._start_processes()
        return await loop.run_in_executor(
            self._thread, decode_body, body, content_type, default_project, redaction, None
        )

    def _discard(self, processes: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._processes is not processes:
                return  # another request has discarded them already
            self.ready.clear()
            self._processes = None
            spool, self._spool = self._spool, None
        processes.shutdown(wait=False, cancel_futures=True)
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)

    def close(self) -> None:
        """Stop the workers and remove the spool folder."""
        self._closed.set()
        self._thread.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            processes, self._processes = self._processes, None
            spool, self._spool = self._spool, None
            self.ready.clear()
        if processes is not None:
            processes.shutdown(wait=True, cancel_futures=True)
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)
