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

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = [
    "BUILTIN_DETECTORS",
    "DETECTOR_GROUPS",
    "Detector",
    "has_digit",
    "iban_is_valid",
    "luhn_is_valid",
]


def has_digit(text: str) -> bool:
    """Whether ``text`` holds an ASCII digit.

    Ten single-character ``in`` tests (memchr) are about ten times faster than one regex
    pass; this runs on every string of every span.
    """
    for digit in "0123456789":
        if digit in text:
            return True
    return False


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
        needs_digit: Whether every match contains a digit (another cheap pre-check).
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
    needs_digit: bool = False
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


# --- checks -----------------------------------------------------------------------------


def luhn_is_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by payment cards."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# IBAN length per country (ISO 13616 registry). A wrong length rejects most look-alikes
# before the checksum is even computed.
_IBAN_LENGTHS: dict[str, int] = {
    code: int(length)
    for code, length in re.findall(
        r"([A-Z]{2}):(\d+)",
        "AD:24 AE:23 AL:28 AT:20 AZ:28 BA:20 BE:16 BG:22 BH:22 BI:27 BR:29 BY:28 CH:21 "
        "CR:22 CY:28 CZ:24 DE:22 DJ:27 DK:18 DO:28 EE:20 EG:29 ES:24 FI:18 FK:18 FO:18 "
        "FR:27 GB:22 GE:22 GI:23 GL:18 GR:27 GT:28 HR:21 HU:28 IE:22 IL:23 IQ:23 IS:26 "
        "IT:27 JO:30 KW:30 KZ:20 LB:28 LC:32 LI:21 LT:20 LU:20 LV:21 LY:25 MC:27 MD:24 "
        "ME:22 MK:19 MN:20 MR:27 MT:31 MU:30 NI:28 NL:18 NO:15 OM:23 PK:24 PL:28 PS:29 "
        "PT:25 QA:29 RO:24 RS:22 RU:33 SA:24 SC:31 SD:18 SE:24 SI:19 SK:24 SM:27 SO:23 "
        "ST:25 SV:28 TL:23 TN:24 TR:26 UA:29 VA:22 VG:24 XK:20 YE:30",
    )
}


def iban_is_valid(iban: str) -> bool:
    """Whether ``iban`` (spaces allowed) has its country's length and a valid mod-97 check."""
    compact = iban.replace(" ", "").upper()
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    # int(c, 36) maps 0-9 to themselves and A-Z to 10-35, exactly the IBAN letter encoding.
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _longest_prefix(text: str, separators: str, valid: Callable[[str], bool]) -> int:
    """The length of the longest valid prefix of ``text``, cut only at separators.

    A greedy pattern may run on into the next group of digits ("4111 1111 1111 1111 2024");
    trying shorter cuts at separator positions recovers the real value.
    """
    end = len(text)
    while end > 0:
        if valid(text[:end]):
            return end
        end = max(text.rfind(sep, 0, end) for sep in separators)
    return 0


def _card_check(text: str) -> int:
    def valid(candidate: str) -> bool:
        digits = candidate.replace(" ", "").replace("-", "")
        return 13 <= len(digits) <= 19 and luhn_is_valid(digits)

    return _longest_prefix(text, " -", valid)


def _iban_check(text: str) -> int:
    return _longest_prefix(text, " ", iban_is_valid)


def _phone_check(text: str) -> int:
    digits = sum(c.isdigit() for c in text)
    if text.startswith("+"):
        # E.164 allows at most 15 digits; fewer than 8 is a short code or a plain number.
        valid = 8 <= digits <= 15
    elif text.lstrip("(").startswith("0"):
        # Trunk-prefix numbers have 9-12 digits; "01.02.2024" has 8 and is a date.
        valid = 9 <= digits <= 12
    else:
        valid = True  # North American shapes have a fixed length already
    return len(text) if valid else 0


