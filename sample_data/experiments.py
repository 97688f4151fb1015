"""The sample's dataset and experiments: the Quality story, replayed offline.

On day 8 the support prompt v2 made answers one short sentence without a citation, and users
turned their thumbs down. The dataset ``support-bad-answers`` holds the worst of those traces
(the Quality page's worst traces under prompt v2), version 2 with each example's retrieved
documents in its metadata. Two experiments answer it again, deterministically and without a
network, in the style of each prompt: ``support-prompt-v1`` (grounded, two cited sentences)
and ``support-prompt-v2`` (one short sentence, no citation). Their comparison tells the story:
v1 cites a source and gives detail where v2 does not.

The tasks and evaluators are plain functions, so docs/experiments.md runs them again::

    from workbench.sample_data.experiments import EVALUATORS, answer_v1
    run_experiment(wb, "support-bad-answers", answer_v1, EVALUATORS, name="my-v1")

``python -m sample_data.experiments`` makes the files under ``traces/`` (``datasets/``,
``dataset_examples/``, ``experiments/``, ``experiment_runs/``, and ``spans/experiments.parquet``
and ``annotations/experiments.parquet`` for the runs' traces and scores), timed on the
sample's last day so that loading shifts them with the rest.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DATASET = "support-bad-answers"
EXPERIMENTS = ("support-prompt-v1", "support-prompt-v2")
WORST = 20  # examples in the dataset
TRACES = Path(__file__).resolve().parent / "traces"
_OWN = ("datasets", "dataset_examples", "experiments", "experiment_runs")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text or "") if s.strip()]


def _documents(metadata: Mapping[str, Any] | None) -> list[dict[str, str]]:
    return list((metadata or {}).get("documents") or [])


def answer_v1(input: Any, metadata: Mapping[str, Any]) -> str:
    """Prompt v1's style: the first sentence of each of the two best documents, each cited."""
    docs = _documents(metadata)[:2]
    if not docs:
        return "I could not find this in the documentation; a support engineer will follow up."
    return " ".join(f"{_sentences(d['text'])[0]} [{d['id']}]" for d in docs if _sentences(d["text"]))


def answer_v2(input: Any, metadata: Mapping[str, Any]) -> str:
    """Prompt v2's style: one short sentence from the best document, no citation."""
    docs = _documents(metadata)
    if not docs:
        return "Please check the documentation."
    words = _sentences(docs[0]["text"])[0].split()
    return " ".join(words[:12]).rstrip(".,;:") + "."


def cites_a_source(output: str) -> bool:
    """The answer cites a documentation chunk, as ``[kb-topic-007]``."""
    return re.search(r"\[kb-[\w-]+\]", output or "") is not None


def detailed(output: str) -> float:
    """How detailed the answer is: 1 from 30 words, less below."""
    return min(1.0, len((output or "").split()) / 30)


def _evaluators() -> list[Any]:
    from workbench.evals import SimilarityJudge
    from workbench.experiments import Judged, function

    return [function(cites_a_source), function(detailed),
            Judged(SimilarityJudge(threshold=0.1), "answer_relevance", name="relevance")]


#: The evaluators the sample's experiments were scored with.
EVALUATORS = _evaluators()


def build(store: Any) -> dict[str, Any]:
    """Make the dataset and run both experiments in ``store`` (which holds the sample)."""
    from workbench.analysis.quality import worst_traces
    from workbench.experiments import from_traces, run_experiment
    from workbench.read import Reader

    reader = Reader(store, owns_store=False)
    worst = worst_traces(reader, "user_feedback", filter="prompt_template_version == 'v2'", limit=WORST)
    made = from_traces(store, DATASET, worst, description="Support answers under prompt v2 that users thumbed down")
    documents = reader.documents(trace_ids=list(made.examples["source_trace_id"]))
    documents = documents[documents["span_id"].isin(
        reader.spans("span_kind == 'RETRIEVER'", trace_ids=list(made.examples["source_trace_id"]),
                     columns=["span_id"])["span_id"])]
    examples = made.examples.to_dict(orient="records")
    for example in examples:
        mine = documents[documents["trace_id"] == example["source_trace_id"]].sort_values("position").head(3)
        docs = [{"id": d, "text": t} for d, t in zip(mine["document_id"], mine["content"])]
        example["metadata"] = {**example["metadata"], "documents": docs}
    made = made.add(examples)
    runs = [run_experiment(store, made, task, EVALUATORS, name=name, concurrency=1, progress=False,
                           params={"prompt_version": name[-2:]})
            for name, task in zip(EXPERIMENTS, (answer_v1, answer_v2))]
    return {"dataset": made, "experiments": runs}


def _shift_rows(table: Any, delta: dt.timedelta) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for field in table.schema:
        column = table.column(field.name)
        if pa.types.is_timestamp(field.type):
            column = pc.add(column, pa.scalar(delta, pa.duration("us")))
        columns.append(column)
    return pa.table(columns, schema=table.schema)


def main() -> None:
    """Write the dataset's and experiments' files under ``traces/`` (see the module)."""
    import pyarrow.parquet as pq

    from workbench.sample import load_sample
    from workbench.store import Store
    from workbench.store.parquet import latest_time

    for name in _OWN:
        shutil.rmtree(TRACES / name, ignore_errors=True)
    for name in ("spans", "annotations"):
        (TRACES / name / "experiments.parquet").unlink(missing_ok=True)
    end = latest_time(TRACES)
    assert end is not None
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "sample.duckdb")
        try:
            load_sample(store, now=end + dt.timedelta(minutes=2))  # no shift: the files' own times
            made = build(store)
            store.flush()
            first = store.query("SELECT min(created_at) AS t FROM datasets").column(0)[0].as_py()
            delta = (end - dt.timedelta(hours=3)) - first  # the experiments ran on the sample's last day
            ids = [e.experiment_id for e in made["experiments"]]
            parts = {
                "spans": store.query("SELECT * FROM spans WHERE project = 'experiments'"),
                "annotations": store.query("SELECT * FROM annotations WHERE annotator LIKE 'experiment:%'"),
                **{name: store.query(f"SELECT * FROM {name}") for name in _OWN},
            }
            for name, table in parts.items():
                folder_path = TRACES / name
                folder_path.mkdir(exist_ok=True)
                file = "experiments.parquet" if name in ("spans", "annotations") else f"{name}.parquet"
                pq.write_table(_shift_rows(table, delta), folder_path / file, compression="zstd")
                print(f"{name}: {table.num_rows} rows")
            print("experiments:", ids)
        finally:
            store.close()


if __name__ == "__main__":
    main()
