"""One-line instrumentation: :func:`instrument` wires every installed OpenInference instrumentor.

::

    import workbench

    workbench.register(project_name="support-bot")
    workbench.instrument()                       # every library below that is installed
    workbench.instrument("openai", "langchain")  # or just these

:data:`INSTRUMENTORS` is the table of libraries it knows: the library's import name, and the
OpenInference instrumentor (module, class and the package that ships it); any other installed
OpenInference instrumentor is found by its entry point (:func:`discovered`). A library that is
not installed is skipped; one that is installed without its instrumentor, or named but not
installed, or whose instrumentor declines it (a version it does not support), is reported in
the result and in one log line, never raised.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import ConfigError

__all__ = ["INSTRUMENTORS", "Instrumented", "Instrumentor", "discovered", "instrument"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Instrumentor:
    """One library and the OpenInference instrumentor that traces it.

    Attributes:
        library: The name :func:`instrument` takes (``"openai"``).
        imports: The library's import name, whose presence says it is installed.
        module: The instrumentor's module.
        cls: The instrumentor's class in that module.
        pip: The package that ships the instrumentor.
    """

    library: str
    imports: str
    module: str
    cls: str
    pip: str


def _row(library: str, imports: str, cls: str, short: str | None = None) -> Instrumentor:
    short = short or library
    return Instrumentor(library, imports, f"openinference.instrumentation.{short}", cls,
                        f"openinference-instrumentation-{short.replace('_', '-')}")


_PREFIX = "openinference-instrumentation-"

#: Every library :func:`instrument` knows, by the name it takes.
INSTRUMENTORS: dict[str, Instrumentor] = {
    row.library: row
    for row in [
        _row("openai", "openai", "OpenAIInstrumentor"),
        _row("anthropic", "anthropic", "AnthropicInstrumentor"),
        _row("langchain", "langchain_core", "LangChainInstrumentor"),
        _row("llama_index", "llama_index.core", "LlamaIndexInstrumentor"),
        _row("bedrock", "boto3", "BedrockInstrumentor"),
        _row("mistralai", "mistralai", "MistralAIInstrumentor"),
        _row("groq", "groq", "GroqInstrumentor"),
        _row("dspy", "dspy", "DSPyInstrumentor"),
        _row("litellm", "litellm", "LiteLLMInstrumentor"),
        _row("vertexai", "vertexai", "VertexAIInstrumentor"),
        _row("google_genai", "google.genai", "GoogleGenAIInstrumentor"),
        _row("haystack", "haystack", "HaystackInstrumentor"),
        _row("crewai", "crewai", "CrewAIInstrumentor"),
        _row("openai_agents", "agents", "OpenAIAgentsInstrumentor"),
        _row("smolagents", "smolagents", "SmolagentsInstrumentor"),
        _row("instructor", "instructor", "InstructorInstrumentor"),
        _row("guardrails", "guardrails", "GuardrailsInstrumentor"),
        _row("mcp", "mcp", "MCPInstrumentor"),
    ]
}


@dataclass
class Instrumented:
    """What :func:`instrument` did.

    Attributes:
        instrumented: The libraries now traced.
        missing: Libraries that could not be traced, each with what to install.
        failed: Instrumentors that raised while wiring, with the error.
    """

    instrumented: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.instrumented)

    def __contains__(self, library: object) -> bool:
        return library in self.instrumented

    def __iter__(self) -> Iterator[str]:
        return iter(self.instrumented)

    def __len__(self) -> int:
        return len(self.instrumented)

    def __str__(self) -> str:
        parts = [f"instrumented: {', '.join(self.instrumented) or 'nothing'}"]
        parts += [f"{name}: {why}" for name, why in {**self.missing, **self.failed}.items()]
        return "; ".join(parts)


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken one
        return False


def _provider(tracer_provider: Any) -> Any:
    """The provider to wire to: the one given, else the process's current one (made if none)."""
    if tracer_provider is not None:
        return tracer_provider
    from opentelemetry import trace

    from workbench.collector.current import CURRENT

    if CURRENT.provider is None:
        from workbench.instrument import register

        return register()
    # Through the following provider, instrumented calls go to whichever provider a later
    # register() or launch() makes current.
    return CURRENT if trace.get_tracer_provider() is CURRENT else CURRENT.provider


