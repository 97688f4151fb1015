"""OpenInference's structured attributes: messages, documents, embeddings, first token.

The scalar fields (model, tokens, cost ...) are read through the tables in
:mod:`workbench.semconv.keys`; this module rebuilds the flattened lists::

    llm.input_messages.0.message.role = "user"
    llm.input_messages.0.message.contents.0.message_content.text = "Hi"
    llm.output_messages.0.message.tool_calls.0.tool_call.function.name = "search"
    retrieval.documents.3.document.score = 0.82
    embedding.embeddings.0.embedding.vector = (0.1, 0.2, ...)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openinference.semconv.trace import DocumentAttributes as D
from openinference.semconv.trace import EmbeddingAttributes as E
from openinference.semconv.trace import MessageAttributes as M
from openinference.semconv.trace import MessageContentAttributes as MC
from openinference.semconv.trace import ToolCallAttributes as T

from workbench.model import Document, Embedding, Event, Message, ToolCall
from workbench.semconv.build import new_document, new_embedding, new_message, new_tool_call
from workbench.semconv.coerce import as_float, as_json, as_str, to_text
from workbench.semconv.indexed import Groups, subgroups

__all__ = ["documents", "embeddings", "first_token_ms", "messages"]

_CONTENTS = M.MESSAGE_CONTENTS + "."
_TOOL_CALLS = M.MESSAGE_TOOL_CALLS + "."
_FIRST_TOKEN_MARKS = ("first token", "first_token", "first-token", "firsttoken")


def messages(groups: Groups | None) -> tuple[Message, ...]:
    """Messages from ``llm.input_messages.*`` or ``llm.output_messages.*`` groups."""
    if not groups:
        return ()
    return tuple([_message(groups[index]) for index in sorted(groups)])


_ROLE, _CONTENT, _NAME, _CALL_ID = (
    M.MESSAGE_ROLE,
    M.MESSAGE_CONTENT,
    M.MESSAGE_NAME,
    M.MESSAGE_TOOL_CALL_ID,
)


def _message(item: Mapping[str, Any]) -> Message:
    get = item.get
    role = get(_ROLE)
    content = get(_CONTENT)
    name = get(_NAME)
    call_id = get(_CALL_ID)
    plain = (role is not None) + (content is not None) + (name is not None) + (call_id is not None)
    if type(content) is not str:
        content = as_str(content)
    tool_calls: tuple[ToolCall, ...] = ()
    if len(item) > plain:  # nested lists or legacy keys are present: look for them
        if content is None:
            # Multimodal messages put text in contents.M.message_content.text instead.
            parts = subgroups(item, _CONTENTS)
            texts = [as_str(parts[i].get(MC.MESSAGE_CONTENT_TEXT)) for i in sorted(parts)]
            content = "\n".join(text for text in texts if text) or None
        calls = subgroups(item, _TOOL_CALLS)
        tool_calls = tuple(
            [
                new_tool_call(
                    id=as_str(calls[i].get(T.TOOL_CALL_ID)),
                    name=as_str(calls[i].get(T.TOOL_CALL_FUNCTION_NAME)),
                    arguments=_text(calls[i].get(T.TOOL_CALL_FUNCTION_ARGUMENTS_JSON)),
                )
                for i in sorted(calls)
            ]
        )
        legacy_name = as_str(item.get(M.MESSAGE_FUNCTION_CALL_NAME))
        if legacy_name is not None:  # OpenAI's pre-tools function_call
            legacy_args = _text(item.get(M.MESSAGE_FUNCTION_CALL_ARGUMENTS_JSON))
            tool_calls += (new_tool_call(name=legacy_name, arguments=legacy_args),)
    return new_message(
        role if type(role) is str and role else as_str(role),
        content,
        None if name is None else as_str(name),
        None if call_id is None else as_str(call_id),
        tool_calls,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else to_text(value)


def documents(groups: Groups | None) -> tuple[Document, ...]:
    """Documents from ``retrieval.documents.*`` or ``reranker.output_documents.*`` groups."""
    if not groups:
        return ()
    return tuple(
        new_document(
            position=index,
            id=as_str(groups[index].get(D.DOCUMENT_ID)),
            content=as_str(groups[index].get(D.DOCUMENT_CONTENT)),
            score=as_float(groups[index].get(D.DOCUMENT_SCORE)),
            metadata=metadata(groups[index].get(D.DOCUMENT_METADATA)),
        )
        for index in sorted(groups)
    )


def metadata(value: Any) -> Mapping[str, Any] | None:
    """Document metadata as a dict: a JSON object is parsed, anything else is wrapped."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    parsed = as_json(value)
    if isinstance(parsed, Mapping):
        return dict(parsed)
    text = to_text(value)
    return {"value": text} if text is not None else None


def embeddings(groups: Groups | None, model: str | None) -> tuple[Embedding, ...]:
    """Embeddings from ``embedding.embeddings.*`` groups; ``model`` applies to all."""
    if not groups:
        return ()
    return tuple(
        new_embedding(
            position=index,
            text=as_str(groups[index].get(E.EMBEDDING_TEXT)),
            vector=vector(groups[index].get(E.EMBEDDING_VECTOR)),
            model=model,
        )
        for index in sorted(groups)
    )


_FLOAT_ONLY = {float}


def vector(value: Any) -> Any:
    """A vector: a tuple of floats (from a sequence or a JSON array text), a one-dimensional
    numpy float array as given (what the OTLP protobuf decoder makes of a double array), or
    ``None``.

    A vector with any non-numeric element is refused whole: a partial vector would
    silently corrupt distances downstream.
    """
    # Fast paths. A tuple is what the OTel SDK (which enforces homogeneous arrays) hands
    # over, a float array what the OTLP decoder does: take them as they are. A list is
    # checked in C.
    if type(value).__name__ == "ndarray":  # numpy's, recognised without importing numpy
        return value if value.ndim == 1 and value.size and value.dtype.kind == "f" else None
    if type(value) is tuple and value and type(value[0]) is float and type(value[-1]) is float:
        return value
    if type(value) is list and value and set(map(type, value)) == _FLOAT_ONLY:
        return tuple(value)
    if isinstance(value, (str, bytes)):
        value = as_json(value)
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or not value:
        return None
    try:
        floats = tuple(float(x) for x in value if not isinstance(x, (bool, str, bytes)))
    except (TypeError, ValueError):
        return None
    return floats if len(floats) == len(value) else None


def first_token_ms(events: Sequence[Event], start_time_ns: int) -> float | None:
    """Time to first token from a first-token span event (OpenInference instrumentors name
    it "First Token Stream Event"; others "first_token"), in milliseconds after the start."""
    for event in events:
        name = getattr(event, "name", None)
        if isinstance(name, str) and any(mark in name.lower() for mark in _FIRST_TOKEN_MARKS):
            time_ns = getattr(event, "time_ns", None)
            if isinstance(time_ns, int) and time_ns >= start_time_ns:
                return (time_ns - start_time_ns) / 1e6
    return None
