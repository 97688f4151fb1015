"""A file held by a running server: the refusal names that server's address and the fix for
where the user is (Python, register(), the command line)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

import workbench
from tests.helpers import wait_for


def _answers(url: str) -> bool:
    try:
        return requests.get(url + "/api/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def served(db_path):
    """A real ``workbench serve`` on a free port, holding ``db_path``; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "serve", "--db", str(db_path), "--port", "0", "--no-app"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    url = None
    deadline = time.monotonic() + 60
    lines = []
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if found and found.group(1) != "0":
            url = found.group(0)
    assert url, "the server did not start:\n" + "".join(lines)
    wait_for(lambda: _answers(url), timeout=60)  # serving, not just bound
    yield url
    proc.terminate()
    try:
        proc.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_python_open_names_the_server_and_its_url(served, db_path):
    with pytest.raises(workbench.StoreLockedError) as caught:
        workbench.open(db_path)
    message = str(caught.value)
    assert served in message
    assert f"workbench.open({served!r})" in message
    assert caught.value.url == served
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_register_names_the_endpoint_to_send_to(served, db_path):
    with pytest.raises(workbench.StoreLockedError) as caught:
        workbench.register(db=db_path, set_global=False)
    assert f"endpoint={served!r}" in str(caught.value)


def test_the_command_line_names_the_url_option(served, db_path, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "export", str(tmp_path / "out"), "--db", str(db_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1
    assert f"--url {served}" in done.stderr
    assert "workbench.open(" not in done.stderr and "Traceback" not in done.stderr
    # The advice works: the same export through the server.
    ok = subprocess.run(
        [sys.executable, "-m", "workbench", "export", str(tmp_path / "out"), "--url", served],
        capture_output=True, text=True, timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
