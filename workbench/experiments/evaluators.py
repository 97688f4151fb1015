"""Evaluators score one run of an experiment: its output against the example.

An evaluator is any object with ``name``, ``annotator_kind`` (``CODE`` or ``LLM``) and
``evaluate(input, output, expected, metadata) -> Score | None`` (None: it does not apply, as
exact match without an expected output). Its scores are stored as annotations on the run's
span, named after the evaluator. Shipped:

==================  ===========================================================================
``ExactMatch``      the output equals the expected output (text compared trimmed)
``Contains``        the output contains a text (default: the expected output), any case
``Regex``           the output matches a regular expression
``JsonSchema``      the output (or the JSON it holds) is valid against a JSON schema
``function(fn)``    your Python function: ``fn(output, expected, input, metadata)``, any of these
                    parameters by name, returning a bool, a number, a :class:`Score` or a dict
``Judged``          an evals judge (:class:`~workbench.evals.LLMJudge`,
                    :class:`~workbench.evals.SimilarityJudge`): ``correctness`` (does the output
                    hold what the expected output says) or ``answer_relevance``
==================  ===========================================================================

:func:`parse_evaluator` makes one from the text the command line takes (``exact_match``,
``contains:refund``, ``regex:^\\d+$``, ``json_schema:schema.json``, ``similarity``,
``module:function``).
"""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from workbench.errors import ConfigError
from workbench.evals.judge import Judge, Task

__all__ = [
    "Contains", "Evaluator", "ExactMatch", "JsonSchema", "Judged", "Regex", "Score", "function", "parse_evaluator",
]


@dataclass(frozen=True)
class Score:
    """One evaluator's verdict on one run: a score (1 a pass, 0 a fail, or between), a label, why."""

    score: float | None
    label: str | None = None
    explanation: str | None = None


@runtime_checkable
class Evaluator(Protocol):
    """Scores a run. ``evaluate`` may be called from several threads at once."""

    name: str
    annotator_kind: str

    def evaluate(self, input: Any, output: Any, expected: Any, metadata: Mapping[str, Any]) -> Score | None:
        """Score one output; None when the evaluator does not apply to this example."""
        ...


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _verdict(ok: bool, why: str) -> Score:
    return Score(1.0 if ok else 0.0, "pass" if ok else "fail", why)


class ExactMatch:
    """The output equals the expected output (texts compared with surrounding space trimmed,
    and without case when ``case_sensitive`` is False; JSON values compared as values)."""

    annotator_kind = "CODE"

    def __init__(self, *, case_sensitive: bool = True, name: str = "exact_match") -> None:
        self.case_sensitive = case_sensitive
        self.name = name

    def evaluate(self, input: Any, output: Any, expected: Any, metadata: Mapping[str, Any]) -> Score | None:
        if expected is None:
            return None
        if isinstance(expected, str) or isinstance(output, str):
            a, b = _text(output).strip(), _text(expected).strip()
            if not self.case_sensitive:
                a, b = a.casefold(), b.casefold()
            same = a == b
        else:
            same = output == expected
        return _verdict(same, "equals the expected output" if same else "differs from the expected output")


class Contains:
    """The output contains ``text`` (each of several texts; default: the expected output)."""

    annotator_kind = "CODE"

    def __init__(self, text: str | list[str] | None = None, *, case_sensitive: bool = False,
                 name: str = "contains") -> None:
        self.texts = [text] if isinstance(text, str) else list(text) if text else None
        self.case_sensitive = case_sensitive
        self.name = name

    def evaluate(self, input: Any, output: Any, expected: Any, metadata: Mapping[str, Any]) -> Score | None:
        wanted = self.texts if self.texts is not None else ([_text(expected)] if expected is not None else None)
        if not wanted:
            return None
        have = _text(output) if self.case_sensitive else _text(output).casefold()
        missing = [t for t in wanted if (t if self.case_sensitive else t.casefold()) not in have]
        return _verdict(not missing, f"lacks {missing[0]!r}" if missing else "contains every text")


class Regex:
    """The output matches ``pattern`` (``re.search``; ``full=True``: the whole output)."""

    annotator_kind = "CODE"

    def __init__(self, pattern: str, *, full: bool = False, flags: int = 0, name: str = "regex") -> None:
        try:
            self.pattern = re.compile(pattern, flags)
        except (re.error, OverflowError, RecursionError) as exc:  # a{99999999999} overflows
            raise ConfigError(f"The regular expression {pattern!r} is invalid ({exc}); fix it.") from None
        self.full = full
        self.name = name

    def evaluate(self, input: Any, output: Any, expected: Any, metadata: Mapping[str, Any]) -> Score | None:
        text = _text(output)
        found = self.pattern.fullmatch(text) if self.full else self.pattern.search(text)
        return _verdict(found is not None, f"{'matches' if found else 'does not match'} {self.pattern.pattern!r}")


