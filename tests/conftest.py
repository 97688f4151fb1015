"""Shared fixtures: a store in a temp file, a real server on a free port, span makers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_span
from workbench.model import Document, Embedding, Message, Span, SpanKind, StatusCode, TokenUsage


@pytest.fixture(scope="session", autouse=True)
def _no_user_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Unset every ``WORKBENCH_*`` variable of the shell that runs the tests, once, and point
    HOME at a folder of the run's own for what is set up before a test (module fixtures).

    Fixtures and tests that want a setting set it themselves (``monkeypatch``), and keep it.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("WORKBENCH_")]:
            patch.delenv(name)
        home = tmp_path_factory.mktemp("session-home")
        patch.setenv("HOME", str(home))
        patch.setenv("USERPROFILE", str(home))
        yield


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test away from the user's ``~/.workbench``: HOME is a fresh folder per test,
    so the default database, price file and config file are the test's own. Subprocesses
    inherit it."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    return home


# Fixtures that start chromium: a test using any of them is a browser test.
BROWSER_FIXTURES = frozenset({"browser", "app", "jupyter_page"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a page in headless chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that starts chromium, so ``-m "not browser"`` skips all of them."""
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless chromium, one for the whole run: Playwright's sync API allows one per thread."""
    from tests.app.browser import CHROMIUM, CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "workbench.duckdb"


@pytest.fixture
def store(db_path: Path) -> Iterator[Any]:
    from workbench.store import Store

    s = Store(db_path)
    yield s
    s.close()


@pytest.fixture
def rag_spans() -> list[Span]:
    """One RAG trace: CHAIN root, EMBEDDING, RETRIEVER with documents, LLM with messages."""
    return [
        make_span(0, kind=SpanKind.CHAIN, name="rag", duration_ms=1000, input_value="How do refunds work?",
                  output_value="Within 30 days.", session_id="s-1", user_id="u-1"),
        make_span(1, parent=0, kind=SpanKind.EMBEDDING, name="embed", start_ms=10, duration_ms=40,
                  model_name="all-MiniLM-L6-v2",
                  embeddings=(Embedding(0, "How do refunds work?", (0.6, 0.8, 0.0), "all-MiniLM-L6-v2"),),
                  attributes={"openinference.span.kind": "EMBEDDING",
                              "embedding.embeddings.0.embedding.vector": [0.6, 0.8, 0.0],
                              "embedding.embeddings.0.embedding.text": "How do refunds work?"}),
        make_span(2, parent=0, kind=SpanKind.RETRIEVER, name="retrieve", start_ms=60, duration_ms=200,
                  documents=(Document(0, "kb-1", "Refunds within 30 days.", 0.91, {"topic": "billing"}),
                             Document(1, "kb-2", "Invoices are monthly.", 0.42, None))),
        make_span(3, parent=0, kind=SpanKind.LLM, name="llm", start_ms=300, duration_ms=650,
                  model_name="gpt-4o", provider="openai",
                  tokens=TokenUsage(prompt=120, completion=30, total=150, cache_read=100, prompt_includes_cache=True),
                  time_to_first_token_ms=210.0,
                  input_messages=(Message("system", "Be brief."), Message("user", "How do refunds work?")),
                  output_messages=(Message("assistant", "Within 30 days."),),
                  status_code=StatusCode.OK),
    ]


@pytest.fixture
def server(store):
    """A real workbench server on a free port of 127.0.0.1, serving ``store``."""
    from workbench.server import Server

    srv = Server(store, host="127.0.0.1", port=0, app=False, decode_workers=0).start()
    yield srv
    srv.stop()
