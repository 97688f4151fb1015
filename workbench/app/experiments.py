"""The Experiments page: datasets with their versions and examples; the experiments run on a
dataset with their pass rate, mean scores, latency, tokens and cost; and two or more of them
compared example by example: outputs side by side with a word diff, score deltas, latency,
token and cost deltas, each run one click from its trace.

The URL holds the dataset, its version and the experiments compared
(``?page=experiments&dataset=refunds&compare=v1,v2``), so Back and Forward step through
selections. Everything shown comes from :mod:`workbench.experiments`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, ClassVar

import pandas as pd
import panel as pn
import param

from workbench.app.diff import diff_counts, diff_html, output_text
from workbench.app.js_components import LinkedHTML
from workbench.app.markup import cost_html, esc, fmt_count, fmt_ms, fmt_time, href, is_missing, short, zone_label
from workbench.app.page import PageView, status_line
from workbench.app.style import CSS
from workbench.app.tables import Column, table
from workbench.errors import WorkbenchError
from workbench.pricing.money import usd

__all__ = ["ExperimentsView", "comparison_html", "datasets_html", "examples_html", "experiments_html",
           "summary_html"]

#: Stands for what production answered on a dataset's source spans (as ``workbench.experiments.PRODUCTION``).
PRODUCTION = "production"
_EXAMPLES_SHOWN = 200
_COMPARE_SHOWN = 200


def _percent(value: Any) -> str:
    return "&ndash;" if is_missing(value) else f"{float(value):.0%}"


def _score(value: Any) -> str:
    return "" if is_missing(value) else f"{float(value):.2f}"


def _signed(value: Any, text: str, *, better: str = "up") -> str:
    """A delta with its sign, green when it is an improvement (``better`` is the good direction)."""
    if is_missing(value) or float(value) == 0:
        return "<span class='wb-muted'>&plusmn;0</span>" if not is_missing(value) else ""
    good = (float(value) > 0) == (better == "up")
    return f"<span class='{'wb-up' if good else 'wb-down'}'>{'+' if float(value) > 0 else '&minus;'}{text}</span>"


def _names(text: str) -> list[str]:
    return [n for n in dict.fromkeys(p.strip() for p in text.split(",")) if n]


def _link(dataset: str, version: int = 0, compare: Sequence[str] = ()) -> str:
    return href("experiments", dataset=dataset, version=version or None, compare=",".join(compare) or None)


def datasets_html(frame: pd.DataFrame, selected: str) -> str:
    """Every dataset: its name (a link that selects it), latest version, examples and versions."""
    if frame.empty:
        return ("<div class='wb-empty wb-datasets'>No datasets yet. Tick traces on the "
                "<a href='?page=traces'>Traces</a> page and choose <b>Add to dataset</b>, or make one in Python with "
                "<span class='wb-mono'>workbench.experiments.create_dataset</span>.</div>")
    return table(frame.itertuples(index=False), [
        Column("Dataset", lambda r: f"<a class='wb-dataset' href='{esc(_link(r.name))}'><b>{esc(r.name)}</b></a>"
               + (f"<div class='wb-muted'>{esc(short(r.description, 80))}</div>" if not is_missing(r.description)
                  else "")),
        Column("Version", lambda r: f"v{int(r.version)}", numeric=True),
        Column("Examples", lambda r: fmt_count(r.example_count), numeric=True),
        Column("Updated", lambda r: esc(fmt_time(r.created_at, seconds=False)), nowrap=True,
               head=f"Updated ({esc(zone_label())})"),
    ], css="wb-datasets", row_attrs=lambda r: " style='background:#e0ecff'" if r.name == selected else "")


def versions_html(name: str, versions: pd.DataFrame, shown: int, compare: Sequence[str]) -> str:
    """The versions of a dataset, newest first, the one shown marked; each a link."""
    items = []
    for r in versions.sort_values("version", ascending=False).itertuples(index=False):
        version = int(r.version)
        label = (f"<b>v{version}</b> <span class='wb-muted'>{esc(r.change)} &middot; {fmt_count(r.example_count)} "
                 f"examples &middot; {esc(fmt_time(r.created_at, seconds=False))}</span>")
        if version == shown:
            items.append(f"<li class='wb-version on'>{label}</li>")
        else:
            items.append(f"<li class='wb-version'><a href='{esc(_link(name, version, compare))}'>{label}</a></li>")
    return "<ul class='wb-versions' style='margin:2px 0 6px 16px;padding:0'>" + "".join(items) + "</ul>"


def examples_html(examples: pd.DataFrame) -> str:
    """A dataset version's examples: input, expected output, and the trace each came from."""
    if examples.empty:
        return "<div class='wb-muted'>This version has no examples.</div>"

    def source(r: Any) -> str:
        if is_missing(r.source_trace_id) or not r.source_trace_id:
            return "<span class='wb-muted'>given</span>"
        link = href("trace", trace_id=r.source_trace_id, span_id=r.source_span_id if not is_missing(r.source_span_id)
                    else None)
        return f"<a href='{esc(link)}'>trace &rarr;</a>"

    shown = examples.head(_EXAMPLES_SHOWN)
    more = len(examples) - len(shown)
    return table(shown.itertuples(index=False), [
        Column("#", lambda r: esc(short(r.example_id, 14)), nowrap=True, tip=lambda r: str(r.example_id)),
        Column("Input", lambda r: esc(short(output_text(r.input), 160))),
        Column("Expected", lambda r: esc(short(output_text(r.expected), 120))
               if not is_missing(r.expected) and r.expected is not None else "<span class='wb-muted'>none</span>"),
        Column("From", source, nowrap=True),
    ], css="wb-examples") + (f"<div class='wb-muted'>and {more:,} more</div>" if more > 0 else "")


