"""A real JupyterLab on a free loopback port, and a chromium tab on it that cannot reach the internet.

JupyterLab runs with its own HOME and Jupyter directories, a token, and this checkout first on
``PYTHONPATH`` (so its kernels import the workbench under test). The tab's context aborts every
request to a host other than the loopback one and records it, as a machine without internet would.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 90.0
DEADLINE_MS = 60_000  # two shared cores: a kernel's first import of panel takes a while
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class JupyterLab:
    """A running JupyterLab: its URL, token and notebook folder."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path

    def notebook(self, name: str, cells: list[str], ui: str = "lab") -> str:
        """Write a notebook of code ``cells`` (Python 3 kernel); return its URL in JupyterLab
        (``ui="lab"``) or Notebook 7 (``ui="notebook"``)."""
        notebook = {
            "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "cells": [{"cell_type": "code", "id": f"cell-{i}", "metadata": {}, "source": source,
                       "outputs": [], "execution_count": None} for i, source in enumerate(cells)],
        }
        (self.root / name).write_text(json.dumps(notebook), encoding="utf-8")
        if ui == "notebook":
            return f"{self.url}/notebooks/{name}?token={self.token}"
        # A workspace of its own: the lab would otherwise reopen the earlier tests' notebooks.
        return f"{self.url}/lab/workspaces/{Path(name).stem}/tree/{name}?token={self.token}"

    def kernel_state(self, name: str) -> str | None:
        """The execution state of the kernel of notebook ``name``, as the server knows it."""
        import requests

        sessions = requests.get(f"{self.url}/api/sessions", params={"token": self.token}, timeout=30).json()
        states = [s["kernel"]["execution_state"] for s in sessions if s.get("path") == name and s.get("kernel")]
        return states[0] if states else None

    def shut_down_kernels(self) -> None:
        """End every notebook's kernel (and with it whatever it launched)."""
        import requests

        params = {"token": self.token}
        for session in requests.get(f"{self.url}/api/sessions", params=params, timeout=30).json():
            requests.delete(f"{self.url}/api/sessions/{session['id']}", params=params, timeout=60)


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    pytest.importorskip("jupyterlab", reason="pip install jupyterlab (in the test extra)")
    requests = pytest.importorskip("requests")
    base = tmp_path_factory.mktemp("jupyter")
    home, root = base / "home", base / "notebooks"
    root.mkdir()
    settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # No news or update checks: they would ask the internet, and their toast covers the notebook.
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKBENCH_", "JUPYTER", "IPYTHON"))}
    env.update(
        HOME=str(home), USERPROFILE=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"), JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    port, token = _free_port(), secrets.token_hex(16)
    log = base / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
        f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    lab = JupyterLab(f"http://127.0.0.1:{port}", token, root, process, log)
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                if requests.get(f"{lab.url}/api/status", params={"token": token}, timeout=5).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {START_DEADLINE_S:.0f}s:\n"
                            f"{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield lab
    finally:
        # Shuts the kernels down too (they would otherwise outlive the test).
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
            process.kill()
            process.wait(10)


@dataclass
class NotebookPage:
    """A chromium tab on JupyterLab with the internet cut off; records what it tried to reach."""

    page: Any
    lab: JupyterLab
    blocked: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    name: str = ""

    def open(self, name: str, cells: list[str], ui: str = "lab") -> NotebookPage:
        """Write the notebook, open it (in JupyterLab or Notebook 7), and wait until its kernel is idle."""
        self.name = name
        self.page.goto(self.lab.notebook(name, cells, ui))
        self.page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=DEADLINE_MS)
        self.wait_idle()
        return self

    def cell(self, index: int) -> Any:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def run(self, index: int, *, timeout: int = DEADLINE_MS * 2) -> Any:
        """Run cell ``index`` as a user does (click it, Shift+Enter); wait until it ran; return it.

        A cell run while the kernel is still connecting is not sent; it is run again then.
        """
        cell = self.cell(index)
        prompt = """i => {
            const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[i];
            const prompt = cell && cell.querySelector('.jp-InputArea-prompt');
            return prompt && /\\[(\\*|\\d+)\\]/.test(prompt.textContent) ? prompt.textContent : null;
        }"""
        for attempt in range(4):
            self.wait_idle()
            cell.locator(".jp-InputArea-editor").click()
            self.page.keyboard.press("Shift+Enter")
            try:
                self.page.wait_for_function(prompt, arg=index, timeout=10_000)
                break
            except Exception:
                if attempt == 3:
                    raise
        self.page.wait_for_function(prompt.replace("\\*|", ""), arg=index, timeout=timeout)
        errors = cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
        assert not tracebacks, f"cell {index} failed:\n" + "\n".join(tracebacks)
        return cell

    def wait_idle(self, timeout: int = DEADLINE_MS) -> None:
        """Wait until the notebook's kernel is started and idle."""
        deadline = time.monotonic() + timeout / 1000
        while self.lab.kernel_state(self.name) != "idle":
            if time.monotonic() > deadline:
                raise AssertionError(f"the kernel of {self.name} was not idle within {timeout / 1000:.0f}s")
            self.page.wait_for_timeout(200)

    def restart_kernel(self) -> None:
        """Restart the kernel through the menu, as a user does."""
        self._kernel_menu("Restart Kernel…")
        self.page.locator(".jp-Dialog button.jp-mod-accept").click()

    def shut_down_kernel(self) -> None:
        """Shut the kernel down through the menu, as a user does."""
        self._kernel_menu("Shut Down Kernel")
        dialog = self.page.locator(".jp-Dialog button.jp-mod-accept")
        try:
            dialog.click(timeout=3_000)  # some versions ask first
        except Exception:  # noqa: BLE001 - no dialog to accept
            pass

    def _kernel_menu(self, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
        self.page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


@pytest.fixture
def jupyter_page(browser: Any, jupyter_lab: JupyterLab, tmp_path: Path) -> Iterator[NotebookPage]:
    """A tab on the JupyterLab that aborts every request leaving the loopback interface."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    notebook = NotebookPage(context.new_page(), jupyter_lab)

    def offline(route: Any) -> None:
        if urlparse(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            notebook.blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", offline)
    notebook.page.on("console", lambda m: notebook.console.append(f"{m.type}: {m.text}"[:500]))
    notebook.page.on("pageerror", lambda e: notebook.console.append(f"page error: {e}"[:500]))
    yield notebook
    # Shown with a failure: what the tab looked like and said.
    notebook.page.screenshot(path=str(tmp_path / "jupyter.png"))
    print(f"screenshot: {tmp_path / 'jupyter.png'}\nblocked: {notebook.blocked}\n" + "\n".join(notebook.console[-60:]))
    context.close()
    jupyter_lab.shut_down_kernels()
