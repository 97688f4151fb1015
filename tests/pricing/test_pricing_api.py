"""The package's public surface, and that importing it stays light."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import workbench.pricing as pricing


def test_everything_in_all_exists() -> None:
    for name in pricing.__all__:
        assert hasattr(pricing, name), name
    assert sorted(pricing.__all__) == sorted(set(pricing.__all__))


def test_importing_pricing_does_not_import_numpy_pandas_or_pyarrow() -> None:
    # The collector imports pricing on the host's thread; the heavy libraries load only
    # for the columnar functions.
    # Only what pricing itself adds counts: the top-level package is not this test's concern.
    code = (
        "import sys, workbench; before = set(sys.modules);"
        "import workbench.pricing as p; p.PriceTable.load().match('gpt-4o');"
        "added = set(sys.modules) - before;"
        "print(sorted(m for m in ('numpy', 'pandas', 'pyarrow') if m in added))"
    )
    root = str(Path(pricing.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"
