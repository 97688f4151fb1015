"""How long a trace takes to show inline, and how big its output is. Run by hand; prints figures.

    python benchmarks/bench_inline_trace.py [--sizes 50,500,5000,30000] [--repeat 3] [--no-browser]

For each size, writes one agent trace of that many spans into a fresh store (an AGENT root,
steps of model calls whose input repeats the conversation so far, tool calls, and a retriever
with five documents every fifth turn) and times: reading it (``wb.trace(id)``), rendering its
self-contained view with the default limits (``trace._repr_html_()``), the output's size, and,
in headless chromium with every request aborted, opening the written page until the first
span's detail is drawn and drawing another span's detail on click. The largest size is also
rendered with every span shown (``max_spans`` = its size).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.model import Document, Message, Span, SpanKind, ToolCall
from workbench.read import Reader
from workbench.store import Store

BASE_NS = 1_763_884_800_000_000_000
TRACE_ID = "ab" * 16


def agent_trace(n: int) -> list[Span]:
    """An agent trace of ``n`` spans: root, steps of 20 turns, each turn a model call and a tool call."""
    spans: list[Span] = []
    counter = iter(range(1, 10**9))

    def add(parent: str | None, kind: SpanKind, name: str, start_ms: float, ms: float, **fields: object) -> str:
        span_id = f"{next(counter):016x}"
        start = BASE_NS + int(start_ms * 1e6)
        spans.append(Span(trace_id=TRACE_ID, span_id=span_id, parent_span_id=parent, name=name,
                          start_time_ns=start, end_time_ns=start + int(ms * 1e6), span_kind=kind, project="bench",
                          attributes={"openinference.span.kind": kind.value}, **fields))
        return span_id

    root = add(None, SpanKind.AGENT, "agent", 0, n * 10.0, input_value="Plan the migration of the billing system.")
    history = [Message("system", "You are a careful planning agent. " * 8)]
    step, turn, t = root, 0, 1.0
    while len(spans) < n:
        if turn % 20 == 0:
            step = add(root, SpanKind.CHAIN, f"step {turn // 20 + 1}", t, 200.0)
        history.append(Message("user" if turn % 2 else "tool", f"turn {turn}: " + "details of the work so far. " * 10))
        add(step, SpanKind.LLM, "chat", t, 6.0, model_name="gpt-4o", input_messages=tuple(history[-40:]),
            output_messages=(Message("assistant", None, tool_calls=(ToolCall(f"c{turn}", "run", '{"n": 1}'),)),))
        if len(spans) < n:
            add(step, SpanKind.TOOL, "run", t + 6, 2.0, input_value='{"n": 1}', output_value="ok " * 20)
        if turn % 5 == 0 and len(spans) < n:
            add(step, SpanKind.RETRIEVER, "search", t + 8, 1.0, input_value="billing",
                documents=tuple(Document(i, f"kb-{i}", "A paragraph of the runbook. " * 12, 0.9 - i / 10)
                                for i in range(5)))
        turn += 1
        t += 9.0
    return spans[:n]


def timed(func: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


def browser_figures(path: Path, repeat: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    url = path.resolve().as_uri()
    opened, clicked = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu"])
        for _ in range(repeat):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
            page = context.new_page()
            start = time.perf_counter()
            page.goto(url, timeout=600_000)
            page.locator(".wbx-dhead").first.wait_for(timeout=600_000)
            opened.append((time.perf_counter() - start) * 1000)
            clicked.append(page.evaluate(
                "() => { const rows = document.querySelectorAll('.wbx-row'); const t = performance.now();"
                " rows[Math.min(1, rows.length - 1)].click(); return performance.now() - t; }"))
            context.close()
        browser.close()
    return {"open_to_first_detail_ms": round(statistics.median(opened)), "click_to_detail_ms":
            round(statistics.median(clicked), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,500,5000,30000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="bench-inline-"))
    try:
        for n in sizes:
            store = Store(folder / f"t{n}.duckdb")
            store.write(agent_trace(n))
            store.flush()
            reader = Reader(store)
            read_ms, trace = timed(lambda reader=reader: reader.trace(TRACE_ID), args.repeat)
            render_ms, fragment = timed(trace._repr_html_, args.repeat)
            figures: dict[str, object] = {
                "spans": n, "read_ms": round(read_ms), "render_ms": round(render_ms),
                "output_kb": round(len(fragment.encode()) / 1024), "rows_shown": fragment.count("class='wbx-row"),
            }
            if not args.no_browser:
                figures.update(browser_figures(trace.to_html(folder / f"t{n}.html"), args.repeat))
            print(json.dumps(figures))
            if n == max(sizes) and n > 1000:
                all_ms, everything = timed(lambda trace=trace, n=n: trace.view(max_spans=n).html, 1)
                figures = {"spans": n, "max_spans": n, "render_ms": round(all_ms),
                           "output_kb": round(len(everything.encode()) / 1024)}
                if not args.no_browser:
                    figures.update(browser_figures(trace.to_html(folder / f"all{n}.html", max_spans=n), 1))
                print(json.dumps(figures))
            store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
