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
        assert requests.get(url + "/api/health", timeout=10).json()["status"] == "ok"
        bad = requests.post(url + "/v1/traces", data=b"not protobuf",
                            headers={"Content-Type": "application/x-protobuf"}, timeout=10)
        assert bad.status_code == 400
        tab.assert_no_errors()
        tab.page.context.close()
    finally:
        _stop(process)


def test_serve_stops_on_sigterm_quietly_and_cleanly(browser, db_file):
    process = _serve(db_file)
    try:
        url = _url(process)
        tab = new_app_page(browser, url)
        tab.goto(ready=".wb-grid tbody tr[data-href]")  # a store that has served the app
        tab.page.context.close()
    finally:
        process.terminate()
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    # No traceback, and no objects reported leaked when Python exits.
    noise = [line for line in rest.splitlines() if any(w in line for w in ("leaked", "Traceback", "Error"))]
    assert noise == []


def test_serve_without_the_app_serves_a_plain_page(db_file):
    process = _serve(db_file, "--no-app")
    try:
        url = _url(process)
        page = requests.get(url + "/", timeout=10)
        assert page.status_code == 200 and "/v1/traces" in page.text
    finally:
        _stop(process)


def test_serve_sample_shows_the_slow_tail(browser, tmp_path, shots):
    """``workbench serve --sample``: the sample's slow tail (gemini's p99) is on the Latency page."""
    process = _serve(tmp_path / "sample.duckdb", "--sample")
    try:
        url = _url(process)
        tab = new_app_page(browser, url)
        tab.goto(ready=".wb-grid tbody tr[data-href]")
        tab.screenshot(shots("traces"))
        tab.page.set_viewport_size({"width": 1440, "height": 1480})
        tab.goto("page=latency&by=model&level=spans&filter=span_kind+%3D%3D+%27LLM%27", ready=".wb-card")
        tab.wait_for("table.wb-list", text="gemini-2.0-flash")
        p99 = {}
        for row in tab.page.locator("table.wb-list tr").all():
            cells = row.locator("td").all_inner_texts()
            if len(cells) == 8:  # the By model table: model, calls, ttft p50/p95, p50, p95, p99, tokens/s
                value, unit = cells[6].split()
                p99[cells[0]] = float(value) * (1 if unit == "s" else 0.001)
        slowest = max(p99, key=p99.get)
        assert slowest.startswith("gemini") and p99[slowest] > 10, p99
        assert all(v < 6 for k, v in p99.items() if not k.startswith("gemini")), p99
        tab.screenshot(shots("latency"))
        tab.page.set_viewport_size({"width": 1440, "height": 900})
        tab.goto("page=sessions&order=turns", ready=".wb-turn")
        tab.screenshot(shots("sessions"))
        tab.goto("page=traces&filter=name+%3D%3D+%27support_chat%27&sort=latency_ms",
                 ready=".wb-grid tbody tr[data-href]")
        tab.page.locator(".wb-grid tbody tr[data-href]").nth(2).locator("td").nth(3).click()
        tab.wait_for(".wf-row[data-id]")
        tab.page.locator(".wf-row[data-id]", has=tab.page.locator(".wf-kind", has_text="LLM")).last.click()
        tab.wait_for(".wb-msg-head")
        tab.screenshot(shots("trace"))
        tab.assert_no_errors()
        tab.page.context.close()
    finally:
        _stop(process)
