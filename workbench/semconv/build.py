"""Quick constructors for the model's frozen dataclasses.

A frozen dataclass's ``__init__`` writes each field through ``object.__setattr__``; on
this project's machines that is about 100 ns a field, and :class:`~workbench.model.Span`
has 37 fields and is built once per ingested span. :func:`constructor` generates, for a
frozen dataclass with slots, a function with the same parameters that writes the slots
directly: the same object, two to three times as fast. Call it with keywords; that keeps
it right whatever order the model declares its fields in.

The shortcut is taken only while the class is a plain dataclass (slots, every field in
``__init__``, no ``__post_init__``). If the model ever gains validation or changes shape,
:func:`constructor` returns the class itself, so correctness never rests on the shortcut.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from workbench.model import Document, Embedding, Message, RawSpan, Span, TokenUsage, ToolCall

__all__ = [
    "constructor",
    "new_document",
    "new_embedding",
    "new_message",
    "new_raw_span",
    "new_span",
    "new_tokens",
    "new_tool_call",
    "with_evaluations",
]

T = TypeVar("T")


def constructor(cls: type[T]) -> Callable[..., T]:
    """A function that builds ``cls`` from keyword arguments, like ``cls(**kwargs)``."""
    if (
        not dataclasses.is_dataclass(cls)
        or hasattr(cls, "__post_init__")
        or "__slots__" not in cls.__dict__
    ):
        return cls
    namespace: dict[str, Any] = {
        "_new": object.__new__,
        "_cls": cls,
        "_MISSING": dataclasses.MISSING,
    }
    params: list[str] = []
    body: list[str] = []
    for number, field in enumerate(dataclasses.fields(cls)):
        setter = getattr(cls.__dict__.get(field.name), "__set__", None)
        if not field.init or field.kw_only is True or setter is None:
            return cls
        namespace[f"_set{number}"] = setter
        if field.default is not dataclasses.MISSING:
            namespace[f"_default{number}"] = field.default
            params.append(f"{field.name}=_default{number}")
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory{number}"] = field.default_factory
            params.append(f"{field.name}=_MISSING")
            body.append(f"    if {field.name} is _MISSING: {field.name} = _factory{number}()")
        else:
            params.append(field.name)
        body.append(f"    _set{number}(self, {field.name})")
    source = "\n".join(
        [f"def build({', '.join(params)}):", "    self = _new(_cls)", *body, "    return self"]
    )
    exec(compile(source, f"<constructor of {cls.__qualname__}>", "exec"), namespace)
    build: Callable[..., T] = namespace["build"]
    build.__doc__ = f"Build a {cls.__qualname__} (see workbench.semconv.build)."
    return build


# The constructors semconv uses, made once at import.
new_span = constructor(Span)
new_raw_span = constructor(RawSpan)
new_message = constructor(Message)
new_tool_call = constructor(ToolCall)
new_tokens = constructor(TokenUsage)
new_document = constructor(Document)
new_embedding = constructor(Embedding)


_SET_EVALUATIONS = Span.__dict__["evaluations"].__set__


def with_evaluations(span: Span, evaluations: tuple[Any, ...]) -> Span:
    """Fill in ``span.evaluations`` on a span just built, before anyone else sees it."""
    _SET_EVALUATIONS(span, evaluations)
    return span
