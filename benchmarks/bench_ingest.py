#!/usr/bin/env python3
"""Ingest benchmark: the shared workload against a real `workbench serve`, figures printed.

Measures, each in a fresh database file:

* server start to first answer, and idle RSS;
* server ingest with ``replay.py`` (pre-encoded OTLP protobuf requests, posted concurrently):
  accepted spans/s, requests lost, time until every span is queryable, peak RSS, file size;
* end to end with ``workload.py`` (the real OTel SDK client): client spans/s and 503 answers;
* reading every span into a pandas DataFrame, from the file and through the server's URL;
* in-process: the time ``on_end`` adds to the thread that ends a span (p50/p99).

Run by hand (it takes a few minutes):

    python benchmarks/bench_ingest.py --traces 10000 [--bench-dir ../shared/bench] [--runs 10]

It prints one JSON document; benchmarks/README.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live children."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child_pid, parent = int(stat.parent.name), int(fields[1])
        if child_pid == pid or parent == pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


class ServerProcess:
    """`workbench serve` in a subprocess on a free port."""

    def __init__(self, db: Path, app: bool = False) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "workbench", "serve", "--db", str(db), "--port", str(self.port)]
        if not app:
            args.append("--no-app")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while True:
            try:
                _get_json(self.url + "/api/health")
                break
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stderr.read().decode()) from None
                time.sleep(0.01)
        self.start_s = time.perf_counter() - t0

    def spans(self) -> int:
        return int(_get_json(self.url + "/api/health")["spans"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


def _record(bench_dir: Path, work: Path, traces: int) -> tuple[Path, dict]:
    recorded = work / f"otlp-{traces}"
    if not (recorded / "meta.json").exists():
        subprocess.run([sys.executable, str(bench_dir / "replay.py"), "record", "--traces", str(traces),
                        "--out", str(recorded)], check=True, cwd=bench_dir, stdout=subprocess.DEVNULL)
    return recorded, json.loads((recorded / "meta.json").read_text())


def _wait_idle(pid: int) -> None:
    previous = _cpu_s(pid)
    while True:
        time.sleep(0.5)
        now = _cpu_s(pid)
        if now - previous < 0.02:
            return
        previous = now


def _replay(server: ServerProcess, bench_dir: Path, recorded: Path, meta: dict, before: int = 0) -> dict:
    """Post the recorded requests; the figures of that burst."""
    cpu0 = _cpu_s(server.proc.pid)
    t0 = time.perf_counter()
    sent = subprocess.run(
        [sys.executable, str(bench_dir / "replay.py"), "send", "--endpoint", server.url + "/v1/traces",
         "--dir", str(recorded)], capture_output=True, text=True, cwd=bench_dir)
    result = json.loads(sent.stdout)
    while server.spans() < before + meta["spans"] - result["requests_lost"] * meta["batch"]:
        time.sleep(0.01)
    visible_s = time.perf_counter() - t0
    cpu_s = _cpu_s(server.proc.pid) - cpu0
    return {
        "requests_lost": result["requests_lost"],
        "status_counts": result["status_counts"],
        "send_wall_s": result["wall_s"],
        "accepted_spans_per_s": result["accepted_spans_per_s"],
        "all_queryable_after_s": round(visible_s, 3),
        "committed_spans_per_s": round(meta["spans"] / visible_s, 1),
        "server_cpu_us_per_span": round(cpu_s / meta["spans"] * 1e6, 1),
    }


_ONE_SPAN = json.dumps({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [{
    "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "warm-up",
    "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000"}]}]}]}).encode()


def _warm_up(server: ServerProcess) -> None:
    """One small request, then wait until the decode workers it started are answering."""
    request = urllib.request.Request(server.url + "/v1/traces", data=_ONE_SPAN,
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).read()
    deadline = time.monotonic() + 60
    while not _get_json(server.url + "/api/health")["decode_workers"]["running"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the decode workers did not start within 60 s")
        time.sleep(0.05)
    _wait_idle(server.proc.pid)


def _warm_runs(bench_dir: Path, work: Path, recorded: Path, meta: dict, first: dict, runs: int) -> dict:
    """``first`` and ``runs - 1`` more warm bursts, each into a fresh server and file: this
    machine's speed varies from run to run, so the spread says more than any one figure."""
    rates, cpus = [first["accepted_spans_per_s"]], [first["server_cpu_us_per_span"]]
    for number in range(runs - 1):
        server = ServerProcess(work / f"warm-{number}.duckdb")
        try:
            _warm_up(server)
            burst = _replay(server, bench_dir, recorded, meta, before=1)
        finally:
            server.stop()
        rates.append(burst["accepted_spans_per_s"])
        cpus.append(burst["server_cpu_us_per_span"])
    return {
        "runs": runs,
        "accepted_spans_per_s": {"min": min(rates), "median": statistics.median(rates), "max": max(rates),
                                 "at_least_15000": sum(rate >= 15_000 for rate in rates)},
        "server_cpu_us_per_span": {"min": min(cpus), "median": statistics.median(cpus), "max": max(cpus)},
        "all": rates,
    }


