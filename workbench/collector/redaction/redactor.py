"""The :class:`Redactor`: a compiled :class:`RedactionConfig` applied to spans, with counters."""

from __future__ import annotations

import threading
from dataclasses import replace

from workbench.collector.redaction.config import RedactionConfig
from workbench.collector.redaction.detectors import BUILTIN_DETECTORS, Detector
from workbench.collector.redaction.scrub import Found, Scrubber
from workbench.collector.redaction.span import ScanPlan, drop_text, redact_span
from workbench.model import Span

__all__ = ["Redactor"]


def _detectors(config: RedactionConfig) -> tuple[Detector, ...]:
    builtins = {d.name: d for d in BUILTIN_DETECTORS}
    custom = tuple(Detector(c.name, c.label, (c.compiled(),)) for c in config.custom)
    return (*custom, *(builtins[name] for name in config.builtin_names()))


class Redactor:
    """Applies a redaction policy to spans before they are stored.

    Everything is compiled once, here. :meth:`apply` is a pure function of the span apart
    from the counters, and may be called from any number of threads at once.

    :meth:`apply` does not catch errors: a caller that cannot redact a span should drop it
    rather than store it as it came.

    Args:
        config: The policy; by default every detector, placeholders, all keys in scope.
    """

    def __init__(self, config: RedactionConfig | None = None) -> None:
        self.config = config if config is not None else RedactionConfig()
        detectors = _detectors(self.config) if self.config.enabled else ()
        self._scrubber = (
            Scrubber(
                detectors,
                hashed=self.config.hashed_names(),
                salt=self.config.salt,
                hash_length=self.config.hash_length,
            )
            if detectors
            else None
        )
        self._plan = ScanPlan.build(self.config.scope, self.config.allow_keys())
        self._lock = threading.Lock()
        self._counts = dict.fromkeys((d.name for d in detectors), 0)

    @property
    def active(self) -> bool:
        """Whether :meth:`apply` can change anything (so a caller may skip it otherwise)."""
        return self._scrubber is not None or not self.config.capture_text

    def apply(self, span: Span) -> Span:
        """Return ``span`` redacted according to the policy (the same object if unchanged)."""
        redacted = self._apply(span)
        if redacted is not span and redacted.evaluations:
            # Evaluations are read again from the redacted attributes (see semconv.evaluations).
            redacted = replace(redacted, evaluations=None)
        return redacted

    def _apply(self, span: Span) -> Span:
        if not self.config.capture_text:
            span = drop_text(span)
        scrubber = self._scrubber
        if scrubber is None:
            return span
        found: Found = {}
        # The same text usually arrives twice (input.value and input_value, a message's
        # attribute and its Message): scan each distinct string once per span.
        seen: dict[str, str] = {}

        def text(value: str) -> str:
            result = seen.get(value)
            if result is None:
                result = seen[value] = scrubber.scrub(value, found)
            return result

        span = redact_span(span, text, self._plan)
        if found:
            with self._lock:
                for name, values in found.items():
                    self._counts[name] += len(values)
        return span

    def counts(self) -> dict[str, int]:
        """How many values each detector has replaced, by detector name (a copy).

        A value counts once per span however many copies of it the span carries (the raw
        attribute and the extracted field are one value).
        """
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            for name in self._counts:
                self._counts[name] = 0

    def __repr__(self) -> str:
        return f"Redactor({self.config!r})"
