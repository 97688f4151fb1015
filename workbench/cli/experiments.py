"""``workbench dataset`` and ``workbench experiment``: datasets, experiments, and the CI gate.

``workbench experiment run DATASET --task module:function --fail-under 0.8`` runs a dataset
through a task, prints a summary table and exits non-zero under the bar. The experiments
package loads only when a command runs.
"""

from __future__ import annotations

import math
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from workbench import config
from workbench.cli.one_line import one_line_errors
from workbench.pricing.money import usd

__all__ = ["BELOW_BAR", "dataset_group", "experiment_group"]

#: Exit status of ``experiment run`` when the pass rate is under ``--fail-under``
#: (1 is an error that stopped the run; 2 a usage mistake).
BELOW_BAR = 4

_db = click.option("--db", type=click.Path(dir_okay=False), default=None,
                   help=f"The DuckDB file (default: ${config.SETTINGS['db'].env}).")


def _where(db: str | None) -> str:
    return db or str(config.get("db"))


def _cell(value: Any, width: int = 40) -> str:
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# Datasets ------------------------------------------------------------------------------


@click.group("dataset")
def dataset_group() -> None:
    """Datasets of examples, named and versioned in the store (see docs/experiments.md)."""


@dataset_group.command("list")
@_db
@one_line_errors
def dataset_list(db: str | None) -> None:
    """List the datasets: latest version, examples, versions."""
    from workbench.experiments import list_datasets

    frame = list_datasets(_where(db))
    if frame.empty:
        click.echo("No datasets yet; make one with `workbench dataset import FILE` or in Python.")
        return
    rows = [["name", "version", "examples", "versions", "created", "description"]]
    rows += [[str(r.name), str(r.version), str(r.example_count), str(r.versions), f"{r.created_at:%Y-%m-%d %H:%M}",
              _cell(r.description)] for r in frame.itertuples(index=False)]
    click.echo(_table(rows))


@dataset_group.command("show")
@click.argument("name")
@click.option("--version", type=click.IntRange(1), default=None, help="This version (default: the latest).")
@click.option("--limit", type=click.IntRange(0), default=20, show_default=True, help="Examples shown; 0 for all.")
@_db
@one_line_errors
def dataset_show(name: str, version: int | None, limit: int, db: str | None) -> None:
    """Show a dataset's versions and its examples."""
    from workbench.experiments import dataset

    found = dataset(_where(db), name, version)
    click.echo(f"{found.name} version {found.version}: {len(found)} examples"
               + (f" ({found.description})" if found.description else ""))
    rows = [["version", "created", "change", "examples"]]
    rows += [[str(v.version), f"{v.created_at:%Y-%m-%d %H:%M}", str(v.change), str(v.example_count)]
             for v in found.versions().itertuples(index=False)]
    click.echo(_table(rows) + "\n")
    shown = found.examples if not limit else found.examples.head(limit)
    rows = [["example_id", "input", "expected", "source span"]]
    rows += [[_cell(r.example_id, 16), _cell(r.input), _cell(r.expected), _cell(r.source_span_id, 16)]
             for r in shown.itertuples(index=False)]
    click.echo(_table(rows))
    if len(shown) < len(found):
        click.echo(f"... {len(found) - len(shown)} more (--limit 0 shows all)")


@dataset_group.command("export")
@click.argument("name")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--version", type=click.IntRange(1), default=None, help="This version (default: the latest).")
@_db
@one_line_errors
def dataset_export(name: str, path: str, version: int | None, db: str | None) -> None:
    """Write a dataset's examples to PATH: .parquet, .jsonl or .csv."""
    from workbench.experiments import dataset

    found = dataset(_where(db), name, version)
    written = found.export(path)
    click.echo(f"Wrote {len(found)} examples of {found.name} version {found.version} to {written}.")