def bench_server(bench_dir: Path, work: Path, traces: int, runs: int = 1) -> dict:
    recorded, meta = _record(bench_dir, work, traces)

    # Cold: a server that has received nothing yet, so the burst also starts the workers.
    server = ServerProcess(work / "cold.duckdb")
    _wait_idle(server.proc.pid)
    idle_rss = _rss_mib(server.proc.pid)
    cold = _replay(server, bench_dir, recorded, meta)
    server.stop()

    # Warm: the workers already running, as for any server that has received spans before.
    db = work / "replay.duckdb"
    server = ServerProcess(db)
    _warm_up(server)
    idle_rss_warm = sum(_rss_mib(pid) for pid in [server.proc.pid, *_children(server.proc.pid)])
    warm = _replay(server, bench_dir, recorded, meta, before=1)
    peak_rss = _rss_mib(server.proc.pid, "VmHWM")

    t_remote = time.perf_counter()
    import workbench

    remote_rows = len(workbench.open(server.url).spans())
    remote_s = time.perf_counter() - t_remote
    server.stop()

    t_open = time.perf_counter()
    reader = workbench.open(db)  # the first local open also imports DuckDB
    open_s = time.perf_counter() - t_open
    t_read = time.perf_counter()
    frame = reader.spans()  # the first read also loads the price table for the cost columns
    read_s = time.perf_counter() - t_read
    t_again = time.perf_counter()
    reader.spans()
    again_s = time.perf_counter() - t_again
    t_llm = time.perf_counter()
    llm_rows = len(reader.spans("span_kind == 'LLM'"))
    llm_s = time.perf_counter() - t_llm
    reader.close()
    return {
        "start_to_first_answer_s": round(server.start_s, 3),
        "idle_rss_mib": round(idle_rss, 1),
        "idle_rss_with_workers_running_mib": round(idle_rss_warm, 1),
        "spans": meta["spans"],
        "requests": meta["requests"],
        "warm": warm,
        "cold_first_burst": cold,
        "warm_runs": _warm_runs(bench_dir, work, recorded, meta, warm, runs) if runs > 1 else None,
        "peak_rss_mib": round(peak_rss, 1),
        "file_mib": round(db.stat().st_size / 2**20, 1),
        "open_file_s": round(open_s, 3),
        "read_all_spans_dataframe_s": round(read_s, 3),
        "read_all_spans_again_s": round(again_s, 3),
        "read_all_rows": len(frame),
        "read_llm_spans_dataframe_s": round(llm_s, 3),
        "read_llm_rows": llm_rows,
        "read_all_spans_via_url_s": round(remote_s, 3),
        "read_via_url_rows": remote_rows,
    }


def bench_end_to_end(bench_dir: Path, work: Path, traces: int) -> dict:
    server = ServerProcess(work / "e2e.duckdb")
    out = subprocess.run(
        [sys.executable, str(bench_dir / "workload.py"), "--endpoint", server.url + "/v1/traces",
         "--traces", str(traces)], capture_output=True, text=True, cwd=bench_dir)
    summary = json.loads(out.stdout)
    t0 = time.perf_counter()
    while server.spans() < summary["spans_exported_ok"]:
        time.sleep(0.01)
    lag = time.perf_counter() - t0
    peak = _rss_mib(server.proc.pid, "VmHWM")
    server.stop()
    return {
        "client_spans_per_s": summary["client_spans_per_s"],
        "spans_exported_ok": summary["spans_exported_ok"],
        "spans_export_failed": summary["spans_export_failed"],
        "http_status_counts": summary["http_status_counts"],
        "export_wall_s": summary["export_wall_s"],
        "queryable_lag_after_flush_s": round(lag, 3),
        "server_peak_rss_mib": round(peak, 1),
    }


def bench_on_end(work: Path, spans: int = 20_000) -> dict:
    """Time added on the span-ending thread by the collector's on_end, per span."""
    import workbench
    from workbench.collector.processor import CollectorProcessor

    provider = workbench.register("bench", db=work / "inproc.duckdb", set_global=False)
    processor = next(p for p in provider._active_span_processor._span_processors if isinstance(p, CollectorProcessor))
    tracer = provider.get_tracer("bench")
    ended = []
    for i in range(spans):
        span = tracer.start_span("s", attributes={"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o",
                                                  "llm.token_count.prompt": i, "input.value": "x" * 500})
        ended.append(span)
    timings = []
    perf = time.perf_counter_ns
    for span in ended:
        span._end_time = time.time_ns()  # end it as the SDK does, then hand it over as end() would
        t = perf()
        processor.on_end(span)
        timings.append(perf() - t)
    full = []
    for _ in range(spans):
        span = tracer.start_span("s")
        t = perf()
        span.end()
        full.append(perf() - t)
    provider.force_flush()
    provider.shutdown()
    timings.sort()
    full.sort()
    return {
        "on_end_p50_us": round(timings[len(timings) // 2] / 1000, 2),
        "on_end_p99_us": round(timings[int(len(timings) * 0.99)] / 1000, 2),
        "span_end_total_p50_us": round(statistics.median(full) / 1000, 2),
        "note": "on_end = time workbench adds; span_end_total = the SDK's whole end() including it",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--bench-dir", type=Path, default=ROOT.parent / "shared" / "bench")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--runs", type=int, default=1,
                        help="warm bursts to measure (the first is reported in full, then the spread of all)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="workbench-bench-"))
    try:
        results = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
        results["server_ingest"] = bench_server(args.bench_dir, work, args.traces, args.runs)
        if not args.skip_e2e:
            results["end_to_end"] = bench_end_to_end(args.bench_dir, work, args.traces)
        results["in_process"] = bench_on_end(work)
        print(json.dumps(results, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
