"""The playground's core against the local stand-in endpoint: a span's request read back,
a streamed call, a failed or cut-off call, the run recorded as a trace linked to its span,
and prompts saved as versions."""

from __future__ import annotations

import json

import pytest

from tests.evals.standin import StandIn
from workbench.errors import ConfigError, EndpointError, NotFoundError
from workbench.playground import (
    ChatRequest,
    Completion,
    list_prompts,
    load_prompt,
    original_output,
    request_from_span,
    run,
    save_prompt,
    stream_chat,
)
from workbench.query import Reader
from workbench.store import Store

SPAN = "ab" * 8
TRACE = "cd" * 16


@pytest.fixture
def standin():
    with StandIn() as server:
        yield server


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "workbench.duckdb") as opened:
        yield opened


def _chat(text: str = "Where is my refund?") -> ChatRequest:
    return ChatRequest([{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}], "m1",
                       {"temperature": 0.3})


def test_a_streamed_answer_arrives_in_pieces_with_its_usage(standin):
    items = list(stream_chat(_chat().messages, model="m1", base_url=standin.url, parameters={"temperature": 0.3}))
    pieces, done = items[:-1], items[-1]
    assert len(pieces) == 5 and "".join(pieces) == "Answer: Where is my refund?"
    assert isinstance(done, Completion) and done.text == "Answer: Where is my refund?"
    assert done.completion_tokens == 5 and done.prompt_tokens and done.first_token_ms is not None
    sent = standin.requests[-1]
    assert sent["stream"] is True and sent["temperature"] == 0.3
    assert sent["stream_options"] == {"include_usage": True}


def test_the_run_is_recorded_as_a_trace_linked_to_the_span(standin, store):
    got: list[str] = []
    result = run(store, _chat(), base_url=standin.url, source=(TRACE, SPAN), on_piece=got.append)
    assert result.error is None and "".join(got) == result.text == "Answer: Where is my refund?"
    reader = Reader(store)
    found = reader.spans(f"attributes['workbench.playground.source_span_id'] == '{SPAN}'")
    assert list(found["trace_id"]) == [result.trace_id]
    span = found.iloc[0]
    assert span["span_kind"] == "LLM" and span["project"] == "playground" and span["status_code"] == "OK"
    assert span["model_name"] == "m1" and span["output_value"] == result.text
    assert span["completion_tokens"] == 5 and span["time_to_first_token_ms"] >= 0
    assert [m["content"] for m in json.loads(span["input_messages"])] == ["Be brief.", "Where is my refund?"]
    assert json.loads(span["links"])[0] == {"trace_id": TRACE, "span_id": SPAN,
                                            "attributes": {"workbench.link": "playground source"}}
    assert json.loads(json.loads(span["attributes"])["llm.invocation_parameters"]) == {"temperature": 0.3}


@pytest.mark.parametrize(("step", "model", "said"), [
    ("", "missing-model", "answered 404: The model `missing-model` does not exist"),
    ("401", "m1", "no API key was sent"),
    ("stream-cut", "m1", "stopped the answer with an error: the stand-in was cut off"),
])
def test_a_failed_call_is_said_and_still_recorded(standin, store, step, model, said):
    standin.script = [step] if step else []
    request = _chat()
    request.model = model
    result = run(store, request, base_url=standin.url, source=(TRACE, SPAN))
    assert result.error is not None and said in result.error
    span = Reader(store).spans(f"trace_id == '{result.trace_id}'").iloc[0]
    assert span["status_code"] == "ERROR" and said in span["status_message"]
    if step == "stream-cut":
        assert result.text == "Answer: "  # what arrived before the cut is kept


