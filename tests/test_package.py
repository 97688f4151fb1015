"""The package's shape: the public API, the layering, and that every setting is documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import workbench
from workbench import config
from workbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workbench"
ROOT_API = "workbench"  # the package root, as an import target
LAZY_NAME = re.compile(r"workbench(\.\w+)+(:\w+)?")

# Which top-level parts of the package each part may import. A module imports only downward.
ALLOWED = {
    "version": set(),
    "model": set(),
    "errors": set(),
    # What a failed connection says when TLS is to blame: the HTTP clients' shared sentence.
    "tls": set(),
    "config": {"errors"},
    "semconv": {"model", "errors"},
    "pricing": {"model", "errors", "config"},
    "tree": {"errors", "render", "tracetext"},
    "render": {"errors", "semconv", "pricing"},
    "tracetext": {"pricing", "config"},
    "collector": {"model", "errors", "semconv", "pricing", "config"},
    "store": {"model", "errors", "config", "semconv"},
    # The ingest pipeline: the collector's stages, the store's rows, sampling; both ways in run it.
    "ingest": {"collector", "store", "model", "errors", "config", "semconv", "pricing"},
    "lake": {"store", "errors", "config"},
    "spark": {"lake", "read", "store", "pricing", "errors"},
    "read": {"store", "lake", "tree", "errors", "model", "pricing", "config"},
    "query": {"read"},
    "remote": {"tree", "errors", "config", "tls"},
    "snapshots": {"read", "query", "store", "errors"},
    "drift": {"read", "query", "store", "model", "errors", "config"},
    "analysis": {"read", "query", "store", "tree", "errors", "model", "pricing", "config", "evals"},
    "evals": {"read", "query", "store", "model", "errors", "config", "remote", "tls"},
    "experiments": {"evals", "read", "store", "instrument", "model", "errors", "config", "pricing", "remote"},
    # Spans around generators, for instrument's @traced.
    "streams": set(),
    "instrument": {"collector", "ingest", "store", "model", "config", "errors", "streams"},
    "instrumentors": {"instrument", "collector", "errors"},
    "monitors": {"analysis", "read", "query", "store", "pricing", "model", "errors", "config", "snapshots",
                 "version", "tls"},
    "app": {"read", "query", "analysis", "drift", "tree", "model", "errors", "config", "pricing", "remote", "evals",
            "monitors", "version", "playground", "experiments"},
    "server": {"lake", "app", "read", "query", "store", "collector", "ingest", "errors", "config", "model", "drift",
               "pricing", "monitors", "sample", "version", "mcp"},
    "mcp": {"read", "query", "analysis", "drift", "monitors", "errors", "config", "tree", "tracetext", "version"},
    "sample": {"store", "errors", "config"},
    # Re-running a model call: the request from a span, a streamed call, the run recorded as a span.
    "playground": {"model", "errors", "config", "semconv", "store", "experiments", "evals", "render", "tls"},
    "notebook": {"server", "app", "store", "instrument", "collector", "read", "query", "errors", "config", "sample"},
    # The command line is the one part that uses the public API of the package root (workbench.open).
    "cli": {"lake", "server", "config", "errors", "store", "read", "query", "remote", "pricing", "evals", "monitors",
            "analysis", "version", "mcp", "experiments", "playground", ROOT_API},
}


def _absolute(node: ast.ImportFrom, package: str) -> str | None:
    """The module a relative ``from . import x`` / ``from ..store import y`` names, absolute."""
    base = package.split(".")
    if node.level > len(base):
        return None
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _package_of(path: Path) -> str:
    if not path.is_relative_to(PACKAGE):
        return "workbench"
    relative = path.relative_to(ROOT).with_suffix("")
    parts = relative.parts if relative.name == "__init__" else relative.parts[:-1]
    return ".".join(p for p in parts if p != "__init__")


def _imports(path: Path, package: str | None = None) -> set[str]:
    """The parts of the package a module imports, anywhere in it (lazy imports included).

    ``from workbench import config`` imports the part ``config``; ``import workbench`` and
    ``from workbench import __version__`` (or any name that is not a part) import the package
    root, which pulls in its public API: a lower layer must import the part it needs instead.
    A string that names a module (``"workbench.app.cost:CostView"``) is a lazy import too, and
    a relative import (``from ..store import Store``) counts as the absolute one it stands for.
    """
    parts = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    tree = ast.parse(path.read_text())
    if package is None:
        package = _package_of(path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            node = ast.ImportFrom(module=_absolute(node, package), names=node.names, level=0)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("workbench."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "workbench" and node.level == 0:
            for alias in node.names:
                found.add(alias.name if alias.name in parts and alias.name != "__init__" else ROOT_API)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("workbench."):
                    found.add(alias.name.split(".")[1])
                elif alias.name == "workbench":
                    found.add(ROOT_API)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and LAZY_NAME.fullmatch(node.value):
            target = node.value.split(":")[0].split(".")[1]  # a lazy import table's "workbench.x.y[:name]"
            if target in parts:
                found.add(target)
    return found


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def test_modules_import_only_downward():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        part = _part(path)
        if part in ("__init__", "__main__"):
            continue
        allowed = ALLOWED.get(part)
        assert allowed is not None, f"{path} belongs to no known layer; add it to ALLOWED"
        for target in _imports(path) - {part}:
            if target not in allowed:
                name = target if target == ROOT_API else f"workbench.{target}"
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("module", "package"), [("duckdb", "store"), ("panel", "app"), ("plotly", "app")])
def test_heavy_libraries_stay_in_their_package(module, package):
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if _part(path) == package:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == module or n.startswith(module + ".") for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_public_api_is_what_all_says():
    for name in workbench.__all__:
        assert hasattr(workbench, name), name
    assert {"register", "open", "Store", "traced", "span"} <= set(workbench.__all__)


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for setting in config.SETTINGS.values():
        assert setting.env in readme, f"{setting.env} is missing from the README"
        assert setting.doc


def test_argument_beats_environment_beats_default():
    assert config.get("port", environ={}) == 4318
    assert config.get("port", environ={"WORKBENCH_PORT": "9000"}) == 9000
    assert config.get("port", 7000, environ={"WORKBENCH_PORT": "9000"}) == 7000
    with pytest.raises(ConfigError, match="WORKBENCH_PORT='abc' is not valid"):
        config.get("port", environ={"WORKBENCH_PORT": "abc"})


def test_nothing_but_config_reads_the_environment():
    readers = [
        str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
        if p.name != "config.py" and ("os.environ" in p.read_text() or "os.getenv" in p.read_text())
    ]
    assert readers == []


def test_the_schema_page_is_current():
    from workbench.store.schema import markdown

    assert (ROOT / "docs" / "schema.md").read_text() == markdown() + "\n", "regenerate docs/schema.md"


def test_every_package_is_listed_for_installation():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")
    }
    assert found <= listed, f"add to pyproject's packages: {sorted(found - listed)}"
    folders = {
        ".".join(p.relative_to(ROOT).parts) for p in PACKAGE.rglob("*") if p.is_dir() and p.name != "__pycache__"
    }
    assert folders <= found | {"workbench"}, f"folders without __init__.py: {sorted(folders - found)}"


def test_the_distribution_name_is_free_of_the_other_workbench_and_documented():
    """`workbench` on the package index is another project; ours installs as llm-trace-workbench."""
    import importlib.metadata

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    assert name == "llm-trace-workbench"
    assert importlib.metadata.version(name) == workbench.__version__
    readme = (ROOT / "README.md").read_text()
    assert f"pip install '{name}[app]'" in readme
    assert "pip install workbench" not in readme and "pip install 'workbench" not in readme
    for path in PACKAGE.rglob("*.py"):  # install hints in messages name the right package
        assert "pip install 'workbench[" not in path.read_text(), path


def test_the_import_walk_sees_root_imports_and_lazy_tables(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import workbench\n"
        "from workbench import config, open as wb_open, __version__\n"
        "_LAZY = {'Store': ('workbench.store', 'Store'), 'app': 'workbench.app.shell'}\n"
        "KEY = 'workbench.repaired'\n"
    )
    assert _imports(module) == {ROOT_API, "config", "store", "app"}  # an attribute key is no module


@pytest.mark.parametrize(
    ("source", "package", "found"),
    [
        ("from . import rows\n", "workbench.store", set()),  # its own part
        ("from .. import config\n", "workbench.store", {"config"}),
        ("from ..app.shell import App\n", "workbench.store", {"app"}),
        ("from .. import __version__\n", "workbench.read", {ROOT_API}),
        ("from ...store import Store\n", "workbench.app.pages", {"store"}),
    ],
)
def test_the_import_walk_sees_relative_imports(tmp_path, source, package, found):
    module = tmp_path / "m.py"
    module.write_text(source)
    assert _imports(module, package) - {package.split(".")[1]} == found


def test_only_the_read_and_store_packages_run_sql_over_the_store():
    """Everything else asks a reader (workbench.read): no ``reader.store.query``, no private
    ``_where``, no raw cursor."""
    door = re.compile(r"reader\.store\.|reader\._where\(|\.db\.cursor\(\)|store\.(query|fetchall)\(\s*[\"']\s*SELECT")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if _part(path) in ("read", "store"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if door.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_importing_workbench_loads_no_collector_store_or_app():
    """``import workbench`` (and the command line) stays light: ``serve`` binds its port before
    the heavy imports, and ``register()`` loads the collector when it is called."""
    import json
    import subprocess
    import sys

    heavy = ["opentelemetry.sdk", "numpy", "duckdb", "pyarrow", "pandas", "panel", "workbench.collector.otlp"]
    script = ("import json, sys, workbench, workbench.cli; "
              f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
