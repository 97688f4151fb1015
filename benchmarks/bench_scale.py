"""Big traces and big stores: a 30,000-span agent trace and 10 million spans. Run by hand.

    python benchmarks/bench_scale.py make  [--dir /tmp/wb-scale] [--spans 10000000]
    python benchmarks/bench_scale.py store [--dir /tmp/wb-scale] [--repeat 5]
    python benchmarks/bench_scale.py trace [--dir /tmp/wb-scale] [--repeat 5]
    python benchmarks/bench_scale.py summary [--dir /tmp/wb-scale]

``make`` generates the store straight inside DuckDB (``scale_data.py``: ten-span support
traces over 30 days, then one agent trace of 30,031 spans); 10 million spans take a minute
or two here. Keep it under /tmp, never in the repository.

``store`` measures the read API under the pages on that store, in this process, medians of
``--repeat`` runs, each after the first (which pays for DuckDB reading the file's blocks):

* the Traces page's first render: the rows of its first page and how many traces match;
* the filtered list, each filter the page offers: model, status, text in the input;
* latency percentiles by model over 30 days (the Latency page's chart, span level).

The filtered lists are measured twice: as they read now (the trace summary, when the file
holds one that is current) and reading every span, as before the summary (``spans path``).
Each line gives wall time and this process's CPU time: on a machine others share, CPU time
says more about the work done.

``summary`` times rebuilding the trace summary of that store from its spans (what opening
a file made before the summary costs, on a writer thread in a pause), in a transaction it
rolls back, so the file is left as it was; it needs the file writable (not opened by another
process), and a file without the table gets it (empty, then filled by the writer).

``trace`` measures, in headless chromium against a real server on that store, opening the
agent trace (navigation until its tree and waterfall show rows) and the selected span's
detail (a click on a row until the detail shows that span), and the same in Python (the
read and the page's rows).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import scale_data

from workbench.store import Store


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, func: Callable[[], object], repeat: int) -> list[float]:
    """Run ``func`` once to warm up, then ``repeat`` times; print the median and the spread."""
    func()
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), _cpu()
        func()
        times.append(time.perf_counter() - t)
        cpu.append(_cpu() - c)
    print(f"  {label:<62} {statistics.median(times) * 1000:8.0f} ms  "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}; cpu {statistics.median(cpu) * 1000:.0f} ms)",
          flush=True)
    return times


def make(folder: Path, spans: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "big.duckdb"
    if db.exists():
        db.unlink()
    with Store(db) as store:
        t = time.perf_counter()
        n = scale_data.fill_store(store, spans)
        print(f"made {n:,} spans in {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        trace_id, count = scale_data.add_agent_trace(store)
        print(f"agent trace {trace_id}: {count:,} spans in {time.perf_counter() - t:.1f} s")
    (folder / "agent_trace_id.txt").write_text(trace_id)
    print(f"file: {db.stat().st_size / 2**30:.2f} GiB")


def store_figures(folder: Path, repeat: int) -> None:
    from workbench.analysis.latency import latency_over_time
    from workbench.query import Reader

    class SpansReader(Reader):
        """The trace list as it read before the summary: every filter over every span."""

        def _summary_current(self) -> str | None:
            return None

    with Reader(Store(folder / "big.duckdb", read_only=True)) as reader:
        spans_reader = SpansReader(reader.store, owns_store=False)
        print(f"store: {reader.overview()['spans']:,} spans; trace summary "
              f"{'current' if reader._summary_current() else 'absent or not current: the spans answer'}")

        def first_render(filter: str | None = None) -> None:
            # What the Traces page asks for: its first page of 50, and the count when shown.
            reader.traces(filter, limit=50)
            reader.count_traces(filter)

        print("Traces page (first page of 50 and the count)")
        timed("first render: traces(limit=50) + count_traces()", first_render, repeat)
        timed("  traces(limit=50) alone", lambda: reader.traces(limit=50), repeat)
        timed("  count_traces() alone", reader.count_traces, repeat)
        for label, expression in (
            ("model", "model_name == 'claude-3-5-sonnet'"),
            ("status", "status_code == 'ERROR'"),
            ("text in input", "('declined' in input_value or 'declined' in output_value)"),
        ):
            timed(f"filtered by {label}: traces + count", lambda e=expression: first_render(e), repeat)
            timed("  the same, spans path", lambda e=expression: (spans_reader.traces(e, limit=50),
                                                                 spans_reader.count_traces(e)), repeat)
        print("Latency page")
        timed("p50/p95/p99 by model over 30 days (spans)",
              lambda: latency_over_time(reader, by="model", level="spans", start="30d"), repeat)
        timed("p50/p95/p99 by model over 30 days (LLM spans)",
              lambda: latency_over_time(reader, "span_kind == 'LLM'", by="model", level="spans", start="30d"),
              repeat)


def summary_figures(folder: Path) -> None:
    from workbench.store import summary

    with Store(folder / "big.duckdb") as store:
        spans = store.fetchall("SELECT count(*) FROM spans")[0][0]

        def rebuild(cur: object) -> int:
            t, c = time.perf_counter(), _cpu()
            traces = summary.rebuild(cur)  # type: ignore[arg-type]
            print(f"  rebuild the trace summary: {spans:,} spans, {traces:,} traces in "
                  f"{time.perf_counter() - t:.1f} s (cpu {_cpu() - c:.1f} s)", flush=True)
            raise _RolledBack

        try:
            store.execute_write(rebuild, timeout=None)
        except _RolledBack:
            pass


class _RolledBack(Exception):
    """Raised in the unit of work so the writer rolls the rebuild back."""


def trace_figures(folder: Path, repeat: int) -> None:
    from playwright.sync_api import expect, sync_playwright

    from workbench.app.trace import waterfall_rows
    from workbench.query import Reader
    from workbench.server import Server

    trace_id = (folder / "agent_trace_id.txt").read_text().strip()
    store = Store(folder / "big.duckdb", read_only=True)
    reader = Reader(store, owns_store=False)
    print("in Python")
    timed("reader.trace(30k-span trace)", lambda: reader.trace(trace_id), repeat)
    trace = reader.trace(trace_id)
    print(f"  ({len(trace.nodes):,} spans)")
    timed("waterfall_rows(trace)", lambda: waterfall_rows(trace), repeat)
    some_span = list(trace.nodes)[len(trace.nodes) // 2]
    timed("reader.span(one span)", lambda: reader.span(some_span), repeat)

    server = Server(store, host="127.0.0.1", port=0, app=True).start()
    opened, detail = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            url = f"{server.url}/?page=trace&trace_id={trace_id}"
            page.goto(url)  # the first session pays for imports; not counted
            page.wait_for_selector(".wf-row[data-id]", timeout=300_000)
            for _ in range(repeat):
                t = time.perf_counter()
                page.goto(url)
                page.wait_for_selector(".wf-row[data-id]", timeout=120_000)
                opened.append(time.perf_counter() - t)
                rows = page.locator(".wf-row[data-id]")
                target = rows.nth(min(5, rows.count() - 1))
                name = target.locator(".nm").inner_text()
                span_id = target.get_attribute("data-id")
                t = time.perf_counter()
                target.click()
                expect(page.locator(".wb-html").filter(has_text=span_id)).not_to_have_count(0, timeout=60_000)
                detail.append(time.perf_counter() - t)
            shown = page.locator(".wf-row[data-id]").count()
            browser.close()
    finally:
        server.stop()
        store.close()
    print("in the browser (headless chromium, a real server)")
    print(f"  {'30k-span trace: navigation to tree and waterfall shown':<62} "
          f"{statistics.median(opened) * 1000:8.0f} ms  (min {min(opened) * 1000:.0f}, max {max(opened) * 1000:.0f})")
    print(f"  {'span detail: click on a row (' + name + ') to its detail':<62} "
          f"{statistics.median(detail) * 1000:8.0f} ms  (min {min(detail) * 1000:.0f}, max {max(detail) * 1000:.0f})")
    print(f"  rows in the page's DOM: {shown:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("make", "store", "trace", "summary"))
    parser.add_argument("--dir", default="/tmp/wb-scale")
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = Path(args.dir)
    if args.what == "make":
        make(folder, args.spans)
    elif args.what == "store":
        store_figures(folder, args.repeat)
    elif args.what == "summary":
        summary_figures(folder)
    else:
        trace_figures(folder, args.repeat)


if __name__ == "__main__":
    main()