def experiments_html(rows: list[dict[str, Any]], dataset: str, version: int, compare: Sequence[str]) -> str:
    """The experiments of a dataset: pass rate, mean scores, latency, tokens, cost; each with a
    tick that adds it to (or takes it from) the comparison."""
    if not rows:
        return ("<div class='wb-empty'>No experiments on this dataset yet. Run one with "
                "<span class='wb-mono'>workbench experiment run</span> or "
                "<span class='wb-mono'>workbench.experiments.run_experiment</span>.</div>")
    evaluators = list(dict.fromkeys(n for r in rows for n in r["evaluators"]))

    def tick(r: dict[str, Any]) -> str:
        on = r["name"] in compare
        chosen = [n for n in compare if n != r["name"]] if on else [*compare, r["name"]]
        return (f"<a class='wb-tick{' on' if on else ''}' data-experiment='{esc(r['name'])}' "
                f"href='{esc(_link(dataset, version, chosen))}' title='compare'>{'&#9745;' if on else '&#9744;'}</a>")

    columns = [
        Column("", tick, nowrap=True),
        Column("Experiment", lambda r: f"<b>{esc(r['name'])}</b>"
               f"<div class='wb-muted'>{esc(short(r['task'], 50))}</div>"),
        Column("Data", lambda r: f"v{int(r['dataset_version'])}", numeric=True, title="dataset version run"),
        Column("Runs", lambda r: fmt_count(r["runs"]) + (f" <span class='wb-error-text'>({fmt_count(r['errors'])} "
                                                         "failed)</span>" if r["errors"] else ""), numeric=True),
        Column("Pass rate", lambda r: f"<b>{_percent(r['pass_rate'])}</b>", numeric=True),
        *[Column(name, partial(_mean_score, name), numeric=True, title=f"mean {name} score") for name in evaluators],
        Column("Latency", lambda r: esc(fmt_ms(r["mean_latency_ms"])), numeric=True, title="mean per example"),
        Column("Tokens", lambda r: fmt_count(r["total_tokens"]), numeric=True),
        Column("Cost", lambda r: cost_html(r["cost"]), numeric=True),
        Column("Started", lambda r: esc(fmt_time(r["created_at"], seconds=False)), nowrap=True,
               head=f"Started ({esc(zone_label())})"),
    ]
    return table(rows, columns, css="wb-experiments",
                 row_attrs=lambda r: " style='background:#e0ecff'" if r["name"] in compare else "")


