"""The built-in detectors: what personal data and secrets look like in text.

Each :class:`Detector` is a precompiled regular expression plus the checks a regex cannot do
(Luhn for card numbers, mod-97 for IBANs, address parsing for IPv6). Patterns are written to
match as little ordinary text as possible: a date, a version, a token count or a long id is
not a phone number, and a random 16-digit number is not a card.

Two rules hold for every pattern here, because the same text is scanned both as a plain
string and inside JSON-encoded attributes (``gen_ai.input.messages``, tool-call arguments):

* a match never contains a quote or a backslash, so a replacement cannot break the JSON;
* a match may start right after a JSON escape such as ``\\n``; the usual "not after a letter"
  boundary would otherwise let ``"...\\n+44 20 7946 0958"`` through in the JSON copy while the
  decoded copy is redacted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from workbench.collector.redaction.checks import (
    card_check,
    compact_upper,
    digits_only,
    iban_check,
    ipv4_check,
    ipv6_check,
    key_check,
    phone_check,
    ssn_check,
    token_check,
)

__all__ = ["BUILTIN_DETECTORS", "DETECTOR_GROUPS", "Detector"]


@dataclass(frozen=True, slots=True)
class Detector:
    """One kind of sensitive value and how to find it.

    Attributes:
        name: The name used in configuration and counters, e.g. ``email``.
        label: The placeholder text, e.g. ``EMAIL`` for ``<EMAIL>``.
        patterns: Compiled patterns, each searched on its own (several simple patterns
            that each start with a literal or a character class are much faster than one
            alternation: ``re`` can then skip ahead to candidate characters in C). When a
            pattern has a group named ``value`` only that group is replaced
            (``Bearer <BEARER_TOKEN>`` keeps the scheme).
        hints: Literal substrings of which at least one must occur for a match to be
            possible; empty means "always scan". Checked with ``in``, far cheaper than a
            regex pass over text that cannot match.
        min_digits: The fewest ASCII digits any match contains (another cheap pre-check:
            a string with four digits holds no card number).
        min_length: The shortest possible match; shorter strings are not scanned.
        check: Given the matched text, the length of its longest valid prefix, or 0 to
            reject. Shortening lets ``4111 1111 1111 1111 23`` redact the card and keep
            the ``23``.
        normalize: Turns a match into the value that is hashed, so that
            ``4111-1111-1111-1111`` and ``4111111111111111`` hash alike.
        finder: Replaces ``patterns`` when a regex alone would be slow (email: search for
            the ``@`` and look back, rather than try every letter as a start).
    """

    name: str
    label: str
    patterns: tuple[re.Pattern[str], ...] = ()
    hints: tuple[str, ...] = ()
    min_digits: int = 0
    min_length: int = 1
    check: Callable[[str], int] | None = None
    normalize: Callable[[str], str] | None = None
    finder: Callable[[str], Iterator[tuple[int, int]]] | None = None

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        """Yield ``(start, end)`` of each accepted match in ``text`` (may overlap)."""
        check = self.check
        if self.finder is not None:
            for start, end in self.finder(text):
                keep = check(text[start:end]) if check is not None else end - start
                if keep:
                    yield start, start + keep
        for pattern in self.patterns:
            search = pattern.search
            has_value = "value" in pattern.groupindex
            pos = 0
            while (match := search(text, pos)) is not None:
                start, end = match.span("value") if has_value else match.span()
                pos = match.end()
                if pos == match.start():  # an empty match (a custom pattern): step on
                    pos += 1
                if check is not None:
                    keep = check(text[start:end])
                    if not keep:
                        continue
                    if start + keep < end:
                        end = start + keep
                        pos = end  # the cut-off tail may hold the next value
                if end > start:
                    yield start, end


def _lead(head: str, width: int, forbidden: str) -> str:
    r"""``head`` followed by a left-boundary check on the character before it.

    ``head`` matches exactly ``width`` characters (none a newline). The check, placed after
    it so that ``re`` can still skip ahead to where ``head`` may start, asserts that the
    character before the match is not in ``forbidden`` (a class body) and not a lone
    backslash. A JSON escape (``\n``, ``\t`` ...) counts as a boundary even though its
    second character is a letter.
    """
    dots = "." * width
    return rf"{head}(?:(?<=\\[nrtbf]{dots})|(?<![\\{forbidden}]{dots}))"


# --- anchored finders -------------------------------------------------------------------

_HEX = frozenset("0123456789abcdefABCDEF")
_DIGITS = frozenset("0123456789")
_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")


def _starts_clean(text: str, start: int, before: Callable[..., object] | None) -> bool:
    """Whether the character before ``start`` is a boundary (a JSON escape counts as one)."""
    if start == 0 or before is None:
        return True
    if start >= 2 and text[start - 2] == "\\" and text[start - 1] in "nrtbf":
        return True
    return before(text, start - 1) is None


def _anchored(
    pattern: str,
    back: frozenset[str],
    most: int,
    forbidden: str | None,
    least: int = 1,
    trim: str = "",
) -> Callable[[str], Iterator[tuple[int, int]]]:
    r"""A finder for values whose first part is short and whose rest starts with a literal.

    Any digit or letter can start an address, so a pattern that begins there is tried at
    every one of them. ``pattern`` begins instead at the rarer literal after the first part
    (the ``@`` of an email, the first ``.`` of an IPv4 address), and the finder walks back
    over at most ``most`` characters of ``back`` to find the start.

    Args:
        pattern: Matches from the anchor literal to the end of the value.
        back: Characters the first part is made of.
        most: The longest first part; a longer run is rejected (it is part of something else).
        forbidden: A class body the character before the value may not be in, or None.
        least: The shortest first part.
        trim: Characters dropped from the start of the first part.
    """
    search = re.compile(pattern, re.ASCII).search
    before = re.compile(rf"[\\{forbidden}]", re.ASCII).match if forbidden else None

    def find(text: str) -> Iterator[tuple[int, int]]:
        pos = 0
        while (match := search(text, pos)) is not None:
            anchor = start = match.start()
            # Walk one step past "most" so that an overlong run is seen and rejected.
            while start > 0 and anchor - start <= most and text[start - 1] in back:
                start -= 1
            if start > 0 and text[start - 1] == "\\" and text[start] in "nrtbf":
                start += 1  # the walk took an escape's letter: "\nalice@" inside JSON
            while start < anchor and text[start] in trim:
                start += 1
            if least <= anchor - start <= most and _starts_clean(text, start, before):
                yield start, match.end()
                pos = match.end()
            else:
                pos = anchor + 1

    return find


_find_emails = _anchored(
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])",
    _EMAIL_LOCAL,
    64,
    None,  # "josé.garcia@x.com": better to redact garcia@x.com than nothing
    trim=".",  # "see...alice@x.com": a local part does not start with a dot
)


# --- the detectors ----------------------------------------------------------------------

_NUMBER_END = r"(?![\w-]|[.,/:]\d)"  # "2671." ends a sentence; "2671.5" is a decimal
_WORD_END = r"(?![\w-])"


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    # ASCII: \d and \w mean what the digit pre-check and the checksums assume.
    return tuple(re.compile(pattern, re.ASCII) for pattern in patterns)


#: Every built-in detector, in priority order: when two matches start at the same place the
#: earlier detector wins (``sk-ant-...`` is an Anthropic key, not an OpenAI one; a JWT after
#: ``Bearer`` is labelled a JWT).
BUILTIN_DETECTORS: tuple[Detector, ...] = (
    Detector(
        "anthropic_key",
        "ANTHROPIC_KEY",
        _compile(_lead("sk-ant-", 7, r"\w-") + r"[A-Za-z0-9_-]{20,}"),
        hints=("sk-",),
        min_length=27,
    ),
    Detector(
        "openai_key",
        "OPENAI_KEY",
        _compile(_lead("sk-", 3, r"\w-") + r"(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
        hints=("sk-",),
        check=key_check,
        min_length=23,
    ),
    Detector(
        "aws_access_key",
        "AWS_ACCESS_KEY",
        # Long-term (AKIA) and temporary (ASIA) access key ids.
        _compile(_lead("(?:AKIA|ASIA)", 4, "A-Za-z0-9") + r"[A-Z0-9]{16}(?![A-Za-z0-9])"),
        hints=("AKIA", "ASIA"),
        min_length=20,
    ),
    Detector(
        "github_token",
        "GITHUB_TOKEN",
        _compile(
            _lead("gh[pousr]_", 4, r"\w-") + r"[A-Za-z0-9]{36,255}" + _WORD_END,
            _lead("github_pat_", 11, r"\w-") + r"[A-Za-z0-9_]{22,255}" + _WORD_END,
        ),
        hints=("_",),  # one memchr; the patterns start with literals, so they search fast
        min_length=26,
    ),
    Detector(
        "google_api_key",
        "GOOGLE_API_KEY",
        _compile(_lead("AIza", 4, r"\w-") + r"[0-9A-Za-z_-]{35}" + _WORD_END),
        hints=("AIza",),
        min_length=39,
    ),
    Detector(
        "slack_token",
        "SLACK_TOKEN",
        _compile(_lead("xox[baprs]-", 5, r"\w-") + r"[A-Za-z0-9-]{10,}"),
        hints=("xox",),
        min_length=15,
    ),
    Detector(
        "stripe_key",
        "STRIPE_KEY",
        _compile(
            _lead("sk_(?:live|test)_", 8, r"\w-") + r"[A-Za-z0-9]{16,}" + _WORD_END,
            _lead("rk_(?:live|test)_", 8, r"\w-") + r"[A-Za-z0-9]{16,}" + _WORD_END,
        ),
        hints=("_",),
        min_length=24,
    ),
    Detector(
        "jwt",
        "JWT",
        _compile(_lead("eyJ", 3, r"\w-") + r"[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[\w-]*"),
        hints=("eyJ",),
        min_length=33,
    ),
    Detector(
        "bearer_token",
        "BEARER_TOKEN",
        _compile(_lead("[Bb]", 1, r"\w") + r"(?i:earer)[ \t]+(?P<value>[\w.~+/-]{16,}=*)"),
        hints=("earer", "EARER"),
        check=token_check,
        min_length=23,
    ),
    Detector(
        "email",
        "EMAIL",
        hints=("@",),
        min_length=6,
        finder=_find_emails,
        normalize=str.lower,
    ),
    Detector(
        "card",
        "CARD_NUMBER",
        # Issuer prefixes 2-6 only: numbers starting with 1 are mostly ids and nanosecond
        # timestamps (19 digits, 17...).
        _compile(_lead("[2-6]", 1, r"\w.,-") + r"(?:[ -]?\d){12,18}" + _NUMBER_END),
        min_digits=13,
        check=card_check,
        normalize=digits_only,
        min_length=13,
    ),
    Detector(
        "iban",
        "IBAN",
        _compile(_lead("[A-Z]", 1, r"\w") + r"[A-Z]\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])"),
        min_digits=2,
        check=iban_check,
        normalize=compact_upper,
        min_length=15,
    ),
    Detector(
        "ssn",
        "SSN",
        # Dashed form only: "512 64 1024" is far more often three numbers than an SSN.
        finder=_anchored(r"-\d{2}-\d{4}" + _NUMBER_END, _DIGITS, 3, r"\w.+/-", least=3),
        hints=("-",),
        min_digits=9,
        check=ssn_check,
        min_length=11,
    ),
    Detector(
        "ipv6",
        "IP_ADDRESS",
        # A loose shape with at least two colons; the address parser decides.
        finder=_anchored(
            r":[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]{0,36}"
            r"(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?(?:%[0-9A-Za-z]+)?(?![\w:]|\.\d)",
            _HEX,
            4,
            r"\w:.",
            least=0,
        ),
        hints=(":",),
        min_digits=1,
        check=ipv6_check,
        min_length=3,
    ),
    Detector(
        "ipv4",
        "IP_ADDRESS",
        finder=_anchored(r"\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\w|\.\d)", _DIGITS, 3, r"\w."),
        hints=(".",),
        min_digits=4,
        check=ipv4_check,
        min_length=7,
    ),
    Detector(
        "phone",
        "PHONE",
        _compile(
            # International: "+" and digit groups separated by one space, dot or dash, with
            # optional parentheses ("+44 (0) 20 7946 0958", "+49 (0)30 1234567"). Groups are
            # maximal digit runs, so the pattern cannot backtrack through the ways of
            # splitting one run.
            _lead(r"\+", 1, r"\w.+/-") + r"\d+(?:[ .-]?\(\d{1,5}\)\d*|[ .-]\d+)*" + _NUMBER_END,
            # Parenthesised area code: (415) 555-2671, (415) 555 2671; (020) 7946 0958.
            _lead(r"\(", 1, r"\w.+/-")
            + r"(?:\d{3}\) ?\d{3}[ .-]\d{4}|0\d{1,4}\)[ .-]?\d{2,8}(?:[ .-]\d{2,8}){0,3})"
            + _NUMBER_END,
            _lead(r"\d", 1, r"\w.+/-") + r"(?:"
            # Trunk prefix 0 (most of Europe, the UK, Australia, Japan ...), one separator
            # used throughout: 020 7946 0958, 07700 900123, 01 23 45 67 89, 030-1234567;
            # and the 00 international prefix: 0049 30 1234567.
            r"(?<=0)(?:0[1-9]\d{0,2}|[1-9]\d{0,3})(?P<sep>[ .-])\d{2,8}(?:(?P=sep)\d{2,8}){0,4}"
            # North American with a country code: 1-800-555-0199, 1 (800) 555-0199.
            r"|(?<=1)[ .-](?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}"
            # North American: 415-555-2671, 415.555.2671, 415 555-2671 ...
            r"|\d{2}(?:[.-]\d{3}[ .-]|[ ]\d{3}[.-])\d{4}"
            # ... and with spaces only when area code and exchange are valid NANP numbers
            # (first digit 2-9) and no other number is next to it, so that "100 200 3000"
            # and "700 800 900 1000 1100" stay lists of numbers.
            r"|(?<=[2-9])(?<![0-9] [0-9])\d{2} [2-9]\d{2} \d{4}(?! [0-9])"
            r")" + _NUMBER_END,
        ),
        min_digits=8,
        check=phone_check,
        normalize=digits_only,
        min_length=8,
    ),
)

#: Names that stand for several detectors in configuration.
DETECTOR_GROUPS: dict[str, tuple[str, ...]] = {
    "all": tuple(d.name for d in BUILTIN_DETECTORS),
    "api_keys": (
        "anthropic_key",
        "openai_key",
        "aws_access_key",
        "github_token",
        "google_api_key",
        "slack_token",
        "stripe_key",
        "jwt",
        "bearer_token",
    ),
    "ip": ("ipv6", "ipv4"),
}
