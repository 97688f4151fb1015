"""workbench.instrument(): the real OpenInference OpenAI instrumentor, a real OpenAI client,
and a local OpenAI-compatible server on 127.0.0.1; the calls land in the store as LLM spans."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import workbench
from tests.helpers import wait_for
from workbench.errors import ConfigError
from workbench.instrumentors import INSTRUMENTORS, instrument


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = "Echo: " + body["messages"][-1]["content"]
        answer = json.dumps({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def openai_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _uninstrument() -> Iterator[None]:
    yield
    from openinference.instrumentation.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


def _spans(wb: Any) -> Any:
    """The store's spans, once there are any."""
    found: list[Any] = []
    wait_for(lambda: len(found.append(wb.spans()) or found[-1]))
    return found[-1]


def _ask(url: str, question: str) -> str:
    import openai

    client = openai.OpenAI(base_url=url, api_key="sk-local-test", max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
    return reply.choices[0].message.content or ""


def test_register_then_instrument_records_openai_calls_as_llm_spans(db_path, openai_url):
    workbench.register(project_name="bot", db=db_path)
    done = workbench.instrument()

    assert "openai" in done.instrumented and not done.failed and "openai" in list(done)
    assert _ask(openai_url, "Why was I charged twice?") == "Echo: Why was I charged twice?"
    wb = workbench.open(db_path)
    spans = _spans(wb)
    llm = spans.iloc[0]
    assert (llm["span_kind"], llm["model_name"], llm["project"]) == ("LLM", "gpt-4o-mini", "bot")
    assert (llm["prompt_tokens"], llm["completion_tokens"]) == (11, 7)
    assert "Why was I charged twice?" in llm["input_messages"]


def test_an_explicit_provider_gets_the_spans(db_path, openai_url):
    provider = workbench.register(project_name="mine", db=db_path, set_global=False)
    assert instrument("openai", tracer_provider=provider).instrumented == ["openai"]
    _ask(openai_url, "to whom?")
    provider.force_flush()
    wb = workbench.open(db_path)
    assert list(_spans(wb)["project"]) == ["mine"]


def test_instrument_without_register_makes_a_provider(openai_url):
    from workbench.collector.current import CURRENT

    CURRENT.release(CURRENT.provider)  # as in a fresh process: nothing registered yet
    done = instrument("openai")

    assert done.instrumented == ["openai"]
    _ask(openai_url, "hello")
    wb = workbench.open()  # the default file, in the test's own HOME
    assert wait_for(lambda: len(wb.spans()) == 1)


def test_instrumenting_twice_records_each_call_once(db_path, openai_url):
    workbench.register(db=db_path)
    instrument("openai")
    instrument("openai")
    _ask(openai_url, "once")
    wb = workbench.open(db_path)
    wait_for(lambda: len(wb.spans()) >= 1)
    assert len(wb.spans()) == 1


def test_a_later_register_receives_the_instrumented_calls(tmp_path, openai_url):
    workbench.register(project_name="first", db=tmp_path / "first.duckdb")
    instrument("openai")
    workbench.register(project_name="second", db=tmp_path / "second.duckdb")
    _ask(openai_url, "where do I go?")
    wb = workbench.open(tmp_path / "second.duckdb")  # the file of the current provider
    spans = _spans(wb)
    assert list(spans["project"]) == ["second"]


def test_a_named_library_that_is_not_installed_is_reported_not_raised(db_path, caplog):
    workbench.register(db=db_path)
    absent = [name for name, row in INSTRUMENTORS.items()
              if not __import__("importlib.util").util.find_spec(row.imports.split(".")[0])]
    assert absent, "every known library is installed here"
    with caplog.at_level(logging.WARNING, logger="workbench.instrumentors"):
        done = instrument("openai", absent[0])

    assert done.instrumented == ["openai"]
    assert absent[0] in done.missing and "not installed" in done.missing[absent[0]]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and absent[0] in warnings[0].getMessage()


def test_an_installed_library_without_its_instrumentor_names_the_package(monkeypatch, db_path):
    from workbench import instrumentors

    workbench.register(db=db_path)
    fake = instrumentors.Instrumentor("jsonlib", "json", "openinference.instrumentation.jsonlib", "X",
                                      "openinference-instrumentation-jsonlib")
    monkeypatch.setitem(instrumentors.INSTRUMENTORS, "jsonlib", fake)
    done = instrument()

    assert "openinference-instrumentation-jsonlib" in done.missing["jsonlib"]
    assert "openai" in done.instrumented


def test_an_unknown_name_is_a_config_error_with_a_suggestion():
    with pytest.raises(ConfigError, match="did you mean 'langchain'"):
        instrument("langchian")


_FAKE_INSTRUMENTOR = '''
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

PROVIDERS = []


class {cls}(BaseInstrumentor):
    def instrumentation_dependencies(self):
        return {deps!r}

    def _instrument(self, **kwargs):
        PROVIDERS.append(kwargs.get("tracer_provider"))

    def _uninstrument(self, **kwargs):
        pass
'''


def _install(site: Any, library: str, deps: tuple[str, ...]) -> str:
    """A real distribution on ``site`` (a folder on sys.path): an OpenInference-named package
    whose entry point names an instrumentor of ``library``, as pip would leave it."""
    module, cls = f"{library}_tracing", f"{library.title()}Instrumentor"
    (site / f"{module}.py").write_text(_FAKE_INSTRUMENTOR.format(cls=cls, deps=deps))
    package = f"openinference-instrumentation-{library}"
    info = site / f"openinference_instrumentation_{library}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[opentelemetry_instrumentor]\n{library} = {module}:{cls}\n")
    return module


def test_any_installed_openinference_instrumentor_is_found_by_its_entry_point(tmp_path, monkeypatch, db_path):
    import importlib

    monkeypatch.syspath_prepend(str(tmp_path))
    traced = _install(tmp_path, "wobble", ())
    _install(tmp_path, "absentlib", ("absentlib-not-installed-anywhere >= 1",))
    provider = workbench.register(db=db_path)
    done = instrument()
    assert "wobble" in done.instrumented and "openai" in done.instrumented
    assert importlib.import_module(traced).PROVIDERS, "the found instrumentor was wired"
    assert "absentlib" not in done.instrumented  # its instrumentor declined: reported, never claimed
    assert "absentlib-not-installed-anywhere" in done.missing["absentlib"]
    assert instrument("wobble", tracer_provider=provider).instrumented == ["wobble"]
