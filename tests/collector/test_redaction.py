"""Redaction of spans before storage: detectors, replacement, scope, capture_text, counters,
configuration.

Spans are built directly with :class:`workbench.model.Span`, their attributes carrying the
same text as the extracted fields, as the real pipeline produces them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from dataclasses import asdict, replace
from typing import Any

import pytest

from workbench.collector.redaction import (
    DEFAULT_ALLOW,
    CustomPattern,
    RedactionConfig,
    Redactor,
    drop_text,
    iban_is_valid,
    luhn_is_valid,
)
from workbench.errors import ConfigError, WorkbenchError
from workbench.model import (
    Document,
    Embedding,
    Event,
    Link,
    Message,
    Span,
    SpanKind,
    StatusCode,
    TokenUsage,
    ToolCall,
)

SALT = "test-salt-0123456789"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"


def text_span(text: str, **attributes: Any) -> Span:
    """A CHAIN span whose input is ``text``, as attribute and as extracted field."""
    return Span(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        parent_span_id=None,
        name="chain",
        start_time_ns=1_700_000_000_000_000_000,
        end_time_ns=1_700_000_000_500_000_000,
        attributes={"input.value": text, **attributes},
        span_kind=SpanKind.CHAIN,
        input_value=text,
    )


def redact(text: str, **config: Any) -> str:
    """Redact ``text`` as a span input; the attribute and the field must agree."""
    span = Redactor(RedactionConfig(**config)).apply(text_span(text))
    assert span.attributes["input.value"] == span.input_value
    assert span.input_value is not None
    return span.input_value


def llm_span(user: str, answer: str, arguments: str = "", extra: dict[str, Any] | None = None) -> Span:
    """An OpenInference LLM span with a tool call, as the semconv layer extracts it."""
    system = "You are a support assistant."
    arguments = arguments or json.dumps({"email": "jane.doe@example.com", "order": 7731})
    attributes = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.provider": "openai",
        "input.value": json.dumps({"messages": [system, user]}),
        "input.mime_type": "application/json",
        "output.value": answer,
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": system,
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": user,
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": answer,
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup_order",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": arguments,
        "llm.token_count.prompt": 412,
        "llm.token_count.completion": 128,
        "llm.token_count.total": 540,
        "llm.cost.total": 0.00042,
        "session.id": "sess-8f2a",
        **(extra or {}),
    }
    return Span(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        parent_span_id="53995c3f42cd8ad8",
        name="ChatCompletion",
        start_time_ns=1_700_000_000_000_000_000,
        end_time_ns=1_700_000_001_250_000_000,
        attributes=attributes,
        resource={"service.name": "support-bot", "host.name": "web-1"},
        span_kind=SpanKind.LLM,
        model_name="gpt-4o-mini",
        provider="openai",
        input_value=attributes["input.value"],
        input_mime_type="application/json",
        output_value=answer,
        tokens=TokenUsage(prompt=412, completion=128, total=540),
        client_cost=0.00042,
        time_to_first_token_ms=180.0,
        session_id="sess-8f2a",
        input_messages=(Message(role="system", content=system), Message(role="user", content=user)),
        output_messages=(
            Message(
                role="assistant",
                content=answer,
                tool_calls=(ToolCall(id="call_1", name="lookup_order", arguments=arguments),),
            ),
        ),
    )


# --- detectors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "alice@example.com",
        "first.last+tag@mail.example.co.uk",
        "obrien@example.ie",
        "ALICE_99@Example.ORG",
    ],
)
def test_email_is_replaced(value: str) -> None:
    assert redact(f"write to {value}, thanks") == "write to <EMAIL>, thanks"


@pytest.mark.parametrize("text", ["user@localhost", "@handle on social", "a @ b.com", "x@y"])
def test_email_look_alikes_are_kept(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "value",
    [
        "+1 415 555 2671",
        "+14155552671",
        "+44 20 7946 0958",
        "+44 (0) 20 7946 0958",
        "+49 (0)30 1234567",
        "+33 1 23 45 67 89",
        "(415) 555-2671",
        "415-555-2671",
        "415.555.2671",
        "415 555 2671",
        "1-800-555-0199",
        "020 7946 0958",
        "07700 900123",
        "01 23 45 67 89",
        "030-1234567",
        "(030) 1234567",
        "0049 30 1234567",
        "03-1234-5678",
        "415 555-2671",
        "(415) 555 2671",
    ],
)
def test_phone_numbers_are_replaced(value: str) -> None:
    assert redact(f"call {value} today") == "call <PHONE> today"


@pytest.mark.parametrize(
    "text",
    [
        "released on 2024-01-15",
        "due 15.01.2024 at 12:30:45",
        "signed 01/15/2024",
        "at 2024-01-15T12:30:45.123Z",
        "used 1,234 tokens",
        "prompt_tokens: 1523, completion_tokens: 412",
        "tokens 100 200 3000",
        "order 4155552671",
        "ticket #48213 and order 7731-2290",
        "version 1.2.3, pi 3.14159265",
        "start_time_ns 1718000000000000000",
        "+100 tokens",
        "room 101, floor 3",
    ],
)
def test_ordinary_numbers_dates_and_counts_are_not_phones(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "value",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5555 5555 5555 4444",
        "3782 822463 10005",
        "6011111111111117",
    ],
)
def test_luhn_valid_card_numbers_are_replaced(value: str) -> None:
    assert redact(f"card {value} exp 12/28") == "card <CARD_NUMBER> exp 12/28"


@pytest.mark.parametrize(
    "value", ["4111 1111 1111 1112", "4111111111111112", "1234 5678 9012 3456", "7777777777777777"]
)
def test_card_numbers_failing_luhn_are_kept(value: str) -> None:
    assert not luhn_is_valid(value.replace(" ", ""))
    assert redact(f"number {value}") == f"number {value}"


def test_card_followed_by_more_digits_is_cut_at_the_group() -> None:
    assert redact("card 4111 1111 1111 1111 23") == "card <CARD_NUMBER> 23"


@pytest.mark.parametrize(
    "value",
    ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR14 2004 1010 0505 0001 3M02 606"],
)
def test_valid_ibans_are_replaced(value: str) -> None:
    assert iban_is_valid(value)
    assert redact(f"IBAN: {value}.") == "IBAN: <IBAN>."


@pytest.mark.parametrize(
    "value",
    [
        "GB83WEST12345698765432",  # check digits wrong
        "GB82WEST1234569876543",  # one character short for GB
        "XX82WEST12345698765432",  # no such country
    ],
)
def test_invalid_ibans_are_kept(value: str) -> None:
    assert not iban_is_valid(value)
    assert redact(f"IBAN: {value}.") == f"IBAN: {value}."


def test_iban_followed_by_words_in_capitals() -> None:
    assert redact("GB82 WEST 1234 5698 7654 32 BIC NWBKGB2L") == "<IBAN> BIC NWBKGB2L"


@pytest.mark.parametrize(
    "value",
    [
        "192.168.1.100",
        "10.0.0.1",
        "8.8.8.8",
        "2001:db8::8a2e:370:7334",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "::1",
        "fe80::1%eth0",
        "::ffff:192.0.2.1",
    ],
)
def test_ip_addresses_are_replaced(value: str) -> None:
    assert redact(f"from {value}, retrying") == "from <IP_ADDRESS>, retrying"


@pytest.mark.parametrize(
    "text",
    [
        "version 1.2.3",
        "release v1.2.3.4",
        "999.1.1.1",
        "1.2.3.4.5",
        "at 12:30:45",
        "std::vector<int> and Foo::Bar",
        "mac 00:1a:2b:3c:4d:5e",
        '{"a":1,"b":2}',
    ],
)
def test_ip_look_alikes_are_kept(text: str) -> None:
    assert redact(text) == text


KEYS = {
    "openai_key": "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "anthropic_key": "sk-ant-api03-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z-xyzAA",
    "aws_access_key": "AKIAIOSFODNN7EXAMPLE",
    "github_token": "ghp_" + "a1B2c3D4e5" * 4,
    "google_api_key": "AIza" + "Sy" + "A1b2C3d4E5" * 3 + "f6G",
    "slack_token": "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "stripe_key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
}
LABELS = {
    "openai_key": "OPENAI_KEY",
    "anthropic_key": "ANTHROPIC_KEY",
    "aws_access_key": "AWS_ACCESS_KEY",
    "github_token": "GITHUB_TOKEN",
    "google_api_key": "GOOGLE_API_KEY",
    "slack_token": "SLACK_TOKEN",
    "stripe_key": "STRIPE_KEY",
    "jwt": "JWT",
}


@pytest.mark.parametrize("name", sorted(KEYS))
def test_provider_keys_are_replaced_and_counted_by_provider(name: str) -> None:
    redactor = Redactor()
    span = redactor.apply(text_span(f'api_key="{KEYS[name]}" used'))
    assert span.input_value == f'api_key="<{LABELS[name]}>" used'
    assert redactor.counts()[name] == 1


@pytest.mark.parametrize(
    "value",
    [
        "sk-" + "T3BlbkFJ" + "a1b2c3d4e5f6g7h8i9j0k1l2",  # legacy OpenAI key
        "github_pat_11ABCDEFG0" + "_" + "a1B2c3D4e5" * 6,
        "rk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    ],
)
def test_other_key_shapes_are_replaced(value: str) -> None:
    assert re.fullmatch(r"key <[A-Z_]+>", redact(f"key {value}"))


def test_bearer_token_keeps_the_scheme() -> None:
    header = "Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543"
    assert redact(header) == "Authorization: Bearer <BEARER_TOKEN>"
    assert redact(f"Bearer {KEYS['jwt']}") == "Bearer <JWT>"


@pytest.mark.parametrize(
    "text",
    [
        "a task-force-for-the-quarterly-planning-review",
        "sk-this-is-a-long-kebab-case-slug-without-digits",
        "the bearer of this letter is welcome",
        "Bearer tokens are described in RFC 6750",
        "AKIA is a prefix",
        "eyJ alone",
    ],
)
def test_key_look_alikes_are_kept(text: str) -> None:
    assert redact(text) == text


def test_us_ssn() -> None:
    assert redact("SSN 123-45-6789.") == "SSN <SSN>."
    for never_issued in ("000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000"):
        assert "<SSN>" not in redact(never_issued)


def test_custom_pattern_with_replacement_and_value_group() -> None:
    config = {
        "custom": (
            CustomPattern("employee_id", r"EMP-\d{6}", "<EMPLOYEE>"),
            CustomPattern("password", r"password=(?P<value>\S+)", ignore_case=True),
        )
    }
    assert redact("EMP-123456 set PASSWORD=hunter2!", **config) == "<EMPLOYEE> set PASSWORD=<PASSWORD>"


def test_custom_patterns_win_over_builtins_at_the_same_place() -> None:
    config = {"custom": (CustomPattern("badge", r"\d{3}-\d{2}-\d{4}"),)}
    assert redact("badge 123-45-6789", **config) == "badge <BADGE>"


def test_only_enabled_detectors_run() -> None:
    text = "alice@example.com +1 415 555 2671"
    assert redact(text, detectors=("email",)) == "<EMAIL> +1 415 555 2671"
    assert redact(text, detectors=[]) == text
    assert redact("10.0.0.1 and ::1", detectors=("ip",)) == "<IP_ADDRESS> and <IP_ADDRESS>"


@pytest.mark.parametrize(
    "text",
    [
        "2024-06-12T14:03:22.123456Z INFO request_id=550e8400-e29b-41d4-a716-446655440000 latency_ms=1234.56",
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855, md5 d41d8cd98f00b204e9800998ecf8427e",
        '{"usage": {"prompt_tokens": 1523, "completion_tokens": 412}, "created": 1718203402, "id": "chatcmpl-9Zcb"}',
        "def f(x):\n    return x[1:3] + arr[0:10:2]  # std::map<int, int>",
        "https://example.com/path?a=1&b=2#frag and http://localhost:8080/v1/chat",
        "Python 3.11.7, numpy 1.26.4, torch 2.3.0+cu121, node v20.11.1",
        "coordinates 48.8566, 2.3522; ratio 0.12345678901234",
        "invoice INV-2024-000123, total 1,234,567.89 EUR",
        "pages 123-145, years 1990-2000, score 98.5/100",
        "ISBN 978-3-16-148410-0, DOI 10.1000/182, arXiv:2106.09685",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
        "embedding [0.0123, -0.0456, 0.0789, 0.1011, -0.1213, 0.1415]",
        "tracking 1Z999AA10123456784, order #123456789012",
        "open 09:00-17:00, at 14:45:00, ratio 3:2:1",
        "numbers 100 200 300 400 500 600 700 800 900 1000 1100 1200",
        "timestamps 1718203402123 and 1718203402123456789",
        "German date 31.12.2023 14:00, French 31/12/2023",
    ],
)
def test_ordinary_technical_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_redaction_inside_json_text_keeps_it_valid_json() -> None:
    # The raw attribute is JSON text: escapes such as \n sit right before the values.
    document = {"content": "hi\nalice@example.com\n+44 20 7946 0958\n10.0.0.1\n123-45-6789"}
    raw = json.dumps(document)
    redacted = redact(raw)
    assert json.loads(redacted) == {"content": "hi\n<EMAIL>\n<PHONE>\n<IP_ADDRESS>\n<SSN>"}


def test_several_values_in_one_text() -> None:
    text = "Jane (jane@example.com, +1 415 555 2671) paid with 4111 1111 1111 1111 from 10.1.2.3."
    assert redact(text) == "Jane (<EMAIL>, <PHONE>) paid with <CARD_NUMBER> from <IP_ADDRESS>."


@pytest.mark.parametrize(
    "text",
    [
        "1 " * 20_000,
        "a@" * 20_000,
        ":" * 40_000,
        "+1 " * 15_000,
        "4" * 100_000,
        "A1" * 30_000,
        "sk-" * 20_000,
        "0 " * 20_000,
        "1." * 20_000,
        "f:" * 20_000,
    ],
)
def test_adversarial_text_finishes_quickly(text: str) -> None:
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < 2.0


# --- replacement ------------------------------------------------------------------------


def test_hash_mode_is_a_truncated_hmac_of_the_value() -> None:
    out = redact("mail alice@example.com", mode="hash", salt=SALT)
    digest = hmac.new(SALT.encode(), b"alice@example.com", hashlib.sha256).hexdigest()
    assert out == f"mail <EMAIL:{digest[:8]}>"


def test_hashes_are_stable_and_group_equal_values() -> None:
    one = Redactor(RedactionConfig(mode="hash", salt=SALT))
    two = Redactor(RedactionConfig(mode="hash", salt=SALT))
    first = one.apply(text_span("alice@example.com")).input_value
    again = two.apply(text_span("Alice@Example.com")).input_value  # same mailbox, other case
    other = one.apply(text_span("bob@example.com")).input_value
    assert first == again != other
    assert re.fullmatch(r"<EMAIL:[0-9a-f]{8}>", first or "")
    # Card numbers hash alike however they are written.
    cards = {
        one.apply(text_span(card)).input_value
        for card in ("4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111")
    }
    assert len(cards) == 1


def test_hashes_depend_on_the_salt() -> None:
    first = redact("alice@example.com", mode="hash", salt=SALT)
    second = redact("alice@example.com", mode="hash", salt=SALT + "x")
    assert first != second


def test_hash_length_and_per_detector_modes() -> None:
    out = redact(
        "alice@example.com +1 415 555 2671",
        mode="placeholder",
        modes={"email": "hash"},
        salt=SALT,
        hash_length=12,
    )
    assert re.fullmatch(r"<EMAIL:[0-9a-f]{12}> <PHONE>", out)


def test_hash_mode_for_custom_patterns() -> None:
    config = {"custom": (CustomPattern("order", r"ORD-\d+"),), "mode": "hash", "salt": SALT}
    assert re.fullmatch(r"<ORDER:[0-9a-f]{8}>", redact("ORD-99", **config))


# --- scope and allow-list ---------------------------------------------------------------


def test_defaults_leave_ids_model_names_and_numbers_alone() -> None:
    span = llm_span(
        "my mail is jane.doe@example.com",
        "noted",
        extra={"gen_ai.response.id": "chatcmpl-4111111111111111", "llm.token_count.prompt": 4155552671},
    )
    out = Redactor().apply(span)
    for key in ("llm.model_name", "session.id", "gen_ai.response.id", "llm.token_count.prompt"):
        assert out.attributes[key] == span.attributes[key]
    assert (out.trace_id, out.span_id, out.parent_span_id) == (span.trace_id, span.span_id, span.parent_span_id)
    assert (out.start_time_ns, out.end_time_ns, out.tokens, out.client_cost) == (
        span.start_time_ns,
        span.end_time_ns,
        span.tokens,
        span.client_cost,
    )
    assert out.model_name == "gpt-4o-mini"
    assert "jane.doe@example.com" not in repr(out)


def test_default_allow_list_contents() -> None:
    for key in ("session.id", "*.model_name", "llm.token_count.*", "gen_ai.usage.*", "*.mime_type"):
        assert key in DEFAULT_ALLOW
    assert "user.id" not in DEFAULT_ALLOW and "*.id" not in DEFAULT_ALLOW


def test_user_id_is_scanned_because_apps_put_emails_there() -> None:
    span = text_span("hello", **{"user.id": "jane@example.com"})
    span = replace(span, user_id="jane@example.com")
    out = Redactor().apply(span)
    assert out.attributes["user.id"] == "<EMAIL>" and out.user_id == "<EMAIL>"


def test_allow_list_extends_the_defaults_or_replaces_them() -> None:
    span = text_span("x", **{"app.customer_email": "jane@example.com", "session.id": "jane@example.com"})
    kept = Redactor(RedactionConfig(allow=("app.*",))).apply(span)
    assert kept.attributes["app.customer_email"] == "jane@example.com"
    assert kept.attributes["session.id"] == "jane@example.com"
    bare = Redactor(RedactionConfig(allow=("app.*",), default_allow=False)).apply(span)
    assert bare.attributes["session.id"] == "<EMAIL>"


def test_scope_presets_and_globs() -> None:
    span = llm_span("mail jane@example.com", "ok", extra={"app.note": "from jane@example.com"})
    messages = Redactor(RedactionConfig(scope=("messages",))).apply(span)
    assert messages.attributes["llm.input_messages.1.message.content"] == "mail <EMAIL>"
    assert messages.input_messages[1].content == "mail <EMAIL>"
    assert messages.attributes["app.note"] == "from jane@example.com"
    # input.value is not a message key, and the field follows its attribute.
    assert "jane@example.com" in messages.attributes["input.value"]
    assert messages.input_value == span.input_value

    globbed = Redactor(RedactionConfig(scope=("app.*",))).apply(span)
    assert globbed.attributes["app.note"] == "from <EMAIL>"
    assert globbed.input_messages == span.input_messages
    assert globbed.attributes["input.value"] == span.attributes["input.value"]

    io_only = Redactor(RedactionConfig(scope=("input_output",))).apply(span)
    assert "jane@example.com" not in io_only.attributes["input.value"]
    assert "jane@example.com" not in (io_only.input_value or "")
    assert io_only.attributes["llm.input_messages.1.message.content"] == "mail jane@example.com"
    # Some conventions carry the messages in their input/output keys (gen_ai.prompt,
    # mlflow.spanInputs ...), so the extracted messages are scanned too: a field is scanned
    # when any key it may come from is.
    assert io_only.input_messages[1].content == "mail <EMAIL>"


def test_strings_inside_lists_and_maps_are_scanned() -> None:
    span = text_span(
        "x",
        tags=["jane@example.com", "vip"],
        counts=[1, 2, 3],
        profile={"mail": "jane@example.com", "age": 41, "nested": {"ip": "10.0.0.7"}},
    )
    out = Redactor().apply(span)
    assert out.attributes["tags"] == ["<EMAIL>", "vip"]
    assert out.attributes["counts"] is span.attributes["counts"]
    assert out.attributes["profile"] == {"mail": "<EMAIL>", "age": 41, "nested": {"ip": "<IP_ADDRESS>"}}


def test_messages_tool_calls_documents_embeddings_events_links_resource() -> None:
    mail = "jane@example.com"
    span = llm_span(f"I am {mail}", f"Thanks {mail}")
    span = replace(
        span,
        status_code=StatusCode.ERROR,
        status_message=f"no account for {mail}",
        resource={"service.name": "bot", "host.owner": mail},
        events=(
            Event(
                "exception",
                1_700_000_000_100_000_000,
                {"exception.type": "KeyError", "exception.message": f"no account for {mail}"},
            ),
        ),
        links=(Link(TRACE_ID, "1111111111111111", {"note": mail}),),
        documents=(Document(0, id="doc-1", content=f"contact {mail}", score=0.9, metadata={"author": mail}),),
        embeddings=(Embedding(0, text=f"embed {mail}", vector=(0.1, 0.2), model="e5"),),
        prompt_template=f"Reply to {mail}",
    )
    out = Redactor().apply(span)
    assert out.input_messages[1].content == "I am <EMAIL>"
    assert out.output_messages[0].content == "Thanks <EMAIL>"
    assert json.loads(out.output_messages[0].tool_calls[0].arguments or "") == {
        "email": "<EMAIL>",
        "order": 7731,
    }
    assert out.output_messages[0].tool_calls[0].name == "lookup_order"
    assert out.status_message == "no account for <EMAIL>"
    assert out.resource == {"service.name": "bot", "host.owner": "<EMAIL>"}
    assert out.events[0].attributes == {"exception.type": "KeyError", "exception.message": "no account for <EMAIL>"}
    assert out.events[0].time_ns == span.events[0].time_ns
    assert out.links[0].attributes == {"note": "<EMAIL>"}
    assert out.documents[0] == Document(
        0, id="doc-1", content="contact <EMAIL>", score=0.9, metadata={"author": "<EMAIL>"}
    )
    assert out.embeddings[0] == Embedding(0, text="embed <EMAIL>", vector=(0.1, 0.2), model="e5")
    assert out.prompt_template == "Reply to <EMAIL>"
    assert mail not in repr(out)


def test_genai_content_events_follow_the_messages_scope() -> None:
    span = replace(
        text_span("x"),
        events=(
            Event("gen_ai.user.message", 5, {"content": "I am jane@example.com", "role": "user"}),
            Event("log", 6, {"content": "jane@example.com"}),
        ),
    )
    out = Redactor(RedactionConfig(scope=("messages",))).apply(span)
    assert out.events[0].attributes == {"content": "I am <EMAIL>", "role": "user"}
    assert out.events[1] is span.events[1]


def test_a_span_without_findings_is_returned_unchanged() -> None:
    span = llm_span("What is the capital of France?", "Paris.", arguments='{"city": "Paris"}')
    assert Redactor().apply(span) is span
    assert Redactor(RedactionConfig(enabled=False)).apply(span) is span


def test_attribute_and_field_copies_get_the_same_replacement() -> None:
    span = llm_span("reach me at +44 20 7946 0958", "ok")
    out = Redactor(RedactionConfig(mode="hash", salt=SALT)).apply(span)
    content = out.attributes["llm.input_messages.1.message.content"]
    assert content == out.input_messages[1].content
    assert re.fullmatch(r"reach me at <PHONE:[0-9a-f]{8}>", content)


# --- capture_text=False -----------------------------------------------------------------

PLANTED = "Zanzibar-quokka"  # a word that must not survive anywhere


def everything(span: Span) -> str:
    return repr(asdict(span))


def test_capture_text_off_drops_openinference_text_but_keeps_the_numbers() -> None:
    span = llm_span(f"tell me about {PLANTED}", f"{PLANTED} is a place")
    span = replace(
        span,
        documents=(Document(0, id="d1", content=PLANTED, score=0.5, metadata={"source": "kb"}),),
        embeddings=(Embedding(0, text=PLANTED, vector=(0.25, 0.5), model="e5"),),
        prompt_template=f"About {PLANTED}",
        attributes={
            **span.attributes,
            "retrieval.documents.0.document.id": "d1",
            "retrieval.documents.0.document.content": PLANTED,
            "retrieval.documents.0.document.score": 0.5,
            "embedding.embeddings.0.embedding.text": PLANTED,
            "embedding.embeddings.0.embedding.vector": [0.25, 0.5],
            "llm.prompt_template.template": f"About {PLANTED}",
            "llm.prompt_template.variables": json.dumps({"topic": PLANTED}),
            "llm.prompt_template.version": "v3",
        },
    )
    redactor = Redactor(RedactionConfig(enabled=False, capture_text=False))
    assert redactor.active
    out = redactor.apply(span)
    assert PLANTED not in everything(out)
    assert out.input_value is None and out.output_value is None and out.prompt_template is None
    assert [m.role for m in out.input_messages] == ["system", "user"]
    assert all(m.content is None for m in (*out.input_messages, *out.output_messages))
    call = out.output_messages[0].tool_calls[0]
    assert (call.id, call.name, call.arguments) == ("call_1", "lookup_order", None)
    assert out.documents[0] == Document(0, id="d1", content=None, score=0.5, metadata={"source": "kb"})
    assert out.embeddings[0] == Embedding(0, text=None, vector=(0.25, 0.5), model="e5")
    # Tokens, timings, model, cost, ids and structure stay.
    assert out.tokens == span.tokens and out.client_cost == span.client_cost
    assert out.time_to_first_token_ms == 180.0 and out.latency_ms == span.latency_ms
    assert out.model_name == "gpt-4o-mini" and out.session_id == "sess-8f2a"
    kept = {
        "llm.model_name": "gpt-4o-mini",
        "llm.token_count.prompt": 412,
        "llm.token_count.total": 540,
        "llm.cost.total": 0.00042,
        "input.mime_type": "application/json",
        "llm.input_messages.1.message.role": "user",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup_order",
        "retrieval.documents.0.document.id": "d1",
        "retrieval.documents.0.document.score": 0.5,
        "embedding.embeddings.0.embedding.vector": [0.25, 0.5],
        "llm.prompt_template.version": "v3",
    }
    assert {key: out.attributes.get(key) for key in kept} == kept
    for gone in (
        "input.value",
        "output.value",
        "llm.input_messages.1.message.content",
        "llm.prompt_template.variables",
    ):
        assert gone not in out.attributes


def test_capture_text_off_covers_genai_and_vendor_conventions() -> None:
    attributes = {
        "gen_ai.request.model": "claude-sonnet-4",
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": PLANTED}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"content": PLANTED}]}]),
        "gen_ai.system_instructions": PLANTED,
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": PLANTED,
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.finish_reason": "stop",
        "gen_ai.completion.0.content": PLANTED,
        "gen_ai.completion.0.tool_calls.0.name": "search",
        "gen_ai.completion.0.tool_calls.0.arguments": json.dumps({"q": PLANTED}),
        "gen_ai.tool.call.arguments": PLANTED,
        "traceloop.entity.input": PLANTED,
        "traceloop.entity.output": PLANTED,
        "langfuse.observation.input": PLANTED,
        "langfuse.observation.output": PLANTED,
        "mlflow.spanInputs": PLANTED,
        "mlflow.chat.messages": PLANTED,
        "ai.prompt": PLANTED,
        "ai.prompt.messages": PLANTED,
        "ai.response.text": PLANTED,
        "ai.value": PLANTED,
        "ai.embedding": [0.5, 0.25],
    }
    span = Span(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        parent_span_id=None,
        name="chat",
        start_time_ns=10,
        end_time_ns=20,
        attributes=attributes,
        events=(
            Event("gen_ai.content.prompt", 11, {"gen_ai.prompt": PLANTED}),
            Event("gen_ai.choice", 12, {"index": 0, "finish_reason": "stop", "message": PLANTED}),
            Event("exception", 13, {"exception.type": "ValueError", "exception.message": "boom"}),
        ),
        model_name="claude-sonnet-4",
        tokens=TokenUsage(prompt=120, completion=30),
        input_messages=(Message(role="user", content=PLANTED),),
        output_messages=(Message(role="assistant", content=PLANTED),),
    )
    out = drop_text(span)
    assert PLANTED not in everything(out)
    assert out.attributes == {
        "gen_ai.request.model": "claude-sonnet-4",
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.prompt.0.role": "user",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.finish_reason": "stop",
        "gen_ai.completion.0.tool_calls.0.name": "search",
        "ai.embedding": [0.5, 0.25],
    }
    assert out.events[0].attributes == {}
    assert out.events[1].attributes == {"index": 0, "finish_reason": "stop"}
    assert out.events[2] is span.events[2]
    assert out.tokens == span.tokens and out.model_name == "claude-sonnet-4"


def test_capture_text_off_and_redaction_together() -> None:
    span = text_span("x", **{"app.owner": "jane@example.com"})
    out = Redactor(RedactionConfig(capture_text=False)).apply(span)
    assert "input.value" not in out.attributes and out.input_value is None
    assert out.attributes["app.owner"] == "<EMAIL>"


# --- counters ---------------------------------------------------------------------------


def test_counters_count_values_per_span_by_detector() -> None:
    redactor = Redactor(RedactionConfig(detectors=("email", "phone", "card")))
    assert redactor.counts() == {"email": 0, "card": 0, "phone": 0}
    # The same address in the attribute and the field is one value; two addresses are two.
    redactor.apply(text_span("a@example.com, b@example.com, a@example.com and +1 415 555 2671"))
    redactor.apply(text_span("a@example.com"))
    assert redactor.counts() == {"email": 3, "card": 0, "phone": 1}
    snapshot = redactor.counts()
    snapshot["email"] = 99  # a copy: the caller cannot change the counters
    assert redactor.counts()["email"] == 3
    redactor.reset_counts()
    assert redactor.counts() == {"email": 0, "card": 0, "phone": 0}


def test_counters_are_thread_safe() -> None:
    redactor = Redactor()
    span = llm_span("mail jane@example.com or call +1 415 555 2671", "ok", arguments='{"id": 7}')

    def work() -> None:
        for _ in range(200):
            redactor.apply(span)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = redactor.counts()
    assert counts["email"] == 8 * 200 and counts["phone"] == 8 * 200


def test_custom_patterns_are_counted_by_name() -> None:
    redactor = Redactor(RedactionConfig(custom=(CustomPattern("ticket", r"TCK-\d+"),)))
    redactor.apply(text_span("see TCK-1 and TCK-2"))
    assert redactor.counts()["ticket"] == 2


# --- configuration ----------------------------------------------------------------------


def test_from_mapping_reads_a_toml_table() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    document = tomllib.loads(
        r"""
        [redaction]
        detectors = ["email", "api_keys"]
        mode = "hash"
        modes = { openai_key = "placeholder" }
        salt = "0123456789abcdef"
        hash_length = 10
        scope = ["messages", "app.*"]
        allow = ["app.public_*"]
        capture_text = true

        [[redaction.custom]]
        name = "employee_id"
        pattern = 'EMP-\d{6}'
        replacement = "<EMPLOYEE>"
        """
    )
    config = RedactionConfig.from_mapping(document["redaction"])
    assert config.detectors == ("email", "api_keys")
    assert config.scope == ("messages", "app.*")
    assert config.custom == (CustomPattern("employee_id", r"EMP-\d{6}", "<EMPLOYEE>"),)
    assert config.detector_names()[:2] == ("employee_id", "anthropic_key")
    assert "openai_key" not in config.hashed_names() and "email" in config.hashed_names()
    assert "salt" not in repr(config) and "0123456789abcdef" not in repr(config)


def test_from_mapping_accepts_json_and_the_custom_shorthand() -> None:
    config = RedactionConfig.from_mapping(json.loads('{"custom": {"order": "ORD-\\\\d+"}, "detectors": "email"}'))
    assert config.custom == (CustomPattern("order", r"ORD-\d+"),)
    assert config.detectors == ("email",)


def test_config_defaults() -> None:
    config = RedactionConfig()
    assert config.enabled and config.capture_text and config.mode == "placeholder"
    assert config.scope == ("all",) and config.detectors == ("all",)
    assert set(config.allow_keys()) == set(DEFAULT_ALLOW)


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        (
            {"custom": [{"name": "emp", "pattern": "EMP-(\\d+"}]},
            ["'EMP-(\\\\d+'", "not a valid regular expression", "escape"],
        ),
        ({"custom": [{"name": "emp", "pattern": "\\d*"}]}, ["matches the empty string"]),
        ({"custom": [{"name": "email", "pattern": "x+"}]}, ["already a built-in", "another name"]),
        ({"custom": [{"name": "a", "pattern": "x+"}, {"name": "a", "pattern": "y+"}]}, ["used twice"]),
        ({"custom": [{"name": "two words", "pattern": "x+"}]}, ["not a valid name"]),
        ({"custom": [{"name": "a", "pattern": "x+", "replacement": "<a b>"}]}, ["not a valid placeholder"]),
        ({"custom": [{"name": "a"}]}, ["at least name and pattern"]),
        ({"custom": [{"name": "a", "pattern": "x+", "flags": 1}]}, ["custom[0].flags", "not a setting"]),
        ({"custom": "x+"}, ["list of tables"]),
        ({"detectors": ["emial"]}, ["'emial'", "not a detector", "did you mean 'email'"]),
        ({"detectors": 5}, ["redaction.detectors", "list of strings"]),
        ({"mode": "hashed"}, ["redaction.mode", "'hashed'", "'placeholder' or 'hash'"]),
        ({"modes": {"emial": "hash"}}, ["redaction.modes", "'emial'", "did you mean 'email'"]),
        ({"modes": {"email": "sha"}}, ["redaction.modes.email", "'sha'"]),
        ({"mode": "hash"}, ["redaction.salt", "0 characters", "at least 8"]),
        ({"mode": "hash", "salt": "short", "hash_length": 8}, ["5 characters"]),
        ({"hash_length": 100, "mode": "hash", "salt": SALT}, ["redaction.hash_length", "4 to 64"]),
        ({"enabled": "yes"}, ["redaction.enabled", "true or false"]),
        ({"scope": ["mesages"]}, ["redaction.scope", "'mesages'", "did you mean 'messages'"]),
        ({"salz": "x"}, ["redaction.salz is not a setting", "did you mean 'salt'"]),
    ],
)
def test_config_errors_name_the_value_the_rule_and_the_fix(mapping: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        RedactionConfig.from_mapping(mapping)
    message = str(caught.value)
    for word in words:
        assert word in message
    assert message.endswith((".", "?)."))
    assert "\n" not in message


def test_salt_is_never_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        RedactionConfig(mode="hash", salt="s3cr")
    assert "s3cr" not in str(caught.value)


def test_config_errors_are_workbench_errors_and_raised_on_construction() -> None:
    with pytest.raises(WorkbenchError):
        RedactionConfig(detectors=("nope",))
    with pytest.raises(ValueError):
        CustomPattern("x", "(")
    with pytest.raises(ConfigError, match="is not a valid regular expression"):
        CustomPattern("x", "a{99999999999}")  # re raises OverflowError for it, not re.error
    with pytest.raises(ConfigError):
        RedactionConfig.from_mapping(["email"])  # type: ignore[arg-type]


def test_scope_accepts_dotless_keys_that_are_not_near_a_preset() -> None:
    assert RedactionConfig(scope=("prompt",)).scope == ("prompt",)
