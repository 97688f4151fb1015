"""``workbench serve --sample``: while the sample loads, the app is imported and its first page
prepared (what needs no data), so the first browser session does less."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import json, sys
    from workbench.server import run

    before = {name: name in sys.modules for name in ("panel", "workbench.app.traces", "workbench.experiments")}
    run._import_app()
    from workbench.pricing import effective

    after = {name: name in sys.modules for name in ("panel", "workbench.app.traces", "workbench.analysis.quality",
                                                    "workbench.experiments")}
    print(json.dumps({"before": before, "after": after, "prices_read": len(effective._cache)}))
""")


def test_the_app_import_at_start_prepares_the_first_page(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    env["HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert not any(seen["before"].values())
    assert all(seen["after"].values()), seen
    assert seen["prices_read"] == 1  # the shipped table, parsed once for every session


LOAD_FIRST = textwrap.dedent("""
    import gc, json, sys
    import workbench.sample
    from workbench.errors import StoreError
    from workbench.server import run

    seen = {}

    def load_sample(store, **_):
        seen["server_imported_when_the_load_began"] = "workbench.server.server" in sys.modules
        seen["collecting_while_starting"] = gc.isenabled()
        raise StoreError("The sample is broken here.")

    workbench.sample.load_sample = load_sample
    try:
        run.serve(db=sys.argv[1], port=0, sample=True, app=False, echo=lambda line: None)
    except StoreError as exc:
        seen["error"] = str(exc)
    seen["server_imported_after"] = "workbench.server.server" in sys.modules
    seen["collecting_after_a_failed_start"] = gc.isenabled()
    gc.disable()
    from workbench.server.server import _settle_garbage_collector

    _settle_garbage_collector()  # what the server does once it serves
    seen["collecting_once_serving"] = gc.isenabled()
    print(json.dumps(seen))
""")


def test_the_sample_loads_while_the_server_is_imported_and_its_failure_is_reported(tmp_path: Path) -> None:
    """Also: no cycle collection while starting (it walked what was being imported), and it is
    on again once the server serves, or once a start failed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    env["HOME"] = str(tmp_path)
    db = tmp_path / "sample.duckdb"
    done = subprocess.run([sys.executable, "-c", LOAD_FIRST, str(db)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["server_imported_when_the_load_began"] is False
    assert seen["error"] == "The sample is broken here."
    assert seen["server_imported_after"] is True
    assert seen["collecting_while_starting"] is False
    assert seen["collecting_after_a_failed_start"] is True and seen["collecting_once_serving"] is True
    assert not db.exists()  # a server that could not start leaves no new file behind


LISTENING_FIRST = textwrap.dedent("""
    import json, socket, sys
    import workbench.sample
    from workbench.errors import StoreError
    from workbench.server import run

    port = int(sys.argv[2])
    seen = {}

    def load_sample(store, **_):
        # A browser opened at once: its connection is taken, to be answered once the server serves.
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            seen["connected_while_the_sample_loads"] = True
        raise StoreError("The sample is broken here.")

    workbench.sample.load_sample = load_sample
    try:
        run.serve(db=sys.argv[1], port=port, sample=True, app=False, echo=lambda line: None)
    except StoreError as exc:
        seen["error"] = str(exc)
    with socket.socket() as again:  # the failed start let the port go
        again.bind(("127.0.0.1", port))
        seen["port_free_after"] = True
    print(json.dumps(seen))
""")


def test_serve_listens_before_the_sample_loads_and_lets_the_port_go_when_it_fails(tmp_path: Path) -> None:
    from tests.server.processes import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    env["HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", LISTENING_FIRST, str(tmp_path / "sample.duckdb"), str(free_port())],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"connected_while_the_sample_loads": True, "error": "The sample is broken here.",
                    "port_free_after": True}
