"""The sample: synthetic traces of a fictional RAG support assistant, with real text and vectors.

"Lumen" is a fictional hosted analytics and data-pipeline product. Its documentation
(``knowledge_base.jsonl``) was written for this project; a support assistant answers user
questions from it. The traces are synthetic, made by :mod:`sample_data.generate` through the
OpenTelemetry SDK and ``workbench.register()``; the texts and the embeddings
(all-MiniLM-L6-v2, 384 dimensions, unit norm) are real.

Files, found with :func:`path`:

* ``knowledge_base.jsonl``: the documentation, one chunk a line (id, topic, title, text).
* ``questions.jsonl``: what users ask, each question linked to the chunks that answer it
  (none for questions about a feature launched after the docs were indexed).
* ``corpus.parquet``: the chunks with their vectors (id, topic, title, text, vector).
* ``traces/``: the tables of ``workbench export`` (spans, documents, embeddings,
  annotations, corpus), one Parquet file per table; ``workbench.sample.load_sample``
  imports them.
* ``manifest.json``: what the generator made: seed, timeline, counts, and the measured
  numbers behind each story.

This package holds data only; reading it needs nothing beyond the standard library, and
loading it into a store is the store's business.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["CORPUS", "KNOWLEDGE_BASE", "MANIFEST", "QUESTIONS", "TRACES", "knowledge_base", "manifest", "path"]

KNOWLEDGE_BASE = "knowledge_base.jsonl"
CORPUS = "corpus.parquet"
TRACES = "traces"
QUESTIONS = "questions.jsonl"
MANIFEST = "manifest.json"


def path(name: str = "") -> Path:
    """Return the path of a sample file (or of the sample folder when ``name`` is empty).

    Args:
        name: One of the file names above, e.g. ``sample_data.CORPUS``.

    Returns:
        The path on disk; it may not exist if the sample was not generated.
    """
    root = Path(str(resources.files(__name__)))
    return root / name if name else root


def manifest() -> dict[str, Any]:
    """Return the generator's manifest (seed, time span, counts, stories)."""
    return json.loads(path(MANIFEST).read_text(encoding="utf-8"))


def knowledge_base() -> list[dict[str, str]]:
    """Return the documentation chunks, each a dict with id, topic, title and text."""
    with path(KNOWLEDGE_BASE).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
