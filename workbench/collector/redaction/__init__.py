"""Redaction of personal data and secrets in spans, before anything is stored.

The collector builds one :class:`Redactor` from a :class:`RedactionConfig` and passes every
span through :meth:`Redactor.apply`, for both ways in (in-process and OTLP), before a value
reaches the store, a log or an export::

    redactor = Redactor(RedactionConfig(mode="hash", salt=secret))
    span = redactor.apply(span)
    redactor.counts()   # {"email": 3, "phone": 1, ...}

What is found: email addresses, phone numbers (E.164 and common national formats), payment
card numbers (Luhn-checked), IBANs (mod-97-checked), IPv4 and IPv6 addresses, API keys and
tokens (OpenAI, Anthropic, AWS, GitHub, Google, Slack, Stripe, ``Bearer`` headers, JWTs), US
social security numbers, and user-defined patterns. Each becomes ``<EMAIL>`` or, in hash
mode, ``<EMAIL:3f9a1c2b>`` (HMAC-SHA256 keyed by a secret salt), so equal values group.

Where: by default every string attribute (and resource, event and link attribute) except an
allow-list of ids, model names, counts and types (:data:`DEFAULT_ALLOW`), plus the matching
extracted fields. ``capture_text=False`` drops prompt and response text altogether.

The modules, in the order a span meets them: :mod:`.config` (the policy),
:mod:`.redactor` (compiled policy and counters), :mod:`.span` (walking a Span),
:mod:`.scope` (key tables), :mod:`.scrub` (one string), :mod:`.detectors` (the patterns),
:mod:`.checks` (what a pattern cannot check: Luhn, mod-97 ...).
"""

from __future__ import annotations

from workbench.collector.redaction.checks import iban_is_valid, luhn_is_valid
from workbench.collector.redaction.config import CustomPattern, RedactionConfig
from workbench.collector.redaction.detectors import BUILTIN_DETECTORS, DETECTOR_GROUPS, Detector
from workbench.collector.redaction.redactor import Redactor
from workbench.collector.redaction.scope import DEFAULT_ALLOW, SCOPE_PRESETS, TEXT_KEYS
from workbench.collector.redaction.span import drop_text

__all__ = [
    "BUILTIN_DETECTORS",
    "DEFAULT_ALLOW",
    "DETECTOR_GROUPS",
    "SCOPE_PRESETS",
    "TEXT_KEYS",
    "CustomPattern",
    "Detector",
    "RedactionConfig",
    "Redactor",
    "drop_text",
    "iban_is_valid",
    "luhn_is_valid",
]
