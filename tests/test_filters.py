"""The filter language: what it accepts, what it refuses, and what it selects."""

from __future__ import annotations

import pytest

from workbench.errors import FilterError
from workbench.query import Reader


@pytest.fixture
def reader(store, rag_spans):
    store.write(rag_spans)
    return Reader(store)


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("span_kind == 'LLM' and latency_ms > 600 and model_name == 'gpt-4o'", ["llm"]),
        ("span_kind == 'llm'", ["llm"]),
        ("latency_ms < 100", ["embed"]),
        ("50 < latency_ms < 700", ["retrieve", "llm"]),
        ("span_kind in ['RETRIEVER', 'embedding']", ["embed", "retrieve"]),
        ("span_kind not in ['LLM', 'CHAIN', 'EMBEDDING']", ["retrieve"]),
        ("'REFUNDS' in input_value", ["rag"]),
        ("'refunds' not in input_value", ["embed", "retrieve", "llm"]),
        ("model_name is None", ["rag", "retrieve"]),
        ("model_name != None and not span_kind == 'LLM'", ["embed"]),
        ("contains(output_value, '30 days') and session_id == 's-1'", ["rag"]),
        ("startswith(model_name, 'gpt')", ["llm"]),
        ("matches(model_name, '^GPT-4o?$')", ["llm"]),
        ("matches(output_value, '\\d+ days')", ["rag"]),
        ("prompt_includes_cache", ["llm"]),
        ("attributes['custom.key'] >= 3", ["llm"]),
        ("attributes['openinference.span.kind'] == 'EMBEDDING'", ["embed"]),
        ("status_code == 'ok' or parent_span_id is None", ["rag", "llm"]),
        ("latency_ms > -1.5 and latency_ms not in [-1, -2]", ["rag", "embed", "retrieve", "llm"]),
        ("", ["rag", "embed", "retrieve", "llm"]),
    ],
)
def test_filters_select_the_right_spans(reader, expression, names):
    assert list(reader.spans(expression)["name"]) == names


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("latncy_ms > 3", "did you mean 'latency_ms'"),
        ("span_kind = 'LLM'", "is not valid"),
        ("span_kind == 'LLM' and", "is not valid"),
        ("__import__('os').system('true')", "function"),
        ("latency_ms > other_field", "there is no field 'other_field'"),
        ("attributes[3] == 1", "takes a key in quotes"),
        ("latency_ms", "is not a condition") ,
        ("3 in input_value", "needs text on the left"),
        ("model_name is 'x'", "compares only with None"),
        ("matches(name, '(unclosed')", "is not a regular expression"),
        # A minus sign negates numbers only, never text or None (once a TypeError).
        ("name == -'x'", "is not a value"),
        ("name in (-'a', 'b')", "is not a value"),
        ("model_name == -None", "is not valid"),
    ],
)
def test_bad_filters_get_a_clear_error(reader, expression, message):
    with pytest.raises(FilterError, match=message) as caught:
        reader.spans(expression)
    assert any(fix in str(caught.value) for fix in ("write conditions like", "compares only", ", as in "))


def test_values_are_parameters_not_sql(reader):
    assert reader.spans("name == \"x' OR 1=1 --\"").empty


def test_time_bounds_accept_text_and_relative_forms(reader):
    assert len(reader.spans(start="2025-11-23T08:00:00.200Z")) == 1
    assert len(reader.spans(end="2025-11-23T08:00:00.050")) == 2
    assert reader.spans(start="24h").empty  # the fixture's spans are a year old
    with pytest.raises(FilterError, match="is not a time"):
        reader.spans(start="yesterday-ish")


