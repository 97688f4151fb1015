"""The Trace page's "Copy for an LLM" button puts the whole trace, as Markdown, on the clipboard."""

from __future__ import annotations


def _copy_trace(app, trace_id: str) -> str:
    """Open the trace, press "Copy for an LLM", and return what landed on the clipboard."""
    app.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.base_url)
    app.goto(f"page=trace&trace_id={trace_id}", ready=".wf-row[data-id]")
    app.wait_for("button.wb-copy:enabled", text="Copy for an LLM")
    app.page.locator("button.wb-copy", has_text="Copy for an LLM").click()
    app.wait_for("button.wb-copy", text="Copied")
    return app.page.evaluate("navigator.clipboard.readText()")


def test_copy_for_an_llm_puts_the_trace_as_markdown_on_the_clipboard(app, dataset, reader):
    copied = _copy_trace(app, dataset.llm_trace)
    expected = reader.trace(dataset.llm_trace).to_markdown()
    assert copied.strip() == expected.strip()
    assert copied.startswith(f"# Trace `{dataset.llm_trace}`") and "## Spans" in copied
    # A missing trace has nothing to copy.
    app.goto("page=trace&trace_id=" + "0" * 32, ready=".wb-empty")
    app.wait_for("button.wb-copy:disabled")


def test_the_buttons_budget_is_the_users_setting(app, dataset, reader, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MARKDOWN_CHARS", "800")
    copied = _copy_trace(app, dataset.llm_trace)
    assert copied.startswith(f"# Trace `{dataset.llm_trace}`") and len(copied) <= 800
    assert copied.strip() == reader.trace(dataset.llm_trace).to_markdown(max_chars=800).strip()
