"""Redaction on the way in: the stages a batch of spans goes through before sampling and the sink.

Every span takes the same road, whichever way it came in::

    decode -> conventions (workbench.semconv: fields, evaluations) -> Pipeline (redaction)
           -> tail sampling -> the store's writer

The in-process processor (:mod:`workbench.collector.processor`) and the OTLP receiver's
decoding workers (:mod:`workbench.server.decode`) both build a :class:`Pipeline` from the same
settings, so a redaction policy set once applies to every span before any value reaches the
store, a log or an export. Sampling is not a stage of this class: it holds spans across
batches until their trace is decided, so it runs after it, in process on the spans
(:class:`workbench.collector.sampling.TailSampler`) and in the server on the Arrow rows the
workers return (:class:`workbench.server.sampling.BatchSampler`, the same sampler and policy).
Both price a trace with :func:`workbench.pricing.span_cost` and judge the evaluations the
conventions layer extracted once (:attr:`Span.evaluations <workbench.model.Span.evaluations>`,
which become the server's annotation rows), so they decide alike.
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
