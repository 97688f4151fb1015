"""Trace filters answered from the trace summary instead of every span.

A trace is listed when any of its spans matches the filter. For some filters that question
can be put to the summary's one row per trace and write (:mod:`workbench.store.summary`)
with the same answer: a condition on one field of one span that the summary keeps per trace,
and ``or`` of such conditions (a span matching one of them is a span matching the whole).

What is answered from the summary (anything else reads the spans, as before):

* ``model_name``, ``status_code``, ``span_kind``, ``project``, ``user_id``, ``session_id``:
  ``== 'text'``, ``!= 'text'``, ``in [...]`` (texts), ``is not None`` / ``!= None``;
* ``input_value``, ``output_value``: ``'text' in field`` and ``contains(field, 'text')``
  (case-insensitive, as everywhere in the filter language), ``is not None``;
* any of these joined by ``or``, in parentheses or not.

``and`` and ``not`` are not: ``model_name == 'a' and status_code == 'ERROR'`` asks for one
span with both, which the per-trace summary cannot tell apart from two spans with one each.
"""

from __future__ import annotations

import ast
from typing import Any

from workbench.read.filters import CompiledFilter

__all__ = ["summary_filter"]

# Span field -> the summary's column holding its distinct values per trace.
_LISTS = {
    "model_name": "models", "status_code": "statuses", "span_kind": "kinds", "project": "projects",
    "user_id": "user_ids", "session_id": "session_ids",
}
# Span field -> the summary's column holding its texts, lower-cased and joined by NUL.
_TEXTS = {"input_value": "input_text", "output_value": "output_text"}
_UPPERCASE = {"status_code", "span_kind"}  # the filter language compares these upper-cased


class _Unsupported(Exception):
    """The filter needs the spans."""


def summary_filter(expression: str | None, alias: str = "ts") -> CompiledFilter | None:
    """The filter as a condition on summary rows (under ``alias``), or None when the spans
    must answer it. The expression should already have compiled over the spans (so it is
    valid); only then is this translation exact."""
    if not expression or not expression.strip():
        return None
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    params: list[Any] = []
    try:
        sql = _condition(tree.body, alias, params)
    except (_Unsupported, RecursionError):
        return None
    return CompiledFilter(sql, params)


def _condition(node: ast.AST, alias: str, params: list[Any]) -> str:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        return "(" + " OR ".join(_condition(v, alias, params) for v in node.values) + ")"
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        return _compare(node.left, node.ops[0], node.comparators[0], alias, params)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "contains"
            and len(node.args) == 2 and not node.keywords):
        return _text_contains(node.args[0], node.args[1], alias, params)
    raise _Unsupported


def _field(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) and (node.id in _LISTS or node.id in _TEXTS) else None


def _text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    raise _Unsupported


def _is_none(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and node.value is None) or (isinstance(node, ast.Name) and node.id == "None")


def _text_contains(hay: ast.AST, needle: ast.AST, alias: str, params: list[Any]) -> str:
    name = _field(hay)
    if name not in _TEXTS:
        raise _Unsupported
    params.append(_text(needle))
    # Lower-cased on both sides by DuckDB: the same matches as the spans' ILIKE.
    return f"coalesce(contains({alias}.{_TEXTS[name]}, lower(?)), FALSE)"


def _compare(left: ast.AST, op: ast.cmpop, right: ast.AST, alias: str, params: list[Any]) -> str:
    if isinstance(op, ast.In) and not isinstance(right, (ast.List, ast.Tuple, ast.Set)):
        return _text_contains(right, left, alias, params)
    name = _field(left)
    if name is None:
        raise _Unsupported
    if isinstance(op, (ast.IsNot, ast.NotEq)) and _is_none(right):
        if name in _TEXTS:
            return f"({alias}.{_TEXTS[name]} IS NOT NULL)"
        return f"(len({alias}.{_LISTS[name]}) > 0)"
    if name not in _LISTS:
        raise _Unsupported
    column = f"{alias}.{_LISTS[name]}"

    def value(node: ast.AST) -> str:
        text = _text(node)
        return text.upper() if name in _UPPERCASE else text

    if isinstance(op, ast.Eq):
        params.append(value(right))
        return f"list_contains({column}, ?)"
    if isinstance(op, ast.NotEq):
        # Some span has another value: the distinct values (nulls left out) are not just this one.
        params.append(value(right))
        return f"(len({column}) > 1 OR (len({column}) = 1 AND {column}[1] <> ?))"
    if isinstance(op, ast.In) and isinstance(right, (ast.List, ast.Tuple, ast.Set)):
        values = [value(v) for v in right.elts]
        if not values:
            return "FALSE"
        params.extend(values)
        return f"list_has_any({column}, [{', '.join('?' * len(values))}]::VARCHAR[])"
    raise _Unsupported
