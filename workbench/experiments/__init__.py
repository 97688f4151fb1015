"""Datasets and experiments: from a bad trace to a better app, measured.

Datasets (named, versioned, in the store beside the spans they came from)::

    from workbench.experiments import create_dataset, dataset, from_traces, import_dataset
    wb = workbench.open("app.duckdb", read_only=False)
    worst = from_traces(wb, "refund-failures", "feedback == 'thumbs_down'")  # or a DataFrame of traces
    qa = create_dataset(wb, "refunds", [{"input": "How do refunds work?", "expected": "Prorated."}])
    qa = qa.add([{"input": "Can I pause my plan?"}])      # version 2; version 1 stays readable
    qa.export("refunds.jsonl")                            # .parquet, .jsonl, .csv

Experiments (each run a trace in the same store, scored by evaluators into annotations)::

    from workbench.experiments import Contains, ExactMatch, PromptTask, compare, run_experiment
    v2 = run_experiment(wb, "refunds", answer_v2, [ExactMatch(), Contains("refund")], name="v2")
    v3 = run_experiment(wb, "refunds", PromptTask("Answer briefly: {input}", "gpt-4o-mini"), name="v3")
    compare(wb, "v2", "v3").summary()
    compare(wb, "v2", PRODUCTION).examples                # against what production answered

In CI: ``workbench experiment run DATASET --task module:function --fail-under 0.8``; in pytest:
:func:`assert_pass_rate` (and the fixture of :mod:`workbench.experiments.pytest_plugin`).

Modules: ``examples`` (rows and files), ``datasets``, ``sources`` (datasets from spans),
``tasks``, ``evaluators``, ``run``, ``record`` (a stored experiment), ``compare``, ``gate``,
``where`` (which store); the SQL is in :mod:`workbench.read.experiments` and
:mod:`workbench.store.experiments`.
"""

from __future__ import annotations

from workbench.experiments.compare import PRODUCTION, Comparison, compare, word_diff
from workbench.experiments.datasets import (
    Dataset,
    add_examples,
    create_dataset,
    dataset,
    delete_dataset,
    import_dataset,
    list_datasets,
)
from workbench.experiments.evaluators import (
    Contains,
    Evaluator,
    ExactMatch,
    JsonSchema,
    Judged,
    Regex,
    Score,
    function,
    parse_evaluator,
)
from workbench.experiments.gate import assert_pass_rate, pass_rate, summary_table
from workbench.experiments.record import Experiment, delete_experiment, list_experiments, load_experiment
from workbench.experiments.run import run_experiment
from workbench.experiments.sources import CORRECTION, from_session, from_spans, from_traces
from workbench.experiments.tasks import PromptTask, TaskOutput, estimate_cost

#: ``experiment(wb, name)``: a stored experiment, as :func:`load_experiment`.
experiment = load_experiment

__all__ = [
    "CORRECTION",
    "PRODUCTION",
    "Comparison",
    "Contains",
    "Dataset",
    "Evaluator",
    "ExactMatch",
    "Experiment",
    "JsonSchema",
    "Judged",
    "PromptTask",
    "Regex",
    "Score",
    "TaskOutput",
    "add_examples",
    "assert_pass_rate",
    "compare",
    "create_dataset",
    "dataset",
    "delete_dataset",
    "delete_experiment",
    "estimate_cost",
    "experiment",
    "from_session",
    "from_spans",
    "from_traces",
    "function",
    "import_dataset",
    "list_datasets",
    "list_experiments",
    "load_experiment",
    "parse_evaluator",
    "pass_rate",
    "run_experiment",
    "summary_table",
    "word_diff",
]
