"""The filter language: small Python-like expressions over span fields, compiled to SQL.

Examples::

    span_kind == 'LLM' and latency_ms > 2000 and model_name == 'gpt-4o'
    status_code == 'ERROR' or 'refund' in input_value
    model_name in ['gpt-4o', 'gpt-4o-mini'] and not session_id is None
    attributes['llm.invocation_parameters'] != None
    contains(output_value, 'I do not know') and startswith(model_name, 'claude')

What it accepts: field names (the ``spans`` columns), strings, numbers, ``True``/``False``/
``None``, lists; ``== != < <= > >=``, ``in`` / ``not in`` (a list, or a substring of a text
field, case-insensitive), ``is None`` / ``is not None``, ``and or not``, parentheses,
``attributes['key']`` (and ``resource['key']``) for raw attributes, and the functions
``contains(field, text)``, ``startswith(field, text)``, ``endswith(field, text)``.
Values are bound as parameters, never pasted into SQL. ``span_kind`` and ``status_code``
compare without regard to case.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import FilterError

__all__ = ["CompiledFilter", "compile_filter"]

_UPPERCASE_FIELDS = {"span_kind", "status_code", "otel_kind"}
_JSON_FIELDS = {"attributes", "resource"}
_OPS = {ast.Eq: "=", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_TEXT_FUNCTIONS = {
    "contains": "{0} ILIKE '%' || {1} || '%'",
    "startswith": "starts_with({0}, {1})",
    "endswith": "ends_with({0}, {1})",
}
_HELP = "write conditions like span_kind == 'LLM' and latency_ms > 2000"


@dataclass
class CompiledFilter:
    """A filter as a SQL boolean expression with its parameters."""

    sql: str
    params: list[Any] = field(default_factory=list)


@dataclass
class _Operand:
    sql: str
    field: str | None = None  # the field name when the operand is a field
    is_json: bool = False  # an attributes['...'] lookup: text, cast when compared to numbers


class _Compiler:
    def __init__(self, source: str, fields: Iterable[str], table_alias: str | None, booleans: Iterable[str]) -> None:
        self.source = source
        self.fields = set(fields)
        self.booleans = set(booleans)
        self.prefix = f"{table_alias}." if table_alias else ""
        self.params: list[Any] = []

    def fail(self, node: ast.AST | None, message: str) -> FilterError:
        where = f" (at column {node.col_offset + 1})" if node is not None and hasattr(node, "col_offset") else ""
        return FilterError(f"The filter {self.source!r} cannot be used: {message}{where}; {_HELP}.")

    def param(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def compile(self, node: ast.AST) -> str:
        if isinstance(node, ast.BoolOp):
            joiner = " AND " if isinstance(node.op, ast.And) else " OR "
            return "(" + joiner.join(self.compile(v) for v in node.values) + ")"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return f"(NOT {self.compile(node.operand)})"
        if isinstance(node, ast.Compare):
            parts = []
            left = node.left
            for op, right in zip(node.ops, node.comparators):
                parts.append(self.comparison(left, op, right))
                left = right
            return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Name) and node.id in self.booleans:
            return f"({self.operand(node).sql} = TRUE)"  # a boolean field on its own
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return "TRUE" if node.value else "FALSE"
        raise self.fail(node, f"{ast.unparse(node)!r} is not a condition")

    def operand(self, node: ast.AST) -> _Operand:
        if isinstance(node, ast.Name):
            if node.id in ("True", "False", "None"):
                return _Operand(self.param({"True": True, "False": False, "None": None}[node.id]))
            if node.id not in self.fields:
                close = difflib.get_close_matches(node.id, sorted(self.fields), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"fields: {', '.join(sorted(self.fields))}"
                raise self.fail(node, f"there is no field {node.id!r} ({hint})")
            return _Operand(f'{self.prefix}"{node.id}"', field=node.id)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in _JSON_FIELDS:
            key = node.slice
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                raise self.fail(node, f"{node.value.id}[...] takes a key in quotes, like {node.value.id}['llm.model_name']")
            path = '$."' + key.value.replace('"', '\\"') + '"'
            return _Operand(f"json_extract_string({self.prefix}{node.value.id}, {self.param(path)})", is_json=True)
        if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (str, int, float, bool))):
            return _Operand(self.param(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return _Operand(self.param(-node.operand.value))
        raise self.fail(node, f"{ast.unparse(node)!r} is not a field or a value")

    def constant(self, node: ast.AST, field_name: str | None) -> Any:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return -node.operand.value
        if not isinstance(node, ast.Constant):
            raise self.fail(node, f"{ast.unparse(node)!r} is not a value")
        value = node.value
        if field_name in _UPPERCASE_FIELDS and isinstance(value, str):
            return value.upper()
        return value

    def comparison(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> str:
        if isinstance(op, (ast.Is, ast.IsNot)):
            if not (isinstance(right, ast.Constant) and right.value is None):
                raise self.fail(right, "'is' compares only with None")
            lhs = self.operand(left)
            return f"({lhs.sql} IS {'NOT ' if isinstance(op, ast.IsNot) else ''}NULL)"
        if isinstance(op, (ast.In, ast.NotIn)):
            negate = "NOT " if isinstance(op, ast.NotIn) else ""
            if isinstance(right, (ast.List, ast.Tuple, ast.Set)):
                lhs = self.operand(left)
                values = [self.constant(v, lhs.field) for v in right.elts]
                if not values:
                    return "FALSE" if not negate else "TRUE"
                holes = ", ".join(self.param(v) for v in values)
                return f"({lhs.sql} {negate}IN ({holes}))"
            # 'text' in field: a case-insensitive substring test.
            needle = self.constant(left, None)
            if not isinstance(needle, str):
                raise self.fail(left, "'x in field' needs text on the left")
            hay = self.operand(right)
            return f"({negate}coalesce({hay.sql} ILIKE {self.param('%' + _escape_like(needle) + '%')} ESCAPE '\\', FALSE))"
        sql_op = _OPS.get(type(op))
        if sql_op is None:
            raise self.fail(right, f"the operator {type(op).__name__} is not supported")
        lhs = self.operand(left)
        if isinstance(right, ast.Constant) and right.value is None:
            return f"({lhs.sql} IS {'NOT ' if sql_op == '!=' else ''}NULL)"
        if lhs.field is not None or lhs.is_json:
            value = self.constant(right, lhs.field) if isinstance(right, (ast.Constant, ast.UnaryOp)) else None
            if value is not None or isinstance(right, ast.Constant):
                target = lhs.sql
                if lhs.is_json and isinstance(value, (int, float)) and not isinstance(value, bool):
                    target = f"TRY_CAST({lhs.sql} AS DOUBLE)"
                return f"({target} {sql_op} {self.param(value)})"
        rhs = self.operand(right)
        return f"({lhs.sql} {sql_op} {rhs.sql})"

    def call(self, node: ast.Call) -> str:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        template = _TEXT_FUNCTIONS.get(name or "")
        if template is None:
            raise self.fail(node, f"the function {ast.unparse(node.func)!r} is unknown (known: {', '.join(_TEXT_FUNCTIONS)})")
        if len(node.args) != 2 or node.keywords:
            raise self.fail(node, f"{name}() takes a field and a text, like {name}(input_value, 'refund')")
        hay = self.operand(node.args[0])
        needle = self.constant(node.args[1], None)
        if not isinstance(needle, str):
            raise self.fail(node.args[1], f"{name}() needs text as its second argument")
        if name == "contains":
            return f"coalesce({hay.sql} ILIKE {self.param('%' + _escape_like(needle) + '%')} ESCAPE '\\', FALSE)"
        return f"coalesce({template.format(hay.sql, self.param(needle))}, FALSE)"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def compile_filter(
    expression: str,
    fields: Iterable[str],
    *,
    table_alias: str | None = None,
    booleans: Iterable[str] = (),
) -> CompiledFilter:
    """Compile a filter expression to SQL over the given fields.

    ``booleans`` names the fields that may stand alone as a condition.

    Raises:
        FilterError: The expression is not valid, or names a field that does not exist; the
            message says where and what is allowed.
    """
    source = expression.strip()
    compiler = _Compiler(source, fields, table_alias, booleans)
    if not source:
        return CompiledFilter("TRUE")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise FilterError(
            f"The filter {source!r} is not valid: {exc.msg} at column {exc.offset or 0}; {_HELP}."
        ) from None
    sql = compiler.compile(tree.body)
    return CompiledFilter(sql, compiler.params)
