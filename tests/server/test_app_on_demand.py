"""``workbench serve`` holds the app's packages only once a browser asks for the app: an idle
server answers OTLP and the API without having imported panel, and the first ``/`` loads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import json, sys, urllib.request
    from workbench.server import Server
    from workbench.store import Store

    store = Store(sys.argv[1])
    server = Server(store, host="127.0.0.1", port=0, app=True, app_on_demand=True).start()
    seen = {}
    try:
        with urllib.request.urlopen(server.url + "/api/health", timeout=60) as r:
            seen["health"] = r.status
        seen["panel_when_idle"] = "panel" in sys.modules
        import workbench.drift.worker as worker
        seen["drift_workers_when_idle"] = len(worker._shared)
        with urllib.request.urlopen(server.url + "/?page=traces&text=refund", timeout=120) as r:
            seen["page"] = r.status
            seen["page_url"] = r.geturl()
            seen["page_is_the_app"] = "bokeh" in r.read().decode().lower()
        seen["panel_after_page"] = "panel" in sys.modules
        with urllib.request.urlopen(server.url + "/api/health", timeout=60) as r:
            seen["health_after"] = r.status
    finally:
        server.stop()
        store.close()
    print(json.dumps(seen))
""")


def test_an_idle_server_has_not_imported_the_app_and_the_first_page_loads_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "wb.duckdb")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["health"] == 200 and seen["health_after"] == 200
    assert seen["panel_when_idle"] is False
    assert seen["drift_workers_when_idle"] == 0  # UMAP is compiled once the app is used, not at start
    assert seen["page"] == 200 and seen["page_is_the_app"]
    assert seen["page_url"].endswith("/?page=traces&text=refund")  # the same address, now the app's
    assert seen["panel_after_page"] is True
