"""Bytes per span, and the cost of opening a trace, if each distinct message were stored once.

    python benchmarks/bench_messages_addressed.py [--turns 50] [--conversations 40] [--concurrent 40] [--copies 100]
        [--zstd-from N]

The design measured against keeping each trace's spans together (``bench_messages.py``,
``workbench/store/cluster.py``), on the same agent runs arriving the same way. Each text of
2 KB or more in ``attributes``, ``input_value`` and ``input_messages`` is cut where a message
begins (``{"role"``, ``llm.input_messages.N.``, ``gen_ai.prompt.N.`` ...); each distinct
piece is stored once per trace (``parts``: trace, number, text), and the span keeps the list
of its pieces' numbers (``refs``) instead of the text. Every table is written in the order the
spans arrive, 200 a batch, into a DuckDB file; the figure is its blocks in use per span.

Reading it back takes a view that puts the texts together again with a join. To see what
opening one trace costs as a store grows, the ``parts`` table is then copied ``--copies``
times under other trace ids, and one trace's spans are read through the view.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
from bench_messages import arrivals, conversation

from workbench.store import Store

COLUMNS = ("attributes", "input_value", "input_messages")
MIN_LENGTH = 2048
MIN_PIECE = 256
MESSAGE_START = re.compile(r'\{\\*"role\\*"|"(?:llm\.(?:input|output)_messages|gen_ai\.(?:prompt|completion))\.\d+\.')


def pieces(text: str) -> list[str]:
    """``text`` cut where a message begins, no piece shorter than MIN_PIECE but the last."""
    out, last = [], 0
    for match in MESSAGE_START.finditer(text):
        if match.start() - last >= MIN_PIECE:
            out.append(text[last:match.start()])
            last = match.start()
    out.append(text[last:])
    return out


def addressed(rows: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """The span rows without their long texts, their references, and each trace's distinct pieces."""
    seen: dict[str, dict[bytes, int]] = {}
    refs: list[dict] = []
    parts: list[dict] = []
    text_id = 0
    for row in rows:
        row["text_id"] = None
        for field, column in enumerate(COLUMNS):
            value = row[column]
            if value is None or len(value) < MIN_LENGTH:
                continue
            if row["text_id"] is None:
                text_id += 1
                row["text_id"] = text_id
            numbers = seen.setdefault(row["trace_id"], {})
            refs_of_row = []
            for piece in pieces(value):
                key = hashlib.blake2b(piece.encode(), digest_size=16).digest()
                if key not in numbers:
                    numbers[key] = len(numbers)
                    parts.append({"trace_id": row["trace_id"], "part": numbers[key], "text": piece})
                refs_of_row.append(numbers[key])
            refs.append({"trace_id": row["trace_id"], "text_id": text_id, "field": field, "parts": refs_of_row})
            row[column] = None
    return rows, refs, parts


_VIEW = """
CREATE VIEW spans AS
SELECT r.* EXCLUDE (text_id, attributes, input_value, input_messages),
       coalesce(r.attributes, x.attributes) AS attributes,
       coalesce(r.input_value, x.input_value) AS input_value,
       coalesce(r.input_messages, x.input_messages) AS input_messages
FROM span_rows r LEFT JOIN (
    SELECT f.trace_id, f.text_id,
           string_agg(p.text, '' ORDER BY f.i) FILTER (WHERE f.field = 0) AS attributes,
           string_agg(p.text, '' ORDER BY f.i) FILTER (WHERE f.field = 1) AS input_value,
           string_agg(p.text, '' ORDER BY f.i) FILTER (WHERE f.field = 2) AS input_messages
    FROM (SELECT trace_id, text_id, field, unnest(parts) AS part, generate_subscripts(parts, 1) AS i FROM refs) f
    JOIN parts p ON p.trace_id = f.trace_id AND p.part = f.part
    GROUP BY f.trace_id, f.text_id
) x ON x.trace_id = r.trace_id AND x.text_id = r.text_id
"""


