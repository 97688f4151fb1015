"""Bytes per span of long agent conversations, whose every LLM call repeats the whole history.

    python benchmarks/bench_messages.py [--turns 50] [--conversations 40] [--concurrent 1 20 60]

Makes ``--conversations`` agent runs of ``--turns`` turns, OpenInference-style: each turn is an
LLM span whose input is the system prompt and every earlier user, assistant and tool message
(as ``llm.input_messages.N.message.*`` attributes and as ``input.value`` JSON, the way the
OpenAI instrumentation sends them), followed by a TOOL span. The text is drawn from a
vocabulary of 30,000 made-up words with Zipf frequencies, so it compresses about as well
as prose does (a vocabulary of a few words would flatter every compressor).

``--concurrent`` is how many conversations run at once: their spans reach the store in the
order they end, in batches of 200 (as an exporter sends them), so a conversation's calls
lie among the others' as they do on a busy server. For each setting the figures are:

* the store file's growth per span after a checkpoint, beside the same spans without
  their messages (what the messages cost on disk);
* a Parquet export (``Store.export_parquet``) per span;
* a lake publication (``lake.Publisher``) per span.

It also prints how much text each column holds before compression, which says where the
repetition lives (the ``attributes`` document, ``input_value`` and ``input_messages``).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import duckdb

from workbench.lake.publish import Publisher
from workbench.semconv import make_span
from workbench.store import Store, cluster

SYSTEM = ("You are a research agent. Use the tools to find facts, cite every source, and answer in a "
          "short report. Never invent numbers; say when a source is missing.")
_LETTERS = "etaoinshrdlucmfwypvbgkjqxz"


def _vocabulary(size: int = 30_000) -> tuple[list[str], list[float]]:
    rng = random.Random(1)
    words = sorted({"".join(rng.choice(_LETTERS[:rng.randint(8, 26)]) for _ in range(rng.randint(2, 10)))
                    for _ in range(size)})
    rng.shuffle(words)
    return words, [1 / (rank + 1) for rank in range(len(words))]


WORDS, WEIGHTS = _vocabulary()


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(WORDS, WEIGHTS, k=n))


def conversation(c: int, turns: int, rng: random.Random, *, messages: bool = True) -> list:
    trace_id = f"{c + 1:032x}"
    t0 = time.time_ns() - 3_600 * 10**9
    history = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": _text(rng, 40)}]
    root = f"{(c << 20) + 1:016x}"
    spans = [make_span(trace_id=trace_id, span_id=root, parent_span_id=None, name="agent", start_time_ns=t0,
                       end_time_ns=t0 + turns * 2 * 10**9, attributes={"openinference.span.kind": "AGENT"})]
    for turn in range(turns):
        s0 = t0 + turn * 2 * 10**9
        answer = {"role": "assistant", "content": _text(rng, 60)}
        attrs: dict = {
            "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.provider": "openai",
            "llm.token_count.prompt": 200 * (turn + 1), "llm.token_count.completion": 80,
            "llm.invocation_parameters": json.dumps({"temperature": 0.2, "tool_choice": "auto"}),
        }
        if messages:
            for i, m in enumerate(history):
                attrs[f"llm.input_messages.{i}.message.role"] = m["role"]
                attrs[f"llm.input_messages.{i}.message.content"] = m["content"]
            attrs["llm.output_messages.0.message.role"] = "assistant"
            attrs["llm.output_messages.0.message.content"] = answer["content"]
            attrs["input.value"] = json.dumps({"model": "gpt-4o", "messages": history})
            attrs["input.mime_type"] = "application/json"
            attrs["output.value"] = answer["content"]
        llm = f"{(c << 20) + 2 * turn + 2:016x}"
        spans.append(make_span(trace_id=trace_id, span_id=llm, parent_span_id=root, name="ChatCompletion",
                               start_time_ns=s0, end_time_ns=s0 + 10**9, attributes=attrs))
        tool_out = _text(rng, 50)
        spans.append(make_span(
            trace_id=trace_id, span_id=f"{(c << 20) + 2 * turn + 3:016x}", parent_span_id=root, name="web_search",
            start_time_ns=s0 + 10**9, end_time_ns=s0 + 19 * 10**8,
            attributes={"openinference.span.kind": "TOOL", "tool.name": "web_search",
                        "input.value": _text(rng, 8), "output.value": tool_out}))
        history = [*history, answer, {"role": "tool", "content": tool_out}, {"role": "user", "content": _text(rng, 20)}]
    return spans


def arrivals(spans: list, concurrent: int, conversations: int, turns: int) -> list:
    """The spans in the order a server would get them with ``concurrent`` conversations at once."""
    per = 1 + 2 * turns
    waves = [spans[c * per:(c + 1) * per] for c in range(conversations)]
    out = []
    for first in range(0, conversations, concurrent):
        out.extend(sorted((s for w in waves[first:first + concurrent] for s in w), key=lambda s: s.end_time_ns))
    return out


def _used(path: Path) -> int:
    """The bytes of a closed file's blocks in use (blocks freed by a rewrite are reused by
    later writes, so the file's size alone would count them)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT used_blocks * block_size FROM pragma_database_size()").fetchall()[0][0]


