"""A light server: ``workbench serve`` idle memory and the sample's way to the first rows. Run by hand.

    python benchmarks/bench_serve.py [--repeat 3] [--root another/checkout] [--only-sample] [--compare before/checkout]

Every figure runs the real command (``python -m workbench serve``) in a process of its own,
on a fresh file under a temporary folder:

* idle RSS: the server process's resident memory 15 s after it first answers
  ``/api/health``, with the app and with ``--no-app``; then with the app again after one
  browser session has shown the Traces page and left (what a page's first use adds);
* ``serve --sample`` to the first rows in the browser: from starting the command on a
  fresh file (the sample is loaded first) until headless chromium, already open and
  retrying the address, shows the Traces page's rows (those of the page the server answers
  with while the app loads, drawn without it); then the same on the file that already holds
  the sample; then both again with the browser opening the address once the port takes
  connections (no refused tries drawing error pages meanwhile). Beside each, the CPU the
  server process had used once the app's own rows were shown (all its threads, DuckDB's
  included), and when that was;
* with that server up and the app loaded, a new browser tab (nothing cached) to the first rows.

``--root`` runs another checkout's code (``PYTHONPATH``), e.g. the code before a change;
``--compare`` takes the sample figures of a second checkout too, each run beside one of
``--root``'s, so both meet the same load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROWS = ".wb-grid tbody tr[data-href]"
# When the page a loading server answers with (rows drawn without the app) has painted its
# rows: kept in the tab's session storage, which outlives its hand-over to the app.
FIRST_ROWS_SEEN = """
document.addEventListener("DOMContentLoaded", () => {
  if (document.querySelector("#wb-first tr[data-href]") && !sessionStorage.getItem("wbFirstRows")) {
    requestAnimationFrame(() => setTimeout(() => sessionStorage.setItem("wbFirstRows", String(Date.now()))));
  }
});
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db: Path, port: int, root: Path, *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["PYTHONPATH"] = str(root)
    env["HOME"] = str(db.parent)
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "serve", "--db", str(db), "--port", str(port), *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def wait_health(port: int, deadline: float = 120.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("the server did not answer")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def idle_rss(root: Path, app: bool, browse: bool, browser=None) -> float:
    with tempfile.TemporaryDirectory(prefix="wb-bench-serve-") as tmp:
        port = free_port()
        proc = start(Path(tmp) / "wb.duckdb", port, root, *(() if app else ("--no-app",)))
        try:
            wait_health(port)
            if browse:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector(".wb-grid", timeout=120_000)
                page.close()
            time.sleep(15)
            return rss_mib(proc.pid)
        finally:
            stop(proc)


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far: less moved by other load than wall clock."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample_to_rows(root: Path, browser, db: Path, *, storm: bool = True) -> tuple[float, float, float]:
    """Seconds from the command to the first rows in the browser, the server's CPU seconds by
    then, and seconds to the app's own rows.

    The first rows are those of the page a loading server answers with (drawn without the
    app), or the app's when it was loaded first; that page then hands over to the app. With
    ``storm`` the browser retries the address from the start (each refused try draws an error
    page, which takes CPU from the starting server); without, it opens the address once the
    port takes connections, as someone who reads the command's banner does.
    """
    port = free_port()
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.add_init_script(FIRST_ROWS_SEEN)
    t, epoch = time.perf_counter(), time.time()
    proc = start(db, port, root, "--sample")
    try:
        while True:
            try:
                if not storm:
                    socket.create_connection(("127.0.0.1", port), timeout=5).close()
                page.goto(f"http://127.0.0.1:{port}/", timeout=5_000, wait_until="commit")
                break
            except Exception:
                if proc.poll() is not None or time.perf_counter() - t > 120:
                    raise
                time.sleep(0.02)
        page.locator(".wb-brand").first.wait_for(timeout=120_000)  # the app's header
        page.locator(ROWS).first.wait_for(timeout=120_000)
        app, cpu = time.perf_counter() - t, cpu_s(proc.pid)
        seen = page.evaluate("() => sessionStorage.getItem('wbFirstRows')")
        rows = min(app, int(seen) / 1000 - epoch) if seen else app
        return rows, cpu, app
    finally:
        page.close()
        stop(proc)


def tabs_to_rows(root: Path, browser, db: Path, tabs: int) -> list[float]:
    """With the server already up and one session served: seconds from opening a new tab (its
    own browser context, nothing cached) to the Traces page's rows, ``tabs`` times."""
    port = free_port()
    proc = start(db, port, root, "--sample")
    try:
        wait_health(port)
        times = []
        for i in range(tabs + 1):
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            t = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/")
            if not i:  # the first tab only warms the server up: it loads the app
                page.locator(".wb-brand").first.wait_for(timeout=120_000)
            page.wait_for_selector(ROWS, timeout=120_000)
            if i:
                times.append(time.perf_counter() - t)
            context.close()
        return times
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--only-sample", action="store_true", help="Skip the idle RSS figures.")
    parser.add_argument("--compare", default=None,
                        help="Another checkout whose sample figures are taken too, runs interleaved with --root's.")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    from playwright.sync_api import sync_playwright

    print(f"code: {root}; load average {os.getloadavg()[0]:.2f}", flush=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for label, app, browse in () if args.only_sample else (
                ("idle RSS, --no-app", False, False), ("idle RSS, with the app", True, False),
                ("RSS with the app, idle after one session", True, True)):
            values = [idle_rss(root, app, browse, browser) for _ in range(args.repeat)]
            print(f"  {label:<52} {statistics.median(values):7.0f} MiB  ({', '.join(f'{v:.0f}' for v in values)})",
                  flush=True)
        roots = [root] + ([Path(args.compare).resolve()] if args.compare else [])
        runs: dict[Path, dict[str, list[tuple[float, ...]]]] = {
            r: {"fresh": [], "loaded": [], "fresh, browser opened once the port answers": [],
                "loaded, browser opened once the port answers": [], "tab": []} for r in roots}
        for _ in range(args.repeat):
            for code in roots:  # interleaved, so both meet the same load
                with tempfile.TemporaryDirectory(prefix="wb-bench-sample-") as tmp:
                    db = Path(tmp) / "sample.duckdb"
                    runs[code]["fresh"].append(sample_to_rows(code, browser, db))
                    runs[code]["loaded"].append(sample_to_rows(code, browser, db))
                with tempfile.TemporaryDirectory(prefix="wb-bench-sample-") as tmp:
                    db = Path(tmp) / "sample.duckdb"
                    runs[code]["fresh, browser opened once the port answers"].append(
                        sample_to_rows(code, browser, db, storm=False))
                    runs[code]["loaded, browser opened once the port answers"].append(
                        sample_to_rows(code, browser, db, storm=False))
                    runs[code]["tab"].extend((t, 0.0) for t in tabs_to_rows(code, browser, db, 1))
        browser.close()
    for code in roots:
        if len(roots) > 1:
            print(f"code: {code}")
        for label, key in (("serve --sample, fresh file, to first rows", "fresh"),
                           ("serve --sample, sample loaded, to first rows", "loaded"),
                           ("the same, browser opened once the port answers: fresh",
                            "fresh, browser opened once the port answers"),
                           ("  and sample loaded", "loaded, browser opened once the port answers")):
            for name, column in ((label, 0), ("  the server process CPU by then (app's rows)", 1),
                                 ("  to the app's own rows", 2)):
                values = [run[column] for run in runs[code][key]]
                print(f"  {name:<52} {statistics.median(values) * 1000:7.0f} ms   "
                      f"({', '.join(f'{v * 1000:.0f}' for v in values)})")
        tabs = [run[0] for run in runs[code]["tab"]]
        print(f"  {'a served sample, a new tab to first rows':<52} {statistics.median(tabs) * 1000:7.0f} ms   "
              f"({', '.join(f'{v * 1000:.0f}' for v in tabs)})")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