@dataset_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--name", default=None, help="The dataset (default: the file's name without its suffix).")
@click.option("--description", default=None, help="What the dataset is for.")
@_db
@one_line_errors
def dataset_import(path: str, name: str | None, description: str | None, db: str | None) -> None:
    """Read examples from PATH (.parquet, .jsonl or .csv) into a dataset: a new one, or its next version.

    Each row needs an input (column input or question); expected (or reference), metadata,
    example_id, source_trace_id and source_span_id are optional; other columns become metadata.
    """
    from workbench.experiments import import_dataset

    made = import_dataset(_where(db), path, name, description=description)
    click.echo(f"Dataset {made.name} version {made.version}: {len(made)} examples.")


@dataset_group.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask first.")
@_db
@one_line_errors
def dataset_delete(name: str, yes: bool, db: str | None) -> None:
    """Delete every version of a dataset (experiments run on it, their traces and scores stay)."""
    from workbench.experiments import dataset, delete_dataset

    found = dataset(_where(db), name)  # an unknown name is an error, before asking
    if not yes:
        click.confirm(f"Delete the {found.version} versions of dataset {name}?", abort=True)
    click.echo(f"Deleted {delete_dataset(_where(db), name)} versions of dataset {name}.")


# Experiments ---------------------------------------------------------------------------


@click.group("experiment")
def experiment_group() -> None:
    """Run datasets through tasks, compare the runs, and gate CI on them (see docs/experiments.md)."""


@experiment_group.command("run")
@click.argument("dataset")
@click.option("--task", "task_spec", default=None, help="A Python task: module:function, imported from here.")
@click.option("--prompt", default=None, help="Or a prompt task: a template with {placeholders} (or @FILE).")
@click.option("--saved-prompt", default=None,
              help="Or a prompt saved from the playground: NAME or NAME@VERSION (its model and parameters).")
@click.option("--model", default=None, help="The prompt task's model.")
@click.option("--system", default=None, help="The prompt task's system message.")
@click.option("--temperature", type=float, default=None, help="The prompt task's temperature.")
@click.option("--max-tokens", type=click.IntRange(1), default=None, help="The prompt task's max_tokens.")
@click.option("--base-url", envvar="OPENAI_BASE_URL", default="https://api.openai.com/v1", show_default=True,
              help="The endpoint of a prompt task or a judge, up to /v1. Env: OPENAI_BASE_URL.")
@click.option("--api-key", envvar="OPENAI_API_KEY", default=None, help="The endpoint's key. Env: OPENAI_API_KEY.")
@click.option("--evaluator", "evaluators", multiple=True,
              help="exact_match, contains[:TEXT], regex:PATTERN, json_schema:FILE, similarity, correctness, "
                   "answer_relevance or module:function (repeatable).")
@click.option("--judge-model", default=None, help="The LLM judge's model for correctness and answer_relevance.")
@click.option("--fail-under", type=click.FloatRange(0, 1), default=None,
              help=f"Exit {BELOW_BAR} when the pass rate is under this share, e.g. 0.8.")
@click.option("--name", default=None, help="The experiment's name; an existing one is resumed.")
@click.option("--project", default="experiments", show_default=True, help="The project of the runs' traces.")
@click.option("--concurrency", type=click.IntRange(1), default=4, show_default=True, help="Examples run at once.")
@click.option("--max-retries", type=click.IntRange(0), default=2, show_default=True,
              help="Retries of an example whose task failed.")
@click.option("--max-cost", type=float, default=None, help="Refuse to start a prompt task estimated above this (USD).")
@_db
@click.option("--quiet", is_flag=True, help="No progress bar.")
@one_line_errors
def experiment_run(dataset: str, task_spec: str | None, prompt: str | None, saved_prompt: str | None,
                   model: str | None, system: str | None,
                   temperature: float | None, max_tokens: int | None, base_url: str, api_key: str | None,
                   evaluators: tuple[str, ...], judge_model: str | None, fail_under: float | None, name: str | None,
                   project: str, concurrency: int, max_retries: int, max_cost: float | None, db: str | None,
                   quiet: bool) -> None:
    """Run DATASET (NAME or NAME@VERSION) through a task, score it, print a summary.

    Exit status: 0 when the pass rate clears --fail-under (or none is given), 4 under it,
    1 when the run could not happen or every run failed (the cause is printed).

        workbench experiment run refunds --task myapp.answer:answer --evaluator exact_match --fail-under 0.8

        workbench experiment run refunds --prompt "Answer briefly: {input}" --model gpt-4o-mini --evaluator contains
    """
    from workbench.experiments import PromptTask, parse_evaluator, run_experiment, summary_table
    from workbench.experiments.tasks import load_callable

    if sum(bool(t) for t in (task_spec, prompt, saved_prompt)) != 1:
        raise click.UsageError("Give --task module:function, or --prompt TEMPLATE with --model, or "
                               "--saved-prompt NAME: one task.")
    if saved_prompt is not None:
        from workbench.playground import prompt_task
        from workbench.store import Store

        prompt_name, _, version = saved_prompt.partition("@")
        if version and not version.isdigit():
            raise click.UsageError(f"--saved-prompt {saved_prompt} is not NAME or NAME@VERSION (a whole number).")
        with Store(_where(db), read_only=True) as saved:
            task: Any = prompt_task(saved, prompt_name, int(version) if version else None, base_url=base_url,
                                    api_key=api_key)
        model = getattr(task, "model", None) or model
    elif prompt is not None:
        if not model:
            raise click.UsageError("A --prompt task needs --model.")
        template = prompt
        if prompt.startswith("@"):
            try:
                template = Path(prompt[1:]).expanduser().read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise click.UsageError(f"Cannot read the template file {prompt[1:]} ({reason}); give --prompt "
                                       "@FILE with a UTF-8 text file, or the template itself.") from None
        params = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
        task = PromptTask(template, model, system=system, base_url=base_url, api_key=api_key, params=params)
    else:
        sys.path.insert(0, str(Path.cwd()))  # the task's module, from where the command runs
        task = load_callable(task_spec or "", "task")
    judge = None
    if judge_model:
        from workbench.evals import LLMJudge

        judge = LLMJudge(judge_model, base_url=base_url, api_key=api_key)
    if any(":" in e and not e.startswith(("contains", "regex", "json_schema")) for e in evaluators):
        sys.path.insert(0, str(Path.cwd()))
    chosen = [parse_evaluator(e, judge=judge) for e in evaluators]
    if name is None:
        what = ((task_spec or "").rsplit(":", 1)[-1] if task_spec
                else saved_prompt.partition("@")[0] if saved_prompt else f"prompt-{model}")
        name = f"{dataset.split('@')[0]}-{what}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    try:
        exp = run_experiment(_where(db), dataset, task, chosen, name=name, project=project, concurrency=concurrency,
                             max_retries=max_retries, max_cost=max_cost, progress=not quiet)
    except KeyboardInterrupt:
        click.echo(f"\nInterrupted; the finished runs of {name} are stored. Run the same command with "
                   f"--name {name} to resume it.", err=True)
        sys.exit(130)
    click.echo(f"Experiment {exp.name} on {exp.dataset} version {exp.dataset_version}: {len(exp.runs)} runs.")
    click.echo(summary_table(exp))
    errors = exp.runs[exp.runs["error"].notna()]
    if len(errors):
        click.echo(f"{len(errors)} runs failed; the first: {errors['error'].iloc[0]} (run again to retry them)",
                   err=True)
        if len(errors) == len(exp.runs):  # nothing was scored: the run did not happen, whatever the bar
            raise click.ClickException(f"Every run of {exp.name} failed, so nothing was scored; fix the cause "
                                       f"above and run the same command with --name {exp.name} to retry them.")
    if fail_under is not None:
        verdict = "passes" if exp.pass_rate >= fail_under else "is under"
        click.echo(f"Pass rate {exp.pass_rate:.0%} {verdict} the bar of {fail_under:.0%}.")
        if exp.pass_rate < fail_under:
            sys.exit(BELOW_BAR)


@experiment_group.command("show")
@click.argument("name")
@click.option("--failures", type=click.IntRange(0), default=10, show_default=True,
              help="Failing examples shown; 0 for none.")
@_db
@one_line_errors
def experiment_show(name: str, failures: int, db: str | None) -> None:
    """Show an experiment: what ran, its summary table and its failing examples."""
    from workbench.experiments import load_experiment, summary_table

    exp = load_experiment(_where(db), name)
    click.echo(f"Experiment {exp.name}: {exp.task} on {exp.dataset} version {exp.dataset_version}, "
               f"{len(exp.runs)} runs, pass rate {exp.pass_rate:.0%}.")
    click.echo(summary_table(exp))
    failed = exp.runs[~exp.runs["passed"]]
    if failures and len(failed):
        click.echo(f"\nFailing examples ({len(failed)}):")
        for r in failed.head(failures).itertuples(index=False):
            click.echo(f"  {_cell(r.example_id, 16)}  {_cell(r.input, 50)}  ->  {_cell(r.error or r.output, 60)}")


@experiment_group.command("list")
@click.option("--dataset", default=None, help="Only experiments of this dataset.")
@_db
@one_line_errors
def experiment_list(dataset: str | None, db: str | None) -> None:
    """List experiments, newest first, with their runs, errors, latency, tokens and cost."""
    from workbench.experiments import list_experiments

    frame = list_experiments(_where(db), dataset)
    if frame.empty:
        click.echo("No experiments yet; run one with `workbench experiment run DATASET --task module:function`.")
        return
    rows = [["name", "dataset", "task", "runs", "errors", "mean ms", "tokens", "cost", "created"]]
    for r in frame.itertuples(index=False):
        cost = usd(r.cost, missing="")
        rows.append([str(r.name), f"{r.dataset}@{r.dataset_version}", _cell(r.task, 30), str(r.runs), str(r.errors),
                     "" if r.mean_latency_ms is None or math.isnan(r.mean_latency_ms) else f"{r.mean_latency_ms:.0f}",
                     _cell(r.total_tokens), cost, f"{r.created_at:%Y-%m-%d %H:%M}"])
    click.echo(_table(rows))


@experiment_group.command("compare")
@click.argument("experiments", nargs=-1, required=True)
@click.option("--production", is_flag=True, help="Also compare with the production spans the dataset came from.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Also write the per-example comparison to this .csv or .parquet file.")
@_db
@one_line_errors
def experiment_compare(experiments: tuple[str, ...], production: bool, out: str | None, db: str | None) -> None:
    """Compare EXPERIMENTS (the first is the baseline): a summary, then the examples that changed."""
    from workbench.experiments import PRODUCTION, compare

    if len(experiments) < 2 and not production:
        raise click.UsageError("Give two or more experiments to compare, or one with --production to compare it "
                               "with the production spans its dataset came from.")
    if out is not None and Path(out).suffix.lower() not in (".csv", ".parquet"):
        raise click.UsageError(f"--out {out} names no .csv or .parquet file; give a path ending in one of them.")
    names = [*experiments, PRODUCTION] if production else list(experiments)
    result = compare(_where(db), *names)
    summary = result.summary()
    rows = [[str(c) for c in summary.columns]]
    for r in summary.itertuples(index=False):
        rows.append([f"{v:.2f}" if isinstance(v, float) and not math.isnan(v) else _cell(v, 24) for v in r])
    click.echo(_table(rows))
    base = result.names[0]
    for other in result.names[1:]:
        changed = result.examples[result.examples[f"passed[{base}]"] != result.examples[f"passed[{other}]"]]
        click.echo(f"\n{other} against {base}: {len(changed)} examples changed verdict")
        for r in changed.to_dict(orient="records"):
            mark = "fixed" if r[f"passed[{other}]"] else "broke"
            click.echo(f"  {mark}  {_cell(r['example_id'], 16)}  {_cell(r['input'], 50)}")
            click.echo(f"         {_cell(r[f'diff[{other}]'], 100)}")
    if out:
        target = Path(out)
        if target.suffix.lower() == ".parquet":
            result.examples.astype({c: str for c in ("input", "expected")}).to_parquet(target, index=False)
        else:
            result.examples.to_csv(target, index=False)
        click.echo(f"\nWrote the comparison of {len(result.examples)} examples to {target}.")
