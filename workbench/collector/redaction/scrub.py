"""Finding and replacing sensitive values in one string.

:class:`Scrubber` runs every enabled detector over a string, resolves overlapping matches
(the earliest start wins, then the detector listed first, then the longest) and replaces each
kept match with a placeholder (``<EMAIL>``) or a salted hash (``<EMAIL:3f9a1c2b>``).

Matches are collected on the original text rather than detector after detector, so that one
detector never sees another's placeholder (a hash of digits must not look like a phone).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from workbench.collector.redaction.checks import count_digits
from workbench.collector.redaction.detectors import Detector

__all__ = ["HASH", "MODES", "PLACEHOLDER", "Found", "Scrubber"]

PLACEHOLDER = "placeholder"
HASH = "hash"
MODES = (PLACEHOLDER, HASH)

_MEMO_LIMIT = 4096

#: What a scrub found, by detector name: the distinct original values.
Found = dict[str, set[str]]


class Scrubber:
    """Replaces what a fixed list of detectors finds. Safe to share between threads.

    Args:
        detectors: The detectors to run, in priority order.
        hashed: Names of detectors whose values become salted hashes instead of placeholders.
        salt: The HMAC key for hashed values.
        hash_length: How many hex characters of the HMAC-SHA256 digest to keep.
    """

    def __init__(
        self,
        detectors: Sequence[Detector],
        *,
        hashed: frozenset[str] = frozenset(),
        salt: str = "",
        hash_length: int = 8,
    ) -> None:
        self.detectors = tuple(detectors)
        # The pre-checks as plain tuples: this loop runs for every string of every span.
        self._checks = tuple((rank, d, d.min_length, d.min_digits, d.hints) for rank, d in enumerate(self.detectors))
        self._shortest = min((d.min_length for d in self.detectors), default=0)
        self._count_digits = any(d.min_digits for d in self.detectors)
        self._hashed = hashed
        self._key = salt.encode("utf-8")
        self._hash_length = hash_length
        # The same address or number recurs across spans (one user, many calls). A plain
        # dict is safe to share between threads: a lost race only repeats a pure computation.
        self._memo: dict[tuple[str, str], str] = {}

    def replacement(self, detector: Detector, value: str) -> str:
        """The text that stands in for ``value`` found by ``detector``."""
        if detector.name not in self._hashed:
            return f"<{detector.label}>"
        memo_key = (detector.name, value)
        replacement = self._memo.get(memo_key)
        if replacement is None:
            normalized = detector.normalize(value) if detector.normalize else value
            digest = hmac.new(self._key, normalized.encode("utf-8"), hashlib.sha256).hexdigest()
            replacement = f"<{detector.label}:{digest[: self._hash_length]}>"
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()  # bounded memory; recomputing is cheap
            self._memo[memo_key] = replacement
        return replacement

    def scrub(self, text: str, found: Found | None = None) -> str:
        """Return ``text`` with every detected value replaced.

        Args:
            text: The string to scan.
            found: If given, each replaced original value is added to ``found[name]``.

        Returns:
            The redacted string, or ``text`` itself when nothing was found.
        """
        size = len(text)
        if size < self._shortest:
            return text
        digits = count_digits(text) if self._count_digits else 0
        present: dict[str, bool] = {}  # hints shared by detectors ("sk-", "_") are looked for once
        candidates: list[tuple[int, int, int]] = []
        for rank, detector, min_length, min_digits, hints in self._checks:
            if size < min_length or digits < min_digits:
                continue
            if hints:
                for hint in hints:
                    found_hint = present.get(hint)
                    if found_hint is None:
                        found_hint = present[hint] = hint in text
                    if found_hint:
                        break
                else:
                    continue
            for start, end in detector.find(text):
                candidates.append((start, rank, end))
        if not candidates:
            return text
        if len(candidates) > 1:
            # Earliest start first; at one start the higher-priority detector, then the longer.
            candidates.sort(key=lambda c: (c[0], c[1], -c[2]))
        parts: list[str] = []
        last = 0
        for start, rank, end in candidates:
            if start < last:  # overlaps a match already kept
                continue
            detector = self.detectors[rank]
            value = text[start:end]
            parts.append(text[last:start])
            parts.append(self.replacement(detector, value))
            if found is not None:
                found.setdefault(detector.name, set()).add(value)
            last = end
        parts.append(text[last:])
        return "".join(parts)
