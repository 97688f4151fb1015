"""What happens to spans on the way in, before the sink: redaction, then sampling.

Both ways in (the in-process processor and the OTLP receiver) run the same pipeline, so a
policy set once applies to every span, before any value reaches the store, a log or an export.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from workbench import config
from workbench.model import Span

__all__ = ["Pipeline", "build_pipeline"]

Stage = Callable[[list[Span]], list[Span]]


class Pipeline:
    """Stages applied in order to each batch of spans."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = list(stages)

    def __call__(self, spans: list[Span]) -> list[Span]:
        for stage in self.stages:
            if not spans:
                break
            spans = stage(spans)
        return spans

    def __bool__(self) -> bool:
        return bool(self.stages)


def build_pipeline(*, redact: bool | None = None, capture_text: bool | None = None, redaction: object = None) -> Pipeline | None:
    """Build the ingest pipeline from arguments and settings; None when it has nothing to do.

    Args:
        redact: Redact personal data (default: the ``redact`` setting).
        capture_text: Keep prompt and response text (default: the ``capture_text`` setting).
        redaction: A ready ``RedactionConfig`` (overrides ``redact``).
    """
    redact = config.get("redact", redact)
    capture_text = config.get("capture_text", capture_text)
    stages: list[Stage] = []
    if redaction is not None or redact or not capture_text:
        from workbench.collector.redaction import RedactionConfig, Redactor

        cfg = redaction if redaction is not None else RedactionConfig(capture_text=capture_text)
        if redaction is None and not redact:
            cfg = RedactionConfig(detectors=(), capture_text=capture_text)
        redactor = Redactor(cfg)
        stages.append(lambda spans: [redactor.apply(s) for s in spans])
    return Pipeline(stages) if stages else None
