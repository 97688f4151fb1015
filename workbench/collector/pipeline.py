"""Redaction on the way in: the stages on span objects, before the rows are made.

Every span takes the same road, whichever way it came in (see :mod:`workbench.ingest`)::

    decode -> RawSpan -> conventions (workbench.semconv: fields, evaluations)
           -> Pipeline (redaction) -> Arrow rows -> tail sampling -> the store's writer

:class:`Pipeline` is the span-object part of that road: the ingest pipeline
(:class:`workbench.ingest.IngestPipeline`) runs it before making the rows, in the server's
decoding workers and on the in-process collector's thread alike, and the log receivers run it
over log records (as the span events they stand for), so a redaction policy set once applies
to every value before it reaches the store, a log or an export. Sampling and the sink come
after the rows, in :mod:`workbench.ingest`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from workbench import config
from workbench.model import Span

if TYPE_CHECKING:
    from workbench.collector.redaction import RedactionConfig, Redactor

__all__ = ["Pipeline", "build_pipeline", "redaction_config"]

logger = logging.getLogger(__name__)

Stage = Callable[[list[Span]], list[Span]]


class Pipeline:
    """Stages applied in order to each batch of spans.

    Attributes:
        redactor: The redactor in use (its ``counts()`` say what was replaced), or None.
        dropped: Spans dropped because a stage could not process them safely.
    """

    def __init__(self, stages: Sequence[Stage] = (), *, redactor: Redactor | None = None) -> None:
        self.stages = list(stages)
        self.redactor = redactor
        self.dropped = 0
        if redactor is not None:
            self.stages.insert(0, self._redact)

    def _redact(self, spans: list[Span]) -> list[Span]:
        assert self.redactor is not None
        out = []
        for span in spans:
            try:
                out.append(self.redactor.apply(span))
            except Exception:
                # Storing a span we failed to redact would defeat the point: drop it.
                self.dropped += 1
                logger.exception("redaction failed; span %s was dropped, not stored", span.span_id)
        return out

    def __call__(self, spans: list[Span]) -> list[Span]:
        for stage in self.stages:
            if not spans:
                break
            spans = stage(spans)
        return spans

    def __bool__(self) -> bool:
        return bool(self.stages)


def redaction_config(
    *,
    redact: bool | None = None,
    capture_text: bool | None = None,
) -> RedactionConfig | None:
    """The redaction policy the settings ask for, or None when nothing is to be redacted.

    Args:
        redact: Redact personal data with the default detectors (default: the ``redact`` setting).
        capture_text: Keep prompt and response text (default: the ``capture_text`` setting).
    """
    redact = config.get("redact", redact)
    capture_text = config.get("capture_text", capture_text)
    if not redact and capture_text:
        return None
    from workbench.collector.redaction import RedactionConfig

    # The config file's [redaction] table says how (detectors, mode, salt, scope ...);
    # whether is the redact setting's, so an argument or variable can still turn it off.
    values = dict(config.file_section("redaction"))
    values["enabled"] = bool(redact)
    values["capture_text"] = bool(capture_text)
    return RedactionConfig.from_mapping(values)


def build_pipeline(
    *,
    redact: bool | None = None,
    capture_text: bool | None = None,
    redaction: RedactionConfig | None = None,
) -> Pipeline | None:
    """Build the ingest pipeline from arguments and settings; None when it has nothing to do.

    Args:
        redact: Redact personal data with the default detectors (default: the ``redact`` setting).
        capture_text: Keep prompt and response text (default: the ``capture_text`` setting).
        redaction: A full redaction policy; overrides ``redact`` and ``capture_text``.
    """
    if redaction is None:
        redaction = redaction_config(redact=redact, capture_text=capture_text)
    if redaction is None:
        return None
    from workbench.collector.redaction import Redactor

    return Pipeline(redactor=Redactor(redaction))
