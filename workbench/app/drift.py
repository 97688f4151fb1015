"""The Drift page: is retrieval finding relevant context, and did traffic move away from the corpus?

The centroid distance of each day's (or hour's) queries from the reference sits on top; below
it, the point cloud of primary and reference queries and corpus documents (UMAP, plotly),
coloured by source, cluster or a metric; the clusters, most drifted first, with coverage gaps
flagged; the selected cluster's queries with an export to Parquet and "Add to dataset" (their
traces become a dataset's examples); and retrieval diagnostics.
Clicking a query point opens its trace.

Everything shown comes from :mod:`workbench.drift`. Projections run on the process's shared
:class:`~workbench.drift.DriftWorker`, never on the page's thread: the page polls the job and
shows its stage until the result is there; a projection seen before comes from the store's
cache at once.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, ClassVar

import pandas as pd
import panel as pn
import param
from bokeh.models import NumeralTickFormatter

from workbench.app.charts import lines_over_time
from workbench.app.figures import COLOR_BY, point_cloud
from workbench.app.js_components import LinkedHTML, PlotlyGuard
from workbench.app.markup import esc, fmt_count, fmt_time, href, is_missing, short, zone_label
from workbench.app.page import PageView, status_line
from workbench.app.style import CSS
from workbench.app.tables import Column, table
from workbench.app.to_dataset import AddToDataset, Examples
from workbench.drift import (
    DriftJob,
    DriftParams,
    DriftResult,
    DriftWorker,
    PCAProjector,
    Window,
    baselines,
    save_baseline,
)
from workbench.errors import WorkbenchError
from workbench.read import supports

__all__ = ["DriftView"]

_CLOUD_MIN_WIDTH = 360  # pixels: the point cloud stays readable in a narrow window

_POLL_MS = 250
_CSS = """
.wb-drift-gap { font-size: 11px; font-weight: 600; color: #b45309; background: #fef3c7; border-radius: 3px;
  padding: 0 4px; }
