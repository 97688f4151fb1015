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
    ],
)
def test_bad_filters_get_a_clear_error(reader, expression, message):
    with pytest.raises(FilterError, match=message) as caught:
        reader.spans(expression)
    assert "write conditions like" in str(caught.value) or "compares only" in str(caught.value)


def test_values_are_parameters_not_sql(reader):
    assert reader.spans("name == \"x' OR 1=1 --\"").empty


def test_time_bounds_accept_text_and_relative_forms(reader):
    assert len(reader.spans(start="2025-11-23T08:00:00.200Z")) == 1
    assert len(reader.spans(end="2025-11-23T08:00:00.050")) == 2
    assert reader.spans(start="24h").empty  # the fixture's spans are a year old
    with pytest.raises(FilterError, match="is not a time"):
        reader.spans(start="yesterday-ish")
