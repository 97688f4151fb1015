"""``workbench serve`` as users start it: a real process, the app at / on the one port, first page fast."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
import requests

from tests.app.browser import new_app_page
from tests.app.data import make_dataset


@pytest.fixture
def db_file(tmp_path):
    from workbench.store import Store

    path = tmp_path / "served.duckdb"
    with Store(path) as store:
        store.write(make_dataset(sessions=6).spans)
    return path


def _serve(db_file, *extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "serve", "--db", str(db_file), "--port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )


def _url(process) -> str:
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"app and API: (http://\S+?)/?$", line.strip())
        if match:
            return match[1]
    raise AssertionError("workbench serve printed no URL:\n" + "".join(seen))


def _stop(process) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def test_serve_answers_otlp_api_and_the_app_on_one_port(browser, db_file):
    started = time.monotonic()
    process = _serve(db_file)
    try:
        url = _url(process)
        tab = new_app_page(browser, url)
        tab.goto(ready=".wb-grid tbody tr[data-href]")
        first_page = time.monotonic() - started
        print(f"\nstart to first page: {first_page:.2f} s")
        assert first_page < 15  # the target is 3 s on an idle laptop; CI machines are shared
        assert requests.get(url + "/api/health", timeout=10).json()["status"] == "ok"
        bad = requests.post(url + "/v1/traces", data=b"not protobuf",
                            headers={"Content-Type": "application/x-protobuf"}, timeout=10)
        assert bad.status_code == 400
        tab.assert_no_errors()
        tab.page.context.close()
    finally:
        _stop(process)


def test_serve_without_the_app_serves_a_plain_page(db_file):
    process = _serve(db_file, "--no-app")
    try:
        url = _url(process)
        page = requests.get(url + "/", timeout=10)
        assert page.status_code == 200 and "/v1/traces" in page.text
    finally:
        _stop(process)