@pytest.mark.parametrize(
    ("expression", "advice"),
    [
        ("model_name == gpt-4o", "put text values in quotes, as in model_name == 'gpt-4o'"),
        ("span_kind == LLM", "put text values in quotes, as in span_kind == 'LLM'"),
        ("span_kind = 'LLM'", "compare with ==, as in span_kind == 'LLM'"),
        ("span_kind = LLM", "compare with == and put text values in quotes, as in span_kind == 'LLM'"),
        ("model_name in [gpt-4o, gpt-4o-mini]", "as in model_name in ['gpt-4o', 'gpt-4o-mini']"),
        ("model_name in (gpt-4o, claude-3)", "as in model_name in ('gpt-4o', 'claude-3')"),
        ("model_name not in (gpt4, claude)", "as in model_name not in ('gpt4', 'claude')"),
        ("name == my agent and latency_ms > 5", "as in name == 'my agent' and latency_ms > 5"),
        ("contains(input_value, refund)", "as in contains(input_value, 'refund')"),
    ],
)
def test_a_common_slip_gets_the_mended_filter(reader, expression, advice):
    with pytest.raises(FilterError) as caught:
        reader.spans(expression)
    assert advice in str(caught.value)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    ("expression", "column", "what"),
    [
        ("latency_ms >", 13, "a value is missing after '>'"),
        ("latency_ms > 100 and", 21, "a condition is missing after 'and'"),
        ("model_name == 'gpt-4o", 15, "the quote at column 15 is never closed"),
    ],
)
def test_an_unfinished_filter_points_at_the_right_column(reader, expression, column, what):
    with pytest.raises(FilterError) as caught:
        reader.spans(expression)
    assert what in str(caught.value) and f"column {column}" in str(caught.value)


@pytest.mark.parametrize(
    ("expression", "column", "what"),
    [
        # Columns count characters, not the UTF-8 bytes the parser counts.
        ("name == 'ééé' and latency_ms >> 3", 19, "'latency_ms >> 3' is not a condition"),
        ("name == 'café—ü' and foo == 1", 22, "there is no field 'foo'"),
        ("input_value == '日本語' and latncy_ms > 1", 26, "did you mean 'latency_ms'"),
        # A filter over two lines: counted over the whole text.
        ("(latency_ms > 1\nand foo == 1)", 21, "there is no field 'foo'"),
    ],
)
def test_the_column_of_a_mistake_counts_characters(reader, expression, column, what):
    with pytest.raises(FilterError) as caught:
        reader.spans(expression)
    assert what in str(caught.value) and f"column {column})" in str(caught.value)


@pytest.mark.parametrize("expression", [
    "not " * 3000 + "latency_ms > 1",
    "-" * 3000 + "1 < latency_ms",
    " and ".join(["(latency_ms > 1"] * 150) + ")" * 150,
    "not (" * 120 + "latency_ms > 1" + ")" * 120,
])
def test_a_deeply_nested_filter_is_refused_not_a_recursion_error(reader, expression):
    with pytest.raises(FilterError, match="nests too deeply"):
        reader.spans(expression)
    with pytest.raises(FilterError, match="nests too deeply"):
        reader.traces(expression)


def test_a_filter_that_is_not_text_is_refused(reader):
    with pytest.raises(FilterError, match="A filter is text"):
        reader.spans(42)
    with pytest.raises(FilterError, match="holds a NUL character"):
        reader.spans("name == 'a\x00b'")


@pytest.mark.parametrize("regex", ["a{99999999999}", "(" * 5000 + ")" * 5000])
def test_a_regex_past_what_python_compiles_is_a_filter_error(reader, regex):
    with pytest.raises(FilterError, match="repeats or nests more than a regular expression can"):
        reader.spans(f"matches(name, '{regex}')")


_FUZZ_TOKENS = [
    "latency_ms", "name", "span_kind", "start_time", "attributes['x']", "annotations['f'].score", "annotations['f']",
    "==", "!=", "<", ">", "=", "in", "not", "and", "or", "is", "None", "True", "(", ")", "[", "]", ",", "'LLM'",
    "5", "-3", "1e400", "gpt-4o", "contains(", "matches(", "'(?<=a)'", "'['", '"x"', "999999999999999999999999",
    "'a{99999999999}'",
    "lambda", "x.y", "**", "+", "{", "}", ":", "b'x'", "...", "@",
]


def test_random_filters_give_rows_or_a_filter_error(reader):
    """A seeded fuzzer over the filter language: nothing but rows or a FilterError comes back."""
    import random

    rng = random.Random(13)
    for _ in range(400):
        expression = " ".join(rng.choice(_FUZZ_TOKENS) for _ in range(rng.randint(1, 9)))
        for call in (reader.spans, reader.traces):
            try:
                call(expression)
            except FilterError:
                pass
