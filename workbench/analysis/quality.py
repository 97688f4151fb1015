"""Quality: pass rates and score distributions of evaluations and feedback, over time and by
model, prompt version or feature; feedback rate; the worst traces.

Everything starts from :func:`quality_facts`, one row per annotation with what it is about:

* ``time``: when the annotated thing happened (the span's start; a trace's or session's first
  span), not when it was judged, so a change shows up on the day it shipped;
* ``model``, ``prompt_version``: the annotated span's own, else its trace's last LLM call's;
* ``feature``: the trace root's (its ``metadata`` JSON's ``feature``, else a ``feature``
  attribute, as :func:`workbench.analysis.cost.feature_sql` reads it), else the root's name;
* ``passed``: the rule of :func:`workbench.evals.outcome.passed`: a known label decides
  (``thumbs_up``, ``relevant`` / ``thumbs_down``, ``hallucinated`` ...), else the score
  against the threshold (0.5); None when neither says.

The filters choose traces as :meth:`Reader.traces` does (a trace is in when any of its spans
matches; ``start``/``end`` bound its spans' start), and annotations are kept when their trace
is in. The other functions aggregate those rows with pandas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from workbench.analysis.cost import feature_sql
from workbench.analysis.latency import bucket_width
from workbench.errors import FilterError
from workbench.evals.outcome import passed
from workbench.read import Reader, Selection

__all__ = [
    "GROUPS",
    "annotation_names",
    "feedback_rate",
    "pass_rates",
    "quality_facts",
    "quality_over_time",
    "quality_summary",
    "score_distribution",
    "trace_annotations",
    "worst_traces",
]

#: What quality can be grouped by (columns of :func:`quality_facts`).
GROUPS: tuple[str, ...] = ("none", "prompt_version", "model", "feature", "project", "annotator", "annotator_kind")

Project = str | Sequence[str] | None
_FEEDBACK = "user_feedback"

_FACT_COLUMNS = [
    "annotation_id", "name", "target", "trace_id", "span_id", "document_position", "session_id", "score", "label",
    "explanation", "annotator_kind", "annotator", "created_at", "time", "project", "model", "prompt_version",
    "feature", "passed",
]


def _scope(selection: Selection) -> tuple[str, list[Any]]:
    """SQL (over column ``tid``) keeping traces in scope, and its parameters."""
    if selection.everything:
        return "TRUE", []
    where = selection.where("m")
    return f"tid IN (SELECT m.trace_id FROM spans m WHERE {where.sql})", list(where.params)


def quality_facts(
    reader: Reader,
    names: str | Sequence[str] | None = None,
    *,
    filter: str | None = None,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    feature_key: str | None = None,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """One row per annotation (of ``names``, default all) with what it is about (see the module)."""
    where_names, params = "TRUE", []
    if names:
        chosen = [names] if isinstance(names, str) else list(names)
        where_names = "a.name IN (SELECT unnest(?::VARCHAR[]))"
        params.append(chosen)
    scope, scope_params = _scope(Selection.of(filter, start, end, project))
    feature = feature_sql("s", feature_key)
    sql = f"""
        WITH a AS (SELECT * FROM annotations a WHERE {where_names}),
        sp AS (
            SELECT s.span_id, s.trace_id, s.start_time, s.model_name, s.prompt_template_version
            FROM spans s WHERE s.span_id IN (SELECT span_id FROM a WHERE span_id IS NOT NULL)
        ),
        ss AS (
            SELECT s.session_id, arg_min(s.trace_id, s.start_time) AS trace_id
            FROM spans s WHERE s.session_id IN (SELECT session_id FROM a WHERE target = 'session')
            GROUP BY s.session_id
        ),
        ax AS (
            SELECT a.*, coalesce(a.trace_id, sp.trace_id, ss.trace_id) AS tid, sp.start_time AS span_start,
                   sp.model_name AS span_model, sp.prompt_template_version AS span_version
            FROM a LEFT JOIN sp ON a.span_id = sp.span_id
                   LEFT JOIN ss ON a.target = 'session' AND a.session_id = ss.session_id
        ),
        t AS (
            SELECT s.trace_id,
                   min(s.start_time) AS trace_start,
                   arg_max(s.model_name, s.start_time)
                       FILTER (WHERE s.span_kind = 'LLM' AND s.model_name IS NOT NULL) AS model,
                   arg_max(s.prompt_template_version, s.start_time)
                       FILTER (WHERE s.prompt_template_version IS NOT NULL) AS version,
                   any_value(s.project) AS project,
                   any_value(coalesce({feature}, s.name)) FILTER (WHERE s.parent_span_id IS NULL) AS feature
            FROM spans s WHERE s.trace_id IN (SELECT tid FROM ax) GROUP BY s.trace_id
        )
        SELECT ax.annotation_id, ax.name, ax.target, ax.tid AS trace_id, ax.span_id, ax.document_position,
               ax.session_id, ax.score, ax.label, ax.explanation, ax.annotator_kind, ax.annotator, ax.created_at,
               coalesce(CASE WHEN ax.target IN ('span', 'document') THEN ax.span_start END, t.trace_start) AS time,
               t.project, coalesce(ax.span_model, t.model) AS model,
               coalesce(ax.span_version, t.version) AS prompt_version, t.feature
        FROM ax LEFT JOIN t ON ax.tid = t.trace_id
        WHERE {scope}
        ORDER BY time, ax.annotation_id
    """
    frame = reader.query(sql, params + scope_params).to_pandas()
    frame["passed"] = [passed(s, lab, threshold) for s, lab in zip(frame["score"], frame["label"])]
    frame["passed"] = frame["passed"].astype("object")
    return frame[_FACT_COLUMNS]


def _group_column(frame: pd.DataFrame, by: str) -> pd.Series:
    if by not in GROUPS:
        raise FilterError(f"Cannot group quality by {by!r}; choose one of {', '.join(GROUPS)}.")
    if by == "none":
        return pd.Series(["all"] * len(frame), index=frame.index, dtype=object)
    return frame[by].astype(object).where(frame[by].notna(), f"(no {by.replace('_', ' ')})")


def _rates(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """count, judged (pass or fail known), passed, pass_rate, mean_score per group of ``keys``."""
    columns = [*keys, "count", "judged", "passed", "pass_rate", "mean_score"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    work = frame.assign(
        _known=frame["passed"].notna(),
        _pass=frame["passed"].map(lambda v: v is True),
    )
    grouped = work.groupby(keys, sort=True, dropna=False)
    out = grouped.agg(count=("annotation_id", "size"), judged=("_known", "sum"), passed=("_pass", "sum"),
                      mean_score=("score", "mean")).reset_index()
    out["pass_rate"] = out["passed"] / out["judged"].where(out["judged"] > 0)
    return out[columns]


def annotation_names(reader: Reader) -> pd.DataFrame:
    """Every annotation name with its count, targets and annotator kinds, the most used first."""
    return reader.query(
        """SELECT name, count(*) AS count, list_sort(list_distinct(list(target))) AS targets,
                  list_sort(list_distinct(list(annotator_kind) FILTER (WHERE annotator_kind IS NOT NULL))) AS kinds,
                  count(score) AS scored, avg(score) AS mean_score, max(created_at) AS last_created
           FROM annotations GROUP BY name ORDER BY count(*) DESC, name"""
    ).to_pandas()


def quality_summary(
    reader: Reader,
    names: str | Sequence[str] | None = None,
    *,
    filter: str | None = None,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Per annotation name: count, pass rate, mean score, and the time range annotated."""
    facts = quality_facts(reader, names, filter=filter, start=start, end=end, project=project, threshold=threshold)
    out = _rates(facts, ["name"])
    if facts.empty:
        return out.assign(first=pd.Series(dtype="datetime64[us, UTC]"), last=pd.Series(dtype="datetime64[us, UTC]"))
    span = facts.groupby("name")["time"].agg(first="min", last="max").reset_index()
    return out.merge(span, on="name").sort_values("count", ascending=False, ignore_index=True)