def discovered() -> dict[str, Instrumentor]:
    """OpenInference instrumentors installed but not in :data:`INSTRUMENTORS`, by library name.

    Each OpenInference package declares its instrumentor as an ``opentelemetry_instrumentor``
    entry point; the library name is the package's after ``openinference-instrumentation-``
    (``openinference-instrumentation-pydantic-ai`` gives ``pydantic_ai``).
    """
    from importlib.metadata import entry_points

    known = {row.module for row in INSTRUMENTORS.values()}
    found: dict[str, Instrumentor] = {}
    for point in entry_points(group="opentelemetry_instrumentor"):
        dist = getattr(point, "dist", None)
        package = (getattr(dist, "name", None) or "").lower().replace("_", "-")
        module, _, cls = point.value.partition(":")
        if not package.startswith(_PREFIX) or not cls or module in known:
            continue
        library = package.removeprefix(_PREFIX).replace("-", "_")
        if library not in INSTRUMENTORS:
            found.setdefault(library, Instrumentor(library, module, module, cls.strip(), package))
    return found


def _wire(row: Instrumentor, provider: Any) -> str | None:
    """Wire the row's instrumentor to ``provider``; what kept it from tracing, or None."""
    instrumentor = getattr(importlib.import_module(row.module), row.cls)()
    if getattr(instrumentor, "is_instrumented_by_opentelemetry", False):
        instrumentor.uninstrument()  # wired before, maybe to another provider: once, to this one
    instrumentor.instrument(tracer_provider=provider)
    if getattr(instrumentor, "is_instrumented_by_opentelemetry", True):
        return None
    # OpenTelemetry's instrumentors decline, with a log line only, when the library they trace
    # is missing or of a version they do not support.
    check = getattr(instrumentor, "_check_dependency_conflicts", None)
    conflict = check() if callable(check) else None
    return f"not traced: {conflict}" if conflict else "not traced: its instrumentor declined to wire"


def instrument(*libraries: str, tracer_provider: Any = None) -> Instrumented:
    """Trace the named libraries (default: every installed one) with OpenInference instrumentors.

    Spans go to ``tracer_provider``, else to the provider :func:`workbench.register` made in
    this process (and to the next one it makes), else to one it makes now with the defaults.
    After ``register(set_global=False)``, pass that provider as ``tracer_provider``.

    Args:
        libraries: Names from :data:`INSTRUMENTORS` (``"openai"``, ``"langchain"`` ...).
        tracer_provider: An OpenTelemetry ``TracerProvider`` to send the spans to instead.

    Returns:
        What was instrumented, and what was missing (with the package to install).

    Raises:
        ConfigError: A name is not one :data:`INSTRUMENTORS` knows.
    """
    chosen = _choose(libraries)
    result = Instrumented()
    wanted: list[Instrumentor] = []
    for row in chosen:
        if not _installed(row.imports):
            if libraries:  # asked for by name: say it is not there
                result.missing[row.library] = f"not installed ({row.imports} cannot be imported)"
            continue
        if not _installed(row.module):
            result.missing[row.library] = f"no instrumentor (pip install {row.pip})"
            continue
        wanted.append(row)
    provider = _provider(tracer_provider) if wanted else None
    for row in wanted:
        try:
            declined = _wire(row, provider)
        except Exception as exc:  # noqa: BLE001 - a third-party instrumentor's failure is reported, never raised
            result.failed[row.library] = f"{type(exc).__name__}: {exc}"
        else:
            if declined:
                result.missing[row.library] = declined
            else:
                result.instrumented.append(row.library)
    if result.missing or result.failed:
        logger.warning("workbench.instrument(): %s", result)
    return result


def _choose(libraries: Sequence[str]) -> list[Instrumentor]:
    known = {**INSTRUMENTORS, **discovered()}
    if not libraries:
        return list(known.values())
    rows = []
    for name in libraries:
        key = str(name).strip().lower().replace("-", "_")
        key = {"llamaindex": "llama_index", "mistral": "mistralai", "google-genai": "google_genai"}.get(key, key)
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the known ones are {', '.join(known)}."
            raise ConfigError(f"workbench.instrument() does not know the library {name!r}; {hint}")
        rows.append(known[key])
    return rows
