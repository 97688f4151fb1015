"""How fast the app opens with a million spans in the store. Run by hand; prints figures.

    python benchmarks/bench_app.py [--spans 1000000] [--no-browser] [--keep DIR]

Makes about a million spans as Arrow columns (100,000 traces of ten spans, plus one trace of
500 spans), writes them as Parquet and imports them into a fresh store with
``Store.import_parquet``, then measures:

* the read API under the Traces page: counting the traces and reading the first page;
* building the Traces page and the Trace page of the 500-span trace in Python (what the server
  does per browser session, before anything is sent);
* in headless chromium against a real server, the first render of the Traces page (from
  navigation until the table shows rows) and opening the 500-span trace (until its 500 rows
  show). Targets: under 2 s and under 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.store import Store
from workbench.store.schema import TABLES

SPANS_PER_TRACE = 10
# Position in a trace -> (parent position, name, kind, start offset ms, duration ms).
SHAPE = [
    (-1, "support_chat", "CHAIN", 0, 1600),
    (0, "embed_question", "EMBEDDING", 5, 60),
    (0, "search_knowledge_base", "RETRIEVER", 70, 150),
    (0, "plan", "LLM", 230, 400),
    (0, "lookup_invoice", "TOOL", 640, 200),
    (4, "http_get", "TOOL", 650, 120),
    (4, "parse_invoice", "CHAIN", 780, 40),
    (0, "answer", "LLM", 850, 700),
    (7, "guardrail", "GUARDRAIL", 1480, 50),
    (0, "log_feedback", "CHAIN", 1560, 20),
]
MODELS = np.array(["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "gemini-1.5-pro"])
QUESTIONS = np.array([
    "How do I get a refund for a double charge?", "Why was my card declined?",
    "Can I change the billing email?", "How do I download an invoice?",
])


def _hex(values: np.ndarray, width: int) -> list[str]:
    return [f"{int(v):0{width}x}" for v in values]


def make_spans(n_traces: int, *, seed: int = 3, big_trace: int = 500) -> tuple[pa.Table, str]:
    """``n_traces`` traces of ten spans plus one of ``big_trace`` spans; returns the table and that trace's id."""
    rng = np.random.default_rng(seed)
    now = dt.datetime.now(dt.timezone.utc)
    start0 = int((now - dt.timedelta(days=7)).timestamp() * 1e6)
    week_us = 7 * 86400 * 1_000_000
    trace_start = np.sort(start0 + rng.integers(0, week_us, n_traces))
    highs, lows = rng.integers(1, 2**62, n_traces), rng.integers(0, 2**62, n_traces)
    trace_ids = [f"{a:016x}{b:016x}" for a, b in zip(highs, lows)]
    k = SPANS_PER_TRACE
    n = n_traces * k
    span_ids = _hex(rng.integers(1, 2**62, n), 16)
    position = np.tile(np.arange(k), n_traces)
    parents = np.array([p for p, *_ in SHAPE])
    names = np.array([s[1] for s in SHAPE])
    kinds = np.array([s[2] for s in SHAPE])
    offsets = np.array([s[3] for s in SHAPE], dtype=np.int64) * 1000
    durations = np.array([s[4] for s in SHAPE], dtype=np.int64) * 1000
    jitter = rng.lognormal(0, 0.35, n)
    slow = rng.random(n_traces) < 0.03  # a slow tail: the answer takes ten times longer
    dur = (np.tile(durations, n_traces) * jitter).astype(np.int64)
    dur[(position == 7) & np.repeat(slow, k)] *= 10
    dur[position == 0] = np.maximum(dur[position == 0], (dur[position == 7] + 900_000))
    start = np.repeat(trace_start, k) + np.tile(offsets, n_traces)
    end = start + dur
    trace_col = np.repeat(np.array(trace_ids, dtype=object), k)
    span_arr = np.array(span_ids, dtype=object)
    parent_idx = np.arange(n) - position + np.tile(np.where(parents < 0, 0, parents), n_traces)
    parent_col = np.where(np.tile(parents, n_traces) < 0, None, span_arr[parent_idx])
    kind_col = np.tile(kinds, n_traces)
    is_llm = kind_col == "LLM"
    model_col = np.where(is_llm, MODELS[rng.integers(0, len(MODELS), n)], None)
    errors = (position == 4) & (rng.random(n) < 0.04)
    prompt = np.where(is_llm, rng.integers(300, 1500, n), None)
    completion = np.where(is_llm, rng.integers(20, 400, n), None)
    total = np.where(is_llm, (np.where(is_llm, prompt, 0) + np.where(is_llm, completion, 0)), None)
    question = np.repeat(QUESTIONS[rng.integers(0, len(QUESTIONS), n_traces)], k)
    sessions = np.repeat(np.array([f"sess-{i:06d}" for i in rng.integers(0, n_traces // 3 + 1, n_traces)]), k)
    columns = {
        "trace_id": trace_col, "span_id": span_arr, "parent_span_id": parent_col,
        "name": np.tile(names, n_traces), "span_kind": kind_col, "otel_kind": np.full(n, "INTERNAL"),
        "start_time": start, "end_time": end, "latency_ms": dur / 1000.0,
        "status_code": np.where(errors, "ERROR", "OK"), "status_message": np.where(errors, "timeout", ""),
        "project": np.repeat(np.where(rng.random(n_traces) < 0.8, "support-bot", "billing-agent"), k),
        "model_name": model_col, "input_value": np.where((position == 0) | is_llm, question, None),
        "output_value": np.where(position == 0, "Refunds take 5-10 business days.", None),
        "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total,
        "time_to_first_token_ms": np.where(is_llm, dur / 1000.0 * 0.25, None),
        "session_id": np.where(position == 0, sessions, None),
        "user_id": np.where(position == 0, np.repeat(np.array([f"user-{i % 500}" for i in range(n_traces)]), k), None),
        "attributes": np.full(n, "{}"), "resource": np.full(n, '{"service.name": "support-bot"}'),
        "events": np.full(n, "[]"), "links": np.full(n, "[]"),
    }
    table = _table(columns, n)
    big_id, big = _big_trace(rng, now, big_trace)
    return pa.concat_tables([table, big]), big_id


def _big_trace(rng: np.random.Generator, now: dt.datetime, count: int) -> tuple[str, pa.Table]:
    """One agent trace of ``count`` spans: a tree five wide, bars spread over 40 s."""
    trace_id = f"{int(rng.integers(1, 2**62)):016x}{int(rng.integers(1, 2**62)):016x}"
    span_ids = _hex(rng.integers(1, 2**62, count), 16)
    start0 = int((now - dt.timedelta(hours=1)).timestamp() * 1e6)
    starts, ends, parents = [start0], [start0 + 40_000_000], [None]
    for i in range(1, count):
        parent = (i - 1) // 5
        p_start, p_end = starts[parent], ends[parent]
        width = (p_end - p_start) // 5
        slot = (i - 1) % 5
        s = p_start + slot * width + int(rng.integers(0, max(width // 10, 1)))
        starts.append(s)
        ends.append(s + int(width * rng.uniform(0.3, 0.95)))
        parents.append(span_ids[parent])
    kinds = np.array(["AGENT", "LLM", "TOOL", "RETRIEVER", "CHAIN"])[np.arange(count) % 5]
    columns = {
        "trace_id": np.full(count, trace_id, dtype=object), "span_id": np.array(span_ids, dtype=object),
        "parent_span_id": np.array(parents, dtype=object), "name": np.array([f"step-{i}" for i in range(count)]),
        "span_kind": kinds, "otel_kind": np.full(count, "INTERNAL"), "start_time": np.array(starts),
        "end_time": np.array(ends), "latency_ms": (np.array(ends) - np.array(starts)) / 1000.0,
        "status_code": np.full(count, "OK"), "status_message": np.full(count, ""),
        "project": np.full(count, "support-bot"), "input_value": np.full(count, "step input"),
        "attributes": np.full(count, '{"step": true}'), "resource": np.full(count, "{}"),
        "events": np.full(count, "[]"), "links": np.full(count, "[]"),
    }
    return trace_id, _table(columns, count)


def _table(columns: dict[str, np.ndarray], n: int) -> pa.Table:
    schema = TABLES["spans"].arrow_schema
    arrays = []
    for field in schema:
        values = columns.get(field.name)
        if values is None:
            arrays.append(pa.nulls(n, field.type))
        elif pa.types.is_timestamp(field.type):
            arrays.append(pa.array(values.astype("int64"), pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(list(values) if values.dtype == object else values, field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def timed(label: str, func: Callable[[], object], repeat: int = 3) -> object:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t)
    print(f"  {label:<58} {statistics.median(times) * 1000:8.0f} ms  (best {min(times) * 1000:.0f})")
    return result


def browser_figures(store: Store, big_id: str, repeat: int) -> None:
    from playwright.sync_api import expect, sync_playwright

    from workbench.server import Server

    server = Server(store, host="127.0.0.1", port=0, app=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(server.url + "/")  # the first session pays for imports; not counted
            page.wait_for_selector(".wb-grid tbody tr[data-href]", timeout=120_000)
            first, opened, clicked = [], [], []
            for _ in range(repeat):
                t = time.perf_counter()
                page.goto(server.url + "/")
                page.wait_for_selector(".wb-grid tbody tr[data-href]", timeout=60_000)
                first.append(time.perf_counter() - t)
                t = time.perf_counter()
                page.goto(f"{server.url}/?page=trace&trace_id={big_id}")
                expect(page.locator(".wf-row[data-id]")).to_have_count(500, timeout=60_000)
                opened.append(time.perf_counter() - t)
                # In the app: from the Traces page, a click on the trace opens its tree.
                page.goto(f"{server.url}/?filter=trace_id+%3D%3D+%27{big_id}%27")
                page.wait_for_selector(".wb-grid tbody tr[data-href]", timeout=60_000)
                t = time.perf_counter()
                page.locator(".wb-grid tbody tr[data-href]").first.locator("td").nth(3).click()
                expect(page.locator(".wf-row[data-id]")).to_have_count(500, timeout=60_000)
                clicked.append(time.perf_counter() - t)
            browser.close()
    finally:
        server.stop()
    for label, times in (("browser: Traces page, navigation to rows shown", first),
                         ("browser: 500-span trace, navigation to 500 rows shown", opened),
                         ("browser: 500-span trace, click in the list to 500 rows", clicked)):
        print(f"  {label:<58} {statistics.median(times) * 1000:8.0f} ms  (best {min(times) * 1000:.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="Keep the store in this folder (and reuse it when it is there).")
    args = parser.parse_args()

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="wb-bench-app-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench.duckdb"
    marker = folder / "big_trace_id.txt"
    if not (db.exists() and marker.exists()):
        t = time.perf_counter()
        table, big_id = make_spans(max(1, (args.spans - 500) // SPANS_PER_TRACE))
        print(f"made {table.num_rows:,} spans in {time.perf_counter() - t:.1f} s")
        parquet = folder / "spans.parquet"
        pq.write_table(table, parquet)
        del table
        t = time.perf_counter()
        with Store(db) as store:
            store.import_parquet(parquet)
        print(f"imported in {time.perf_counter() - t:.1f} s")
        parquet.unlink()
        marker.write_text(big_id)
    big_id = marker.read_text().strip()

    from workbench.query import Reader

    store = Store(db)
    reader = Reader(store)
    print(f"store: {store.counts()['spans']:,} spans, {reader.count_traces():,} traces")
    print("read API")
    timed("count_traces()", reader.count_traces, args.repeat)
    timed("traces(limit=50), newest first", lambda: reader.traces(limit=50), args.repeat)
    timed("traces(limit=50), slowest first", lambda: reader.traces(order_by="latency_ms", limit=50), args.repeat)
    timed("traces('status_code == \"ERROR\"', limit=50)", lambda: reader.traces("status_code == 'ERROR'", limit=50),
          args.repeat)
    timed("trace(500-span trace)", lambda: reader.trace(big_id), args.repeat)

    import panel as pn

    from workbench.app import App, TraceView

    print("pages built in Python (per browser session)")
    timed("Traces page: App(reader) and its Bokeh models", lambda: pn.panel(App(reader)).get_root(), args.repeat)
    timed("Trace page of the 500-span trace", lambda: pn.panel(TraceView(reader, trace_id=big_id)).get_root(),
          args.repeat)
    if not args.no_browser:
        print("in the browser (headless chromium, a real server)")
        browser_figures(store, big_id, args.repeat)
    store.close()
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
