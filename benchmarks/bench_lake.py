#!/usr/bin/env python3
"""Lake benchmarks: publishing from ingesters, and reading a big lake with DuckDB and Spark.

Sub-commands (each prints one JSON document; benchmarks/README.md records the figures):

* ``publish``: the shared replay workload (``../shared/bench/replay.py``) posted to one or two
  ``workbench serve --lake`` ingesters at once: accepted spans/s in total, the lag from the last
  200 to every span visible in the lake, and bytes per span in the lake against the DuckDB file.
* ``query``: a synthetic lake of ``--spans`` spans over ``--days`` days: cost by model per day
  and p99 latency by model, DuckDB (``workbench.open(lake)``) against Spark local mode.
* ``week``: the one-week view of a ninety-day lake: files opened, their bytes, seconds.
* ``commits``: what the commit protocol costs a reader, with and without a checkpoint.

    python benchmarks/bench_lake.py publish --traces 5000 --ingesters 2
    python benchmarks/bench_lake.py query --spans 10000000 [--no-spark]
    python benchmarks/bench_lake.py week --spans 2000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.lake.commits import Commit, CommitLog, DataFile  # noqa: E402 - after the path insert
from workbench.lake.layout import data_path  # noqa: E402 - after the path insert
from workbench.lake.location import locate  # noqa: E402 - after the path insert
from workbench.lake.publish import parquet_bytes, partitions  # noqa: E402 - after the path insert
from workbench.store.schema import TABLES  # noqa: E402 - after the path insert


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


# publish ---------------------------------------------------------------------------------

def publish(args: argparse.Namespace) -> dict:
    bench = Path(args.bench_dir).resolve()
    work = Path(tempfile.mkdtemp(prefix="bench-lake-"))
    recorded = work / "otlp"
    subprocess.run([sys.executable, str(bench / "replay.py"), "record", "--traces", str(args.traces), "--out",
                    str(recorded)], check=True, cwd=bench, stdout=subprocess.DEVNULL)
    meta = json.loads((recorded / "meta.json").read_text())
    bodies = sorted(recorded.glob("*.pb"))
    # Every request holds a full batch but the last one.
    sizes = {b.name: meta["batch"] for b in bodies}
    sizes[bodies[-1].name] = meta["spans"] - (len(bodies) - 1) * meta["batch"]
    shares = []
    for i in range(args.ingesters):  # each ingester gets every n-th request
        folder = work / f"share{i}"
        folder.mkdir()
        mine = bodies[i::args.ingesters]
        for body in mine:
            os.link(body, folder / body.name)
        (folder / "meta.json").write_text(json.dumps({**meta, "spans": sum(sizes[b.name] for b in mine)}))
        shares.append(folder)
    lake = str(work / "lake")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKBENCH_LAKE_INTERVAL_S": str(args.interval)}
    procs, ports = [], []
    for i in range(args.ingesters):
        port = _port()
        procs.append(subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--db", str(work / f"{i}.duckdb"),
                                       "--port", str(port), "--no-app", "--lake", lake], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT))
        ports.append(port)
    try:
        for port in ports:
            while True:
                try:
                    _get(f"http://127.0.0.1:{port}/api/health")
                    break
                except OSError:
                    time.sleep(0.2)
        results: list[dict] = [{} for _ in ports]

        def send(i: int) -> None:
            out = subprocess.run([sys.executable, str(bench / "replay.py"), "send", "--endpoint",
                                  f"http://127.0.0.1:{ports[i]}/v1/traces", "--dir", str(shares[i])],
                                 capture_output=True, text=True, cwd=bench, check=False)
            results[i] = json.loads(out.stdout)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(ports))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        acked = time.perf_counter()
        expected = sum(r["spans"] - r["requests_lost"] * meta["batch"] for r in results)
        log = CommitLog(locate(lake))
        deadline = time.monotonic() + 600
        while log.snapshot().rows("spans") < expected:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {log.snapshot().rows('spans')} of {expected} spans reached the lake")
            time.sleep(0.05)
        visible = time.perf_counter()
        snapshot = log.snapshot()
        lake_bytes = sum(f.bytes for f in snapshot.files.values())
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(120)
    db_bytes = sum((work / f"{i}.duckdb").stat().st_size for i in range(args.ingesters))
    out = {
        "ingesters": args.ingesters,
        "spans": expected,
        "requests_lost": sum(r["requests_lost"] for r in results),
        "accepted_spans_per_s_total": round(expected / (acked - t0), 1),
        "lag_last_200_to_visible_s": round(visible - acked, 2),
        "publish_interval_s": args.interval,
        "lake_files": len(snapshot.files),
        "lake_bytes_per_span": round(lake_bytes / expected, 1),
        "duckdb_bytes_per_span": round(db_bytes / expected, 1),
    }
    shutil.rmtree(work, ignore_errors=True)
    return out


# a synthetic lake ------------------------------------------------------------------------

MODELS = np.array(["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022",
                   "gemini-1.5-pro", "llama-3.1-70b"])
PROVIDERS = np.array(["openai", "openai", "anthropic", "anthropic", "google", None], dtype=object)


def _chunk(rng: np.random.Generator, n: int, offset: int, days: int, end: dt.datetime) -> pa.Table:
    start_us = int((end - dt.timedelta(days=days)).timestamp() * 1e6)
    starts = np.sort(rng.integers(start_us, start_us + days * 86_400_000_000, n))
    latency = rng.lognormal(6.5, 1.0, n)
    model_ix = rng.integers(0, len(MODELS), n)
    ids = np.arange(offset, offset + n)
    columns: dict[str, pa.Array] = {
        "trace_id": pa.array([f"{i // 4:032x}" for i in ids]),
        "span_id": pa.array([f"{i:016x}" for i in ids]),
        "name": pa.array(np.where(ids % 4 == 0, "chain", "llm")),
        "span_kind": pa.array(np.where(ids % 4 == 0, "CHAIN", "LLM")),
        "otel_kind": pa.array(np.full(n, "INTERNAL")),
        "start_time": pa.array(starts, pa.timestamp("us", tz="UTC")),
        "end_time": pa.array(starts + latency.astype(np.int64) * 1000, pa.timestamp("us", tz="UTC")),
        "latency_ms": pa.array(latency),
        "status_code": pa.array(np.where(rng.random(n) < 0.02, "ERROR", "OK")),
        "status_message": pa.array(np.full(n, "")),
        "project": pa.array(np.array(["shop", "support", "search"])[ids % 3]),
        "model_name": pa.array(MODELS[model_ix]),
        "provider": pa.array(PROVIDERS[model_ix]),
        "prompt_tokens": pa.array(rng.integers(50, 4000, n)),
        "completion_tokens": pa.array(rng.integers(10, 800, n)),
    }
    columns["total_tokens"] = pa.compute.add(columns["prompt_tokens"], columns["completion_tokens"])
    schema = TABLES["spans"].arrow_schema
    return pa.table({f.name: columns.get(f.name, pa.nulls(n, f.type)) for f in schema}, schema=schema)


def build_lake(folder: Path, spans: int, days: int, chunk: int = 1_000_000) -> dict:
    """A lake of synthetic spans, one commit per chunk (as a long-running ingester's, compacted)."""
    location = locate(str(folder))
    log = CommitLog(location)
    rng = np.random.default_rng(1)
    end = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    t0 = time.perf_counter()
    written = 0
    for seq, offset in enumerate(range(0, spans, chunk), 1):
        table = _chunk(rng, min(chunk, spans - offset), offset, days, end)
        files = []
        for project, day, part in partitions("spans", table):
            path = data_path("spans", project, day, f"bench-{seq:012d}")
            data = parquet_bytes(part)
            location.put(path, data)
            files.append(DataFile(path, "spans", project, day, part.num_rows, data.size))
            written += data.size
        log.write(Commit(f"_commits/bench/{seq:012d}.json", adds=tuple(files)))
    return {"spans": spans, "days": days, "bytes": written, "build_s": round(time.perf_counter() - t0, 1),
            "end": end}


def query(args: argparse.Namespace) -> dict:
    import workbench
    from workbench.analysis.cost import cost_by
    from workbench.lake.maintain import compact

    folder = Path(tempfile.mkdtemp(prefix="bench-lake-q-")) / "lake"
    built = build_lake(folder, args.spans, args.days)
    t = time.perf_counter()
    compact(str(folder), grace_s=0)
    built["compact_s"] = round(time.perf_counter() - t, 1)
    built.pop("end")
    out: dict = {"lake": built}
    reader = workbench.open(str(folder))
    timings = {}
    for name, run in {
        "cost_by_model_per_day": lambda: cost_by(reader, by="model", every="day"),
        "p99_by_model": lambda: reader.sql("SELECT model_name, quantile_cont(latency_ms, 0.99) FROM spans GROUP BY 1"),
    }.items():
        runs = []
        for _ in range(args.runs):
            t = time.perf_counter()
            run()
            runs.append(time.perf_counter() - t)
        timings[name] = {"first_s": round(runs[0], 2), "best_s": round(min(runs), 2)}
    out["duckdb"] = timings
    reader.close()
    if not args.no_spark:
        from pyspark.sql import SparkSession

        from workbench.spark import Lake

        t = time.perf_counter()
        spark = (SparkSession.builder.master("local[2]").config("spark.sql.session.timeZone", "UTC")
                 .config("spark.ui.enabled", "false").config("spark.driver.memory", "4g").getOrCreate())
        out["spark_start_s"] = round(time.perf_counter() - t, 1)
        lake = Lake(spark, str(folder))
        timings = {}
        for name, run in {
            "cost_by_model_per_day": lambda: lake.cost(("model",), every="day").collect(),
            "p99_by_model": lambda: lake.latency(("model_name",)).collect(),
        }.items():
            runs = []
            for _ in range(args.runs):
                t = time.perf_counter()
                run()
                runs.append(time.perf_counter() - t)
            timings[name] = {"first_s": round(runs[0], 2), "best_s": round(min(runs), 2)}
        out["spark"] = timings
        spark.stop()
    shutil.rmtree(folder.parent, ignore_errors=True)
    return out


def week(args: argparse.Namespace) -> dict:
    import pyarrow.fs as pafs

    from workbench.read.lake import LakeReader

    sys.path.insert(0, str(ROOT / "tests" / "lake"))
    from conftest import recording  # the tests' counting filesystem

    folder = Path(tempfile.mkdtemp(prefix="bench-lake-w-")) / "lake"
    built = build_lake(folder, args.spans, 90)
    fs, recorder = recording(pafs.LocalFileSystem())
    reader = LakeReader(locate(str(folder), filesystem=fs))
    start = built.pop("end") - dt.timedelta(days=30)
    total_files = sum(1 for _ in folder.rglob("*.parquet"))
    out: dict = {"lake": {**built, "files": total_files}}
    for label, view in {
        "one_week": lambda: reader.count(start=start, end=start + dt.timedelta(days=7)),
        "one_week_latency": lambda: reader.sql(
            "SELECT model_name, quantile_cont(latency_ms, 0.99) FROM spans WHERE start_time >= ? AND start_time < ? "
            "GROUP BY 1", [start, start + dt.timedelta(days=7)]),
        "all_90_days": lambda: reader.count(),
    }.items():
        recorder.opened.clear()
        t = time.perf_counter()
        view()
        seconds = time.perf_counter() - t
        opened = {p for p in recorder.opened if p.endswith(".parquet")}
        out[label] = {"s": round(seconds, 3), "files_opened": len(opened),
                      "bytes_of_files_opened": sum(os.path.getsize(p) for p in opened)}
    reader.close()
    shutil.rmtree(folder.parent, ignore_errors=True)
    return out


def commits(args: argparse.Namespace) -> dict:
    """What the commit protocol costs a reader: building the visible set from N publications,
    cold (every commit read) and warm (only listing), and after a checkpoint folded them."""
    from workbench.lake.maintain import checkpoint, vacuum

    folder = Path(tempfile.mkdtemp(prefix="bench-lake-c-")) / "lake"
    location = locate(str(folder))
    log = CommitLog(location)
    for seq in range(1, args.commits + 1):
        files = tuple(DataFile(data_path("spans", p, f"2026-11-{1 + seq % 28:02d}", f"ing-{seq:012d}"), "spans", p,
                               f"2026-11-{1 + seq % 28:02d}", 100, 10_000) for p in ("shop", "support"))
        log.write(Commit(f"_commits/ing/{seq:012d}.json", adds=files))
    out: dict = {"commits": args.commits}
    for label in ("cold", "warm"):
        reader = CommitLog(location) if label == "cold" else log
        t = time.perf_counter()
        snapshot = reader.snapshot()
        out[f"snapshot_{label}_ms"] = round((time.perf_counter() - t) * 1000, 1)
    state, _ = checkpoint(log, grace_s=0)
    vacuum(log, state, grace_s=0)  # the covered commits are deleted
    t = time.perf_counter()
    CommitLog(location).snapshot()
    out["snapshot_after_checkpoint_cold_ms"] = round((time.perf_counter() - t) * 1000, 1)
    out["files"] = len(snapshot.files)
    shutil.rmtree(folder.parent, ignore_errors=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("publish")
    p.add_argument("--traces", type=int, default=5000)
    p.add_argument("--ingesters", type=int, default=1)
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--bench-dir", default=str(ROOT.parent / "shared" / "bench"))
    q = sub.add_parser("query")
    q.add_argument("--spans", type=int, default=10_000_000)
    q.add_argument("--days", type=int, default=30)
    q.add_argument("--runs", type=int, default=2)
    q.add_argument("--no-spark", action="store_true")
    w = sub.add_parser("week")
    w.add_argument("--spans", type=int, default=2_000_000)
    c = sub.add_parser("commits")
    c.add_argument("--commits", type=int, default=500)
    args = ap.parse_args()
    result = {"publish": publish, "query": query, "week": week, "commits": commits}[args.cmd](args)
    print(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