class JsonSchema:
    """The output is valid against a JSON schema (a dict, or the path of a .json file). Text
    output is parsed as JSON first (inside a Markdown code fence too).

    With the ``jsonschema`` package installed it checks the whole standard; without it, a
    subset: ``type``, ``properties``, ``required``, ``additionalProperties: false``,
    ``items``, ``enum``, ``const``, ``minimum``/``maximum``, ``minLength``/``maxLength``.
    """

    annotator_kind = "CODE"

    def __init__(self, schema: Mapping[str, Any] | str | Path, *, name: str = "json_schema") -> None:
        if isinstance(schema, (str, Path)):
            try:
                schema = json.loads(Path(schema).expanduser().read_text())
            except (OSError, ValueError) as exc:
                raise ConfigError(f"Cannot read the JSON schema {schema}: {exc}; give a .json file.") from None
        if not isinstance(schema, Mapping):
            raise ConfigError("A JSON schema is an object (a dict); give one, or the path of a .json file.")
        self.schema = dict(schema)
        self.name = name

    def evaluate(self, input: Any, output: Any, expected: Any, metadata: Mapping[str, Any]) -> Score | None:
        value = output
        if isinstance(output, str):
            text = output.strip()
            fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
            try:
                value = json.loads(fenced.group(1) if fenced else text)
            except ValueError:
                return _verdict(False, "the output is not JSON")
        problem = _schema_problem(value, self.schema)
        return _verdict(problem is None, problem or "valid against the schema")


def _schema_problem(value: Any, schema: Mapping[str, Any]) -> str | None:
    try:
        import jsonschema  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return _subset_problem(value, schema, "$")
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        where = "$" + "".join(f"[{p!r}]" for p in exc.absolute_path)
        return f"{where}: {exc.message}"
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"The JSON schema is invalid: {exc.message}; fix it.") from None
    return None


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _subset_problem(value: Any, schema: Mapping[str, Any], where: str) -> str | None:
    kind = schema.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        if not any(_TYPES.get(k, lambda v: True)(value) for k in kinds):
            return f"{where}: {value!r} is not of type {'/'.join(kinds)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}: {value!r} is not one of {schema['enum']!r}"
    if "const" in schema and value != schema["const"]:
        return f"{where}: {value!r} is not {schema['const']!r}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{where}: {value} is less than the minimum of {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{where}: {value} is greater than the maximum of {schema['maximum']}"
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"{where}: {value!r} is shorter than {schema['minLength']}"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{where}: {value!r} is longer than {schema['maxLength']}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                return f"{where}: {key!r} is a required property"
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                problem = _subset_problem(item, properties[key], f"{where}[{key!r}]")
                if problem:
                    return problem
            elif schema.get("additionalProperties") is False:
                return f"{where}: additional property {key!r} is not allowed"
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for n, item in enumerate(value):
            problem = _subset_problem(item, schema["items"], f"{where}[{n}]")
            if problem:
                return problem
    return None


_ARGS = ("input", "output", "expected", "metadata")


class function:
    """Your own evaluator from a Python function.

    The function takes any of ``output``, ``expected``, ``input`` and ``metadata`` by name
    (a function with one positional parameter of another name gets the output) and returns a
    bool (pass or fail), a number (the score), a :class:`Score`, a dict with ``score``,
    ``label``, ``explanation``, or None (does not apply)::

        @function
        def cites_a_source(output):
            return "[1]" in output

    Args:
        fn: The function.
        name: The evaluator's name (default: the function's).
        threshold: The score from which a run passes (default 0.5), recorded as the label
            ``pass`` or ``fail`` when the function gives none.
    """

    annotator_kind = "CODE"

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None, threshold: float | None = None) -> None:
        if not callable(fn):
            raise ConfigError(f"function() needs a callable, not {type(fn).__name__}.")
        self.fn = fn
        self.threshold = threshold
        self.name: str = name or str(getattr(fn, "__name__", "custom"))
        try:
            parameters = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            parameters = []
        named = [p.name for p in parameters if p.name in _ARGS]
        if named:
            self._call = lambda values: fn(**{k: values[k] for k in named})
        elif any(p.kind == p.VAR_KEYWORD for p in parameters):
            self._call = lambda values: fn(**values)
        else:
            self._call = lambda values: fn(values["output"])

    def __repr__(self) -> str:
        return f"function({self.name})"

    def evaluate(self, input: Any, output: Any, expected: Any, metadata: Mapping[str, Any]) -> Score | None:
        result = self._call({"input": input, "output": output, "expected": expected, "metadata": metadata})
        return with_threshold(as_score(result, self.name), self.threshold)


