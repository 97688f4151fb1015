"""The ingest pipeline: one object, the same stages, whichever way spans come in.

::

    decode (OTLP protobuf / JSON, or the SDK's ReadableSpan) -> RawSpan
      -> conventions (workbench.semconv: fields, evaluations)   -> Span
      -> redaction (workbench.collector.redaction)               -> Span
      -> rows (workbench.store.rows.to_tables)                   -> SpanBatch (Arrow)
      -> sampling (workbench.ingest.sampling.BatchSampler)       -> SpanBatch, weighted
      -> the sink (the store's writer)

The first stages, up to the rows, are :class:`Prepare`: they hold no state across batches,
so the server runs them in its decoding worker processes, one request at a time, and the
in-process collector on its background thread. Sampling holds rows across batches until their
trace is decided, so it runs where the sink is: in the server process, and on the
collector's thread. :class:`IngestPipeline` puts both together; the OTLP receiver calls
its two halves on either side of the worker processes, the collector calls it whole.

The representation from the rows on is Arrow (:class:`~workbench.store.rows.SpanBatch`),
the one the server needs: a worker hands its rows to the server process without a copy
(through a mapped file), and sampling there reads columns instead of rebuilding span
objects. The in-process collector makes the same rows, which its writer would otherwise make
on its own thread. A sink that keeps span objects instead of rows (an in-memory sink for
tests, or one of the user's) gets the batch's :attr:`~workbench.store.rows.SpanBatch.source`
spans, the sample weights set; the :class:`~workbench.store.Store` takes the rows.
"""

from __future__ import annotations

import logging
import pickle
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.collector.pipeline import Pipeline
from workbench.ingest.sampling import BatchSampler
from workbench.model import Span
from workbench.store.rows import SpanBatch, to_tables

if TYPE_CHECKING:
    from workbench.collector.redaction import RedactionConfig
    from workbench.collector.sampling import SamplingPolicy

__all__ = ["Admitted", "IngestPipeline", "Prepare", "Prepared", "prepare_for"]

logger = logging.getLogger(__name__)


@dataclass
class Prepared:
    """What the stateless stages made of one batch of spans.

    Attributes:
        batch: The rows of the spans kept.
        rejected: Spans left out because the store cannot hold their values.
        error: The first reason a span was left out, or "".
        dropped: Spans dropped because redaction failed on them (never stored unredacted).
        redacted: What redaction replaced in this batch, by detector.
    """

    batch: SpanBatch
    rejected: int = 0
    error: str = ""
    dropped: int = 0
    redacted: dict[str, int] = field(default_factory=dict)


class Prepare:
    """The pipeline's stateless stages: redaction on the spans, then their Arrow rows.

    Args:
        redaction: The redaction policy, or None to keep values as sent.
        keep_source: Keep the span objects on the batch, for a sink that takes objects.
    """

    def __init__(self, redaction: RedactionConfig | None = None, *, keep_source: bool = False) -> None:
        self.redaction = redaction
        self.keep_source = keep_source
        self.spans_stages: Pipeline | None = None
        if redaction is not None:
            from workbench.collector.redaction import Redactor

            self.spans_stages = Pipeline(redactor=Redactor(redaction))

    def __call__(self, spans: list[Span]) -> Prepared:
        """Run the stages over one batch of spans (conventions already applied)."""
        stages = self.spans_stages
        redacted: dict[str, int] = {}
        dropped = 0
        if stages is not None and spans:
            redactor = stages.redactor
            before = Counter(redactor.counts()) if redactor is not None else Counter()
            dropped_before = stages.dropped
            spans = stages(spans)
            dropped = stages.dropped - dropped_before
            if redactor is not None:
                redacted = dict(Counter(redactor.counts()) - before)
        batch = to_tables(spans, keep_source=self.keep_source)  # spans the store cannot hold are listed
        error = batch.rejected[0][1] if batch.rejected else ""
        return Prepared(batch, len(batch.rejected), error, dropped, redacted)