def summary_html(summary: pd.DataFrame, evaluators: Sequence[str]) -> str:
    """The compared experiments, one row each, with their deltas against the first (the baseline)."""
    base = summary.iloc[0]

    def delta(r: Any, key: str, fmt: Any, better: str) -> str:
        if r["experiment"] == base["experiment"] or is_missing(r[key]) or is_missing(base[key]):
            return ""
        change = float(r[key]) - float(base[key])
        return " " + _signed(change, fmt(abs(change)), better=better)

    def evaluator(name: str, r: Any) -> str:
        return _score(r.get(name)) + delta(r, name, lambda v: f"{v:.2f}", "up")

    columns = [
        Column("Experiment", lambda r: f"<b>{esc(r['experiment'])}</b>"
               + (" <span class='wb-muted'>baseline</span>" if r["experiment"] == base["experiment"] else "")),
        Column("Runs", lambda r: fmt_count(r["runs"]), numeric=True),
        Column("Pass rate", lambda r: f"<b>{_percent(r['pass_rate'])}</b>"
               + delta(r, "pass_rate", lambda v: f"{v * 100:.0f} pts", "up"), numeric=True),
        *[Column(n, partial(evaluator, n), numeric=True) for n in evaluators if n in summary],
        Column("Improved", lambda r: "" if r["experiment"] == base["experiment"]
               else f"<span class='wb-up'>{fmt_count(r['improved'])}</span>", numeric=True,
               title="examples that failed in the baseline and pass here"),
        Column("Regressed", lambda r: "" if r["experiment"] == base["experiment"]
               else f"<span class='wb-down'>{fmt_count(r['regressed'])}</span>", numeric=True,
               title="examples that passed in the baseline and fail here"),
        Column("Latency", lambda r: esc(fmt_ms(r["mean_latency_ms"]))
               + delta(r, "mean_latency_ms", fmt_ms, "down"), numeric=True),
        Column("Tokens", lambda r: fmt_count(r["total_tokens"])
               + delta(r, "total_tokens", fmt_count, "down"), numeric=True),
        Column("Cost", lambda r: cost_html(r["cost"]) + delta(r, "cost", usd, "down"),
               numeric=True),
    ]
    return table([row for _, row in summary.iterrows()], columns, css="wb-compare-summary")


def _mean_score(name: str, row: dict[str, Any]) -> str:
    return _score(row["scores"].get(name))


def _run_cell(row: Any, *, name: str, base: str, evaluators: Sequence[str]) -> str:
    output = row.get(f"output[{name}]")
    error = row.get(f"error[{name}]")
    passed = row.get(f"passed[{name}]")
    head = []
    if not is_missing(passed) and passed is not None:
        head.append("<span class='wb-up'>&#10003; pass</span>" if bool(passed)
                    else "<span class='wb-down'>&#10007; fail</span>")
    for n in evaluators:
        score = row.get(f"{n}[{name}]")
        if is_missing(score):
            continue
        change = row.get(f"{n}_delta[{name}]") if name != base else None
        head.append(f"{esc(n)} {_score(score)}" + (" " + _signed(change, f"{abs(float(change)):.2f}")
                                                   if not is_missing(change) and change is not None else ""))
    measures = []
    for key, fmt, label in (("latency_ms", fmt_ms, ""), ("total_tokens", fmt_count, " tok"),
                            ("cost", usd, "")):
        value = row.get(f"{key}[{name}]")
        if is_missing(value):
            continue
        text = esc(fmt(value)) + label
        change = row.get(f"{key}_delta[{name}]") if name != base else None
        if change is not None and not is_missing(change):
            text += " " + _signed(change, esc(fmt(abs(float(change)))) + label, better="down")
        measures.append(text)
    if not is_missing(error) and error:
        body = f"<div class='wb-error-text'>{esc(short(error, 300))}</div>"
    elif name == base:
        body = f"<div class='wb-pre wb-out'>{esc(output_text(output))}</div>"
    else:
        removed, added = diff_counts(row.get(f"output[{base}]"), output)
        note = (f"<div class='wb-muted'>&minus;{removed} +{added} words</div>" if removed or added
                else "<div class='wb-muted'>same as the baseline</div>")
        body = f"<div class='wb-pre wb-out wb-diff'>{diff_html(row.get(f'output[{base}]'), output)}</div>{note}"
    trace_id = row.get(f"trace_id[{name}]")
    link = ""
    if isinstance(trace_id, str) and trace_id:
        target = href("trace", trace_id=trace_id, span_id=row.get(f"span_id[{name}]"))
        link = f" &middot; <a class='wb-run-trace' href='{esc(target)}'>trace &rarr;</a>"
    return (f"<div class='wb-run-head'>{' &middot; '.join(head)}</div>{body}"
            f"<div class='wb-muted'>{' &middot; '.join(measures)}{link}</div>")


