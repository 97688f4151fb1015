"""How a price row's ``pattern`` meets a model name, and how specific a pattern is.

A row's pattern names the model's core, e.g. ``gpt-4o`` or ``claude-3[.-]5-sonnet``. The
same model reaches us under many spellings, so every pattern is wrapped in the same
tolerances before it is matched, case-insensitively, against the *whole* model name::

    PREFIX  pattern  SUFFIX*

``PREFIX`` is any leading path that ends in ``/`` or in a ``.`` after a letter, which covers
``openai/``, ``anthropic.``, ``us.anthropic.`` (Bedrock cross-region), ``meta.``, ``models/``
and ``publishers/google/models/`` (Google), ``accounts/fireworks/models/``, ``meta-llama/``
and router prefixes such as ``openrouter/anthropic/``. The letter rule keeps a version dot
(``claude-3.5``) from being taken for a prefix.

``SUFFIX`` may repeat, in any order, any of: a dated snapshot (``-2024-08-06``,
``-20241022``, ``@20240620``), a 3 or 4 digit version (``-002``, ``-2411``, ``-0613``), a
Bedrock or Vertex version (``-v1:0``, ``-v2``, ``-v1:0:200k``), a bare ``:0``, and
``-latest``. Anything else after the core (``-mini``, ``-turbo``, ``-preview``, ``:free``)
must be written in the pattern, so ``gpt-4o`` never prices ``gpt-4o-mini``.

A name with an unknown prefix or suffix matches nothing and so stays unpriced: that is on
purpose, since fine-tuned (``ft:gpt-4o-mini:...``), free (``...:free``) and experimental
models are billed differently from their base model.
"""

from __future__ import annotations

import re

__all__ = ["PREFIX", "SUFFIX", "compile_pattern", "literal_length", "pattern_problem"]

PREFIX = r"(?:.*(?:/|(?<=[a-z])\.))?"

