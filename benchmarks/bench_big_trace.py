"""A 30,000-span agent trace on the Trace page: where the time goes, in Python and in chromium.

    python benchmarks/bench_big_trace.py [--dir /tmp/wb-scale] [--repeat 5] [--no-browser]

Reads the store that ``bench_scale.py make`` leaves in ``--dir`` (10 million spans and the
agent trace of 30,031 spans whose id is in ``agent_trace_id.txt``). Run by hand; prints figures.

In Python (medians of ``--repeat`` runs after a warm-up), the Trace page's steps as they are
now beside the way they were done before (the whole tree as a ``Trace`` of dicts, every row
made, every span priced in a DataFrame):

* the trace's spans read (one narrow query), the outline built over its columns, the first
  rows made (the top levels only), the calls priced, the text for an LLM;
* the selected span read whole by its trace, id and start.

In headless chromium against a real server on the store (medians; the page is left idle
between runs until its background work is done, i.e. the copy button is enabled):

* opening the trace: navigation until its tree and waterfall show rows, beside the same for a
  ten-span trace of the same store (what any Trace page costs);
* a span's detail: from the click on a row (timed in the page) to the detail showing that span;
* opening a fold whose children were never sent: from the click to its children shown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.store import Store

# Finds elements through the shadow roots the app's components draw in.
_DEEP = """
window.__deep = (selector) => {
  const out = [];
  const walk = (root) => {
    root.querySelectorAll(selector).forEach((e) => out.push(e));
    root.querySelectorAll("*").forEach((e) => { if (e.shadowRoot) walk(e.shadowRoot); });
  };
  walk(document);
  return out;
};
window.__clicked = 0;
document.addEventListener("click", () => { window.__clicked = performance.now(); }, true);
"""


def timed(label: str, func: Callable[[], Any], repeat: int) -> Any:
    """Run ``func`` once to warm up, then ``repeat`` times; print the median and the spread."""
    out = func()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t)
    _line(label, times)
    return out


def _line(label: str, times: list[float]) -> None:
    print(f"  {label:<64} {statistics.median(times) * 1000:8.0f} ms  "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})", flush=True)


def python_figures(store: Store, trace_id: str, repeat: int) -> None:
    from workbench.analysis.cost import span_costs
    from workbench.app.folds import Folds
    from workbench.app.outline import Outline
    from workbench.app.trace import waterfall_rows
    from workbench.app.trace_costs import trace_costs
    from workbench.query import Reader
    from workbench.read import SPAN_FIELDS
    from workbench.read.outline import outline_spans

    reader = Reader(store, owns_store=False)
    print("in Python: now")
    table = timed("the trace's spans: one narrow query (outline_spans)", lambda: outline_spans(reader, trace_id),
                  repeat)
    outline = timed("the tree over columns (Outline)", lambda: Outline(trace_id, table), repeat)
    print(f"    ({len(outline):,} spans)")
    folds = Folds(outline)
    shown = folds.shown()
    timed(f"the first rows made ({len(shown)} of them)", lambda: outline.rows(Folds(outline).shown()), repeat)
    costs = timed("the calls priced, summed per subtree (trace_costs)", lambda: trace_costs(reader, outline), repeat)
    timed("the text for an LLM (Outline.to_markdown)", lambda: outline.to_markdown(costs), repeat)
    i = len(outline) // 2
    start = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(outline.start[i]))
    timed("the selected span, whole, by trace, id and start",
          lambda: reader.spans(f"span_id == {outline.ids[i]!r}", trace_ids=[trace_id], start=start,
                               end=start + dt.timedelta(microseconds=1), columns=SPAN_FIELDS, arrow=True), repeat)
    print("in Python: before (the whole tree as dicts, every row made, every span priced in pandas)")
    old_columns = ("name", "span_kind", "status_code", "latency_ms", "model_name", "total_tokens", "session_id",
                   "user_id", "project")
    trace = timed("reader.trace(columns=the tree's)", lambda: reader.trace(trace_id, columns=old_columns), repeat)
    timed("waterfall_rows(every span)", lambda: waterfall_rows(trace), repeat)
    timed("span_costs (every span in a DataFrame)",
          lambda: span_costs(reader, trace_id, window=(outline.first_start, outline.last_start)), repeat)
    timed("the text for an LLM (Trace.to_markdown)", lambda: trace.to_markdown(), repeat)


def browser_figures(store: Store, trace_id: str, repeat: int) -> None:
    from playwright.sync_api import sync_playwright

    from workbench.server import Server

    small = store.fetchall("SELECT trace_id FROM spans WHERE parent_span_id IS NULL AND trace_id <> ? LIMIT 1",
                           [trace_id])[0][0]
    server = Server(store, host="127.0.0.1", port=0, app=True).start()
    opened: dict[str, list[float]] = {"big": [], "small": []}
    detail: list[float] = []
    fold: list[float] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.add_init_script(_DEEP)

            def open_trace(which: str, tid: str) -> float:
                t = time.perf_counter()
                page.goto(f"{server.url}/?page=trace&trace_id={tid}")
                page.wait_for_selector(".wf-row[data-id]", timeout=300_000)
                took = time.perf_counter() - t
                # Idle until its background work is done: costs, then the text for an LLM.
                page.wait_for_selector("button.wb-copy:enabled", timeout=300_000)
                return took

            open_trace("big", trace_id)  # the first session pays for imports; not counted
            open_trace("small", small)
            for _ in range(repeat):
                for which, tid in (("big", trace_id), ("small", small)):
                    opened[which].append(open_trace(which, tid))
            open_trace("big", trace_id)
            rows = page.locator(".wf-row[data-id]")
            for n in range(repeat):
                target = rows.nth(3 + n)
                span_id = target.get_attribute("data-id")
                target.click()
                took = page.wait_for_function(
                    """(id) => window.__deep('.wb-html').some((e) => e.textContent.includes(id))
                               && performance.now() - window.__clicked""",
                    arg=span_id, polling="raf", timeout=60_000).json_value()
                detail.append(took / 1000)
            closed = page.evaluate("""() => window.__deep('.wf-tog[data-tog]').filter((e) => e.textContent === '\u25b6')
                                           .map((e) => e.dataset.tog)""")
            for span_id in closed[:repeat]:
                page.locator(f".wf-tog[data-tog='{span_id}']").click()
                took = page.wait_for_function(
                    """(id) => window.__deep(`.wf-tog[data-tog='${id}']`).some((e) => e.textContent === '\u25bc')
                               && performance.now() - window.__clicked""",
                    arg=span_id, polling="raf", timeout=60_000).json_value()
                fold.append(took / 1000)
            browser.close()
    finally:
        server.stop()
    print("in the browser (headless chromium, a real server)")
    _line("30k-span trace: navigation to its tree and waterfall shown", opened["big"])
    _line("10-span trace of the same store, the same way", opened["small"])
    _line("span detail: click on a row to its detail shown", detail)
    if fold:
        _line(f"a fold never sent: click to its children shown ({len(fold)} folds)", fold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/wb-scale")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    folder = Path(args.dir)
    trace_id = (folder / "agent_trace_id.txt").read_text().strip()
    store = Store(folder / "big.duckdb", read_only=True)
    try:
        print(f"store: {folder / 'big.duckdb'}, trace {trace_id}")
        python_figures(store, trace_id, args.repeat)
        if not args.no_browser:
            browser_figures(store, trace_id, args.repeat)
    finally:
        store.close()


if __name__ == "__main__":
    main()
