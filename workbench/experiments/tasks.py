"""What an experiment runs on each example: a Python function, or a prompt sent to a model.

A Python task is any callable, ``async`` ones included. It gets the example's input; one whose
parameters are named ``input``, ``expected``, ``metadata`` or ``example`` gets those by name
instead. It returns
the output (any JSON value), or a :class:`TaskOutput` to report tokens and the model too.

A :class:`PromptTask` fills a template's ``{placeholders}`` from the example (a text input is
``{input}``; an object input gives each of its fields, and metadata fields are there too)
and sends it to any OpenAI-compatible chat-completions endpoint, retrying as the LLM judge
does (:mod:`workbench.evals.llm`: backoff with jitter, honouring ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import inspect
import json
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import ConfigError, WorkbenchError
from workbench.model import TokenUsage
from workbench.pricing.effective import effective_table
from workbench.pricing.maths import call_cost

__all__ = ["PromptTask", "TaskOutput", "describe", "estimate_cost", "load_callable", "price_of"]


@dataclass(frozen=True)
class TaskOutput:
    """A task's output with what the call took (all but ``output`` optional)."""

    output: Any
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    model: str | None = None
    provider: str | None = None
    cost: float | None = None
    time_to_first_token_ms: float | None = None
    messages: list[dict[str, str]] = field(default_factory=list)


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise ConfigError(
            f"The template's {{{key}}} is not a field of the example (it has {', '.join(sorted(self))}); "
            "name an input field, a metadata field, or {input}."
        )


def fields_of(input: Any, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values a template's placeholders can name for one example."""
    values: dict[str, Any] = {str(k): v for k, v in (metadata or {}).items()}
    if isinstance(input, Mapping):
        values.update({str(k): v for k, v in input.items()})
        values["input"] = json.dumps(input, ensure_ascii=False)
    else:
        values["input"] = input if isinstance(input, str) else json.dumps(input, ensure_ascii=False)
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in values.items()}


class PromptTask:
    """A prompt template sent to a chat model, as an experiment's task.

    Args:
        template: The user message, with ``{placeholders}`` (``{input}`` or the input's fields;
            ``{{`` for a literal brace).
        model: The model name the endpoint knows.
        system: An optional system message (placeholders are filled in it too).
        base_url: The API root, up to ``/v1`` (default OpenAI's).
        api_key: Sent as a bearer token; local servers usually need none.
        params: Request parameters: ``temperature``, ``max_tokens``, ``top_p`` ...
        stream: Ask for a streamed answer (time to first token is then recorded).
        provider: The provider, for pricing (default: guessed from the model name).
        timeout, max_retries, backoff: As for :class:`~workbench.evals.LLMJudge`.
        name: How the task is described in the experiment (default ``prompt:MODEL``).
    """

    def __init__(self, template: str, model: str, *, system: str | None = None,
                 base_url: str = "https://api.openai.com/v1", api_key: str | None = None,
                 params: Mapping[str, Any] | None = None, stream: bool = False, provider: str | None = None,
                 timeout: float = 60.0, max_retries: int = 4, backoff: float = 1.0, name: str | None = None) -> None:
        from workbench.evals.llm import LLMJudge

        for text in (template, system or ""):
            try:
                list(string.Formatter().parse(text))
            except ValueError as exc:
                raise ConfigError(f"The template cannot be read ({exc}); write {{{{ for a literal brace.") from None
        self.template = template
        self.system = system
        self.model = model
        self.params = dict(params or {})
        self.stream = stream
        self.provider = provider
        self.name = name or f"prompt:{model}"
        self._client = LLMJudge(model, base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries,
                                backoff=backoff, json_mode=False, role="task endpoint")

    def __repr__(self) -> str:
        return f"PromptTask(model={self.model!r}, base_url={self._client.base_url!r})"

    @property
    def base_url(self) -> str:
        """The endpoint's API root."""
        return self._client.base_url

    def describe(self) -> dict[str, Any]:
        """What the experiment records of the task (its ``params``)."""
        return {"template": self.template, "system": self.system, "model": self.model, "params": self.params,
                "base_url": self.base_url, "stream": self.stream}

    def messages(self, input: Any, metadata: Mapping[str, Any] | None = None) -> list[dict[str, str]]:
        """The chat messages for one example."""
        values = _Fields(fields_of(input, metadata))
        out = []
        if self.system:
            out.append({"role": "system", "content": self.system.format_map(values)})
        out.append({"role": "user", "content": self.template.format_map(values)})
        return out

    def __call__(self, input: Any, metadata: Mapping[str, Any] | None = None) -> TaskOutput:
        messages = self.messages(input, metadata)
        body: dict[str, Any] = {"model": self.model, "messages": messages, **self.params}
        if self.stream:
            body["stream"] = True
            body.setdefault("stream_options", {"include_usage": True})
        payload = self._client.post(body)
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise WorkbenchError(
                f"The task endpoint {self.base_url} answered without choices[0].message.content "
                f"({json.dumps(payload)[:200]}); check that it speaks the OpenAI chat-completions API."
            ) from None
        usage = payload.get("usage") or {}
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        return TaskOutput(
            content, prompt, completion, payload.get("model") or self.model, self.provider,
            price_of(self.model, self.provider, prompt, completion), payload.get("time_to_first_token_ms"), messages,
        )


