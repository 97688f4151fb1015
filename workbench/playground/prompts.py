"""Named, versioned prompts: a chat request (messages, model, parameters) saved in the store.

::

    from workbench.playground import load_prompt, save_prompt

    version = save_prompt(store, "support-answer", request)      # 1, then 2 ...
    request, version = load_prompt(store, "support-answer")      # the latest
    prompt_template(request)                                     # one text, {input} where the question goes

Saving a name again adds the next version; old versions stay readable.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from workbench.errors import CapabilityError, ConfigError, NotFoundError
from workbench.playground.request import ChatRequest
from workbench.store.prompts import add_prompt_version, prompt_rows

__all__ = ["list_prompts", "load_prompt", "save_prompt"]


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
