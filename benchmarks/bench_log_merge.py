"""Merging OTLP log records into their spans: what it costs on a store that holds many spans.

Run by hand: ``python benchmarks/bench_log_merge.py [--spans 200000]``. Prints JSON:

* ``merge_after_spans_ms``: submitting 100 GenAI message records for 25 stored spans and
  merging them (what ``POST /v1/logs`` waits for when the spans came first), median of 5;
* ``waiting_check_ms``: one merge pass that finds nothing to merge while 1,000 records wait
  for spans that never come (what each later commit costs, at most every 0.25 s), median of 9;
* ``span_commit_ms``: committing 512 spans with and without those records waiting.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from workbench.model import LogRecord, Span, SpanKind
from workbench.store import Store

BASE_NS = 1_763_884_800_000_000_000


def _span(i: int) -> Span:
    start = BASE_NS + i * 1_000_000
    return Span(
        trace_id=f"{i // 4 + 1:032x}", span_id=f"{i + 1:016x}", parent_span_id=None, name="chat",
        start_time_ns=start, end_time_ns=start + 500_000_000, span_kind=SpanKind.LLM, model_name="gpt-4o",
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "n": i},
    )


def _records(span: Span) -> list[LogRecord]:
    return [
        LogRecord(span.start_time_ns + k, span.trace_id, span.span_id, name, body)
        for k, (name, body) in enumerate([
            ("gen_ai.system.message", {"content": "Be brief."}),
            ("gen_ai.user.message", {"content": "Where is my parcel?"}),
            ("gen_ai.user.message", {"content": "It was due Monday."}),
            ("gen_ai.choice", {"index": 0, "message": {"role": "assistant", "content": "On its way."}}),
        ])
    ]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "bench.duckdb")
        for first in range(0, args.spans, 20_000):
            store.write([_span(i) for i in range(first, min(first + 20_000, args.spans))], timeout=600)
        store.flush()
        merge = []
        for run in range(5):
            spans = [_span(run * 25 + i) for i in range(25)]
            records = [r for s in spans for r in _records(s)]
            began = time.perf_counter()
            store.submit_logs(records).result(60)
            merged = store.logs.attach()
            merge.append(time.perf_counter() - began)
            assert merged == 25, merged
        orphans = [
            LogRecord(BASE_NS + i, f"{10**9 + i:032x}", f"{10**9 + i:016x}", "gen_ai.user.message", {"content": "x"})
            for i in range(1_000)
        ]

        def commit(offset: int) -> float:
            batch = [_span(args.spans + offset + i) for i in range(512)]
            began = time.perf_counter()
            store.write(batch)
            return time.perf_counter() - began

        plain = [commit(512 * k) for k in range(5)]
        store.submit_logs(orphans).result(60)
        checks = []
        for _ in range(9):
            began = time.perf_counter()
            assert store.logs.attach() == 0
            checks.append(time.perf_counter() - began)
        waiting = [commit(512 * (5 + k)) for k in range(5)]
        store.close()
    print(json.dumps({
        "spans_stored": args.spans,
        "merge_after_spans_ms": _ms(statistics.median(merge)),
        "waiting_check_ms": _ms(statistics.median(checks)),
        "span_commit_ms": {"no_records_waiting": _ms(statistics.median(plain)),
                           "1000_records_waiting": _ms(statistics.median(waiting))},
    }, indent=2))


if __name__ == "__main__":
    main()