# One Prepare per process and redaction policy: a decoding worker builds it on first use. The
# policy arrives pickled with every request, so its pickled form is the key.
_prepares: dict[bytes, Prepare] = {}


def prepare_for(redaction: RedactionConfig | None) -> Prepare:
    """This process's :class:`Prepare` for a redaction policy (built once, then reused)."""
    key = pickle.dumps(redaction)
    prepare = _prepares.get(key)
    if prepare is None:
        prepare = _prepares[key] = Prepare(redaction)
    return prepare


@dataclass
class Admitted:
    """What became of one batch of spans handed to the whole pipeline.

    Attributes:
        future: The sink's future for the rows (completes once they are stored), or None when
            sampling holds them, or nothing was left to store.
        spans: Spans handed on (to the sink, or to sampling).
        rejected: Spans left out because the store cannot hold their values.
        dropped: Spans dropped because redaction failed on them.
    """

    future: Future[int] | None
    spans: int
    rejected: int = 0
    dropped: int = 0


class IngestPipeline:
    """The ingest pipeline both ways in run: :class:`Prepare`, then sampling, then the sink.

    Args:
        sink: Where the rows go: a :class:`~workbench.store.Store` takes them as they are;
            any other sink (``submit(spans)``) gets the span objects of the rows.
        redaction: The redaction policy, or None.
        sampling: Outcome-based sampling, or None to keep every span.
        on_stored: Called with the sink's future of every batch handed to it, also batches
            sampling releases later (the collector counts what failed there).

    Threading: :meth:`__call__` and :meth:`admit` are called from one thread (the collector's
    background thread; the server's event loop); :meth:`release` from any (a flush on the
    program's thread too): sampling takes a lock of its own.
    """

    def __init__(
        self,
        sink: Any,
        *,
        redaction: RedactionConfig | None = None,
        sampling: SamplingPolicy | None = None,
        on_stored: Callable[[Future[int]], None] | None = None,
    ) -> None:
        self.sink = sink
        self.takes_rows = bool(getattr(sink, "takes_rows", False))
        self.prepare = Prepare(redaction, keep_source=not self.takes_rows)
        self.sampler: BatchSampler | None = (
            BatchSampler(sampling, self._hand) if sampling is not None and sampling.active else None
        )
        self.on_stored = on_stored

    @property
    def redaction(self) -> RedactionConfig | None:
        """The redaction policy of the pipeline's first stage."""
        return self.prepare.redaction

    def __call__(self, spans: list[Span]) -> Admitted:
        """Run every stage over a batch of spans (the in-process collector's way).

        Raises:
            QueueFullError: The sink cannot take more now (without sampling; with it, the
                sampler keeps the rows and tries again on the next release).
        """
        prepared = self.prepare(spans)
        admitted = self.admit(prepared.batch)
        admitted.rejected, admitted.dropped = prepared.rejected, prepared.dropped
        return admitted

    def admit(self, batch: SpanBatch) -> Admitted:
        """The stages after the rows: sampling (when on), then the sink.

        Raises:
            QueueFullError: The sink cannot take more now (without sampling).
        """
        if self.sampler is not None:
            self.sampler.offer(batch)
            return Admitted(None, batch.num_spans)
        return Admitted(self._hand(batch) if batch.num_spans else None, batch.num_spans)

    def release(self, *, everything: bool = False) -> int:
        """Hand the sink the kept rows of every trace sampling has decided; how many spans.

        Args:
            everything: Decide every trace held now (a flush, the end of the program).
        """
        return self.sampler.release(everything=everything) if self.sampler is not None else 0

    @property
    def holding(self) -> int:
        """Spans sampling holds (undecided, or waiting for the sink)."""
        return self.sampler.holding if self.sampler is not None else 0

    def _hand(self, batch: SpanBatch) -> Future[int]:
        spans: SpanBatch | Sequence[Span] = batch
        if not self.takes_rows:
            spans = batch.source if batch.source is not None else ()
        future: Future[int] = self.sink.submit(spans)
        if self.on_stored is not None:
            future.add_done_callback(self.on_stored)
        return future
