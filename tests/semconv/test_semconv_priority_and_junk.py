"""The documented priority between conventions, raw attributes kept whole, and odd input."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from workbench.model import Event, Link, Message, Span, SpanKind, StatusCode, TokenUsage
from workbench.semconv import make_span

ALL_MODELS = {
    "llm.model_name": "from-openinference",
    "gen_ai.response.model": "from-genai-response",
    "gen_ai.request.model": "from-genai-request",
    "langfuse.observation.model.name": "from-langfuse",
    "mlflow.llm.model": json.dumps("from-mlflow"),
    "ai.model.id": "from-vercel",
}


def _span(attributes: Any, **extra: Any) -> Span:
    return make_span(
        trace_id="ab" * 16,
        span_id="cd" * 8,
        parent_span_id=None,
        name="span",
        start_time_ns=1_000,
        end_time_ns=2_000,
        attributes=attributes,
        **extra,
    )


@pytest.mark.parametrize(
    ("dropped", "expected"),
    [
        ((), "from-openinference"),
        (("llm.model_name",), "from-genai-response"),
        (("llm.model_name", "gen_ai.response.model"), "from-genai-request"),
        (("llm.model_name", "gen_ai.response.model", "gen_ai.request.model"), "from-langfuse"),
        (
            (
                "llm.model_name",
                "gen_ai.response.model",
                "gen_ai.request.model",
                "langfuse.observation.model.name",
            ),
            "from-mlflow",
        ),
        (tuple(key for key in ALL_MODELS if key != "ai.model.id"), "from-vercel"),
    ],
)
def test_model_name_priority(record, dropped, expected):
    attributes = {key: value for key, value in ALL_MODELS.items() if key not in dropped}
    assert record("llm", attributes).model_name == expected


def test_conflicting_conventions_follow_the_documented_priority(record):
    span = record(
        "mixed",
        {
            "openinference.span.kind": "TOOL",
            "gen_ai.operation.name": "chat",
            "traceloop.span.kind": "workflow",
            "llm.token_count.prompt": 10,
            "gen_ai.usage.input_tokens": 20,
            "ai.usage.inputTokens": 30,
            "session.id": "oi-session",
            "gen_ai.conversation.id": "genai-session",
            "traceloop.association.properties.session_id": "traceloop-session",
            "langfuse.session.id": "langfuse-session",
            "ai.telemetry.metadata.sessionId": "vercel-session",
            "llm.provider": "openai",
            "gen_ai.provider.name": "azure.ai.openai",
            "input.value": "from openinference",
            "traceloop.entity.input": "from traceloop",
            "langfuse.observation.input": "from langfuse",
        },
    )
    assert span.conventions == ("openinference", "openllmetry", "langfuse", "vercel", "gen_ai")
    assert span.span_kind is SpanKind.TOOL
    assert span.tokens.prompt == 10
    assert span.session_id == "oi-session"
    assert span.provider == "openai"
    assert span.input_value == "from openinference"
    second = record(
        "mixed",
        {
            "gen_ai.operation.name": "chat",
            "traceloop.span.kind": "workflow",
            "gen_ai.conversation.id": "genai-session",
            "traceloop.association.properties.session_id": "traceloop-session",
            "traceloop.entity.input": "from traceloop",
            "langfuse.observation.input": "from langfuse",
        },
    )
    assert second.span_kind is SpanKind.LLM
    assert second.session_id == "genai-session"
    assert second.input_value == "from traceloop"


def test_junk_at_a_higher_rank_falls_through_to_the_next_key(record):
    span = record(
        "llm",
        {
            "llm.token_count.prompt": "lots",
            "gen_ai.usage.input_tokens": 20,
            "llm.model_name": "",
            "gen_ai.request.model": "gpt-4o",
            "openinference.span.kind": "NOT-A-KIND",
            "gen_ai.operation.name": "embeddings",
        },
    )
    assert span.tokens.prompt == 20
    assert span.model_name == "gpt-4o"
    assert span.span_kind is SpanKind.EMBEDDING


def test_unknown_attributes_are_kept_and_the_mapping_is_not_copied():
    attributes = {
        "my.app.feature_flag": True,
        "http.route": "/chat",
        "weird key with spaces": (1, 2, 3),
        "openinference.span.kind": "LLM",
    }
    resource = {"service.name": "api", "host.name": "box"}
    events = [Event("exception", 1_500, {"exception.type": "ValueError"})]
    links = [Link("ef" * 16, "01" * 8, {"reason": "retry"})]
    span = _span(
        attributes,
        resource=resource,
        events=events,
        links=links,
        status_code=StatusCode.UNSET,
        scope_name="x",
        scope_version="1",
    )
    assert span.attributes is attributes
    assert dict(span.attributes) == {
        "my.app.feature_flag": True,
        "http.route": "/chat",
        "weird key with spaces": (1, 2, 3),
        "openinference.span.kind": "LLM",
    }
    assert span.resource is resource
    assert span.events == tuple(events) and span.links == tuple(links)
    assert span.status_code is StatusCode.UNSET  # an exception event invents no error
    assert (span.scope_name, span.scope_version) == ("x", "1")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (12, 12),
        (12.0, 12),
        ("12", 12),
        (" 12 ", 12),
        ("12.0", 12),
        ("1e3", 1000),
        (True, None),
        (-3, None),
        ("-3", None),
        ("twelve", None),
        (math.nan, None),
        (math.inf, None),
        (b"12", None),
        ([12], None),
        ({"value": 12}, None),
        (None, None),
    ],
)
def test_token_counts_are_coerced_or_left_unset(raw, expected):
    span = _span({"llm.token_count.prompt": raw})
    assert span.tokens.prompt == expected


def test_total_is_prompt_plus_completion_only_when_not_sent():
    assert _span({"llm.token_count.prompt": 3, "llm.token_count.completion": "4"}).tokens == (
        TokenUsage(prompt=3, completion=4, total=7, prompt_includes_cache=True)
    )
    sent = _span(
        {"llm.token_count.prompt": 3, "llm.token_count.completion": 4, "llm.token_count.total": 9}
    )
    assert sent.tokens.total == 9


JUNK: list[dict[Any, Any]] = [
    {"gen_ai.input.messages": "[{not json", "gen_ai.output.messages": "{]"},
    {"gen_ai.input.messages": json.dumps([1, "two", None, [3]])},
    {"gen_ai.input.messages": json.dumps([{"role": "user", "parts": [1, None, {"type": 5}]}])},
    {"gen_ai.input.messages": json.dumps({"role": "user"}), "gen_ai.system_instructions": 7},
    {"gen_ai.input.messages": "[" * 5000 + "]" * 5000},
    {"llm.input_messages.x.message.role": "user", "llm.input_messages.0": "flat"},
    {"llm.input_messages.0.message.role": 5, "llm.input_messages.0.message.content": b"\xff"},
    {"llm.output_messages.0.message.tool_calls.zero.tool_call.function.name": "f"},
    {"retrieval.documents.0.document.score": "high", "retrieval.documents.0.document.metadata": 3},
    {"embedding.embeddings.0.embedding.vector": ("a", "b")},
    {"embedding.embeddings.0.embedding.vector": "not a vector"},
    {"langfuse.observation.usage_details": "{oops", "langfuse.observation.cost_details": "[]"},
    {"langfuse.observation.completion_start_time": "yesterday-ish"},
    {"mlflow.chat.tokenUsage": json.dumps([1, 2]), "mlflow.spanType": json.dumps(["LLM"])},
    {"mlflow.chat.messages": json.dumps({"messages": "nope"})},
    {"ai.prompt.messages": "null", "ai.response.toolCalls": json.dumps({"a": 1})},
    {"ai.embeddings": ("[1,", "x"), "ai.values": 3},
    {"ai.embedding": json.dumps({"vector": [1]})},
    {"gen_ai.completion.0.tool_calls.0.arguments": {"k": {"nested": [1, 2]}}},
    {"llm.cost.total": "free", "llm.cost.prompt": math.nan, "gen_ai.usage.cost": "1,5"},
    {"session.id": {"id": 1}, "user.id": [1, 2], "llm.model_name": 3.5, "tool.name": b"t"},
    {"input.value": {"kv": "list"}, "output.value": [1, 2], "input.mime_type": 4},
    {1: "int key", None: "none key", ("t",): "tuple key"},
]


@pytest.mark.parametrize("attributes", JUNK)
def test_junk_values_never_raise(attributes):
    span = _span(
        attributes,
        events=[Event("gen_ai.choice", 5, {"message": "{bad"}), Event("first_token", 0)],
    )
    assert span.attributes is attributes


def test_events_and_links_that_are_not_collections_are_read_as_none():
    span = _span({}, events=None, links=5)
    assert span.events == () and span.links == ()


def test_non_mappings_and_odd_events_never_raise():
    odd_events: list[Any] = [Event(None, "late", None), {"name": "gen_ai.choice"}, None]
    span = _span(None, resource=None, events=odd_events)
    assert span.attributes is None
    assert span.project == "default"
    assert span.tokens == TokenUsage()


def test_junk_keeps_the_fields_that_could_be_read():
    span = _span(
        {
            "gen_ai.input.messages": "[{not json",
            "gen_ai.usage.input_tokens": "5",
            "gen_ai.request.model": "gpt-4o",
            "input.value": {"question": "why"},
            "session.id": 42,
            "llm.model_name": 3.5,
        }
    )
    assert span.input_messages == ()
    assert span.tokens.prompt == 5
    assert span.model_name == "3.5"  # a number is still a name someone sent
    assert span.input_value == '{"question": "why"}'
    assert span.input_mime_type == "application/json"
    assert span.session_id == "42"


def test_document_metadata_shapes():
    span = _span(
        {
            "openinference.span.kind": "RETRIEVER",
            "retrieval.documents.0.document.metadata": json.dumps({"page": 3}),
            "retrieval.documents.1.document.metadata": json.dumps([1, 2]),
            "retrieval.documents.2.document.metadata": {"already": "a dict"},
            "retrieval.documents.3.document.metadata": "plain",
        }
    )
    assert [doc.metadata for doc in span.documents] == [
        {"page": 3},
        {"value": "[1, 2]"},
        {"already": "a dict"},
        {"value": "plain"},
    ]


def test_messages_render_tool_calls_when_no_text():
    span = _span(
        {
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{}",
        }
    )
    assert span.output_value == "lookup({})"
    assert span.output_messages[0] == Message(
        role="assistant", tool_calls=span.output_messages[0].tool_calls
    )


def test_a_reader_bug_still_returns_the_raw_span(monkeypatch):
    import workbench.semconv as semconv

    calls = []

    def broken(attributes: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(semconv.extract, "scan", broken)
    monkeypatch.setattr(semconv, "_warn_once", lambda: calls.append(1))
    attributes = {"llm.model_name": "gpt-4o"}
    span = _span(attributes, resource={"service.name": "api"}, default_project="nb")
    assert calls == [1]
    assert span.attributes is attributes
    assert span.model_name is None and span.span_kind is SpanKind.UNKNOWN
    assert span.project == "nb"


def test_spans_built_without_attributes_do_not_share_a_dict():
    ids = {"trace_id": "ab" * 16, "parent_span_id": None, "start_time_ns": 0, "end_time_ns": 1}
    first = make_span(span_id="cd" * 8, name="a", **ids)
    second = make_span(span_id="ce" * 8, name="b", **ids)
    assert first.attributes == {} and first.resource == {}
    assert first.attributes is not second.attributes
    assert first.resource is not second.resource
