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
``contains(field, text)``, ``startswith(field, text)``, ``endswith(field, text)`` and
``matches(field, regex)`` (a case-insensitive regular expression search).
Values are bound as parameters, never pasted into SQL. ``span_kind`` and ``status_code``
compare without regard to case.

Annotations (evaluations and feedback) are terms too, when filtering spans::

    annotations['faithfulness'].score < 0.5
    annotations['user_feedback'].label == 'thumbs_down'
    annotations['user_feedback'] is not None        # has any feedback at all
    annotations['relevance'].annotator_kind == 'HUMAN'

``annotations['name'].field`` (``score``, ``label``, ``explanation``, ``annotator_kind``,
``annotator``) holds for a span when *there exists* an annotation of that name, made on the
span itself, on one of its retrieved documents, on its trace or on its session, whose field
satisfies the comparison. So a trace's thumbs-down matches every span of that trace; several
annotations of one name (from different judges) match when any one does; ``not`` negates the
whole existence (``not annotations['x'].score < 0.5``: no annotation ``x`` scores below 0.5).
``annotations['name'] is None`` holds when the span has no annotation of that name at all.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import FilterError

__all__ = ["CompiledFilter", "compile_filter"]

_UPPERCASE_FIELDS = {"span_kind", "status_code", "otel_kind", "annotator_kind"}
_JSON_FIELDS = {"attributes", "resource"}
_OPS = {ast.Eq: "=", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_TEXT_FUNCTIONS = {
    "contains": "{0} ILIKE '%' || {1} || '%'",
    "startswith": "starts_with({0}, {1})",
    "endswith": "ends_with({0}, {1})",
    "matches": "regexp_matches({0}, {1}, 'i')",
}
_HELP = "write conditions like span_kind == 'LLM' and latency_ms > 2000"
_MAX_DEPTH = 100  # nesting (not, parentheses, operators) a filter may have
_MAX_LENGTH = 100_000  # characters
# A value after a comparison, '[', '(' or ',' that is not quoted: "model_name == gpt-4o",
# "model_name in (gpt-4o, claude)".
_BARE_VALUE = re.compile(
    r"(?P<op>==|!=|<=|>=|<|>|\[|\(|,)\s*"
    r"(?P<value>[^\s'\"\x00()\[\],=!<>][^'\"\x00()\[\],=!<>]*?)(?=\s+(?:and|or)\b|\s*[)\],]|\s*$)"
)
_SINGLE_EQUALS = re.compile(r"(?<![=!<>])=(?!=)")
_KEYWORDS = {"and", "or", "not", "in", "is", "True", "False", "None"}
_ANNOTATIONS = "annotations"
_ANNOTATION_FIELDS = ("score", "label", "explanation", "annotator_kind", "annotator")
# The span columns an annotation term is matched on; annotation terms need all three.
_ANNOTATION_KEYS = ("span_id", "trace_id", "session_id")


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
        self.annotations = all(key in self.fields for key in _ANNOTATION_KEYS)
        self.annotation: str | None = None  # the annotation name the current comparison reads

    def fail(self, node: ast.AST | None, message: str) -> FilterError:
        where = f" (at column {_column(self.source, node)})" if node is not None and hasattr(node, "col_offset") else ""
        return FilterError(f"The filter {_shown(self.source)} cannot be used: {message}{where}; {_HELP}.")

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
            return self.annotated(node, lambda: self.compare(node))
        if isinstance(node, ast.Call):
            return self.annotated(node, lambda: self.call(node))
        if isinstance(node, ast.Name) and node.id in self.booleans:
            return f"({self.operand(node).sql} = TRUE)"  # a boolean field on its own
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return "TRUE" if node.value else "FALSE"
        raise self.fail(node, f"{ast.unparse(node)!r} is not a condition")

    def compare(self, node: ast.Compare) -> str:
        parts = []
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            parts.append(self.comparison(left, op, right))
            left = right
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def annotated(self, node: ast.AST, build: Callable[[], str]) -> str:
        """Compile one comparison or call; if it reads an annotation, as an existence test."""
        if not self.annotations:
            return build()
        outer, self.params = self.params, []
        self.annotation = None
        try:
            condition = build()
            name, inner = self.annotation, self.params
        finally:
            self.params = outer
            self.annotation = None
        if name is None:
            self.params.extend(inner)
            return condition
        return self.exists(name, condition, inner)

    def exists(self, name: str, condition: str, params: list[Any]) -> str:
        """Whether the span, one of its documents, its trace or its session has a matching annotation."""
        p = self.prefix
        scopes = (
            ("span_id", "_a.target IN ('span', 'document')"),
            ("trace_id", "_a.target = 'trace'"),
            ("session_id", "_a.target = 'session'"),
        )
        parts = []
        for key, target in scopes:
            parts.append(
                f"{p}\"{key}\" IN (SELECT _a.{key} FROM annotations _a WHERE {target} AND _a.{key} IS NOT NULL "
                f"AND _a.name = ? AND {condition})"
            )
            self.params.append(name)
            self.params.extend(params)
        # coalesce: a span without a session gives NULL, which `not` must not turn into NULL again.
        return "coalesce(" + " OR ".join(parts) + ", FALSE)"

    def annotation_ref(self, node: ast.AST) -> tuple[str, str | None] | None:
        """``annotations['name']`` -> (name, None); ``annotations['name'].score`` -> (name, 'score')."""
        if not self.annotations:
            return None
        attribute = None
        if isinstance(node, ast.Attribute):
            attribute, node = node.attr, node.value
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == _ANNOTATIONS):
            return None
        key = node.slice
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            raise self.fail(node, "annotations[...] takes a name in quotes, like annotations['faithfulness'].score")
        if attribute is not None and attribute not in _ANNOTATION_FIELDS:
            raise self.fail(
                node, f"an annotation has no field {attribute!r} (fields: {', '.join(_ANNOTATION_FIELDS)})"
            )
        return key.value, attribute

    def annotation_operand(self, node: ast.AST, name: str, attribute: str | None) -> _Operand:
        if attribute is None:
            raise self.fail(
                node,
                f"compare a field of the annotation, like annotations[{name!r}].score < 0.5 or "
                f"annotations[{name!r}].label == 'thumbs_down', or test annotations[{name!r}] is None",
            )
        if self.annotation is not None and self.annotation != name:
            raise self.fail(node, "one comparison can read one annotation; join two with 'and'")
        self.annotation = name
        return _Operand(f'_a."{attribute}"', field=attribute)

    def operand(self, node: ast.AST) -> _Operand:
        ref = self.annotation_ref(node)
        if ref is not None:
            return self.annotation_operand(node, *ref)
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
                name = node.value.id
                raise self.fail(node, f"{name}[...] takes a key in quotes, like {name}['llm.model_name']")
            path = '$."' + key.value.replace('"', '\\"') + '"'
            return _Operand(f"json_extract_string({self.prefix}{node.value.id}, {self.param(path)})", is_json=True)
        if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (str, int, float, bool))):
            return _Operand(self.param(node.value))
        negative = _negative_number(node)
        if negative is not None:
            return _Operand(self.param(negative))
        raise self.fail(node, f"{ast.unparse(node)!r} is not a field or a value")

    def constant(self, node: ast.AST, field_name: str | None) -> Any:
        negative = _negative_number(node)
        if negative is not None:
            return negative
        if not isinstance(node, ast.Constant):
            raise self.fail(node, f"{ast.unparse(node)!r} is not a value")
        value = node.value
        if field_name in _UPPERCASE_FIELDS and isinstance(value, str):
            return value.upper()
        return value

    def has_annotation(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> str | None:
        """``annotations['x'] is None`` and its kin: whether an annotation of that name exists."""
        ref = self.annotation_ref(left)
        if ref is None or ref[1] is not None:
            return None
        if not (isinstance(op, (ast.Is, ast.IsNot, ast.Eq, ast.NotEq))
                and isinstance(right, ast.Constant) and right.value is None):
            self.annotation_operand(left, *ref)  # raises with the fix
        self.annotation = ref[0]
        return "TRUE" if isinstance(op, (ast.IsNot, ast.NotEq)) else None

    def comparison(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> str:
        if self.annotations and isinstance(left, ast.Subscript):
            found = self.has_annotation(left, op, right)
            if found is not None:
                return found
            if self.annotation is not None:  # `annotations['x'] is None`: no annotation x exists
                name = self.annotation
                self.annotation = None
                return f"(NOT {self.exists(name, 'TRUE', [])})"
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
            pattern = self.param("%" + _escape_like(needle) + "%")
            return f"({negate}coalesce({hay.sql} ILIKE {pattern} ESCAPE '\\', FALSE))"
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
            raise self.fail(
                node, f"the function {ast.unparse(node.func)!r} is unknown (known: {', '.join(_TEXT_FUNCTIONS)})"
            )
        if len(node.args) != 2 or node.keywords:
            raise self.fail(node, f"{name}() takes a field and a text, like {name}(input_value, 'refund')")
        hay = self.operand(node.args[0])
        needle = self.constant(node.args[1], None)
        if not isinstance(needle, str):
            raise self.fail(node.args[1], f"{name}() needs text as its second argument")
        if name == "contains":
            return f"coalesce({hay.sql} ILIKE {self.param('%' + _escape_like(needle) + '%')} ESCAPE '\\', FALSE)"
        if name == "matches":
            try:
                re.compile(needle)
            except re.error as exc:
                raise self.fail(node.args[1], f"{needle!r} is not a regular expression ({exc})") from None
            except (OverflowError, RecursionError):  # a{99999999999}, or thousands of nested groups
                raise self.fail(node.args[1], f"{_shown(needle)} repeats or nests more than a regular expression "
                                "can; write a smaller count, such as a{1,3}") from None
        return f"coalesce({template.format(hay.sql, self.param(needle))}, FALSE)"


def _negative_number(node: ast.AST) -> int | float | None:
    """The value of ``-N`` for a number N (not text, None or a bool), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        value = node.operand.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value
    return None


def _column(source: str, node: ast.AST) -> int:
    """The 1-based column of ``node`` in ``source``, counted in characters over the whole text.

    The parser counts UTF-8 bytes within a line; a filter with ``'café'`` before the fault
    would otherwise point one column too far right.
    """
    lines = source.splitlines(keepends=True)
    line = max(1, getattr(node, "lineno", 1))
    before = sum(len(text) for text in lines[:line - 1])
    current = lines[line - 1] if line - 1 < len(lines) else ""
    offset = int(getattr(node, "col_offset", 0) or 0)
    return before + len(current.encode()[:offset].decode(errors="ignore")) + 1


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
    if not isinstance(expression, str):
        raise FilterError(f"A filter is text, like \"span_kind == 'LLM'\", not a {type(expression).__name__}.")
    source = expression.strip()
    fields = set(fields)
    booleans = set(booleans)
    if not source:
        return CompiledFilter("TRUE")
    try:
        return _compile(source, fields, table_alias, booleans)
    except FilterError as exc:
        hint = _hint(source, fields)
        if hint is None:
            raise
        try:
            _compile(hint[1], fields, table_alias, booleans)
        except FilterError:
            raise exc from None
        raise FilterError(f"The filter {_shown(source)} is not valid: {hint[0]}, as in {hint[1]}") from None


def _compile(source: str, fields: set[str], table_alias: str | None, booleans: set[str]) -> CompiledFilter:
    if len(source) > _MAX_LENGTH:
        raise FilterError(f"The filter is {len(source):,} characters long; keep it under {_MAX_LENGTH:,}.")
    if "\x00" in source:
        raise FilterError(f"The filter {_shown(source)} holds a NUL character (\\x00); remove it.")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise FilterError(f"The filter {_shown(source)} is not valid: {_syntax(source, exc)}; {_HELP}.") from None
    except (RecursionError, MemoryError):
        raise _too_deep(source) from None
    if _depth(tree.body) > _MAX_DEPTH:
        raise _too_deep(source)
    compiler = _Compiler(source, fields, table_alias, booleans)
    sql = compiler.compile(tree.body)
    return CompiledFilter(sql, compiler.params)


def _shown(source: str) -> str:
    """The filter quoted for a message; a long one cut short."""
    return repr(source if len(source) <= 80 else source[:77] + "...")


def _too_deep(source: str) -> FilterError:
    return FilterError(
        f"The filter {_shown(source)} nests too deeply (more than {_MAX_DEPTH} levels of not, parentheses "
        "or operators); write it flatter."
    )


def _depth(root: ast.AST) -> int:
    """The deepest nesting of the tree, counted without recursion."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > _MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _syntax(source: str, exc: SyntaxError) -> str:
    """A syntax error in the user's terms, at the column where it is."""
    column = exc.offset or 0
    line = exc.lineno or 1
    if column > 0 and line > 1:  # the parser counts within a line; the box holds one
        column += sum(len(text) for text in source.splitlines(keepends=True)[: line - 1])
    if column <= 0 or column > len(source):  # the parser ran out of text
        tail = source.rstrip()
        last = tail.split()[-1] if tail.split() else ""
        missing = "a condition" if last in ("and", "or", "not") else "a value" if last[-1:] in "=<>" else "more"
        return f"{missing} is missing after {last!r} at column {len(tail) + 1}"
    if exc.msg.startswith("unterminated string"):
        return f"the quote at column {column} is never closed"
    return f"{exc.msg.split('.')[0]} at column {column}"


def _hint(source: str, fields: set[str]) -> tuple[str, str] | None:
    """What to change when a value lacks quotes or '=' stands for '==': (advice, the mended filter)."""
    advice: list[str] = []
    mended = _SINGLE_EQUALS.sub("==", _masked(source))
    if mended != _masked(source):
        advice.append("compare with ==")
    text = _unmask(mended, source) if advice else source
    masked = _masked(text)
    pieces: list[str] = []
    last = 0
    for match in _BARE_VALUE.finditer(masked):
        value = match.group("value").strip()
        if (not value or value in fields or value in _KEYWORDS or value[0].isdigit() or value.endswith("(")
                or "\x00" in value or _looks_like_a_field(value, fields)):
            continue
        start = match.start("value")
        pieces.append(text[last:start] + repr(value))
        last = start + len(value)
    if pieces:
        advice.append("put text values in quotes")
        text = "".join(pieces) + text[last:]
    return (" and ".join(advice), text) if advice else None


def _looks_like_a_field(value: str, fields: set[str]) -> bool:
    """A bare name that is probably a misspelt field, not text (``other_field``, ``latncy_ms``)."""
    return value.isidentifier() and ("_" in value or bool(difflib.get_close_matches(value, fields, n=1, cutoff=0.8)))


def _masked(source: str) -> str:
    """The filter with quoted text blanked out (same length), so nothing inside quotes reads as syntax."""
    return re.sub(r"'[^']*'|\"[^\"]*\"", lambda m: "\x00" * len(m.group()), source)


def _unmask(masked: str, source: str) -> str:
    """Put the quoted text of ``source`` back into an edited ``masked`` (edits only outside quotes)."""
    quoted = iter(m.group() for m in re.finditer(r"'[^']*'|\"[^\"]*\"", source))
    return re.sub(r"\x00+", lambda m: next(quoted), masked)

