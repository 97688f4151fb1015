"""OTLP protobuf bodies whose text is not valid UTF-8: repaired, so one bad string costs no batch.

Protobuf refuses a whole message when one ``string`` field holds bytes that are not UTF-8 (a
lone surrogate written by a careless encoder, a truncated multi-byte character). That would
turn 512 good spans into one 400. :func:`repair_utf8` reads such a body with a twin of the
OTLP schema in which every ``string`` field is ``bytes`` (the same wire format), replaces each
invalid sequence with U+FFFD, notes the change under the ``workbench.repaired`` attribute of
each span it touched (or of every span of a resource or scope it touched), and returns a
body the real schema reads. It runs only after the real schema has refused a body.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["repair_utf8"]

_REQUEST = "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"
_NOTE = "text: invalid UTF-8 replaced by U+FFFD"


@lru_cache(maxsize=1)
def _lenient() -> tuple[type, frozenset[tuple[str, str]]]:
    """The request class with every string field as bytes, and those (message, field) names."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    pool = descriptor_pool.DescriptorPool()
    texts: set[tuple[str, str]] = set()
    for module in (common_pb2, resource_pb2, trace_pb2, trace_service_pb2):  # dependencies first
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        stack = [(proto.package, message) for message in proto.message_type]
        while stack:
            prefix, message = stack.pop()
            name = f"{prefix}.{message.name}"
            stack += [(name, nested) for nested in message.nested_type]
            for field in message.field:
                if field.type == field.TYPE_STRING:
                    field.type = field.TYPE_BYTES
                    texts.add((name, field.name))
        pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(_REQUEST)), frozenset(texts)


def _fix(message: Any, texts: frozenset[tuple[str, str]]) -> bool:
    """Replace invalid UTF-8 in every text field under ``message``; whether anything changed."""
    changed = False
    full_name = message.DESCRIPTOR.full_name
    for field, value in message.ListFields():
        if (full_name, field.name) in texts:
            if _repeated(field):
                for i, item in enumerate(value):
                    good = _valid(item)
                    if good is not item:
                        value[i] = good
                        changed = True
            else:
                good = _valid(value)
                if good is not value:
                    setattr(message, field.name, good)
                    changed = True
        elif field.message_type is not None:
            if _repeated(field):
                for item in value:
                    changed = _fix(item, texts) or changed
            else:
                changed = _fix(value, texts) or changed
    return changed


def _repeated(field: Any) -> bool:
    repeated = getattr(field, "is_repeated", None)  # protobuf 6+; older ones have only `label`
    if repeated is None:
        return field.label == field.LABEL_REPEATED
    return bool(repeated)


def _valid(data: bytes) -> bytes:
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace").encode("utf-8")


def _flag(span: Any) -> None:
    attribute = span.attributes.add()
    attribute.key = b"workbench.repaired"
    attribute.value.array_value.values.add().string_value = _NOTE.encode()


def repair_utf8(body: bytes) -> bytes | None:
    """``body`` with invalid UTF-8 text replaced and the spans concerned flagged, or None.

    None when the body is not readable as OTLP even with text read as bytes.
    """
    from google.protobuf.message import DecodeError

    cls, texts = _lenient()
    request = cls()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError, RuntimeError):
        return None
    for resource_spans in request.resource_spans:
        whole_resource = _fix(resource_spans.resource, texts)
        for scope_spans in resource_spans.scope_spans:
            whole_scope = _fix(scope_spans.scope, texts) or whole_resource
            for span in scope_spans.spans:
                if _fix(span, texts) or whole_scope:
                    _flag(span)
    _fix(request, texts)  # what lies outside spans, resources and scopes (schema URLs)
    return request.SerializeToString()