table.wb-list tr.wb-selected td { background: #eff6ff; }
/* The clusters' nine columns fit their 640-pixel panel; a narrower one scrolls, never cuts. */
table.wb-drift-clusters th, table.wb-drift-clusters td { padding: 4px 5px; }
.wb-html { overflow-x: auto; }
"""
_METHODS = {"UMAP": "umap", "PCA (instant)": "pca"}


def _score(value: Any, digits: int = 2) -> str:
    return "&ndash;" if is_missing(value) else f"{float(value):.{digits}f}"


def _clusters_html(clusters: pd.DataFrame, selected: int | None) -> str:
    if clusters.empty:
        return "<div class='wb-muted'>No clusters.</div>"
    def cluster(r: dict[str, Any]) -> str:
        label = "noise" if r["cluster"] == -1 else f"#{r['cluster']}"
        gap = "<span class='wb-drift-gap' title='queries with few or no corpus documents near them'>gap</span>" \
            if r["coverage_gap"] else ""
        example = esc(short(r["example"], 70)) if isinstance(r["example"], str) else ""
        return (f"<a href='{esc(href('drift', cluster=int(r['cluster'])))}'>{esc(label)}</a> {gap}"
                f"<div class='wb-muted'>{example}</div>")

    columns = [
        Column("#", lambda r: "" if is_missing(r["rank"]) else str(int(r["rank"])), numeric=True),
        Column("Cluster", cluster),
        Column("Primary", lambda r: fmt_count(r["primary"]), numeric=True),
        Column("Ref.", lambda r: fmt_count(r["reference"]), numeric=True),
        Column("Corpus", lambda r: fmt_count(r["corpus"]), numeric=True),
        Column("Drift", lambda r: f"<b>{_score(r['drift_ratio'])}</b>", numeric=True,
               title="(primary - reference) / (primary + reference), by share of each set"),
        Column("Q/C", lambda r: _score(r["corpus_ratio"]), numeric=True,
               title="(queries - corpus) / (queries + corpus): 1 means no documents near"),
        Column("Retrieval", lambda r: _score(r["mean_retrieval_score"]), numeric=True),
    ]
    if "score_user_feedback" in clusters:
        columns.append(Column("Feedback", lambda r: _score(r["score_user_feedback"]), numeric=True))
    return table(clusters.to_dict("records"), columns, css="wb-drift-clusters",
                 row_attrs=lambda r: " class='wb-selected'" if selected == r["cluster"] else "")


def _queries_html(frame: pd.DataFrame, limit: int = 50) -> str:
    if frame.empty:
        return "<div class='wb-muted'>No queries in this cluster (corpus documents only).</div>"
    more = f"<div class='wb-muted'>{len(frame) - limit:,} more; export the cluster to see all.</div>" \
        if len(frame) > limit else ""
    return table(frame.head(limit).to_dict("records"), [
        Column("Query", lambda r: f"<a href='{esc(href('trace', trace_id=r['trace_id']))}'>"
                                  f"{esc(short(r['text'], 140))}</a>"),
        Column("Window", lambda r: esc(r["source"])),
        Column("When", lambda r: esc(fmt_time(r["time"])), nowrap=True, head=f"When ({esc(zone_label())})"),
        Column("Top score", lambda r: _score(r.get("retrieval_score")), numeric=True),
        Column("Top document", lambda r: esc(r.get("top_document_id") or "")),
    ], css="wb-drift-queries") + more


def _table_html(frame: pd.DataFrame, columns: dict[str, str], css: str, *, link: str | None = None) -> str:
    if frame.empty:
        return "<div class='wb-muted'>Nothing to show.</div>"
    def cell(name: str, first: bool) -> Callable[[dict[str, Any]], str]:
        def text(r: dict[str, Any]) -> str:
            value = r.get(name)
            shown = _score(value) if isinstance(value, float) else esc(short(value, 110)) if isinstance(value, str) \
                else esc(fmt_time(value)) if isinstance(value, pd.Timestamp) \
                else esc("" if is_missing(value) else value)
            if first and link and isinstance(r.get(link), str):
                shown = f"<a href='{esc(href('trace', trace_id=r[link]))}'>{shown}</a>"
            return shown
        return text

    return table(frame.to_dict("records"),
                 [Column(title, cell(name, i == 0)) for i, (name, title) in enumerate(columns.items())], css=css)


class DriftView(PageView):
    """Query drift and retrieval debugging over two windows of query embeddings and the corpus.

    The shared scope's project and filter apply to both windows; the windows' times are the
    page's own (a span back from now such as ``7d``, or ISO text).

    Args:
        reader: Where the data comes from.
        primary_start, primary_end: The window under study (default the last 7 days).
        reference_start, reference_end: What it is compared with (default the 21 days before).
        baseline: A saved baseline to compare with instead of the reference window.
        span_name: Only embedding spans of this name.
        dims: 2 or 3 dimensions.
        method: ``umap``, or ``pca`` for an instant linear projection.
        color_by: ``source``, ``cluster``, ``retrieval_score``, ``score_user_feedback`` or ``latency_ms``.
        cluster: The selected cluster.
    """

    primary_start = param.String(default="7d", doc="Start of the primary window.")
    primary_end = param.String(default="", doc="End of the primary window (empty: now).")
    reference_start = param.String(default="28d", doc="Start of the reference window.")
    reference_end = param.String(default="7d", doc="End of the reference window.")
    baseline = param.String(default="", doc="A saved baseline instead of the reference window.")
    span_name = param.String(default="", doc="Only embedding spans of this name.")
    dims = param.Integer(default=2, bounds=(2, 3), doc="2 or 3 dimensions.")
    method = param.Selector(default="umap", objects=list(_METHODS.values()), doc="The projection.")
    color_by = param.Selector(default="source", objects=list(COLOR_BY), doc="What colours the points.")
    cluster = param.Integer(default=None, allow_None=True, doc="The selected cluster.")

    url_params: ClassVar[tuple[str, ...]] = (
        "primary_start", "primary_end", "reference_start", "reference_end", "baseline", "span_name", "dims",
        "method", "color_by", "cluster",
    )
    _inputs: ClassVar[tuple[str, ...]] = url_params[:8]

    def __init__(self, reader: Any, **params: Any) -> None:
        super().__init__(reader, **params)
        self.result: DriftResult | None = None
        self.job: DriftJob | None = None
        self._poll: Any = None
        self._shown_job: DriftJob | None = None

    # Layout -----------------------------------------------------------------------------

    def _build(self) -> Any:
        def text(name: str, placeholder: str, width: int = 90) -> Any:
            return pn.widgets.TextInput.from_param(self.param[name], name="", placeholder=placeholder, width=width,
                                                   margin=(5, 3))

        def select(name: str, options: Any, width: int) -> Any:
            return pn.widgets.Select.from_param(self.param[name], name="", options=options, width=width,
                                                margin=(5, 3))

        def label(words: str) -> Any:
            return pn.pane.HTML(f"<span class='wb-muted'>{words}</span>", stylesheets=[CSS], margin=(12, 2, 0, 8))

        self._baseline = select("baseline", self._baseline_options(), 130)
        self._baseline_name = pn.widgets.TextInput(placeholder="name", width=100, margin=(5, 3))
        save = pn.widgets.Button(label="Save reference", color="light", width=120, margin=(5, 3),
                                 description="Keep the reference window's queries as a named baseline")
        save.on_click(lambda _: self.save_baseline(self._baseline_name.value.strip()))
        windows = pn.Row(
            label("Primary from"), text("primary_start", "7d"), label("to"), text("primary_end", "now"),
            label("Reference from"), text("reference_start", "28d"), label("to"), text("reference_end", "7d"),
            label("or baseline"), self._baseline, self._baseline_name, save,
            label("span"), text("span_name", "any name", 120),
            sizing_mode="stretch_width", margin=(4, 5, 0, 5),
        )
        dims = pn.widgets.RadioButtonGroup.from_param(self.param.dims, name="", options={"2D": 2, "3D": 3},
                                                      color="light", width=90, margin=(5, 5))
        scope = self.scope.widgets(self.reader, filter_width=320)[3:]  # project and filter; times are the page's
        options = pn.Row(
            *scope, label("projection"), select("method", _METHODS, 130), dims,
            label("colour by"), select("color_by", {v: k for k, v in COLOR_BY.items()}, 140),
            sizing_mode="stretch_width", margin=(0, 5),
        )
        self._status = pn.pane.HTML(status_line(), stylesheets=[CSS], min_height=20, margin=(0, 10),
                                    sizing_mode="stretch_width", css_classes=["wb-drift-status"])
        # A plain <progress> element: Panel's Progress indicator fails in the browser when its
        # value changes before its view is drawn (an analysis that moves on while the page loads).
        self._progress = pn.pane.HTML("", width=220, height=16, margin=(4, 10), visible=False)
        self._timeline = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=260, margin=(4, 10))
        self._cloud = pn.pane.Plotly(None, sizing_mode="stretch_width", height=540, margin=(4, 6),
                                     config={"displaylogo": False, "responsive": True})
        self._cloud.param.watch(self._point_clicked, "click_data")
        self._clusters = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 6),
                                    stylesheets=[_CSS], styles={"max-height": "540px", "overflow-y": "auto"})
        self._cluster_title = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(6, 10, 0, 10))
        self._export = pn.widgets.FileDownload(callback=self._export_bytes, filename="drift-cluster.parquet",
                                               label="Export cluster (Parquet)", color="light", width=200,
                                               margin=(6, 10), visible=False)
        self._add = AddToDataset(self.reader, self._cluster_examples, label="Add this cluster's traces",
                                 on_link=self._follow)
        self._add_row = pn.Row(self._add, margin=(0, 5), visible=False)
        self._queries = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10))
        self._far = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10),
                               name="Far from the corpus")
        self._weak = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10),
                                name="Weak retrievals")
        self._unused = LinkedHTML(on_link=self._follow, sizing_mode="stretch_width", margin=(4, 10),
                                  name="Never retrieved")

        def heading(words: str, note: str = "") -> Any:
            extra = f" <span class='wb-muted' style='font-weight:400'>{note}</span>" if note else ""
            return pn.pane.HTML(f"<h3 class='wb-h'>{words}{extra}</h3>", stylesheets=[CSS],
                                sizing_mode="stretch_width", margin=(6, 10, 0, 10))

        self.watch(self.refresh, self._inputs)
        self.watch(self._show, ["color_by", "cluster"])
        self.watch(self.refresh, ["project", "filter"], on=self.scope)
        self.refresh()
        body = pn.Column(
            heading("Distance from the reference",
                    "each bucket's query centroid against the reference centroid, sampling noise taken out"),
            self._timeline,
            pn.Row(
                # In a narrow window the clusters go below the cloud rather than squeeze it.
                pn.Column(heading("Queries and corpus", "click a query to open its trace"), PlotlyGuard(), self._cloud,
                          sizing_mode="stretch_width", min_width=_CLOUD_MIN_WIDTH, margin=0),
                pn.Column(heading("Clusters", "most drifted first; gap: queries with no corpus near"),
                          self._clusters, width=640, margin=0),
                sizing_mode="stretch_width", margin=0,
            ),
            pn.Row(self._cluster_title, self._export, sizing_mode="stretch_width", margin=0),
            self._add_row,
            self._queries,
            heading("Retrieval", "over every query of the primary window"),
            pn.Tabs(self._far, self._weak, self._unused, sizing_mode="stretch_width", margin=(0, 10)),
            sizing_mode="stretch_both", scroll=True, margin=0,
        )
        return pn.Column(windows, options, pn.Row(self._status, self._progress, sizing_mode="stretch_width",
                                                  margin=0), body, sizing_mode="stretch_both", margin=0)

    def _baseline_options(self) -> dict[str, str]:
        try:
            names = baselines(self.reader)["name"].tolist() if supports(self.reader, "sql") else []
        except WorkbenchError:
            names = []
        options = {"(none)": ""} | {name: name for name in names}
        if self.baseline and self.baseline not in options.values():
            options[self.baseline] = self.baseline
        return options

    def save_baseline(self, name: str) -> None:
        """Keep the reference window's queries as baseline ``name`` and compare with it."""
        _, reference = self.windows() if not self.baseline else (None, None)
        if reference is None:
            self._status.object = status_line("A baseline is chosen; clear it to save the reference window.",
                                              error=True)
            return
        try:
            count = save_baseline(self.reader, name, reference, replace=True)
        except WorkbenchError as exc:
            self._status.object = status_line(esc(exc), error=True)
            return
        self._baseline.options = self._baseline_options() | {name: name}
        self._status.object = status_line(f"Saved {count:,} queries as baseline <b>{esc(name)}</b>.")
        self.baseline = name

    # Running ----------------------------------------------------------------------------

    def windows(self) -> tuple[Window, Window]:
        """The primary and reference windows the controls describe."""
        def text(value: str) -> str | None:
            return value.strip() or None

        project = self.scope.projects
        common = {"project": project, "span_name": text(self.span_name), "filter": self.scope.filter or None}
        primary = Window(start=text(self.primary_start), end=text(self.primary_end), **common)
        if self.baseline:
            return primary, Window(baseline=self.baseline)
        return primary, Window(start=text(self.reference_start), end=text(self.reference_end), **common)

    def refresh(self) -> None:
        """Start the analysis for the current controls (on the worker; the page does not wait)."""
        if not hasattr(self, "_status"):
            return
        try:
            primary, reference = self.windows()
            worker = DriftWorker.shared(self.reader, warm=self.method == "umap")
        except WorkbenchError as exc:
            self._status.object = status_line(esc(exc), error=True)
            return
        projector = PCAProjector(self.dims) if self.method == "pca" else None
        self.job = worker.submit(primary, reference, params=DriftParams(n_components=self.dims),
                                 projector=projector, replace=True, owner=self)
        self._progress.param.update(object=_progress_bar(0), visible=True)
        self._status.object = status_line("Starting&hellip;")
        self._watch_job()

    def shown(self) -> None:
        """Follow the running analysis again."""
        super().shown()
        if self.job is None or self.job is self._shown_job:
            return
        if self.job.done():
            self._check()
        else:
            self._watch_job()

    def hidden(self) -> None:
        """Stop polling the analysis while the page is not shown (it runs on; shown later)."""
        super().hidden()
        if self._poll is not None:
            self._poll.stop()
            self._poll = None

    def _watch_job(self) -> None:
        if self._poll is not None or not self.on_screen:
            return
        try:
            self._poll = pn.state.add_periodic_callback(self._check, period=_POLL_MS)
        except Exception:  # noqa: BLE001 - no event loop (a plain script): wait() shows the result
            self._poll = None

    def _check(self) -> None:
        job = self.job
        if job is None:
            return
        if not job.done():
            self._progress.object = _progress_bar(job.fraction)
            self._status.object = status_line(f"{esc(job.stage.capitalize())}&hellip;")
            return
        if self._poll is not None:
            self._poll.stop()
            self._poll = None
        self._finish(job)

    def wait(self, timeout: float | None = 120.0) -> DriftResult | None:
        """Wait for the running analysis and show it (for scripts and tests); return it."""
        if self.job is not None:
            try:
                self.job.exception(timeout)
            except Exception:  # noqa: BLE001 - cancelled: nothing to show
                return self.result
            self._check()
        return self.result

    def _finish(self, job: DriftJob) -> None:
        self._shown_job = job
        self._progress.visible = False
        if job is not self.job:
            return
        error = job.exception(0) if job.state != "cancelled" else None
        if job.state == "cancelled":
            return
        if error is not None:
            self.result = None
            explained = isinstance(error, (WorkbenchError, ImportError))
            words = str(error) if explained else f"{type(error).__name__}: {error}"
            self._status.object = status_line(esc(words), error=True)
            for pane in (self._clusters, self._queries, self._far, self._weak, self._unused):
                pane.html = ""
            self._cloud.object = None
            self._timeline.object = None
            return
        self.result = job.result()
        if self.cluster is not None and self.cluster not in set(self.result.points["cluster"]):
            with param.discard_events(self):
                self.cluster = None
        self._show(diagnostics=True)

    # Showing ----------------------------------------------------------------------------

    def _show(self, diagnostics: bool = False) -> None:
        result = self.result
        if result is None or not hasattr(self, "_status"):
            return
        counts = result.counts
        gaps = int(result.clusters["coverage_gap"].sum())
        seconds = result.timings.get("total", 0.0)
        self._status.object = status_line(
            f"{counts['primary']:,} primary and {counts['reference']:,} reference queries, "
            f"{counts['corpus']:,} corpus documents; {counts['projected']:,} projected "
            f"({esc(result.projector['projector'].upper())}); {int(result.clusters['rank'].notna().sum())} clusters, "
            f"{gaps} coverage gap{'s' if gaps != 1 else ''}; {seconds:.1f} s{' (cached)' if result.cached else ''}")
        timeline = result.timeline
        if len(timeline):
            step = pd.Timedelta(hours=1) if result.bucket == "hour" else pd.Timedelta(days=1)
            frame = timeline.assign(bucket=timeline["time"], bucket_end=timeline["time"] + step,
                                    group=timeline["source"])
            figure = lines_over_time(frame, value="adjusted", title="", y_label="distance", dimension="source",
                                     height=250)
            figure.yaxis.formatter = NumeralTickFormatter(format="0.00")
            self._timeline.object = figure
        else:
            self._timeline.object = None
        self._cloud.object = point_cloud(result.points, color_by=self.color_by, selected=self.cluster)
        self._clusters.html = _clusters_html(result.clusters, self.cluster)
        self._show_cluster()
        if diagnostics:
            self._far.html = _table_html(result.far_queries(limit=25), {
                "text": "Query", "nearest_similarity": "Nearest cosine", "nearest_document_id": "Nearest document",
                "time": f"When ({zone_label()})"}, "wb-drift-far", link="trace_id")
            self._weak.html = _table_html(result.low_score_retrievals(limit=25), {
                "query": "Query", "top_score": "Top score", "top_document_id": "Top document",
                "documents": "Documents", "start_time": f"When ({zone_label()})"}, "wb-drift-weak", link="trace_id")
            self._unused.html = _table_html(result.unretrieved_documents().head(50), {
                "document_id": "Document", "nearest_query_similarity": "Nearest query cosine", "text": "Text"},
                "wb-drift-unused")

    def _show_cluster(self) -> None:
        result = self.result
        if result is None or self.cluster is None:
            self._cluster_title.object = "<div class='wb-muted'>Choose a cluster to list its queries.</div>"
            self._queries.html = ""
            self._export.visible = False
            self._add_row.visible = False
            return
        row = result.clusters[result.clusters["cluster"] == self.cluster].iloc[0]
        name = "Noise" if self.cluster == -1 else f"Cluster #{self.cluster}"
        self._cluster_title.object = (
            f"<h3 class='wb-h wb-drift-selected'>{name} <span class='wb-muted' style='font-weight:400'>"
            f"{fmt_count(row['primary'])} primary, {fmt_count(row['reference'])} reference queries, "
            f"{fmt_count(row['corpus'])} corpus documents; drift {_score(row['drift_ratio'])}"
            f"{'; coverage gap' if row['coverage_gap'] else ''}</span></h3>")
        queries = result.cluster_queries(self.cluster)
        self._queries.html = _queries_html(queries)
        self._export.param.update(visible=True, filename=f"drift-cluster-{self.cluster}.parquet")
        traces = queries["trace_id"].dropna().nunique()
        self._add.label = f"Add this cluster's {traces:,} trace{'' if traces == 1 else 's'}"
        self._add_row.visible = bool(traces)

    def selected_points(self) -> pd.DataFrame:
        """The selected cluster's points as a DataFrame (empty when none is selected)."""
        if self.result is None or self.cluster is None:
            return pd.DataFrame()
        return self.result.export_cluster(self.cluster)

    def _cluster_examples(self) -> Examples:
        """What "Add to dataset" adds: the traces of the selected cluster's queries (primary and
        reference), newest first."""
        if self.result is None or self.cluster is None:
            raise ValueError("Choose a cluster first.")
        queries = self.result.cluster_queries(self.cluster)
        traces = list(dict.fromkeys(str(t) for t in queries["trace_id"].dropna() if t))
        if not traces:
            raise ValueError("This cluster has no queries with a trace (corpus documents only); choose another.")
        return "traces", traces

    def _export_bytes(self) -> io.BytesIO:
        buffer = io.BytesIO()
        self.selected_points().to_parquet(buffer, index=False)
        buffer.seek(0)
        return buffer

    # Clicks -----------------------------------------------------------------------------

    def _follow(self, page: str, params: dict[str, str]) -> None:
        if page == "drift":
            if "cluster" in params:
                self.cluster = int(params["cluster"])
            return
        self.link(page, **params)

    def _point_clicked(self, event: Any) -> None:
        points = (event.new or {}).get("points") or []
        if not points:
            return
        custom = points[0].get("customdata") or []
        if custom and custom[0]:
            self.link("trace", trace_id=str(custom[0]))
        elif len(custom) > 2 and custom[2] not in (None, "", "-1"):
            self.cluster = int(custom[2])  # a corpus document: show its cluster instead


def _progress_bar(fraction: float) -> str:
    """The HTML of the analysis' progress bar, ``fraction`` done (0 to 1)."""
    percent = max(0, min(100, round(fraction * 100)))
    return (f'<progress class="wb-progress" value="{percent}" max="100" aria-label="analysis progress" '
            f'style="width:100%;height:12px">{percent}%</progress>')
