"""The shipped sample: it loads, it has the shapes real instrumentors emit, its five stories
are in the data, and its vectors are real sentence embeddings.

Reads the committed files only (no torch): the sample is loaded into a fresh store the way
``workbench serve --sample`` loads it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pytest

import workbench

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
NEW_TOPIC = re.compile(r"(?i)copilot|\bai\b")
UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    store = workbench.Store(tmp_path_factory.mktemp("sample") / "sample.duckdb")
    try:
        from workbench.sample import load_sample
    except ImportError:  # the loader is the spine's; fall back to what it does
        store.import_parquet(SAMPLE / "traces")
    else:
        load_sample(store)
    yield store
    store.close()


def rows(store, sql: str, params=None) -> list[tuple]:
    return store.fetchall(sql, params)


def one(store, sql: str, params=None):
    return store.fetchall(sql, params)[0][0]


# The files -----------------------------------------------------------------------------


def test_knowledge_base_is_varied_prose_with_stable_ids():
    chunks = [json.loads(line) for line in (SAMPLE / "knowledge_base.jsonl").read_text(encoding="utf-8").splitlines()]
    assert 250 <= len(chunks) <= 350
    ids = [c["id"] for c in chunks]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"kb-[a-z]+-\d{3}", i) for i in ids)
    assert {c["topic"] for c in chunks} >= {
        "setup",
        "workspaces",
        "billing",
        "invoices",
        "limits",
        "auth",
        "sdks",
        "integrations",
        "data",
        "security",
        "troubleshooting",
    }
    words = [len(c["text"].split()) for c in chunks]
    assert min(words) >= 60 and max(words) <= 150
    # No template repetition: opening words are almost all different.
    openings = {" ".join(c["text"].split()[:4]) for c in chunks}
    assert len(openings) > 0.9 * len(chunks)


def test_questions_link_to_existing_chunks_and_include_an_uncovered_topic():
    ids = {
        json.loads(line)["id"] for line in (SAMPLE / "knowledge_base.jsonl").read_text(encoding="utf-8").splitlines()
    }
    questions = [json.loads(line) for line in (SAMPLE / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    covered = [q for q in questions if q["covered"]]
    uncovered = [q for q in questions if not q["covered"]]
    assert len(covered) >= 400 and len(uncovered) >= 30
    assert all(q["chunk_ids"] and set(q["chunk_ids"]) <= ids for q in covered)
    assert all(not q["chunk_ids"] for q in uncovered)
    # The new topic is findable by name, and only there.
    assert all(NEW_TOPIC.search(q["text"]) for q in uncovered)
    assert not any(NEW_TOPIC.search(q["text"]) for q in covered)


def test_committed_files_stay_small():
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.suffix in (".parquet", ".jsonl", ".json"))
    assert total < 8_000_000


# Loading -------------------------------------------------------------------------------


# The sample's experiments (tests/experiments/test_sample.py) add traces in their own project
# and scores by their own annotator; the production traces are the rest.
PRODUCTION = "project <> 'experiments'"
HUMAN_OR_JUDGE = "coalesce(annotator, '') NOT LIKE 'experiment:%'"


def test_loads_with_the_manifest_counts(store, manifest):
    counts = store.counts()
    counts["spans"] -= one(store, f"SELECT count(*) FROM spans WHERE NOT ({PRODUCTION})")
    counts["annotations"] -= one(store, f"SELECT count(*) FROM annotations WHERE NOT ({HUMAN_OR_JUDGE})")
    for table in ("spans", "documents", "embeddings", "annotations", "corpus"):
        assert counts[table] == manifest["counts"][table], table
    by_kind = dict(rows(store, f"SELECT span_kind, count(*) FROM spans WHERE {PRODUCTION} GROUP BY 1"))
    assert by_kind == manifest["counts"]["spans_by_kind"]
    traces = one(store, "SELECT count(DISTINCT trace_id) FROM spans")
    assert 3000 <= traces <= 5000
    # Every support request: one CHAIN root, one retrieval with its embedding.
    assert by_kind["CHAIN"] == by_kind["RETRIEVER"] == by_kind["EMBEDDING"] == counts["embeddings"]
    assert by_kind["LLM"] > traces and by_kind["TOOL"] > 0 and by_kind["RERANKER"] > 0 and by_kind["AGENT"] > 0


def test_times_are_shifted_to_now_and_span_three_weeks(store):
    first, last = rows(store, "SELECT min(start_time), max(end_time) FROM spans")[0]
    now = dt.datetime.now(UTC)
    assert dt.timedelta(0) <= now - last < dt.timedelta(hours=1)
    assert dt.timedelta(days=14) <= last - first <= dt.timedelta(days=22)
    assert one(store, "SELECT count(*) FROM spans WHERE start_time > now() - INTERVAL 24 HOURS") > 0


def test_two_services_with_mixed_conventions(store):
    projects = dict(rows(store, f"SELECT project, count(DISTINCT trace_id) FROM spans WHERE {PRODUCTION} GROUP BY 1"))
    assert set(projects) == {"lumen-support", "lumen-billing"}
    share = projects["lumen-billing"] / sum(projects.values())
    assert 0.18 <= share <= 0.32
    conventions = dict(rows(store, "SELECT project, list_distinct(flatten(list(conventions))) FROM spans GROUP BY 1"))
    assert conventions["lumen-support"] == ["openinference"]
    assert conventions["lumen-billing"] == ["gen_ai"]
    # The GenAI service's messages, tokens, cache, TTFT and user are understood.
    row = rows(
        store,
        """SELECT count(*), count(input_messages), count(prompt_tokens), count(cache_read_tokens),
                                count(time_to_first_token_ms), count(user_id), count(session_id)
                         FROM spans WHERE project = 'lumen-billing' AND span_kind = 'LLM'""",
    )[0]
    assert row[0] > 500 and row[1] == row[0] and min(row[5:]) == row[0]
    assert row[2] > 0.95 * row[0] and row[3] > 0.3 * row[0] and row[4] == row[2]


def test_span_shapes_of_the_support_service(store):
    llm = rows(
        store,
        """SELECT count(*), count(model_name), count(prompt_tokens), count(cache_read_tokens),
                                count(time_to_first_token_ms), count(prompt_template), count(prompt_template_version),
                                count(DISTINCT prompt_template_version), count(session_id), count(user_id)
                         FROM spans WHERE project = 'lumen-support' AND span_kind = 'LLM'""",
    )[0]
    n = llm[0]
    assert llm[1] == llm[5] == llm[6] == llm[8] == llm[9] == n
    assert llm[2] > 0.95 * n and llm[4] == llm[2]
    assert 0.1 * n < llm[3] < n  # cached tokens on some calls
    assert llm[7] == 4  # v1, v2 (answers) and v3, v4 (ticket drafts)
    # Retrievals return 5 documents (20 for ticket drafts on prompt v4), best first.
    sizes = dict(
        rows(
            store,
            """SELECT n, count(*) FROM (SELECT span_id, count(*) n FROM documents d
                                JOIN spans s USING (trace_id, span_id) WHERE s.span_kind = 'RETRIEVER' GROUP BY 1)
                                GROUP BY 1""",
        )
    )
    assert set(sizes) == {5, 20} and sizes[5] > 10 * sizes[20]
    unordered = one(
        store,
        """SELECT count(*) FROM (SELECT span_id, score, lag(score) OVER (PARTITION BY span_id
                              ORDER BY position) prev FROM documents) WHERE prev < score - 1e-9""",
    )
    assert unordered < 50  # reranker outputs are re-ordered by their own scores; retrievals are sorted
    # Every request carries its feature, in metadata and as a plain key.
    features = dict(
        rows(
            store,
            f"""SELECT json_extract_string(attributes, '$.feature'), count(*) FROM spans
                                   WHERE parent_span_id IS NULL AND {PRODUCTION} GROUP BY 1""",
        )
    )
    assert set(features) == {"help_center_search", "support_chat", "ticket_draft", "billing_assistant"}
    meta = one(
        store,
        f"""SELECT count(*) FROM spans WHERE parent_span_id IS NULL AND {PRODUCTION}
                         AND json_extract_string(json_extract_string(attributes, '$.metadata'), '$.feature') IS NULL""",
    )
    assert meta == 0
    # Sessions of several turns, tools called by the chat agent, a first-token event.
    assert (
        one(
            store,
            """SELECT max(n) FROM (SELECT session_id, count(*) n FROM spans
                         WHERE parent_span_id IS NULL GROUP BY 1)""",
        )
        >= 4
    )
    assert {"lookup_invoice", "check_service_status", "get_pipeline_runs"} <= {
        r[0]
        for r in rows(
            store, "SELECT DISTINCT tool_name FROM spans WHERE project = 'lumen-support' AND tool_name IS NOT NULL"
        )
    }
    assert one(store, "SELECT count(*) FROM spans WHERE events::VARCHAR LIKE '%First Token Stream Event%'") > 1000


# The stories ---------------------------------------------------------------------------


def _vectors(store, sql: str) -> tuple[list, np.ndarray]:
    table = store.query(sql)
    keys = table.column(0).to_pylist()
    vectors = np.array(table.column(1).to_pylist(), dtype=np.float32)
    return keys, vectors


def test_story_retrieval_drift(store):
    _corpus_ids, corpus = _vectors(store, "SELECT document_id, vector FROM corpus ORDER BY document_id")
    table = store.query("""SELECT e.text, e.vector, e.start_time, e.trace_id FROM embeddings e ORDER BY e.start_time""")
    texts = table.column("text").to_pylist()
    queries = np.array(table.column("vector").to_pylist(), dtype=np.float32)
    times = table.column("start_time").to_pylist()
    nearest = (queries @ corpus.T).max(axis=1)
    new = np.array([bool(NEW_TOPIC.search(t)) for t in texts])
    launch = min(t for t, is_new in zip(times, new) if is_new)
    assert max(times) - launch <= dt.timedelta(days=8)  # the new topic appears only in the last week
    assert 100 <= new.sum() <= 0.15 * len(new)
    assert nearest[new].mean() < nearest[~new].mean() - 0.15
    # The retriever saw it too: lower top scores, and users disliked the answers.
    late = rows(
        store,
        f"""
        WITH r AS (SELECT s.trace_id, regexp_matches(s.input_value, '(?i)copilot|\\bai\\b') AS new, d.score
                   FROM spans s JOIN documents d USING (trace_id, span_id)
                   WHERE s.span_kind = 'RETRIEVER' AND d.position = 0
                     AND s.start_time >= TIMESTAMPTZ '{launch.isoformat()}'),
             f AS (SELECT trace_id, avg(score) up FROM annotations WHERE name = 'user_feedback' GROUP BY 1)
        SELECT new, avg(r.score), avg(f.up), count(f.up) FROM r LEFT JOIN f USING (trace_id) GROUP BY 1""",
    )
    by = {new: (score, up, n) for new, score, up, n in late}
    assert by[True][0] < by[False][0] - 0.15
    assert by[True][2] >= 30 and by[True][1] < by[False][1] - 0.3


def test_story_cost_explosion(store):
    daily = rows(
        store,
        """SELECT date_trunc('day', start_time) d, prompt_template_version, sum(prompt_tokens),
                                  avg(prompt_tokens)
                           FROM spans WHERE span_kind = 'LLM'
                             AND json_extract_string(attributes, '$.feature') = 'ticket_draft'
                           GROUP BY ALL ORDER BY 1""",
    )
    per_call = {}
    for _, version, _, mean in daily:
        per_call.setdefault(version, []).append(mean)
    assert set(per_call) == {"v3", "v4"}
    assert min(per_call["v4"]) > 4 * max(per_call["v3"])
    # The switch is a date: every v4 call comes after every v3 call.
    last_v3, first_v4 = rows(
        store,
        """SELECT max(start_time) FILTER (WHERE prompt_template_version = 'v3'),
                                              min(start_time) FILTER (WHERE prompt_template_version = 'v4')
                                       FROM spans WHERE span_kind = 'LLM'""",
    )[0]
    assert last_v3 < first_v4
    # ... and the other features' calls did not grow like that.
    other = rows(
        store,
        """SELECT start_time < ?, avg(prompt_tokens) FROM spans
                           WHERE span_kind = 'LLM'
                             AND json_extract_string(attributes, '$.feature') = 'help_center_search'
                           GROUP BY 1""",
        [first_v4],
    )
    means = dict(other)
    assert means[False] < 1.5 * means[True]


def test_story_model_deprecation(store, manifest):
    old = manifest["stories"]["model_deprecation"]["model"]
    new = manifest["stories"]["model_deprecation"]["replacement"]
    calls, errors, not_found, first_error, last_call = rows(
        store,
        """
        SELECT count(*), count(*) FILTER (WHERE status_code = 'ERROR'),
               count(*) FILTER (WHERE status_message LIKE '%404%' AND status_message LIKE '%model_not_found%'),
               min(start_time) FILTER (WHERE status_code = 'ERROR'), max(start_time)
        FROM spans WHERE span_kind = 'LLM' AND model_name = ?""",
        [old],
    )[0]
    assert calls > 300
    assert errors == not_found >= 20  # every failure is the provider's 404
    assert dt.timedelta(0) < last_call - first_error <= dt.timedelta(days=3)  # a burst right before the end
    first_new = one(store, "SELECT min(start_time) FROM spans WHERE model_name = ?", [new])
    assert first_new > last_call
    assert last_call < one(store, "SELECT max(start_time) FROM spans") - dt.timedelta(days=5)
    # Errors are recorded as OTel exceptions.
    assert (
        one(
            store,
            """SELECT count(*) FROM spans WHERE model_name = ? AND status_code = 'ERROR'
                         AND events::VARCHAR LIKE '%NotFoundError%'""",
            [old],
        )
        == errors
    )
    # Some requests failed outright before a fallback existed; later ones fell back.
    assert (
        one(
            store,
            """SELECT count(*) FROM spans WHERE parent_span_id IS NULL AND status_code = 'ERROR'
                         AND status_message LIKE '%model_not_found%'""",
        )
        > 0
    )


def test_story_slow_tail(store):
    llm = {
        p: (p95, p99, t99)
        for p, p95, p99, t99 in rows(
            store,
            """
        SELECT provider, quantile_cont(latency_ms, 0.95), quantile_cont(latency_ms, 0.99),
               quantile_cont(time_to_first_token_ms, 0.99)
        FROM spans WHERE span_kind = 'LLM' AND status_code <> 'ERROR' GROUP BY 1""",
        )
    }
    slow = llm.pop("google")
    assert set(llm) == {"openai", "anthropic"}
    assert slow[1] > 2.5 * max(v[1] for v in llm.values())  # p99
    assert slow[2] > 4 * max(v[2] for v in llm.values())  # time to first token, p99
    medians = dict(
        rows(
            store,
            """SELECT provider, quantile_cont(time_to_first_token_ms, 0.5) FROM spans
                                  WHERE span_kind = 'LLM' GROUP BY 1""",
        )
    )
    assert medians["google"] < medians["openai"]  # a tail, not a slow provider overall
    tools = {
        t: p99
        for t, p99 in rows(
            store,
            """SELECT tool_name, quantile_cont(latency_ms, 0.99) FROM spans
                                                 WHERE span_kind = 'TOOL' GROUP BY 1""",
        )
    }
    slow_tool = tools.pop("check_service_status")
    assert slow_tool > 5 * max(tools.values())


def test_story_prompt_version(store):
    rates = dict(
        rows(
            store,
            """
        WITH v AS (SELECT DISTINCT trace_id, prompt_template_version AS version FROM spans
                   WHERE span_kind = 'LLM' AND prompt_template_version IN ('v1', 'v2')),
             root AS (SELECT trace_id FROM spans WHERE parent_span_id IS NULL
                      AND NOT regexp_matches(input_value, '(?i)copilot|\\bai\\b'))
        SELECT version, avg(a.score) FROM annotations a JOIN v USING (trace_id) JOIN root USING (trace_id)
        WHERE a.name = 'user_feedback' GROUP BY 1""",
        )
    )
    assert rates["v1"] - rates["v2"] > 0.15
    # v2 answers cite nothing; v1 answers cite the documents they use.
    cites = dict(
        rows(
            store,
            """SELECT prompt_template_version, avg(CASE WHEN output_value LIKE '%[kb-%' THEN 1 ELSE 0 END)
                                FROM spans WHERE span_kind = 'LLM' AND prompt_template_version IN ('v1', 'v2')
                                AND output_value IS NOT NULL GROUP BY 1""",
        )
    )
    assert cites["v1"] > 0.8 and cites["v2"] == 0


def test_feedback_and_relevance_annotations(store):
    kinds = dict(
        rows(store, "SELECT name || '/' || target || '/' || annotator_kind, count(*) FROM annotations "
                    f"WHERE {HUMAN_OR_JUDGE} GROUP BY 1")
    )
    assert set(kinds) == {"user_feedback/trace/HUMAN", "relevance/document/LLM", "relevance/document/HUMAN"}
    assert kinds["user_feedback/trace/HUMAN"] > 800 and kinds["relevance/document/LLM"] > 1000
    labels = dict(rows(store, f"SELECT label, avg(score) FROM annotations WHERE {HUMAN_OR_JUDGE} GROUP BY 1"))
    assert labels == {"thumbs_up": 1.0, "thumbs_down": 0.0, "relevant": 1.0, "irrelevant": 0.0}
    # Each relevance label points at a stored document; each feedback at a stored trace.
    orphans = one(
        store,
        """SELECT count(*) FROM annotations a WHERE target = 'document' AND NOT EXISTS (
                            SELECT 1 FROM documents d
                            WHERE d.span_id = a.span_id AND d.position = a.document_position)""",
    )
    assert orphans == 0
    assert (
        one(
            store,
            """SELECT count(*) FROM annotations a WHERE target = 'trace' AND NOT EXISTS (
                         SELECT 1 FROM spans s WHERE s.trace_id = a.trace_id)""",
        )
        == 0
    )
    # Feedback comes after the answer.
    assert (
        one(
            store,
            """SELECT count(*) FROM annotations a JOIN spans s ON s.trace_id = a.trace_id
                         AND s.parent_span_id IS NULL WHERE a.target = 'trace' AND a.created_at < s.end_time""",
        )
        == 0
    )


# The vectors ---------------------------------------------------------------------------


def test_vectors_are_unit_norm_384d(store):
    for sql in ("SELECT document_id, vector FROM corpus", "SELECT text, vector FROM embeddings"):
        _, vectors = _vectors(store, sql)
        assert vectors.shape[1] == 384
        assert np.abs(np.linalg.norm(vectors, axis=1) - 1).max() < 2e-3
        assert np.abs(vectors).max() < 1  # not one-hot, not garbage
    _, corpus = _vectors(store, "SELECT document_id, vector FROM corpus")
    assert len(np.unique(corpus.round(4), axis=0)) == len(corpus)
    assert store.counts()["corpus"] == 277


def test_vectors_are_real_sentence_embeddings(store):
    table = store.query("SELECT text, vector FROM embeddings")
    stored = dict(zip(table.column("text").to_pylist(), table.column("vector").to_pylist(), strict=True))
    corpus_ids, corpus = _vectors(store, "SELECT document_id, vector FROM corpus")

    def vec(text: str) -> np.ndarray:
        assert text in stored, text
        return np.array(stored[text], dtype=np.float32)

    # Two phrasings of the same question are closer to each other than to an unrelated chunk.
    a, b = vec("how do I rotate an api key without downtime"), vec("how often should we rotate keys")
    unrelated = corpus[corpus_ids.index("kb-billing-015")]  # nonprofit discounts
    assert a @ b > 0.5 > a @ unrelated + 0.3
    # A query lands near the chunk that answers it: exact nearest-neighbour search over the
    # stored vectors finds the linked chunk in the top 5 for most documented questions.
    questions = [json.loads(line) for line in (SAMPLE / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    hits = total = 0
    for q in questions:
        if q["covered"] and q["text"] in stored:
            order = np.argsort(-(corpus @ vec(q["text"])))[:5]
            hits += bool({corpus_ids[i] for i in order} & set(q["chunk_ids"]))
            total += 1
    assert total > 300 and hits / total > 0.85


def test_retrieval_scores_are_cosine_similarities(store):
    corpus_ids, corpus = _vectors(store, "SELECT document_id, vector FROM corpus")
    index = {d: i for i, d in enumerate(corpus_ids)}
    table = store.query("""
        SELECT any_value(em.vector), list(d.document_id ORDER BY d.position), list(d.score ORDER BY d.position)
        FROM spans r
        JOIN spans e ON e.trace_id = r.trace_id AND e.parent_span_id = r.span_id AND e.span_kind = 'EMBEDDING'
        JOIN embeddings em ON em.trace_id = e.trace_id AND em.span_id = e.span_id
        JOIN documents d ON d.trace_id = r.trace_id AND d.span_id = r.span_id
        WHERE r.span_kind = 'RETRIEVER' GROUP BY r.span_id ORDER BY r.span_id LIMIT 300""")
    for vector, ids, scores in zip(*(table.column(i).to_pylist() for i in range(3)), strict=True):
        query = np.array(vector, dtype=np.float32)
        sims = corpus @ query
        assert np.allclose([sims[index[i]] for i in ids], scores, atol=1e-4)
        assert np.isclose(scores[0], sims.max(), atol=1e-4)  # exact top-k


def test_loading_the_sample_twice_leaves_the_store_as_it_was(tmp_path):
    from workbench.sample import load_sample
    from workbench.store import Store

    with Store(tmp_path / "twice.duckdb") as store:
        first = load_sample(store)
        before = store.counts()
        assert first["spans"] == before["spans"] > 0
        assert load_sample(store) == {}
        assert store.counts() == before
