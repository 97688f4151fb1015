"""Handing decoded batches from a worker to the server: the spool file, and its fallback."""

from __future__ import annotations

import os

from tests.helpers import otlp_body
from workbench.server.decode import decode_body


def _embed(tracer) -> None:
    with tracer.start_as_current_span("embed") as span:
        span.set_attribute("openinference.span.kind", "EMBEDDING")
        span.set_attribute("embedding.embeddings.0.embedding.text", "hello")
        span.set_attribute("embedding.embeddings.0.embedding.vector", [0.5] * 16)


def _body() -> bytes:
    return otlp_body(_embed)


def test_a_batch_is_handed_over_in_a_spool_file_and_the_file_removed(tmp_path):
    decoded = decode_body(_body(), "application/x-protobuf", "p", None, str(tmp_path))
    assert decoded.path is not None and os.path.dirname(decoded.path) == str(tmp_path)
    batch = decoded.to_batch()
    assert os.listdir(tmp_path) == []
    assert batch.num_spans == 1
    assert batch.embeddings.column("vector").to_pylist() == [[0.5] * 16]


def test_a_spool_that_cannot_be_written_falls_back_to_the_pipe(tmp_path):
    gone = tmp_path / "gone"  # a spool folder removed under the worker
    decoded = decode_body(_body(), "application/x-protobuf", "p", None, str(gone))
    assert decoded.path is None and decoded.streams
    batch = decoded.to_batch()
    assert batch.num_spans == 1
    assert batch.embeddings.column("text").to_pylist() == ["hello"]


def test_worker_processes_start_with_a_request_and_stop_after_a_pause():
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from tests.helpers import wait_for
    from workbench.server.decode import DecodePool

    pool = DecodePool(1, idle_stop_s=0.5)
    body = _body()

    def decode():
        # On a thread of its own: the server runs decode() on its event loop's thread, and
        # this thread may already have a loop of another test's.
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, pool.decode(body, "application/x-protobuf", "p", None)).result(60)

    try:
        assert not pool.started
        assert decode().to_batch().num_spans == 1  # on the thread, while the worker starts
        wait_for(pool.ready.is_set, timeout=60)
        spool = pool.spool
        on_worker = decode()
        assert on_worker.path is not None  # handed over through the spool by the worker
        assert on_worker.to_batch().num_spans == 1
        wait_for(lambda: not pool.started and not os.path.exists(spool), timeout=30)  # stopped in the pause
        assert not pool.ready.is_set()
        assert decode().to_batch().num_spans == 1  # and a new request starts them again
        assert pool.started
    finally:
        pool.close()
    assert not pool.started


def test_a_killed_worker_loses_no_request():
    import asyncio
    import signal
    from concurrent.futures import ThreadPoolExecutor

    from tests.helpers import wait_for
    from workbench.server.decode import DecodePool

    pool = DecodePool(1)
    body = _body()

    def decode():
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, pool.decode(body, "application/x-protobuf", "p", None)).result(60)

    try:
        decode()
        wait_for(pool.ready.is_set, timeout=60)
        for pid in list(pool._processes._processes):
            os.kill(pid, signal.SIGKILL)
        assert decode().to_batch().num_spans == 1  # decoded on the thread instead
        assert not pool.ready.is_set()  # new workers are starting
        wait_for(pool.ready.is_set, timeout=60)
        assert decode().path is not None  # and they decode again
    finally:
        pool.close()


def test_arrays_of_doubles_are_read_exactly_and_other_arrays_item_by_item():
    import json

    from workbench.collector.otlp import decode_protobuf

    exact = [0.1 * i for i in range(20)]  # not representable in 32 bits: must come back as sent
    with_zero = [0.0] * 12  # zero doubles are on the wire too (a set oneof is always written)

    def emit(tracer):
        with tracer.start_as_current_span("s") as span:
            span.set_attribute("app.weights", exact)
            span.set_attribute("app.zeros", with_zero)
            span.set_attribute("app.ints", list(range(20)))
            span.set_attribute("app.flags", [True, False] * 6)
            span.set_attribute("app.words", ["a"] * 12)

    (span,) = decode_protobuf(otlp_body(emit)).spans
    assert list(span.attributes["app.weights"]) == exact
    assert list(span.attributes["app.zeros"]) == with_zero
    assert span.attributes["app.ints"] == list(range(20))
    assert span.attributes["app.flags"] == [True, False] * 6
    assert span.attributes["app.words"] == ["a"] * 12
    # and the stored JSON keeps the doubles exactly
    stored = json.loads(decode_body(otlp_body(emit), "application/x-protobuf", "p", None, None)
                        .to_batch().spans.column("attributes")[0].as_py())
    assert stored["app.weights"] == exact


def test_a_worker_pauses_the_cycle_collector_only_while_it_decodes():
    import gc

    import pytest

    from workbench.errors import DecodeError
    from workbench.server.decode import _decode_in_worker, _warm

    assert gc.isenabled()
    assert _decode_in_worker(_body(), "application/x-protobuf", "p", None, None).spans == 1
    assert gc.isenabled()
    with pytest.raises(DecodeError):
        _decode_in_worker(b"\xff\x00 not protobuf", "application/x-protobuf", "p", None, None)
    assert gc.isenabled()  # back on after a request that failed, too
    assert _warm() == 1  # a starting worker decodes one span before it takes requests


def test_a_server_in_the_users_process_leaves_its_garbage_collector_alone(store):
    import gc

    from workbench.server import Server
    from workbench.server.server import _settle_garbage_collector

    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    server = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()  # a notebook's
    try:
        assert gc.get_threshold() == threshold and gc.get_freeze_count() == frozen
    finally:
        server.stop()
    try:  # what `workbench serve`, a process of its own, does once it answers
        _settle_garbage_collector()
        assert gc.get_threshold()[0] == 10_000 and gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_an_unforeseen_failure_while_decoding_is_a_decode_error_not_a_crash(monkeypatch, caplog):
    import pytest

    import workbench.server.decode as decode
    from workbench.errors import DecodeError

    def broken(body, *, default_project):
        raise KeyError("a case the decoder did not foresee")

    monkeypatch.setattr(decode, "decode_protobuf", broken)
    with pytest.raises(DecodeError, match="could not be decoded"):
        decode_body(_body(), "application/x-protobuf", "p", None, None)
    assert "could not be decoded" in caplog.text  # logged with its traceback, for a bug report


def test_spans_that_cannot_be_stored_are_counted_with_the_first_reason():
    import json as _json

    def span(i, start):
        return {"traceId": f"{i:032x}", "spanId": f"{i:016x}", "name": f"s{i}", "startTimeUnixNano": str(start)}

    body = _json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
        span(1, 1_700_000_000_000_000_000), span(2, 10**30), span(3, 2**63), {"traceId": "x"}]}]}]}).encode()
    decoded = decode_body(body, "application/json", "p", None, None)
    assert (decoded.spans, decoded.rejected) == (1, 3)
    assert decoded.error.startswith("span '' has traceId 'x'")  # the decoder's reason comes first
    assert decoded.to_batch().spans.column("name").to_pylist() == ["s1"]