def with_threshold(score: Score | None, threshold: float | None) -> Score | None:
    """``score`` labelled ``pass`` or ``fail`` by ``threshold`` (when it has a score and no label)."""
    if score is None or threshold is None or score.score is None or score.label is not None:
        return score
    return Score(score.score, "pass" if score.score >= threshold else "fail", score.explanation)


def as_score(result: Any, name: str) -> Score | None:
    """A :class:`Score` of what an evaluator function returned.

    Raises:
        ConfigError: The value cannot be read as a score.
    """
    if result is None or isinstance(result, Score):
        return result
    if isinstance(result, bool):
        return Score(float(result), "pass" if result else "fail")
    if isinstance(result, (int, float)) and not (isinstance(result, float) and math.isnan(result)):
        return Score(float(result))
    if isinstance(result, Mapping):
        score = result.get("score")
        return Score(None if score is None else float(score), result.get("label"), result.get("explanation"))
    raise ConfigError(
        f"The evaluator {name} returned a {type(result).__name__}; return a bool, a number, a Score or a dict "
        "with score, label and explanation."
    )


class Judged:
    """An evals judge as an evaluator.

    Args:
        judge: An :class:`~workbench.evals.LLMJudge`, a :class:`~workbench.evals.SimilarityJudge`
            or any :class:`~workbench.evals.Judge`.
        kind: ``correctness``: does the output hold what the expected output says (the judge's
            context recall, the output as the context); ``answer_relevance``: does the output
            answer the input.
        name: The evaluator's name (default: ``kind``).
        threshold: The score from which a run passes, in place of the judge's own label.
    """

    def __init__(self, judge: Judge, kind: str = "correctness", *, name: str | None = None,
                 threshold: float | None = None) -> None:
        if kind not in ("correctness", "answer_relevance"):
            raise ConfigError(f"kind={kind!r}: a judged evaluator is 'correctness' or 'answer_relevance'.")
        self.judge = judge
        self.kind = kind
        self.name = name or kind
        self.annotator_kind = getattr(judge, "annotator_kind", "LLM")
        self.threshold = threshold

    def __repr__(self) -> str:
        return f"Judged({self.judge!r}, {self.kind!r})"

    def evaluate(self, input: Any, output: Any, expected: Any, metadata: Mapping[str, Any]) -> Score | None:
        if self.kind == "correctness":
            if expected is None:
                return None
            task = Task("context_recall", question=_text(input), contexts=(_text(output),), reference=_text(expected))
        else:
            task = Task("answer_relevance", question=_text(input), answer=_text(output))
        verdict = self.judge.judge(task)
        label = verdict.label
        if self.kind == "correctness" and label in ("complete", "incomplete"):
            label = "correct" if label == "complete" else "incorrect"
        if self.threshold is not None and verdict.score is not None:
            label = "pass" if verdict.score >= self.threshold else "fail"
        return Score(verdict.score, label, verdict.explanation)


def parse_evaluator(text: str, *, judge: Judge | None = None) -> Evaluator:
    """An evaluator from its command-line spelling.

    ``exact_match``, ``contains`` (the expected output), ``contains:TEXT``, ``regex:PATTERN``,
    ``json_schema:PATH``, ``similarity`` (correctness by word similarity, no network),
    ``correctness`` and ``answer_relevance`` (with ``judge``), or ``module:function`` (your
    own, imported; a function is wrapped with :class:`function`).

    Raises:
        ConfigError: The text names no evaluator.
    """
    head, _, rest = text.partition(":")
    if head == "exact_match" and not rest:
        return ExactMatch()
    if head == "contains":
        return Contains(rest or None)
    if head == "regex" and rest:
        return Regex(rest)
    if head == "json_schema" and rest:
        return JsonSchema(rest)
    if head == "similarity" and not rest:
        from workbench.evals.similarity import SimilarityJudge

        return Judged(SimilarityJudge(), "correctness", name="similarity")
    if head in ("correctness", "answer_relevance") and not rest:
        if judge is None:
            raise ConfigError(f"The evaluator {head} needs a judge model: give --judge-model (or use similarity).")
        return Judged(judge, head)
    if rest and re.fullmatch(r"[\w.]+", head) and rest.isidentifier():
        from workbench.experiments.tasks import load_callable

        found = load_callable(text, "evaluator")
        if isinstance(found, Evaluator):
            return found
        return function(found)
    raise ConfigError(
        f"{text!r} names no evaluator; use exact_match, contains[:TEXT], regex:PATTERN, json_schema:PATH, "
        "similarity, correctness, answer_relevance or module:function."
    )
