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