def comparison_html(examples: pd.DataFrame, names: Sequence[str], evaluators: Sequence[str]) -> str:
    """Each example with every experiment's run side by side: the baseline's output, the
    others' as a word diff from it; pass or fail, scores and their deltas; latency, tokens and
    cost with their deltas; a link to each run's trace."""
    if examples.empty:
        return "<div class='wb-muted'>The experiments have no examples in common.</div>"
    base = names[0]
    shown = examples.head(_COMPARE_SHOWN)

    def example(r: Any) -> str:
        expected = r.get("expected")
        return (f"<div>{esc(short(output_text(r.get('input')), 300))}</div>"
                + (f"<div class='wb-muted' style='margin-top:4px'>expected: {esc(short(output_text(expected), 200))}"
                   "</div>" if expected is not None and not is_missing(expected) else ""))

    columns = [Column("Example", example)] + [
        Column(name, partial(_run_cell, name=name, base=base, evaluators=evaluators),
               head=f"{esc(name)}" + (" <span class='wb-muted'>(baseline)</span>" if name == base else ""))
        for name in names
    ]
    rows = [row for _, row in shown.iterrows()]
    more = len(examples) - len(shown)
    return (table(rows, columns, css="wb-compare", row_attrs=lambda r: f" data-example='{esc(r['example_id'])}'")
            + (f"<div class='wb-muted'>and {more:,} more examples</div>" if more > 0 else ""))


_PAGE_CSS = """
table.wb-compare td { width: 1%; min-width: 220px; }
table.wb-compare td:first-child { min-width: 200px; max-width: 320px; }
.wb-out { max-height: 220px; overflow: auto; margin: 4px 0; }
.wb-run-head { font-size: 12px; }
a.wb-tick { font-size: 16px; text-decoration: none; }
li.wb-version { list-style: none; margin: 2px 0; }
li.wb-version.on { border-left: 3px solid #2563eb; padding-left: 6px; }
"""


