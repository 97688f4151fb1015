"""A full disk: a small tmpfs that fills up under a real server (root only, as in CI)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.helpers import otlp_body, wait_for
from tests.server.processes import ROOT, free_port
from workbench.server import Server
from workbench.store import Store

PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 48 MiB tmpfs mounted for the test."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root (the tests run as root in CI)")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(disk: Path, leave: int) -> Path:
    """Fill the disk with a file until ``leave`` bytes are free; return the file."""
    filler = disk / f"filler-{uuid.uuid4().hex}"
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    with open(filler, "wb") as out:
        remaining = max(0, free - leave)
        block = b"\0" * (1 << 20)
        try:
            while remaining > 0:
                remaining -= out.write(block[: min(len(block), remaining)])
        except OSError:  # full already
            pass
    return filler


def _body(n: int, tag: str, text: int = 200) -> bytes:
    def emit(tracer):
        for i in range(n):
            with tracer.start_as_current_span(f"{tag}-{i}") as span:
                span.set_attribute("input.value", os.urandom(text // 2).hex())

    return otlp_body(emit)


def test_a_low_disk_refuses_writes_keeps_reads_and_recovers_by_itself(small_disk, monkeypatch, caplog):
    monkeypatch.setenv("WORKBENCH_MIN_FREE_MB", "16")
    store = Store(small_disk / "wb.duckdb")
    server = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    try:
        assert requests.post(server.url + "/v1/traces", data=_body(20, "before"), headers=PROTOBUF, timeout=30).ok
        filler = _fill(small_disk, 8 << 20)
        with caplog.at_level(logging.WARNING, logger="workbench"):
            for _ in range(3):
                refused = requests.post(server.url + "/v1/traces", data=_body(20, "low"), headers=PROTOBUF, timeout=30)
                assert refused.status_code == 503
                assert int(refused.headers["Retry-After"]) >= 1
            health = requests.get(server.url + "/api/health", timeout=30)
            assert health.status_code == 200
            assert "WORKBENCH_MIN_FREE_MB" in health.json()["problem"]
            spans = requests.get(server.url + "/api/spans?format=json", timeout=30)
            assert spans.status_code == 200 and len(spans.json()) == 20
            # Feedback is refused the same way, as JSON a client can retry, not as a 500.
            span_id = spans.json()[0]["span_id"]
            note = requests.post(server.url + "/api/annotations", timeout=30,
                                 json={"span_id": span_id, "name": "user_feedback", "label": "thumbs_up"})
            assert note.status_code == 503, note.text
            assert note.json()["type"] == "DiskFullError" and int(note.headers["Retry-After"]) >= 1
            # The cause is logged once, not once a request.
            assert sum("WORKBENCH_MIN_FREE_MB" in r.getMessage() for r in caplog.records) == 1
            filler.unlink()
            answer = requests.post(server.url + "/v1/traces", data=_body(20, "after"), headers=PROTOBUF, timeout=30)
            assert answer.status_code == 200
        assert requests.get(server.url + "/api/health", timeout=30).json()["problem"] is None
        assert store.counts()["spans"] == 40
    finally:
        server.stop()
        store.close()


def _checkpoint_when_no_write_is_running(cursor, deadline: float = 60.0) -> None:
    """CHECKPOINT, waiting out a write the server still has in flight (a loaded machine)."""
    give_up = time.monotonic() + deadline
    while True:
        try:
            cursor.execute("CHECKPOINT")
            return
        except Exception as error:
            if "other write transactions active" not in str(error) or time.monotonic() > give_up:
                raise
            time.sleep(0.05)


def test_a_store_duckdb_invalidated_on_a_full_disk_is_opened_again(small_disk, monkeypatch, caplog):
    # With the check off, DuckDB meets the full disk itself: a failed checkpoint invalidates
    # the database (every query fails until it is opened again).
    monkeypatch.setenv("WORKBENCH_MIN_FREE_MB", "0")
    store = Store(small_disk / "wb.duckdb")
    server = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    try:
        for i in range(4):
            assert requests.post(server.url + "/v1/traces", data=_body(500, f"b{i}", 4000), headers=PROTOBUF,
                                 timeout=60).ok
        filler = _fill(small_disk, 0)
        with caplog.at_level(logging.ERROR, logger="workbench"):
            cursor = store.db.new_cursor()
            with pytest.raises(Exception, match="checkpoint"):
                _checkpoint_when_no_write_is_running(cursor)
            health = requests.get(server.url + "/api/health", timeout=30)
            assert health.status_code == 200
            seen: list[dict] = []

            def reopened() -> bool:
                seen.append(requests.get(server.url + "/api/health", timeout=30).json())
                return seen[-1]["spans"] == 2000

            # Reads are answered again once the file is reopened (one attempt a second).
            try:
                wait_for(reopened, timeout=30)
            except AssertionError:
                raise AssertionError(f"reads did not come back; last health: {seen[-1]}") from None
            refused = requests.post(server.url + "/v1/traces", data=_body(5, "full"), headers=PROTOBUF, timeout=30)
            # Once a write has failed for want of space, writes wait for room (even with the
            # check off): trying them would only invalidate the database again.
            assert refused.status_code == 503, refused.text
            assert "full" in refused.text and "rollback" not in refused.text
            assert store.db.broken is None
        assert any("No space left on device" in r.getMessage() for r in caplog.records)
        filler.unlink()
        answer = requests.post(server.url + "/v1/traces", data=_body(5, "after"), headers=PROTOBUF, timeout=30)
        assert answer.status_code == 200
        wait_for(lambda: requests.get(server.url + "/api/health", timeout=30).json()["spans"] >= 2005)
        assert requests.get(server.url + "/api/spans?format=json&limit=5", timeout=30).status_code == 200
    finally:
        server.stop()
        store.close()
    with Store(small_disk / "wb.duckdb", read_only=True) as again:
        assert again.counts()["spans"] >= 2005


def test_serve_on_a_full_disk_says_it_cannot_start(small_disk):
    db = small_disk / "wb.duckdb"
    Store(db).close()
    _fill(small_disk, 4 << 20)
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_MIN_FREE_MB="16")
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "serve", "--db", str(db), "--port", str(free_port()), "--no-app"],
        capture_output=True, text=True, env=env, timeout=60, cwd=ROOT,
    )
    assert done.returncode != 0
    output = (done.stdout + done.stderr).strip()
    assert "serving" not in output
    assert "Traceback" not in output
    assert "Cannot start" in output and "free" in output
    assert len(output.splitlines()) == 1