def price_of(model: str | None, provider: str | None, prompt: int | None, completion: int | None) -> float | None:
    """What one call cost by the price table (the user's prices included); None when unknown."""
    if not model or (prompt is None and completion is None):
        return None
    match = effective_table().match(model, provider, dt.datetime.now(dt.timezone.utc))
    total = (prompt or 0) + (completion or 0)
    price = None if match is None else match.price
    return call_cost(TokenUsage(prompt=prompt, completion=completion, total=total), price)


def estimate_cost(task: PromptTask, examples: Any, *, output_tokens: int | None = None) -> dict[str, Any]:
    """What running ``task`` over ``examples`` (a DataFrame with ``input`` and ``metadata``)
    would cost, before anything is sent: prompt tokens counted at about four characters each,
    output tokens at ``output_tokens`` (default the task's ``max_tokens``, else 256) per example.

    Returns:
        ``examples``, ``prompt_tokens``, ``completion_tokens``, ``cost`` (None when the model
        has no price) and ``priced`` (whether it has one).
    """
    chars = 0
    count = 0
    for row in examples.itertuples(index=False):
        chars += sum(len(m["content"]) + 4 for m in task.messages(row.input, row.metadata))
        count += 1
    prompt = int(chars / 4) + 1 if count else 0
    each = output_tokens if output_tokens is not None else int(task.params.get("max_tokens") or 256)
    completion = each * count
    cost = price_of(task.model, task.provider, prompt, completion) if count else 0.0
    return {"examples": count, "prompt_tokens": prompt, "completion_tokens": completion, "cost": cost,
            "priced": cost is not None}


def describe(task: Any) -> str:
    """How an experiment names its task: ``module:function``, or the task's own ``name``."""
    name = getattr(task, "name", None)
    if isinstance(name, str) and not callable(getattr(task, "__func__", None)) and not inspect.isfunction(task):
        return name
    module = getattr(task, "__module__", None) or "?"
    qualname = getattr(task, "__qualname__", None) or type(task).__name__
    return f"{module}:{qualname}"


def call_with(task: Callable[..., Any], example: Mapping[str, Any]) -> Any:
    """Call a Python task with what its parameters name of ``example`` (see the module); an
    ``async`` task is awaited (in an event loop of the worker thread's own)."""
    if isinstance(task, PromptTask):
        return task(example["input"], example.get("metadata"))
    try:
        parameters = list(inspect.signature(task).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    known = ("input", "expected", "metadata", "example")
    named = [p.name for p in parameters if p.name in known]
    if named:
        result = task(**{k: (example if k == "example" else example.get(k)) for k in named})
    else:
        result = task(example["input"])
    if inspect.isawaitable(result):
        return asyncio.run(_awaited(result))
    return result


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def load_callable(spec: str, what: str = "task") -> Any:
    """The object ``module:name`` (``package.module:Class.method`` too), imported.

    Raises:
        ConfigError: The module cannot be imported or has no such name.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"{what} {spec!r} is not module:function, e.g. myapp.evals:answer.")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"Cannot import the {what}'s module {module_name!r} ({exc}); run from the folder that holds it, "
            "or set PYTHONPATH."
        ) from None
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ConfigError(f"The module {module_name!r} has no {attribute!r}; check the {what}'s name.") from None
    if not callable(found):
        raise ConfigError(f"{spec} is a {type(found).__name__}, not a function; name a function.")
    return found