def _wait_for_clustering(store: Store, last_start_ns: int, timeout: float = 120.0) -> None:
    """Wait until the writer has looked at the stretch the last span starts in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        until = cluster.settled_until(store.get_meta(cluster.WATERMARK))
        if until is not None and until.timestamp() * 1e9 > last_start_ns:
            break
        time.sleep(0.1)
    else:
        raise SystemExit("the writer did not look at the spans' stretch within the timeout")


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*.parquet"))


def measure(turns: int, conversations: int, concurrent: int, messages: bool) -> dict[str, float]:
    rng = random.Random(5)
    spans = [s for c in range(conversations) for s in conversation(c, turns, rng, messages=messages)]
    spans = arrivals(spans, concurrent, conversations, turns)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="wb-bench-messages-") as tmp:
        path = Path(tmp) / "wb.duckdb"
        with Store(path) as store:
            store.flush()
        empty = path.stat().st_size  # closed: everything checkpointed into the file
        empty_used = _used(path)
        with Store(path) as store:
            for i in range(0, len(spans), 200):
                store.write(spans[i:i + 200])
            store.flush()
            assert store.writer is not None and not store.writer.spans_clustered, "clustered before closing"
            # The stretch the spans start in has settled (an hour ago): the writer rewrites it
            # in trace order at its first pause after it is opened again.
        out["file as written"] = (_used(path) - empty_used) / len(spans)
        with Store(path) as store:
            t0 = time.perf_counter()
            _wait_for_clustering(store, max(s.start_time_ns for s in spans))
            out["pass s"] = time.perf_counter() - t0
            writer = store.writer
            text = store.fetchall("SELECT sum(strlen(attributes)), sum(strlen(input_value)), sum(strlen(input_messages)), "
                                  "sum(strlen(output_messages)), sum(strlen(output_value)) FROM spans")[0]
            for column, size in zip(COLUMNS, text, strict=True):
                out[column] = int(size or 0) / len(spans)
            store.export_parquet(Path(tmp) / "export")
            out["export"] = _size(Path(tmp) / "export" / "spans") / len(spans)
            Publisher(store, Path(tmp) / "lake", interval=3600).publish()
            out["lake"] = _size(Path(tmp) / "lake" / "table=spans") / len(spans)
        out["file"] = (_used(path) - empty_used) / len(spans)
        out["clustered"] = writer.spans_clustered if writer is not None else 0  # counted once its pass ended
        out["file growth"] = (path.stat().st_size - empty) / len(spans)
    out["spans"] = len(spans)
    return out


COLUMNS = ("attributes", "input_value", "input_messages", "output_messages", "output_value")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--concurrent", type=int, nargs="+", default=[1, 20, 40])
    args = parser.parse_args()
    for concurrent in args.concurrent:
        full = measure(args.turns, args.conversations, concurrent, True)
        bare = measure(args.turns, args.conversations, concurrent, False)
        print(f"{args.conversations} agent runs of {args.turns} turns, {concurrent} at once: {full['spans']:,.0f} spans "
              f"({args.conversations * args.turns:,} LLM calls)")
        print(f"  spans rewritten in trace order: {full['clustered']:,.0f} (no text: {bare['clustered']:,.0f}), "
              f"{full['pass s']:.2f} s from opening the store (its first pause comes after 0.5 s)")
        print("  bytes per span              with the messages   same spans, no text")
        for key, label in (("file as written", "store, as written"), ("file", "store, once clustered"),
                           ("file growth", "store file's growth"), ("export", "Parquet export"),
                           ("lake", "lake publication")):
            print(f"    {label:<24} {full[key]:16,.0f} {bare[key]:21,.0f}")
        if concurrent == args.concurrent[0]:
            print("  text per span before compression, by column:")
            for column in COLUMNS:
                print(f"    {column:<18} {full[column]:10,.0f}")


if __name__ == "__main__":
    main()