SUFFIX = (
    r"(?:-\d{4}-\d{2}-\d{2}"  # OpenAI snapshots: -2024-08-06
    r"|[-@]\d{8}"  # Anthropic -20241022, Vertex @20240620
    r"|-\d{3,4}"  # Gemini -002, Mistral -2411, OpenAI -0613, xAI -0709
    r"|-v\d+(?::\d+k?)*"  # Bedrock -v1:0 and -v1:0:200k, Vertex claude-3-5-sonnet-v2
    r"|:\d+"  # Bedrock's :0 after a name that carries its own version
    r"|[-@]latest)*"
)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a row's pattern with the shared prefix and suffix tolerances.

    Args:
        pattern: The row's pattern, a Python regular expression for the model's core name.

    Returns:
        A compiled, case-insensitive expression to use with ``fullmatch``.

    Raises:
        re.error: When the pattern is not a valid regular expression.
    """
    return re.compile(f"{PREFIX}(?:{pattern}){SUFFIX}", re.IGNORECASE)


def pattern_problem(pattern: str) -> str | None:
    """What is wrong with a row's pattern, in terms of the text the user wrote; None when it is fine.

    :func:`compile_pattern` wraps the pattern in the shared tolerances, so ``re``'s own message
    would count positions in that longer expression; this one points into ``pattern`` itself.

    Args:
        pattern: A row's pattern as the user typed it.

    Returns:
        A clause such as ``"'(' at character 7 is never closed"``, or None.
    """
    try:
        re.compile(pattern)
    except (OverflowError, RecursionError):  # a{99999999999}, or thousands of nested groups
        return "it repeats or nests more than a pattern can; write a smaller count, such as a{1,3}"
    except re.error as exc:
        where = f" at character {exc.pos + 1}" if exc.pos is not None else ""
        near = f" ({pattern[exc.pos]!r})" if exc.pos is not None and exc.pos < len(pattern) else ""
        reason, fix = _REASONS.get(exc.msg.split(",")[0], (exc.msg, _ESCAPE))
        return f"{reason}{where}{near}; {fix}"
    try:
        compile_pattern(pattern)
    except (re.error, OverflowError, RecursionError):
        if _INLINE_FLAGS.search(pattern):
            return "it sets flags such as (?i); leave them out, since matching already ignores case"
        return f"it cannot be combined with the prefix and suffix every pattern gets; {_ESCAPE}"
    return None


_INLINE_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")
_ESCAPE = "to match such a character itself, put a backslash before it, as in gpt-4o\\(beta\\)"
_REASONS = {
    "missing )": ("the '(' is never closed", "close it, or write \\( for a literal '('"),
    "unbalanced parenthesis": ("the ')' has no '(' before it", "write \\) for a literal ')'"),
    "unterminated character set": ("the '[' is never closed", "close it, or write \\[ for a literal '['"),
    "nothing to repeat": ("the repeat has nothing before it", "write \\* or \\+ for a literal one, or .* for anything"),
    "multiple repeat": ("two repeats follow each other", "keep one, or put a backslash before the second"),
    "bad escape (end of pattern)": ("it ends with a lone backslash", "remove it, or write \\\\ for a literal one"),
}


# Characters with a meaning of their own in a regular expression. Classes and quantifier
# braces are skipped whole, so a ']' or '}' met alone is a literal, as it is to ``re``.
_SYNTAX = frozenset(".^$*+?|()[{\\")
_QUANTIFIER = re.compile(r"\{\d*(?:,\d*)?\}")


def literal_length(pattern: str) -> int:
    """Count the characters of a pattern that stand for themselves.

    This is how specific a pattern is: ``gpt-4o-2024-05-13`` (17) beats ``gpt-4o`` (6),
    which beats ``gpt-.*`` (4). Letters, digits and other plain characters count one each,
    and so does an escaped punctuation character such as ``\\.``. Nothing else counts:
    character classes (``[.-]``), class escapes (``\\d``), ``.``, anchors, quantifiers
    (``?``, ``*``, ``{2,3}``), alternation bars, and group syntax (``(?:``, ``(?P<name>``,
    ``(?i:``). Text inside an optional group still counts; the rule is meant to be
    predictable, not to measure the set of names a pattern accepts.

    Args:
        pattern: A row's pattern.

    Returns:
        The number of literal characters.
    """
    count = 0
    i = 0
    n = len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1 : i + 2]
            if escaped and not escaped.isalnum():
                count += 1
            i += 2
        elif char == "[":
            i = _skip_class(pattern, i)
        elif char == "(":
            i = _skip_group_opening(pattern, i)
        elif char == "{":
            quantifier = _QUANTIFIER.match(pattern, i)
            if quantifier:
                i = quantifier.end()
            else:  # a brace that is not a quantifier is a literal brace
                count += 1
                i += 1
        else:
            if char not in _SYNTAX:
                count += 1
            i += 1
    return count


def _skip_class(pattern: str, start: int) -> int:
    """Return the index just past the character class opening at ``start``."""
    i = start + 1
    if pattern[i : i + 1] == "^":
        i += 1
    if pattern[i : i + 1] == "]":  # a leading ']' is a member, not the end
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def _skip_group_opening(pattern: str, start: int) -> int:
    """Return the index just past a group's opening syntax (``(``, ``(?:``, ``(?P<x>`` ...)."""
    i = start + 1
    if pattern[i : i + 1] != "?":
        return i
    i += 1
    head = pattern[i : i + 2]
    if head[:1] in (":", "=", "!"):
        return i + 1
    if head in ("<=", "<!"):
        return i + 2
    if head in ("P<", "P=") or head[:1] == "<":
        closing = ">" if head != "P=" else ")"
        end = pattern.find(closing, i)
        return len(pattern) if end < 0 else end + 1
    # Inline flags: (?i) or (?i-s:...)
    while i < len(pattern) and (pattern[i].isalpha() or pattern[i] == "-"):
        i += 1
    if pattern[i : i + 1] in (":", ")"):
        i += 1
    return i