def test_an_endpoint_that_cannot_be_reached_or_no_model_is_an_endpoint_error(standin):
    with pytest.raises(EndpointError, match="Cannot reach the endpoint"):
        list(stream_chat([{"role": "user", "content": "hi"}], model="m", base_url="http://127.0.0.1:9/v1",
                         timeout=5))
    with pytest.raises(EndpointError, match=r"does not speak TLS \(https\).*use an http:// base URL"):
        list(stream_chat([{"role": "user", "content": "hi"}], model="m", base_url=standin.url.replace("http", "https"),
                         timeout=5))
    with pytest.raises(EndpointError, match="No model is given"):
        list(stream_chat([{"role": "user", "content": "hi"}], model="", base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(EndpointError, match="not an http"):
        list(stream_chat([{"role": "user", "content": "hi"}], model="m", base_url="localhost:11434"))


def test_the_endpoint_comes_from_the_environment(standin, store, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", standin.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    result = run(store, ChatRequest([{"role": "user", "content": "hi"}]))
    assert result.error is None and standin.requests[-1]["model"] == "env-model"
    assert standin.headers[-1]["Authorization"] == "Bearer sk-test"


def test_a_span_s_request_is_read_back_with_its_tool_calls_and_parameters():
    span = {
        "model_name": "gpt-4o", "input_value": "ignored",
        "input_messages": json.dumps([
            {"role": "system", "content": "Be brief."},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "name": "lookup", "arguments": '{"id": 1}'}]},
            {"role": "tool", "content": '{"ok": true}', "tool_call_id": "call_1"},
        ]),
        "output_messages": json.dumps([{"role": "assistant", "content": "Done."}]),
        "attributes": json.dumps({"gen_ai.request.temperature": 0.1, "gen_ai.request.max_tokens": 50,
                                  "gen_ai.request.model": "gpt-4o"}),
    }
    request = request_from_span(span)
    assert request.model == "gpt-4o" and request.parameters == {"temperature": 0.1, "max_tokens": 50}
    assert request.messages[1] == {"role": "assistant", "content": None, "tool_calls": [
        {"type": "function", "function": {"name": "lookup", "arguments": '{"id": 1}'}, "id": "call_1"}]}
    assert request.messages[2] == {"role": "tool", "content": '{"ok": true}', "tool_call_id": "call_1"}
    assert original_output(span) == "Done."
    # Without recorded messages, the input text is the one user message.
    bare = request_from_span({"model_name": None, "input_value": "Hello?", "attributes": "{}",
                              "output_value": "Hi."})
    assert bare.messages == [{"role": "user", "content": "Hello?"}] and bare.model == ""
    assert original_output({"output_value": "Hi.", "output_messages": "[]"}) == "Hi."


def test_prompts_are_saved_as_versions(store):
    assert save_prompt(store, "support", _chat("one"), source_span_id=SPAN) == 1
    assert save_prompt(store, "support", _chat("two")) == 2
    latest, version = load_prompt(store, "support")
    assert version == 2 and latest.messages[-1]["content"] == "two" and latest.parameters == {"temperature": 0.3}
    first, _ = load_prompt(Reader(store), "support", 1)
    assert first.messages[-1]["content"] == "one" and first.model == "m1"
    assert list(list_prompts(store)["version"]) == [2, 1]
    with pytest.raises(NotFoundError, match="saved prompts: support"):
        load_prompt(store, "other")
    with pytest.raises(ConfigError, match="needs a name"):
        save_prompt(store, " ", _chat())
    with pytest.raises(ConfigError, match="no message with text"):
        save_prompt(store, "empty", ChatRequest([{"role": "user", "content": " "}]))


def test_an_endpoint_that_does_not_stream_is_read_whole(standin):
    prompt = ("TASK: answer_relevance\nQUESTION:\n<<<\nrefund policy\n>>>\nANSWER:\n<<<\nthe refund policy\n>>>")
    items = list(stream_chat([{"role": "user", "content": prompt}], model="m1", base_url=standin.url))
    assert len(items) == 2 and isinstance(items[-1], Completion)
    assert json.loads(items[0])["label"] == "relevant" and items[-1].completion_tokens == 10


def test_a_saved_prompt_runs_as_an_experiment_task(standin, store, monkeypatch):
    from workbench.experiments import Contains, create_dataset, run_experiment
    from workbench.playground import prompt_task

    monkeypatch.setenv("OPENAI_BASE_URL", standin.url)
    create_dataset(store, "questions", [{"input": "Where is my refund?"}, {"input": "Can I pause?"}])
    save_prompt(store, "asker", ChatRequest([{"role": "system", "content": "Be brief."},
                                             {"role": "user", "content": "Customer asks: {input}"}], "m1",
                                            {"temperature": 0}))
    task = prompt_task(store, "asker")
    exp = run_experiment(store, "questions", task, [Contains("refund")], name="asker-v1", progress=False)
    assert sorted(exp.runs["output"]) == ["Answer: Customer asks: Can I pause?",
                                          "Answer: Customer asks: Where is my refund?"]
    assert exp.task == "prompt:asker@1" and exp.pass_rate == 0.5
    assert standin.requests[-1]["messages"][0] == {"role": "system", "content": "Be brief."}
    save_prompt(store, "fixed", _chat("no placeholder"))
    with pytest.raises(ConfigError, match="placeholder"):
        prompt_task(store, "fixed")
