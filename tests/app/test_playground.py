"""The playground in a real browser: from an LLM span's detail, edit its request, run it against
the local stand-in endpoint, watch the answer stream in, and find the run recorded as a trace
linked to the original span; save the request as a versioned prompt."""

from __future__ import annotations

import json

import pytest

from tests.evals.standin import StandIn

pytestmark = pytest.mark.browser

ANSWER = ".wb-playground-answer"


@pytest.fixture
def standin(monkeypatch):
    with StandIn() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("OPENAI_MODEL", raising=False)
        yield server


def _answer_span(reader, trace_id: str) -> dict:
    frame = reader.spans(f"trace_id == '{trace_id}' and name == 'answer'")
    return frame.iloc[0].to_dict()


def test_a_span_reruns_edited_streamed_and_recorded_as_a_linked_trace(app, dataset, reader, standin):
    span = _answer_span(reader, dataset.llm_trace)
    app.goto(f"page=trace&trace_id={span['trace_id']}&span_id={span['span_id']}", ready=".wb-playground-open")
    app.page.locator(".wb-playground-open").first.click()
    app.wait_url(page="playground", span_id=span["span_id"])
    messages = json.loads(span["input_messages"])
    app.wait_count(".wb-msg-content textarea", len(messages))
    original = json.loads(span["output_messages"])[0]["content"]
    app.wait_for(".wb-playground-original", text=original[:40])

    app.page.locator(".wb-msg-content textarea").first.fill("Answer in French.")
    app.page.locator(".wb-msg-content textarea").last.fill("Where is my refund, please?")
    app.page.locator(".wb-pg-parameters textarea").fill('{"temperature": 0.7}')
    standin.script = ["stream-slow:0.12"]
    app.page.locator(".wb-pg-run button").click()

    # Part of the answer is on the page before the endpoint has finished it.
    app.wait_for(f"{ANSWER}[data-state='streaming']", text="Answer:")
    app.wait_for(f"{ANSWER}[data-state='done']", text="Answer: Where is my refund, please?")
    assert original[:40] in app.text(".wb-playground-original")

    sent = standin.requests[-1]
    assert sent["stream"] is True and sent["temperature"] == 0.7 and sent["model"] == span["model_name"]
    assert sent["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert sent["messages"][-1]["content"] == "Where is my refund, please?"
    assert [(m["role"], m["content"]) for m in sent["messages"][1:-1]] == [(m["role"], m["content"])
                                                                         for m in messages[1:-1]]
    # The tool calls of the conversation are sent as the API states them, the call answered kept.
    calls = [m for m in messages if m.get("tool_calls")]
    if calls:
        sent_calls = [m for m in sent["messages"] if m.get("tool_calls")]
        assert sent_calls[0]["tool_calls"][0]["function"]["name"] == calls[0]["tool_calls"][0]["name"]
        assert sent_calls[0]["tool_calls"][0]["id"] == calls[0]["tool_calls"][0]["id"]

    runs = reader.spans(f"attributes['workbench.playground.source_span_id'] == '{span['span_id']}'")
    assert len(runs) >= 1
    run = runs.sort_values("start_time").iloc[-1]
    assert run["output_value"] == "Answer: Where is my refund, please?"
    assert run["project"] == "playground" and run["span_kind"] == "LLM" and run["completion_tokens"] > 0
    assert json.loads(run["links"])[0]["span_id"] == span["span_id"]

    app.page.locator(".wb-pg-run-link").first.click()
    app.wait_url(page="trace", trace_id=run["trace_id"])
    app.wait_for(".wf-row[data-id]", text="playground.chat")


def test_an_endpoint_error_is_said_on_the_page_and_the_run_is_still_recorded(app, dataset, reader, standin):
    span = _answer_span(reader, dataset.llm_trace)
    app.goto(f"page=playground&trace_id={span['trace_id']}&span_id={span['span_id']}", ready=".wb-pg-run")
    app.page.locator(".wb-pg-model input").fill("missing-model")
    app.page.locator(".wb-pg-run button").click()
    app.wait_for(".wb-playground-error", text="does not exist")
    app.wait_for(".wb-pg-run-link")
    failed = reader.spans(f"attributes['workbench.playground.source_span_id'] == '{span['span_id']}' "
                          "and status_code == 'ERROR'")
    assert len(failed) >= 1 and "missing-model" in failed.iloc[0]["status_message"]

    # Parameters that are not JSON are refused before anything is sent.
    sent = len(standin.requests)
    app.page.locator(".wb-pg-parameters textarea").fill("{temperature: hot}")
    app.page.locator(".wb-pg-run button").click()
    app.wait_for(".wb-pg-status", text="not JSON")
    assert len(standin.requests) == sent


def test_the_request_is_saved_as_a_versioned_prompt(app, dataset, reader, loaded_store):
    from workbench.playground import load_prompt

    span = _answer_span(reader, dataset.llm_trace)
    app.goto(f"page=playground&trace_id={span['trace_id']}&span_id={span['span_id']}", ready=".wb-pg-save")
    app.page.locator(".wb-msg-content textarea").first.fill("Be terse.")
    app.page.locator(".wb-pg-prompt-name input").fill("support-answer-pg")
    app.page.locator(".wb-pg-save button").click()
    app.wait_for(".wb-pg-saved", text="version 1")
    app.page.locator(".wb-msg-content textarea").first.fill("Be very terse.")
    app.page.locator(".wb-pg-save button").click()
    app.wait_for(".wb-pg-saved", text="version 2")

    # A saved version opens again in the editor.
    app.page.locator(".wb-pg-open-prompt select").select_option(label="support-answer-pg v1")
    app.wait_for(".wb-pg-saved", text="Opened support-answer-pg version 1")
    assert app.page.locator(".wb-msg-content textarea").first.input_value() == "Be terse."

    latest, version = load_prompt(loaded_store, "support-answer-pg")
    first, _ = load_prompt(loaded_store, "support-answer-pg", 1)
    assert version == 2 and latest.messages[0]["content"] == "Be very terse."
    assert first.messages[0]["content"] == "Be terse." and first.model == span["model_name"]