def _ssn_check(text: str) -> int:
    # Never issued: area 000, 666 or 9xx; group 00; serial 0000.
    area, group, serial = text.split("-")
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return 0
    return len(text)


def _ipv4_check(text: str) -> int:
    # "01.02.03.04" (leading zeros) is not how addresses are written; 256+ is not an octet.
    for octet in text.split("."):
        if int(octet) > 255 or (len(octet) > 1 and octet[0] == "0"):
            return 0
    return len(text)


def _ipv6_valid(text: str) -> bool:
    colons = text.count(":")
    # Cheap rejections first: "12:30:45" is a time, "dead::beef" more likely code.
    if colons < 2 or ("::" not in text and colons != 7) or not has_digit(text):
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _ipv6_check(text: str) -> int:
    return _longest_prefix(text, ":", _ipv6_valid)


def _has_digit_check(text: str) -> int:
    # Real keys are random base62; a kebab-case slug after "sk-" has no digit.
    return len(text) if has_digit(text) else 0


def _not_a_word_check(text: str) -> int:
    # "Bearer tokenauthentication" in prose is a word, not a token.
    return 0 if text.isalpha() else len(text)


def _digits_only(text: str) -> str:
    return "".join(c for c in text if c.isdigit() or c == "+")


def _compact_upper(text: str) -> str:
    return text.replace(" ", "").upper()


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
        check=_has_digit_check,
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
        check=_not_a_word_check,
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
        needs_digit=True,
        check=_card_check,
        normalize=_digits_only,
        min_length=13,
    ),
    Detector(
        "iban",
        "IBAN",
        _compile(_lead("[A-Z]", 1, r"\w") + r"[A-Z]\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])"),
        needs_digit=True,
        check=_iban_check,
        normalize=_compact_upper,
        min_length=15,
    ),
    Detector(
        "ssn",
        "SSN",
        # Dashed form only: "512 64 1024" is far more often three numbers than an SSN.
        finder=_anchored(r"-\d{2}-\d{4}" + _NUMBER_END, _DIGITS, 3, r"\w.+/-", least=3),
        hints=("-",),
        needs_digit=True,
        check=_ssn_check,
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
        needs_digit=True,
        check=_ipv6_check,
        min_length=3,
    ),
    Detector(
        "ipv4",
        "IP_ADDRESS",
        finder=_anchored(r"\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\w|\.\d)", _DIGITS, 3, r"\w."),
        hints=(".",),
        needs_digit=True,
        check=_ipv4_check,
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
            # Parenthesised area code: (415) 555-2671; (020) 7946 0958, (030) 1234567.
            _lead(r"\(", 1, r"\w.+/-")
            + r"(?:\d{3}\) ?\d{3}[.-]\d{4}|0\d{1,4}\)[ .-]?\d{2,8}(?:[ .-]\d{2,8}){0,3})"
            + _NUMBER_END,
            _lead(r"\d", 1, r"\w.+/-") + r"(?:"
            # Trunk prefix 0 (most of Europe, the UK, Australia ...), one separator used
            # throughout: 020 7946 0958, 07700 900123, 01 23 45 67 89, 030-1234567.
            r"(?<=0)[1-9]\d{0,3}(?P<sep>[ .-])\d{2,8}(?:(?P=sep)\d{2,8}){0,3}"
            # North American with a country code: 1-800-555-0199, 1 (800) 555-0199.
            r"|(?<=1)[ .-](?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}"
            # North American: 415-555-2671, 415.555.2671 ...
            r"|\d{2}[.-]\d{3}[.-]\d{4}"
            # ... and with spaces only when area code and exchange are valid NANP numbers
            # (first digit 2-9), so that "100 200 3000" stays a list of numbers.
            r"|(?<=[2-9])\d{2} [2-9]\d{2} \d{4}"
            r")" + _NUMBER_END,
        ),
        needs_digit=True,
        check=_phone_check,
        normalize=_digits_only,
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
