"""The ingest pipeline both ways in run: the OTLP receiver and the in-process collector.

See :mod:`workbench.ingest.pipeline` for the stages and where each runs.
"""

from workbench.ingest.pipeline import Admitted, IngestPipeline, Prepare, Prepared, prepare_for
from workbench.ingest.sampling import BatchSampler

__all__ = ["Admitted", "BatchSampler", "IngestPipeline", "Prepare", "Prepared", "prepare_for"]
