"""Quality: pass rates and score distributions of evaluations and feedback, over time and by
model, prompt version or feature; feedback rate; the worst traces.

Everything starts from :func:`quality_facts`, one row per annotation with what it is about:

* ``time``: when the annotated thing happened (the span's start; a trace's or session's first
  span), not when it was judged, so a change shows up on the day it shipped;
* ``model``, ``prompt_version``: the annotated span's own, else its trace's last LLM call's;
* ``feature``: the trace root's (its ``metadata`` JSON's ``feature``, else a ``feature``
  attribute, as :func:`workbench.read.spend.feature_sql` reads it), else the root's name;
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

from workbench.analysis.latency import bucket_width
from workbench.errors import FilterError
from workbench.evals.outcome import passed
from workbench.read import Reader, Selection
from workbench.read import quality as queries

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
    frame = queries.annotation_facts(reader, Selection.of(filter, start, end, project), names=names,
                                     feature_key=feature_key).to_pandas()
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
    return queries.annotation_names(reader).to_pandas()


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
    traces = queries.trace_groups(reader, Selection.of(filter, start, end, project),
                                  feature_key=feature_key).to_pandas()
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
    frame = queries.annotations_of_traces(reader, ids).to_pandas()
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["failed"] = [passed(s, lab, threshold) is False for s, lab in zip(frame["score"], frame["label"])]
    # Whole-frame group-bys, not pandas calls per trace: each trace's list page asks for this,
    # and per trace it took 0.1 s of the first page's 0.3 s for 50 traces.
    traces = frame.groupby("trace_id", sort=False)
    counts, failed = traces.size(), traces["failed"].sum()
    latest = (frame[frame["name"] == feedback].sort_values("created_at", kind="stable")
              .groupby("trace_id", sort=False)["label"].agg(lambda labels: labels.iloc[-1]))
    means: dict[str, dict[str, float]] = {}
    for (trace_id, name), mean in frame.dropna(subset=["score"]).groupby(["trace_id", "name"])["score"].mean().items():
        means.setdefault(trace_id, {})[str(name)] = float(mean)
    rows = [{"trace_id": trace_id, "annotations": int(counts[trace_id]), "failed": int(failed[trace_id]),
             "feedback": latest.get(trace_id), "scores": means.get(trace_id, {})} for trace_id in counts.index]
    return pd.DataFrame(rows, columns=columns)