class ExperimentsView(PageView):
    """Datasets, the experiments run on them, and comparisons.

    Args:
        reader: A reader over the store the datasets and experiments are kept in.
        dataset: The dataset shown (default: the first).
        version: Its version shown (0: the latest).
        compare: The experiments compared, comma-separated, the baseline first (``production``
            stands for what production answered on the dataset's source spans).
    """

    dataset = param.String(default="", doc="The dataset shown.")
    version = param.Integer(default=0, bounds=(0, None), doc="The dataset version shown; 0 for the latest.")
    compare = param.String(default="", doc="The experiments compared, comma-separated, the baseline first.")

    url_params: ClassVar[tuple[str, ...]] = ("dataset", "version", "compare")
    uses_scope: ClassVar[bool] = False

    def _build(self) -> Any:
        css = [CSS + _PAGE_CSS]
        self._status = pn.pane.HTML(status_line(), stylesheets=[CSS], min_height=20, margin=(4, 10),
                                    sizing_mode="stretch_width")
        self._datasets = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10))
        self._dataset_head = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10))
        self._examples = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10),
                                    stylesheets=css)
        self._experiments = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10),
                                       stylesheets=css)
        self._summary = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10), stylesheets=css)
        self._compare = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10),
                                   stylesheets=css)
        self._refresh = pn.widgets.Button(label="Refresh", color="light", width=80, margin=(5, 10))
        self._refresh.on_click(lambda _: self.refresh())
        self.watch(self.refresh, ["dataset", "version", "compare"])

        def heading(text: str, note: str = "") -> Any:
            extra = f" <span class='wb-muted' style='font-weight:400'>{note}</span>" if note else ""
            return pn.pane.HTML(f"<h3 class='wb-h'>{text}{extra}</h3>", stylesheets=[CSS],
                                sizing_mode="stretch_width", margin=(6, 10, 0, 10))

        self.refresh()
        left = pn.Column(heading("Datasets"), self._datasets, width=420, margin=0)
        right = pn.Column(
            self._dataset_head,
            heading("Experiments", "tick two or more to compare; the first ticked is the baseline"),
            self._experiments,
            heading("Comparison"), self._summary, self._compare,
            heading("Examples"), self._examples,
            sizing_mode="stretch_width", margin=0,
        )
        return pn.Column(pn.Row(self._refresh, self._status, sizing_mode="stretch_width", margin=0),
                         pn.Row(left, right, sizing_mode="stretch_width", margin=0),
                         sizing_mode="stretch_both", scroll=True, margin=0)

    def _follow(self, page: str, params: dict[str, str]) -> None:
        if page == "experiments":
            self.apply_url({name: params.get(name, self.param[name].default) for name in self.url_params})
            return
        self.link(page, **params)

    # Data ---------------------------------------------------------------------------------

    def query(self) -> dict[str, Any]:
        """Everything the page shows, read from the store (off the event loop when served)."""
        from workbench.experiments import compare, dataset, list_datasets, list_experiments, load_experiment

        out: dict[str, Any] = {"error": None}
        try:
            datasets = list_datasets(self.reader)
            out["datasets"] = datasets
            name = self.dataset if self.dataset in set(datasets["name"]) else (
                str(datasets["name"].iloc[0]) if len(datasets) and not self.dataset else self.dataset)
            out["name"] = name
            if not name or name not in set(datasets["name"]):
                return out
            data = dataset(self.reader, name, self.version or None)
            out["data"] = data
            out["versions"] = data.versions()
            listed = list_experiments(self.reader, name)
            rows = []
            for r in listed.head(30).to_dict("records"):
                try:
                    experiment = load_experiment(self.reader, str(r["experiment_id"]))
                except WorkbenchError:
                    continue
                runs = experiment.runs
                rows.append({**r, "pass_rate": experiment.pass_rate, "evaluators": experiment.evaluators,
                             "scores": {n: float(runs[n].mean()) for n in experiment.evaluators
                                        if n in runs and runs[n].notna().any()}})
            out["experiments"] = rows
            chosen = _names(self.compare)
            if len(chosen) >= 2:
                comparison = compare(self.reader, *chosen)
                out["comparison"] = comparison
                out["summary"] = comparison.summary()
                evaluators = list(dict.fromkeys(n for e in comparison.experiments for n in e.evaluators))
                out["evaluators"] = evaluators
                frame = comparison.examples.copy()
                for exp in comparison.experiments:  # each run's trace, for its link
                    ids = exp.runs.set_index("example_id")
                    frame[f"trace_id[{exp.name}]"] = frame["example_id"].map(ids["trace_id"])
                    frame[f"span_id[{exp.name}]"] = frame["example_id"].map(ids["span_id"])
                out["examples"] = frame
        except (WorkbenchError, ValueError) as exc:
            out["error"] = str(exc)
        return out

    def refresh(self) -> None:
        """Read the datasets and experiments again and show them."""
        if not hasattr(self, "_datasets"):
            return
        self.in_background(self.query, self._show, busy=[self._experiments, self._compare])

    def _show(self, data: dict[str, Any]) -> None:
        datasets = data.get("datasets")
        name = data.get("name", "")
        chosen = _names(self.compare)
        self._datasets.html = datasets_html(datasets, name) if datasets is not None else ""
        if name and name != self.dataset and not self.dataset:
            self.settle(dataset=name)  # the first dataset, shown by itself
        if data["error"]:
            self._status.object = status_line(esc(data["error"]), error=True)
        elif name and "data" not in data:
            self._status.object = status_line(f"There is no dataset <b>{esc(name)}</b> in this store.", error=False)
        elif len(chosen) == 1:
            self._status.object = status_line("Tick one more experiment to compare.")
        else:
            self._status.object = status_line("")
        found = data.get("data")
        if found is None:
            self._dataset_head.html = ""
            self._experiments.html = self._summary.html = self._compare.html = self._examples.html = ""
            return
        described = f"<div class='wb-muted'>{esc(found.description)}</div>" if found.description else ""
        self._dataset_head.html = (
            f"<h2 class='wb-title'>{esc(found.name)} <span class='wb-muted'>v{found.version} &middot; "
            f"{len(found):,} examples</span></h2>{described}"
            + versions_html(found.name, data["versions"], found.version, chosen))
        self._examples.html = examples_html(found.examples)
        self._experiments.html = experiments_html(data.get("experiments", []), found.name, self.version, chosen)
        if "comparison" in data:
            names = data["comparison"].names
            self._summary.html = summary_html(data["summary"], data["evaluators"])
            self._compare.html = comparison_html(data["examples"], names, data["evaluators"])
        else:
            production = "" if any(isinstance(s, str) and s for s in found.examples.get("source_span_id", [])) \
                else " (this dataset's examples came from no spans)"
            self._summary.html = ("<div class='wb-muted'>Tick two or more experiments above to compare them, or one "
                                  f"and <b>production</b>{esc(production)}.</div>"
                                  + self._production_tick(found.name, chosen, not production))
            self._compare.html = ""

    def _production_tick(self, dataset: str, chosen: list[str], possible: bool) -> str:
        if not possible or not chosen:
            return ""
        link = _link(dataset, self.version, [*chosen, PRODUCTION])
        return f"<div style='margin-top:4px'><a class='wb-with-production' href='{esc(link)}'>compare " \
               f"{esc(chosen[0])} with production &rarr;</a></div>"
