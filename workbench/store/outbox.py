"""What a store has published to a Parquet lake: the durable watermark of ``serve --lake``.

The ``lake_outbox`` table (``docs/schema.md``) holds one row per span or annotation taken into
a publication, with the publication's number and whether its commit is in the lake. A
publication is *claimed* in one transaction of the writer (the rows not yet in the outbox,
numbered with the next publication number), written to the lake, and marked *done* in another
transaction once its commit is written. A process killed in between finds the claimed,
unfinished publication on restart and finishes exactly that one, under the same number, so
nothing is lost and nothing is published twice (see :mod:`workbench.lake.publish`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from workbench.store import summary

if TYPE_CHECKING:
    from workbench.store.store import Store

__all__ = ["batch", "claim", "forget_published", "ingester_id", "mark_done", "sizes", "waiting"]

_SPAN_KEY = "s.trace_id || ':' || s.span_id"
_IDS = "lake_ingester"
_SEQ = "lake_seq"


def ingester_id(store: Store) -> str:
    """This store's ingester id in lakes: made once, kept in the file, so a restart keeps it."""
    known = store.get_meta(_IDS)
    if known:
        return known

    def make(cur: Any) -> str:
        rows = cur.execute("SELECT value FROM workbench_meta WHERE key = ?", [_IDS]).fetchall()
        if rows:
            return str(rows[0][0])
        made = uuid.uuid4().hex[:16]
        cur.execute("INSERT INTO workbench_meta VALUES (?, ?)", [_IDS, made]).fetchall()
        return made

    return store.execute_write(make)


def claim(store: Store, limit: int) -> int | None:
    """The publication to write next: the unfinished one, else a new one of up to ``limit``
    spans (and the annotations not yet published); None when there is nothing to publish."""

    def work(cur: Any) -> int | None:
        pending = cur.execute("SELECT min(seq) FROM lake_outbox WHERE NOT done").fetchall()[0][0]
        if pending is not None:
            return int(pending)
        rows = cur.execute("SELECT value FROM workbench_meta WHERE key = ?", [_SEQ]).fetchall()
        seq = int(rows[0][0]) + 1 if rows else 1
        cur.execute(
            f"""INSERT INTO lake_outbox
                SELECT 'spans', k, ?, FALSE FROM (
                    SELECT DISTINCT {_SPAN_KEY} AS k FROM spans s
                    WHERE NOT EXISTS (SELECT 1 FROM lake_outbox o WHERE o.tbl = 'spans' AND o.key = {_SPAN_KEY})
                    LIMIT ?)""",
            [seq, int(limit)],
        ).fetchall()
        cur.execute(
            """INSERT INTO lake_outbox
               SELECT 'annotations', k, ?, FALSE FROM (
                   SELECT DISTINCT a.annotation_id AS k FROM annotations a
                   WHERE NOT EXISTS (SELECT 1 FROM lake_outbox o
                                     WHERE o.tbl = 'annotations' AND o.key = a.annotation_id)
                   LIMIT ?)""",
            [seq, int(limit)],
        ).fetchall()
        taken = cur.execute("SELECT count(*) FROM lake_outbox WHERE seq = ?", [seq]).fetchall()[0][0]
        if not taken:
            return None
        cur.execute(
            "INSERT INTO workbench_meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [_SEQ, str(seq)],
        ).fetchall()
        return seq

    return store.execute_write(work)


def batch(store: Store, seq: int) -> dict[str, pa.Table]:
    """The rows of publication ``seq``, per table (documents and embeddings with their span's
    ``project``); each span and annotation once, even if the store holds it twice for a while."""
    keys = "SELECT key FROM lake_outbox WHERE tbl = '{}' AND seq = ?"
    spans = f"""
        SELECT s.* FROM spans s JOIN ({keys.format('spans')}) o ON o.key = {_SPAN_KEY}
        QUALIFY row_number() OVER (PARTITION BY s.trace_id, s.span_id ORDER BY s.end_time DESC) = 1
    """
    children = """
        SELECT c.*, p.project FROM {table} c JOIN (SELECT trace_id, span_id, project FROM ({spans})) p
          ON c.trace_id = p.trace_id AND c.span_id = p.span_id
        QUALIFY row_number() OVER (PARTITION BY c.trace_id, c.span_id, c.position) = 1
    """
    return {
        "spans": store.query(spans, [seq]),
        "documents": store.query(children.format(table="documents", spans=spans), [seq]),
        "embeddings": store.query(children.format(table="embeddings", spans=spans), [seq]),
        "annotations": store.query(
            f"""SELECT a.* FROM annotations a JOIN ({keys.format('annotations')}) o ON o.key = a.annotation_id
                QUALIFY row_number() OVER (PARTITION BY a.annotation_id) = 1""",
            [seq],
        ),
    }


def mark_done(store: Store, seq: int) -> None:
    """Record that publication ``seq`` is committed in the lake."""
    store.execute_write(
        lambda cur: cur.execute("UPDATE lake_outbox SET done = TRUE WHERE seq = ?", [seq]).fetchall()
    )


def sizes(store: Store) -> tuple[int, int]:
    """Rows of spans and annotations now (cheap: DuckDB keeps the counts)."""
    spans, annotations = store.fetchall("SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM annotations)")[0]
    return int(spans), int(annotations)


def waiting(store: Store) -> int:
    """Spans stored but not yet committed in the lake (an estimate while a batch is claimed)."""
    total, published = store.fetchall(
        "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM lake_outbox WHERE tbl = 'spans' AND done)"
    )[0]
    return max(0, int(total) - int(published))


def forget_published(store: Store, before: dt.datetime) -> int:
    """Remove from the store the published spans (with their documents and embeddings) that
    started before ``before``, and the published annotations made before it; return the
    spans removed. What is not yet in the lake is kept, whatever its age."""

    def work(cur: Any) -> int:
        gone = f"""
            SELECT s.trace_id, s.span_id FROM spans s JOIN lake_outbox o
              ON o.tbl = 'spans' AND o.done AND o.key = {_SPAN_KEY}
            WHERE s.start_time < ?
        """
        cur.execute(f"CREATE TEMP TABLE lake_forget AS {gone}", [before]).fetchall()
        try:
            n = cur.execute("SELECT count(*) FROM lake_forget").fetchall()[0][0]
            if n:
                for table in ("documents", "embeddings", "spans"):
                    cur.execute(
                        f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM lake_forget f "
                        "WHERE f.trace_id = t.trace_id AND f.span_id = t.span_id)"
                    ).fetchall()
                summary.refresh(cur, "SELECT trace_id FROM lake_forget")
            cur.execute(
                "DELETE FROM annotations a WHERE a.created_at < ? AND EXISTS (SELECT 1 FROM lake_outbox o "
                "WHERE o.tbl = 'annotations' AND o.done AND o.key = a.annotation_id)",
                [before],
            ).fetchall()
            return int(n)
        finally:
            cur.execute("DROP TABLE IF EXISTS lake_forget").fetchall()

    return store.execute_write(work)
