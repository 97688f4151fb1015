"""SQL over the stored tables is written in the read door (workbench/read/) and the store
(workbench/store/) only: analyses, monitors, drift, the app and the rest ask a reader for named
results. The check reads every module's string literals (f-strings included, docstrings not)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "workbench"
# spark/ is the read door of a Spark session: its queries are Spark SQL over a lake's DataFrames.
DOORS = ("read", "store", "spark")
# SQL keywords as the project writes them (upper case), or any table read from, in any case.
SQL = re.compile(
    r"\bSELECT\b|(?i:\bfrom\s+(spans|documents|embeddings|annotations|corpus|drift_\w+|workbench_\w+)\b)"
    r"|\b(INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|CREATE\s+(TABLE|VIEW|INDEX))\b|\bquantile_cont\s*\("
)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def sql_outside_the_doors(package: Path = PACKAGE) -> list[str]:
    """``path:line: text`` of every string literal outside read/ and store/ that is SQL."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).parts[0] in DOORS:
            continue
        tree = ast.parse(path.read_text())
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and SQL.search(node.value)):
                text = " ".join(node.value.split())[:60]
                found.append((path, node.lineno, f"{path.relative_to(package.parent)}:{node.lineno}: {text}"))
    return [line for _, _, line in sorted(found)]


def test_no_sql_outside_the_read_door_and_the_store():
    found = sql_outside_the_doors()
    assert not found, "SQL outside workbench/read/ and workbench/store/:\n" + "\n".join(found)


def test_the_check_sees_sql_in_strings_and_f_strings_but_not_in_docstrings(tmp_path):
    package = tmp_path / "workbench"
    (package / "analysis").mkdir(parents=True)
    (package / "read").mkdir()
    (package / "analysis" / "m.py").write_text(
        '"""SELECT in a docstring is prose."""\n'
        'def f(where):\n'
        '    """Reads FROM spans, in words."""\n'
        '    a = "SELECT 1"\n'
        '    b = f"SELECT count(*) FROM spans s WHERE {where}"\n'
        '    c = "   from   embeddings e"\n'
        '    return "selected spans", a, b, c\n'
    )
    (package / "read" / "q.py").write_text('Q = "SELECT * FROM spans"\n')
    found = sql_outside_the_doors(package)
    assert [line.split(":")[1] for line in found] == ["4", "5", "6"]