def pass_rates(
    reader: Reader,
    name: str,
    *,
    by: str = "prompt_version",
    filter: str | None = None,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    feature_key: str | None = None,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Pass rate and mean score of annotation ``name`` per group (see :data:`GROUPS`).

    Returns:
        Columns ``group``, ``count``, ``judged``, ``passed``, ``pass_rate``, ``mean_score``.
    """
    facts = quality_facts(reader, name, filter=filter, start=start, end=end, project=project,
                          feature_key=feature_key, threshold=threshold)
    return _rates(facts.assign(group=_group_column(facts, by)), ["group"])


def quality_over_time(
    reader: Reader,
    name: str,
    *,
    by: str = "none",
    width: dt.timedelta | None = None,
    filter: str | None = None,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    feature_key: str | None = None,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Pass rate and mean score of ``name`` per time bucket (of ``time``) and group.

    Args:
        width: The bucket width; by default chosen from the time range (at most 60 buckets).

    Returns:
        Columns ``bucket`` (start, UTC), ``group``, ``count``, ``judged``, ``passed``,
        ``pass_rate``, ``mean_score``.
    """
    facts = quality_facts(reader, name, filter=filter, start=start, end=end, project=project,
                          feature_key=feature_key, threshold=threshold)
    facts = facts[facts["time"].notna()]
    if facts.empty:
        return pd.DataFrame(columns=["bucket", "group", "count", "judged", "passed", "pass_rate", "mean_score"])
    width = width or bucket_width(facts["time"].min().to_pydatetime(), facts["time"].max().to_pydatetime())
    epoch = pd.Timestamp(0, tz="UTC")
    buckets = epoch + ((facts["time"] - epoch) // width) * width
    rates = _rates(facts.assign(bucket=buckets, group=_group_column(facts, by)), ["bucket", "group"])
    return rates.sort_values(["bucket", "group"], ignore_index=True)


def score_distribution(
    reader: Reader,
    name: str,
    *,
    bins: int = 10,
    by: str = "none",
    filter: str | None = None,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    feature_key: str | None = None,
) -> pd.DataFrame:
    """How the scores of ``name`` spread: counts per equal-width bin (0-1 for scores in it) and group.

    Returns:
        Columns ``group``, ``bin_start``, ``bin_end``, ``count``.
    """
    facts = quality_facts(reader, name, filter=filter, start=start, end=end, project=project,
                          feature_key=feature_key)
    scores = facts[facts["score"].notna()]
    if scores.empty:
        return pd.DataFrame(columns=["group", "bin_start", "bin_end", "count"])
    low, high = float(scores["score"].min()), float(scores["score"].max())
    low, high = (0.0, 1.0) if low >= 0.0 and high <= 1.0 else (low, high if high > low else low + 1.0)
    edges = [low + (high - low) * i / bins for i in range(bins + 1)]
    labels = pd.cut(scores["score"], edges, include_lowest=True, labels=False)
    frame = scores.assign(group=_group_column(scores, by), _bin=labels.astype(int))
    counts = frame.groupby(["group", "_bin"]).size()
    rows = []
    for group in sorted(frame["group"].unique(), key=str):
        for i in range(bins):
            rows.append({"group": group, "bin_start": edges[i], "bin_end": edges[i + 1],
                         "count": int(counts.get((group, i), 0))})
    return pd.DataFrame(rows, columns=["group", "bin_start", "bin_end", "count"])


def feedback_rate(
    reader: Reader,
    name: str = "user_feedback",
    *,
    by: str = "none",
    filter: str | None = None,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    feature_key: str | None = None,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """How many traces got feedback ``name``, and how much of it was positive, per group.

    Returns:
        Columns ``group``, ``traces``, ``with_feedback``, ``feedback_rate``, ``positive``
        (traces whose feedback passes, by majority), ``positive_rate`` (of those with feedback).
    """
    if by in ("annotator", "annotator_kind") or by not in GROUPS:
        raise FilterError(
            f"Cannot group feedback rate by {by!r}; choose none, prompt_version, model, feature or project."
        )
    root_where = Selection.of(filter, start, end, project).trace_where("r", "m")
    root_where.add("r.parent_span_id IS NULL")
    feature = feature_sql("r", feature_key)
    traces = reader.query(
        f"""WITH roots AS (SELECT r.trace_id, r.project, coalesce({feature}, r.name) AS feature
                           FROM spans r WHERE {root_where.sql}),
                 calls AS (SELECT s.trace_id,
                                  arg_max(s.model_name, s.start_time)
                                      FILTER (WHERE s.span_kind = 'LLM' AND s.model_name IS NOT NULL) AS model,
                                  arg_max(s.prompt_template_version, s.start_time)
                                      FILTER (WHERE s.prompt_template_version IS NOT NULL) AS prompt_version
                           FROM spans s WHERE s.trace_id IN (SELECT trace_id FROM roots) GROUP BY s.trace_id)
            SELECT roots.*, calls.model, calls.prompt_version FROM roots LEFT JOIN calls USING (trace_id)""",
        root_where.params,
    ).to_pandas()
    facts = quality_facts(reader, name, threshold=threshold)
    facts = facts[facts["trace_id"].isin(set(traces["trace_id"]))]
    votes = facts.assign(_pass=facts["passed"].map(lambda v: 1.0 if v is True else 0.0 if v is False else None))
    per_trace = votes.groupby("trace_id")["_pass"].mean()
    traces["with_feedback"] = traces["trace_id"].isin(set(facts["trace_id"]))
    traces["positive"] = traces["trace_id"].map(per_trace).map(lambda v: v is not None and not pd.isna(v) and v > 0.5)
    traces["group"] = _group_column(traces, by)
    columns = ["group", "traces", "with_feedback", "feedback_rate", "positive", "positive_rate"]
    if traces.empty:
        return pd.DataFrame(columns=columns)
    out = traces.groupby("group", sort=True).agg(traces=("trace_id", "size"), with_feedback=("with_feedback", "sum"),
                                                 positive=("positive", "sum")).reset_index()
    out["feedback_rate"] = out["with_feedback"] / out["traces"]
    out["positive_rate"] = out["positive"] / out["with_feedback"].where(out["with_feedback"] > 0)
    return out[columns]


def worst_traces(
    reader: Reader,
    names: str | Sequence[str] | None = None,
    *,
    limit: int = 20,
    filter: str | None = None,
    start: Any = None,
    end: Any = None,
    project: Project = None,
    feature_key: str | None = None,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """The traces whose annotations fail most: most failing annotations first, then lowest mean score.

    Returns:
        Columns ``trace_id``, ``time``, ``feature``, ``model``, ``prompt_version``,
        ``annotations``, ``failed``, ``mean_score``, ``worst`` (name and label or score of the
        worst annotation), ``explanation`` (its explanation), ``input`` (the root's, cut to 200
        characters).
    """
    columns = ["trace_id", "time", "feature", "model", "prompt_version", "annotations", "failed", "mean_score",
               "worst", "explanation", "input"]
    facts = quality_facts(reader, names, filter=filter, start=start, end=end, project=project,
                          feature_key=feature_key, threshold=threshold)
    facts = facts[facts["trace_id"].notna()]
    if facts.empty:
        return pd.DataFrame(columns=columns)
    facts = facts.assign(
        _fail=facts["passed"].map(lambda v: v is False),
        _rank=facts["passed"].map(lambda v: 0 if v is False else 1 if v is None else 2),
        _score=facts["score"].fillna(0.5),
    )
    worst = facts.sort_values(["_rank", "_score"]).groupby("trace_id", sort=False).head(1).set_index("trace_id")
    out = facts.groupby("trace_id").agg(
        time=("time", "min"), annotations=("annotation_id", "size"), failed=("_fail", "sum"),
        mean_score=("score", "mean"),
    )
    out = out[out["failed"] > 0].sort_values(["failed", "mean_score", "time"], ascending=[False, True, False])
    out = out.head(limit).reset_index()
    if out.empty:
        return pd.DataFrame(columns=columns)
    picked = worst.loc[out["trace_id"]]
    out["feature"] = picked["feature"].to_numpy()
    out["model"] = picked["model"].to_numpy()
    out["prompt_version"] = picked["prompt_version"].to_numpy()
    out["worst"] = [f"{n}: {lab if isinstance(lab, str) else format(s, '.2f')}"
                    for n, lab, s in zip(picked["name"], picked["label"], picked["score"])]
    out["explanation"] = picked["explanation"].to_numpy()
    roots = reader.spans(trace_ids=list(out["trace_id"]), root_only=True, columns=["trace_id", "input_value"])
    inputs = dict(zip(roots["trace_id"], roots["input_value"].fillna("").str.slice(0, 200)))
    out["input"] = out["trace_id"].map(inputs)
    return out[columns]


def trace_annotations(reader: Reader, trace_ids: Sequence[str], *, feedback: str = _FEEDBACK,
                      threshold: float = 0.5) -> pd.DataFrame:
    """A summary of each trace's annotations, for columns beside a trace list.

    Counts every annotation about the trace: on it, on its spans and their documents.

    Returns:
        One row per trace of ``trace_ids`` with any: ``trace_id``, ``annotations``, ``failed``,
        ``feedback`` (the label of the latest ``feedback`` annotation on it, e.g.
        ``thumbs_down``), ``scores`` (annotation name -> mean score).
    """
    columns = ["trace_id", "annotations", "failed", "feedback", "scores"]
    ids = [str(t).lower() for t in trace_ids]
    if not ids:
        return pd.DataFrame(columns=columns)
    frame = reader.query(
        """SELECT coalesce(a.trace_id, s.trace_id) AS trace_id, a.name, a.score, a.label, a.created_at
           FROM annotations a LEFT JOIN spans s ON a.trace_id IS NULL AND a.span_id = s.span_id
           WHERE coalesce(a.trace_id, s.trace_id) IN (SELECT unnest(?::VARCHAR[]))""",
        [ids],
    ).to_pandas()
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["failed"] = [passed(s, lab, threshold) is False for s, lab in zip(frame["score"], frame["label"])]
    rows = []
    for trace_id, group in frame.groupby("trace_id", sort=False):
        mine = group[group["name"] == feedback].sort_values("created_at")
        scores = group.dropna(subset=["score"]).groupby("name")["score"].mean()
        rows.append({"trace_id": trace_id, "annotations": len(group), "failed": int(group["failed"].sum()),
                     "feedback": mine["label"].iloc[-1] if len(mine) else None,
                     "scores": {str(k): float(v) for k, v in scores.items()}})
    return pd.DataFrame(rows, columns=columns)
