"""Named, versioned prompts: a chat request (messages, model, parameters) saved in the store.

::

    from workbench.playground import load_prompt, save_prompt

    version = save_prompt(store, "support-answer", request)      # 1, then 2 ...
    request, version = load_prompt(store, "support-answer")      # the latest
    task = prompt_task(store, "support-answer")                  # an experiment's task ({input} in the user message)

Saving a name again adds the next version; old versions stay readable.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from workbench.errors import CapabilityError, ConfigError, NotFoundError
from workbench.playground.request import ChatRequest
from workbench.store.prompts import add_prompt_version, prompt_rows

__all__ = ["list_prompts", "load_prompt", "prompt_task", "save_prompt"]


def _store(where: Any) -> Any:
    store = where if callable(getattr(where, "execute_write", None)) else getattr(where, "store", None)
    if store is None or not callable(getattr(store, "execute_write", None)):
        raise CapabilityError(f"Cannot keep prompts in a {type(where).__name__}; pass a Store, or a reader over "
                              "a writable store (the app's).")
    return store


def save_prompt(where: Any, name: str, request: ChatRequest, *, source_span_id: str | None = None) -> int:
    """Save ``request`` as the next version of prompt ``name``; return the version.

    Raises:
        ConfigError: No name, or no message with text.
        CapabilityError: ``where`` cannot be written to.
    """
    name = (name or "").strip()
    if not name:
        raise ConfigError("A prompt needs a name, such as 'support-answer'.")
    if not any(str(m.get("content") or "").strip() for m in request.messages):
        raise ConfigError(f"Prompt {name!r} has no message with text; write at least one before saving.")
    row = {"name": name, "model": request.model or None,
           "messages": json.dumps(list(request.messages), ensure_ascii=False),
           "parameters": json.dumps(dict(request.parameters), ensure_ascii=False, default=str),
           "source_span_id": source_span_id}
    return int(_store(where).execute_write(add_prompt_version(row)))


def load_prompt(where: Any, name: str, version: int | None = None) -> tuple[ChatRequest, int]:
    """The request saved as prompt ``name`` (its latest version, or ``version``), and its version.

    Raises:
        NotFoundError: No such prompt or version (the message lists the prompts saved).
    """
    store = _store(where)
    rows = prompt_rows(store, name, version).to_pylist()
    if not rows:
        known = sorted(set(prompt_rows(store).column("name").to_pylist()))
        what = f"version {version} of prompt {name!r}" if version is not None else f"prompt {name!r}"
        raise NotFoundError(f"There is no {what}; saved prompts: {', '.join(known) or 'none'}.")
    row = rows[0]
    request = ChatRequest(messages=json.loads(row["messages"] or "[]"), model=row["model"] or "",
                          parameters=json.loads(row["parameters"] or "{}"))
    return request, int(row["version"])


def list_prompts(where: Any) -> pd.DataFrame:
    """Every saved prompt version: name, version, created_at, model, messages, parameters, source_span_id."""
    return prompt_rows(_store(where)).to_pandas()


def prompt_task(where: Any, name: str, version: int | None = None, *, base_url: str | None = None,
                api_key: str | None = None, stream: bool = False) -> Any:
    """A saved prompt as an experiment's task (a :class:`~workbench.experiments.PromptTask`).

    The prompt's system message and its last user message become the task's system message
    and template: write ``{input}`` (or an input field's name) in that message where each
    example's input goes. Its model and parameters are the task's.

    Args:
        where: Where the prompt is saved.
        name: The prompt; ``version`` its version (default: the latest).
        base_url, api_key: The endpoint (default: ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``).
        stream: Ask for streamed answers (time to first token is then recorded).

    Raises:
        NotFoundError: No such prompt or version.
        ConfigError: The prompt has no user message with a ``{placeholder}``, or no model.
    """
    import string

    from workbench.config import openai_endpoint
    from workbench.experiments import PromptTask

    request, found = load_prompt(where, name, version)
    users = [m for m in request.messages if m.get("role") == "user" and m.get("content")]
    template = str(users[-1]["content"]) if users else ""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    except ValueError:
        fields = []
    if not fields:
        raise ConfigError(f"Prompt {name!r} version {found} has no user message with a placeholder such as "
                          "{input}; write {input} where each example's input goes, and save it again.")
    endpoint = openai_endpoint()
    model = request.model or endpoint["model"]
    if not model:
        raise ConfigError(f"Prompt {name!r} version {found} names no model; set one and save it again.")
    system = next((str(m["content"]) for m in request.messages if m.get("role") == "system" and m.get("content")),
                  None)
    return PromptTask(template, str(model), system=system, base_url=base_url or str(endpoint["base_url"]),
                      api_key=api_key or endpoint["api_key"], params=request.parameters, stream=stream,
                      name=f"prompt:{name}@{found}")