def _used(con: duckdb.DuckDBPyConnection) -> int:
    con.execute("CHECKPOINT")
    return con.execute("SELECT used_blocks * block_size FROM pragma_database_size()").fetchall()[0][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--concurrent", type=int, default=40)
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--zstd-from", type=int, default=None,
                        help="DuckDB's zstd_min_string_length for the pieces' file (DuckDB's default: 4096)")
    args = parser.parse_args()
    rng = random.Random(5)
    spans = [s for c in range(args.conversations) for s in conversation(c, args.turns, rng)]
    spans = arrivals(spans, args.concurrent, args.conversations, args.turns)
    order = {(s.trace_id, s.span_id): i for i, s in enumerate(spans)}
    with tempfile.TemporaryDirectory(prefix="wb-bench-addressed-") as tmp:
        with Store(Path(tmp) / "as-stored.duckdb") as store:
            store.write(spans)
            stored = store.query("SELECT * FROM spans").to_pylist()
        stored.sort(key=lambda r: order[(r["trace_id"], r["span_id"])])
        original = {(r["trace_id"], r["span_id"]): {c: r[c] for c in COLUMNS} for r in stored}
        t0 = time.perf_counter()
        rows, refs, parts = addressed(stored)
        cut_s = time.perf_counter() - t0
        con = duckdb.connect(str(Path(tmp) / "addressed.duckdb"))
        if args.zstd_from is not None:
            con.execute(f"SET zstd_min_string_length = {int(args.zstd_from)}")
        empty = _used(con)
        span_rows = pa.Table.from_pylist(rows)
        con.from_arrow(span_rows.slice(0, 0)).create("span_rows")
        con.execute("CREATE TABLE refs (trace_id VARCHAR, text_id BIGINT, field UTINYINT, parts INTEGER[])")
        con.execute("CREATE TABLE parts (trace_id VARCHAR, part INTEGER, text VARCHAR)")
        # Written as they would be: each batch's rows, references and new pieces together.
        ref_at = part_at = 0
        new_parts_of: dict[str, list[dict]] = {}
        for p in parts:
            new_parts_of.setdefault(p["trace_id"], []).append(p)
        written_parts: dict[str, int] = {}
        for first in range(0, len(rows), 200):
            con.from_arrow(span_rows.slice(first, 200)).insert_into("span_rows")
            ids = {r["text_id"] for r in rows[first:first + 200] if r["text_id"] is not None}
            batch_refs = [r for r in refs[ref_at:] if r["text_id"] in ids]
            ref_at += len(batch_refs)
            batch_parts = []
            for r in batch_refs:
                have = written_parts.get(r["trace_id"], 0)
                needed = max(r["parts"]) + 1
                if needed > have:
                    batch_parts.extend(new_parts_of[r["trace_id"]][have:needed])
                    written_parts[r["trace_id"]] = needed
            part_at += len(batch_parts)
            if batch_refs:
                con.from_arrow(pa.Table.from_pylist(batch_refs)).insert_into("refs")
            if batch_parts:
                con.from_arrow(pa.Table.from_pylist(batch_parts)).insert_into("parts")
        assert part_at == len(parts) and ref_at == len(refs)
        used = _used(con) - empty
        distinct = sum(len(p["text"]) for p in parts)
        # The same tables with each trace's rows side by side (what clustering would add).
        together = duckdb.connect(str(Path(tmp) / "addressed-together.duckdb"))
        if args.zstd_from is not None:
            together.execute(f"SET zstd_min_string_length = {int(args.zstd_from)}")
        empty_together = _used(together)
        for table, order in (("span_rows", "trace_id, start_time, span_id"), ("refs", "trace_id, text_id, field"),
                             ("parts", "trace_id, part")):
            together.from_arrow(con.sql(f"SELECT * FROM {table} ORDER BY {order}").to_arrow_table()).create(table)
        used_together = _used(together) - empty_together
        together.close()
        con.execute(_VIEW)
        trace = spans[len(spans) // 2].trace_id
        back = con.execute(f"SELECT trace_id, span_id, {', '.join(COLUMNS)} FROM spans WHERE trace_id = ?",
                           [trace]).fetchall()
        assert back and all(original[(r[0], r[1])] == dict(zip(COLUMNS, r[2:], strict=True)) for r in back)
        reads = []
        for copies in (1, args.copies):
            if copies > 1:
                con.execute(f"INSERT INTO parts SELECT trace_id || c, part, text FROM parts, range(1, {copies}) t(c)")
            t0 = time.perf_counter()
            for _ in range(5):
                con.execute("SELECT * FROM spans WHERE trace_id = ?", [trace]).fetchall()
            reads.append(((time.perf_counter() - t0) / 5, con.execute("SELECT count(*) FROM parts").fetchall()[0][0]))
    print(f"{args.conversations} agent runs of {args.turns} turns, {args.concurrent} at once: {len(spans):,} spans")
    print(f"  each distinct message stored once a trace: {used / len(spans):,.0f} bytes per span in use")
    print(f"  the same, each trace's rows side by side: {used_together / len(spans):,.0f} bytes per span in use")
    print(f"    pieces {len(parts):,} ({distinct / len(spans):,.0f} characters a span), references {len(refs):,}; "
          f"cutting took {cut_s:.2f} s")
    for seconds, stored_parts in reads:
        print(f"  one trace read back through the view, {stored_parts:,} pieces stored: {seconds * 1000:,.0f} ms")


if __name__ == "__main__":
    main()
