"""The shared name tolerances and the specificity measure."""

from __future__ import annotations

import pytest

from workbench.pricing.patterns import compile_pattern, literal_length


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("gpt-4o", 6),
        ("gpt-4o-2024-05-13", 17),
        ("claude-3[.-]5-sonnet", 16),
        ("gpt-.*", 4),
        (r"text\.embedding", 14),
        (r"\d+-v\d", 2),
        ("a{2,3}b", 2),
        ("a{x}", 4),  # a brace that is not a quantifier is literal
        ("(?P<name>ab)", 2),
        ("(?i:ab)|cd", 4),
        ("(?:meta-)?llama", 10),
        ("[]x]y", 1),
        ("^gpt$", 3),
    ],
)
def test_literal_length(pattern: str, expected: int) -> None:
    assert literal_length(pattern) == expected


@pytest.mark.parametrize(
    "name",
    [
        "claude-3-5-sonnet",
        "anthropic/claude-3-5-sonnet",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        "eu.anthropic.claude-3-5-sonnet-20240620-v1:0:200k",
        "claude-3-5-sonnet@20240620",
        "claude-3-5-sonnet-v2@20241022",
        "claude-3.5-sonnet",
        "openrouter/anthropic/claude-3.5-sonnet",
        "claude-3-5-sonnet-latest",
        "CLAUDE-3-5-SONNET",
    ],
)
def test_tolerated_spellings(name: str) -> None:
    assert compile_pattern("claude-3[.-]5-sonnet").fullmatch(name)


@pytest.mark.parametrize(
    "name",
    [
        "claude-3-5-sonnet-thinking",  # an unknown suffix
        "my-claude-3-5-sonnet",  # a prefix that is not a path
        "ft:claude-3-5-sonnet",
        "claude-3-5-sonnet:free",
        "xclaude-3-5-sonnet",
    ],
)
def test_rejected_spellings(name: str) -> None:
    assert not compile_pattern("claude-3[.-]5-sonnet").fullmatch(name)


def test_a_version_dot_is_not_a_prefix() -> None:
    # "gpt-4." must not be taken as a prefix leaving "1" to a pattern named "1".
    assert not compile_pattern("1").fullmatch("gpt-4.1")
    assert compile_pattern("gpt-4[.-]1").fullmatch("gpt-4.1-2025-04-14")
