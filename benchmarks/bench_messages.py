"""Bytes per span of a long agent conversation, whose every LLM call repeats the whole history.

    python benchmarks/bench_messages.py [--turns 50] [--conversations 40]

Makes ``--conversations`` agent runs of ``--turns`` turns, OpenInference-style: each turn is an
LLM span whose input is the system prompt and every earlier user, assistant and tool message
(as ``llm.input_messages.N.message.*`` attributes and as ``input.value`` JSON, the way the
OpenAI instrumentation sends them), followed by a TOOL span. The spans go through the
conventions (``make_span``) and the store's writer into a fresh file; the figure is the
file's growth after a checkpoint, per span, beside the same spans without their messages.
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

from workbench.semconv import make_span
from workbench.store import Store

SYSTEM = ("You are a research agent. Use the tools to find facts, cite every source, and answer in a "
          "short report. Never invent numbers; say when a source is missing.")
WORDS = ["inverter", "solar", "market", "share", "revenue", "europe", "growth", "price", "module", "supplier", "report", "cite", "source", "quarter", "capacity", "battery", "grid", "residential", "commercial", "tariff", "demand", "forecast"]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


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


def measure(turns: int, conversations: int, messages: bool) -> tuple[float, int, dict[str, int]]:
    rng = random.Random(5)
    spans = [s for c in range(conversations) for s in conversation(c, turns, rng, messages=messages)]
    with tempfile.TemporaryDirectory(prefix="wb-bench-messages-") as tmp:
        path = Path(tmp) / "wb.duckdb"
        with Store(path) as store:
            store.flush()
        empty = path.stat().st_size  # closed: everything checkpointed into the file
        with Store(path) as store:
            for i in range(0, len(spans), 500):
                store.write(spans[i:i + 500])
            store.flush()
            text = dict(zip(
                ("attributes", "input_value", "input_messages", "output_messages", "output_value"),
                store.fetchall("SELECT sum(strlen(attributes)), sum(strlen(input_value)), sum(strlen(input_messages)), "
                               "sum(strlen(output_messages)), sum(strlen(output_value)) FROM spans")[0],
                strict=True,
            ))
        wal = path.with_name(path.name + ".wal")
        grown = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0) - empty
    return grown / len(spans), len(spans), {k: int(v or 0) for k, v in text.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--conversations", type=int, default=40)
    args = parser.parse_args()
    with_messages, n, text = measure(args.turns, args.conversations, True)
    without, _, _ = measure(args.turns, args.conversations, False)
    print(f"{args.conversations} agent runs of {args.turns} turns: {n:,} spans "
          f"({args.conversations * args.turns:,} LLM calls)")
    print(f"  file bytes per span, with the messages:    {with_messages:10,.0f}")
    print(f"  file bytes per span, same spans, no text:  {without:10,.0f}")
    print("  text per span before compression, by column:")
    for column, size in text.items():
        print(f"    {column:<18} {size / n:10,.0f}")


if __name__ == "__main__":
    main()
