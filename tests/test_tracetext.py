"""Trace.to_markdown: the whole tree for an LLM, within a size budget that says what it left out."""

from __future__ import annotations

import pytest

from tests.helpers import make_span
from workbench.model import Message, SpanKind, StatusCode, TokenUsage
from workbench.read import Reader


@pytest.fixture
def agent_trace(store):
    spans = [make_span(0, kind=SpanKind.AGENT, name="agent", duration_ms=2000, input_value="Where is my refund?",
                       output_value="It was sent on Monday.")]
    for i in range(1, 40):
        spans.append(make_span(i, parent=0, kind=SpanKind.LLM, name=f"step-{i}", start_ms=i * 40, duration_ms=30,
                               model_name="gpt-4o", provider="openai",
                               tokens=TokenUsage(prompt=1000, completion=100),
                               input_messages=(Message("user", "tell me " + "x" * 3000),),
                               output_messages=(Message("assistant", f"answer {i}"),)))
    spans.append(make_span(40, parent=0, kind=SpanKind.TOOL, name="lookup", start_ms=1900, duration_ms=50,
                           tool_name="lookup", status_code=StatusCode.ERROR, status_message="KeyError: 'order'"))
    store.write(spans)
    return Reader(store, owns_store=False).trace(spans[0].trace_id)


def test_markdown_has_the_tree_with_kinds_times_models_tokens_cost_and_errors(agent_trace):
    text = agent_trace.to_markdown(max_chars=200_000)
    lines = text.splitlines()
    assert lines[0] == f"# Trace `{agent_trace.trace_id}`: agent (2.00 s, 41 spans, 1 error)"
    assert "**agent** `AGENT` 2.00 s (self " in text
    step = next(line for line in lines if "**step-1**" in line)
    assert step.startswith("  - ") and "gpt-4o" in step and "1000→100 tokens" in step and "$0.0035" in step
    assert "**lookup** `TOOL` 50 ms" in text and "**ERROR**: KeyError: 'order'" in text
    assert "input: Where is my refund?" in text and "out · assistant: answer 39" in text
    assert "[2408 more characters]" in text  # a long message is cut at 600, saying how much is left
    assert "cut to 600 characters each" in text


def test_the_budget_shortens_texts_then_drops_them_then_counts_spans(agent_trace):
    for budget in (30_000, 8_000, 3_000, 1_000):
        text = agent_trace.to_markdown(max_chars=budget)
        assert len(text) <= budget
    assert "cut to 600" not in agent_trace.to_markdown(max_chars=30_000)  # shortened to fit
    dropped = agent_trace.to_markdown(max_chars=8_000)
    assert "left out to fit the size budget" in dropped and "**lookup**" in dropped  # the whole tree, no texts
    counted = agent_trace.to_markdown(max_chars=1_000)
    assert "more spans are not shown: the text reached its budget of 1000 characters" in counted
    with pytest.raises(ValueError, match="too small"):
        agent_trace.to_markdown(max_chars=100)


def test_calls_of_unknown_cost_are_named_never_read_as_free(store):
    spans = [
        make_span(0, kind=SpanKind.CHAIN, name="root", duration_ms=500),
        make_span(1, parent=0, name="priced", model_name="gpt-4o-mini", provider="openai",
                  tokens=TokenUsage(prompt=1, completion=0)),
        make_span(2, parent=0, name="no-price", model_name="acme-llm-7", tokens=TokenUsage(prompt=100, completion=10)),
        make_span(3, parent=0, name="failed", model_name="gpt-4o-mini", status_code=StatusCode.ERROR,
                  status_message="timeout"),
    ]
    store.write(spans)
    reader = Reader(store, owns_store=False)
    text = reader.trace(spans[0].trace_id).to_markdown()
    assert "cost $0.00000015 + 2 calls of unknown cost" in text.splitlines()[2]
    lines = {name: next(line for line in text.splitlines() if f"**{name}**" in line)
             for name in ("priced", "no-price", "failed", "root")}
    assert "$0.00000015" in lines["priced"] and "unknown" not in lines["priced"]
    assert "cost unknown" in lines["no-price"] and "cost unknown" in lines["failed"]
    assert "cost" not in lines["root"]  # not a model call: no cost of its own
    store.write([make_span(0, trace=1, name="alone", model_name="acme-llm-7", tokens=TokenUsage(prompt=5))])
    alone = reader.trace(f"{2:032x}").to_markdown()
    assert "cost unknown (1 call of unknown cost)" in alone and "$0" not in alone


def test_the_default_budget_is_a_setting_everywhere(agent_trace, store, monkeypatch):
    from click.testing import CliRunner

    from workbench.cli import main
    from workbench.errors import ConfigError
    from workbench.mcp import tools

    assert len(agent_trace.to_markdown()) > 3_000
    monkeypatch.setenv("WORKBENCH_MARKDOWN_CHARS", "3000")
    text = agent_trace.to_markdown()
    assert len(text) <= 3_000 and text == agent_trace.to_markdown(max_chars=3_000)
    reader = Reader(store, owns_store=False)
    assert tools.get_trace(reader, agent_trace.trace_id) == text
    printed = CliRunner().invoke(main, ["trace", agent_trace.trace_id, "--md", "--db", store.path])
    assert printed.exit_code == 0 and printed.output == text
    monkeypatch.setenv("WORKBENCH_MARKDOWN_CHARS", "20")
    with pytest.raises(ConfigError, match="WORKBENCH_MARKDOWN_CHARS"):
        agent_trace.to_markdown()
