"""``workbench eval``: judge stored spans and write the verdicts as annotations.

Kept out of :mod:`workbench.cli` so that module stays a list of commands; the evals
package loads only when the command runs.
"""

from __future__ import annotations

import sys

import click

from workbench import config
from workbench.cli.one_line import cli_message, server_url_option
from workbench.errors import WorkbenchError

__all__ = ["PARTIAL", "eval_command"]

# Exit codes: 0 every evaluation ran; 1 none could (the cause is printed); 2 a usage mistake;
# PARTIAL some ran and are written, some failed (counted on stderr).
PARTIAL = 3

_NAMES = ("context_relevance", "faithfulness", "answer_relevance", "context_recall")
_DEFAULT = ("context_relevance", "faithfulness", "answer_relevance")


@click.command("eval")
@click.argument("evaluators", nargs=-1, type=click.Choice(_NAMES))
@click.option("--model", default=None,
              help="The judge model of an OpenAI-compatible endpoint (gpt-4o-mini, llama3.1 ...).")
@click.option("--base-url", envvar="OPENAI_BASE_URL", default="https://api.openai.com/v1", show_default=True,
              help="The endpoint's API root, up to /v1 (Ollama: http://127.0.0.1:11434/v1). Env: OPENAI_BASE_URL.")
@click.option("--api-key", envvar="OPENAI_API_KEY", default=None, help="The endpoint's key. Env: OPENAI_API_KEY.")
@click.option("--similarity", is_flag=True,
              help="Judge by cosine similarity instead: no network, a cruder estimate.")
@click.option("--filter", "filter_", default=None, help="Which traces: those with a span matching this filter.")
@click.option("--start", default=None, help="Traces from this time: ISO text, or 24h, 7d ... back.")
@click.option("--end", default=None, help="Traces before this time.")
@click.option("--project", multiple=True, help="Only this project (repeatable).")
@click.option("--limit", type=int, default=100, show_default=True,
              help="At most this many traces, newest first; 0 for all.")
@click.option("--references", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Reference answers for context_recall: CSV, JSONL or Parquet with 'reference' and trace_id, "
                   "span_id or question.")
@click.option("--concurrency", type=int, default=4, show_default=True, help="Judge calls in flight at once.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait for one judge answer.")
@click.option("--rejudge", is_flag=True, help="Judge spans this judge already judged again.")
@click.option("--dry-run", is_flag=True, help="Judge, print the summary, write nothing.")
@click.option("--db", type=click.Path(dir_okay=False), default=None,
              help=f"The DuckDB file (default: ${config.SETTINGS['db'].env}).")
@click.option("--url", default=None, callback=server_url_option, help="Evaluate through a running server instead, e.g. http://127.0.0.1:4318.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def eval_command(evaluators: tuple[str, ...], model: str | None, base_url: str, api_key: str | None,
                 similarity: bool, filter_: str | None, start: str | None, end: str | None,
                 project: tuple[str, ...], limit: int, references: str | None, concurrency: int, timeout: float,
                 rejudge: bool, dry_run: bool, db: str | None, url: str | None, quiet: bool) -> None:
    """Judge stored spans with EVALUATORS and write the verdicts as annotations.

    EVALUATORS: context_relevance (each retrieved document), faithfulness, answer_relevance,
    context_recall (needs --references); default the first three. Give --model for an LLM
    judge, or --similarity for the local one.

    Exit status: 0 when every evaluation ran, 1 when none could (no key, endpoint down: the
    cause is printed), 3 when some failed (the others are written; counts on stderr).

        workbench eval faithfulness --model gpt-4o-mini --start 24h

        workbench eval --model llama3.1 --base-url http://127.0.0.1:11434/v1 --limit 20

        workbench eval --similarity --url http://127.0.0.1:4318
    """
    try:
        from workbench.evals import LLMJudge, SimilarityJudge, run_evals
        from workbench.evals.evaluators import built_in, read_references

        if similarity == bool(model):
            raise click.UsageError("Give --model MODEL for an LLM judge, or --similarity for the local one.")
        if not similarity and not api_key and _needs_key(base_url):
            raise WorkbenchError(
                f"No OPENAI_API_KEY is set, and {base_url} needs a key: set OPENAI_API_KEY or pass "
                "--api-key, or point --base-url at a local endpoint (Ollama, vLLM), or use --similarity."
            )
        judge = SimilarityJudge() if similarity else LLMJudge(model or "", base_url=base_url, api_key=api_key,
                                                                 timeout=timeout)
        chosen = built_in(evaluators or _DEFAULT, judge,
                          references=read_references(references) if references else None)
        run = run_evals(url or db, chosen, filter_, start=start, end=end, project=list(project) or None,
                        limit=limit or None, skip_existing=not rejudge, write=not dry_run,
                        concurrency=concurrency, progress=not quiet)
    except WorkbenchError as exc:
        click.echo(cli_message(exc), err=True)
        sys.exit(1)
    for row in run.summary().itertuples(index=False):
        mean = "-" if row.mean_score is None or row.mean_score != row.mean_score else f"{row.mean_score:.2f}"
        rate = "-" if row.pass_rate is None or row.pass_rate != row.pass_rate else f"{row.pass_rate:.0%}"
        reasons = run.skipped.get(row.name, {})
        why = f" ({', '.join(f'{n} {r}' for r, n in reasons.items())})" if reasons else ""
        click.echo(f"{row.name}: {row.verdicts} verdicts, mean score {mean}, pass rate {rate}, "
                   f"{row.skipped} skipped{why}")
    target = url or db or str(config.get("db"))
    click.echo("Dry run: nothing written." if dry_run else f"Wrote {run.written} annotations to {target}.")
    if run.failed:
        total = run.failed + len(run.annotations)
        click.echo(f"{run.failed} of {total} evaluations failed (their spans stay unjudged; run again to retry "
                   f"them); the first error: {run.errors[0]}", err=True)
        sys.exit(PARTIAL)


def _needs_key(base_url: str) -> bool:
    """Hosted endpoints that always need a key (a local server usually needs none)."""
    from urllib.parse import urlsplit

    host = (urlsplit(base_url).hostname or "").lower()
    return host == "api.openai.com" or host.endswith(".openai.azure.com")
