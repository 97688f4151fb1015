"""Bad input to the HTTP API, from a table: each gets a JSON 4xx with a message, never a 500.

A real server on 127.0.0.1 with a real store; after every case the server still answers.
"""

from __future__ import annotations

import pytest
import requests

from workbench.errors import ConfigError, FilterError

DEEP_NOTS = "not " * 3000 + "latency_ms > 1"
HUGE = "9" * 30

# (method, path, params, JSON body, status, a fragment of the error message)
CASES = [
    ("GET", "/api/nope", None, None, 404, "There is no API route /api/nope"),
    ("GET", "/api/", None, None, 404, "There is no API route"),
    ("POST", "/api/nope", None, {}, 404, "There is no API route"),
    ("GET", "/api/spans/extra/part", None, None, 404, "There is no API route"),
    ("GET", "/api/traces/zz", None, None, 400, "'zz' is not a trace id; a trace id is 32 hex digits"),
    ("GET", "/api/traces/" + "0" * 31 + "g", None, None, 400, "is not a trace id"),
    ("GET", "/api/traces/" + "ab" * 16, None, None, 404, "There is no trace"),
    ("GET", "/api/spans/123", None, None, 400, "'123' is not a span id; a span id is 16 hex digits"),
    ("GET", "/api/spans/" + "ab" * 8, None, None, 404, "There is no span"),
    ("GET", "/api/tables/nope", None, None, 404, "There is no table 'nope'"),
    ("DELETE", "/api/spans", None, None, 405, "DELETE is not allowed on /api/spans; use GET"),
    ("POST", "/api/traces", None, {}, 405, "POST is not allowed on /api/traces"),
    ("PUT", "/api/annotations", None, {}, 405, "use GET and POST"),
    *[
        ("GET", path, {name: value}, None, 400, f"{name}={value!r} is not valid")
        for path in ("/api/spans", "/api/traces", "/api/documents", "/api/embeddings", "/api/annotations",
                     "/api/projects", "/api/tables/spans")
        for name, value in (("limit", "-1"), ("limit", "ten"), ("limit", "1.5"))
    ],
    *[
        ("GET", path, {name: HUGE}, None, 400, "is not valid; give a whole number from 0")
        for path in ("/api/spans", "/api/traces", "/api/documents", "/api/annotations", "/api/projects",
                     "/api/tables/spans")
        for name in ("limit", "offset") if not (path == "/api/documents" and name == "offset")
    ],
    ("GET", "/api/spans", {"offset": "-5"}, None, 400, "offset='-5' is not valid"),
    ("GET", "/api/traces", {"offset": "-5"}, None, 400, "offset='-5' is not valid"),
    *[
        ("GET", path, {bound: value}, None, 400, "reaches back before the year 1")
        for path in ("/api/spans", "/api/traces", "/api/documents", "/api/embeddings")
        for bound, value in (("start", "9999999999w"), ("end", "99999999999d"))
    ],
    ("GET", "/api/spans", {"start": "yesterday-ish"}, None, 400, "is not a time"),
    ("GET", "/api/spans", {"filter": DEEP_NOTS}, None, 400, "nests too deeply"),
    ("GET", "/api/traces", {"filter": DEEP_NOTS}, None, 400, "nests too deeply"),
    ("GET", "/api/documents", {"filter": DEEP_NOTS}, None, 400, "nests too deeply"),
    ("GET", "/api/spans", {"filter": "(" * 300 + "x" + ")" * 300}, None, 400, "The filter"),
    ("GET", "/api/spans", {"filter": "model_name == gpt-4o"}, None, 400, "as in model_name == 'gpt-4o'"),
    ("GET", "/api/spans", {"filter": "start_time > 5"}, None, 400, "A value in the query cannot be used"),
    ("GET", "/api/spans?filter=%ff", None, None, 400, "Invalid unicode"),
    ("GET", "/api/spans", {"filter": "latency_ms > 'slow'"}, None, 400, "compare numbers with numbers"),
    ("GET", "/api/spans", {"filter": "name == -'x'"}, None, 400, "is not a value"),
    ("GET", "/api/traces", {"filter": "model_name == -None"}, None, 400, "The filter"),
    ("GET", "/api/traces", {"filter": "name in [1, 'a']"}, None, 400, "A value in the query cannot be used"),
    ("GET", "/api/spans", {"filter": "matches(name, '(?<=a)b')"}, None, 400, "A value in the query cannot be used"),
    ("GET", "/api/spans", {"filter": "matches(name, 'a{99999999999}')"}, None, 400, "write a smaller count"),
    ("GET", "/api/spans", {"format": "xml"}, None, 400, "format='xml' is not known"),
    ("GET", "/api/spans", {"order_by": "nope"}, None, 400, "Cannot sort by 'nope'"),
    ("POST", "/api/annotations", None, [1], 400, "Row 0 (1) is not a mapping"),
    ("POST", "/api/annotations", None, [[1, 2]], 400, "is not a mapping"),
    ("POST", "/api/annotations", None, "text", 400, "Send an annotation object"),
    ("POST", "/api/annotations", None, {"score": 1, "span_id": "ab" * 8}, 400, "has no name"),
    ("POST", "/api/annotations", None, {"name": 5, "score": 1, "span_id": "ab" * 8}, 400, "a name is text"),
    ("POST", "/api/annotations", None, {"name": "x", "score": 1, "span_id": "zz"}, 400,
     "span_id='zz'; a span_id is 16 hex digits"),
    ("POST", "/api/annotations", None, {"name": "x", "score": 1, "trace_id": "abc"}, 400,
     "trace_id='abc'; a trace_id is 32 hex digits"),
    ("POST", "/api/annotations", None, {"name": "x", "score": 1, "trace_id": "0x" + "a" * 30}, 400,
     "a trace_id is 32 hex digits"),
    ("POST", "/api/annotations", None, {"name": "x", "score": "high", "span_id": "ab" * 8}, 400,
     "score='high'; a score is a finite number"),
    ("POST", "/api/annotations", None, {"name": "x", "score": [1], "span_id": "ab" * 8}, 400, "a score is a finite"),
    ("POST", "/api/annotations", None, {"name": "x", "label": {"a": 1}, "span_id": "ab" * 8}, 400,
     "a label is text"),
    ("POST", "/api/annotations", None, {"name": "x", "score": 1, "span_id": "ab" * 8, "document_position": -1},
     400, "document_position=-1"),
    ("POST", "/api/annotations", None, {"name": "x", "score": 1, "span_id": "ab" * 8, "document_position": "a"},
     400, "document_position='a'"),
    ("POST", "/api/annotations", None, {"name": "x", "score": 1, "span_id": "ab" * 8, "created_at": "soon"},
     400, "created_at='soon' is not a time"),
    ("POST", "/api/annotations", None, {"name": "x", "score": 1, "span_id": "ab" * 8, "created_at": 1e300},
     400, "is not a time"),
    ("POST", "/api/annotations", None, {"name": "x", "score": 1, "span_id": "ab" * 8, "annotator_kind": "ROBOT"},
     400, "annotator_kind 'ROBOT'"),
    ("POST", "/api/annotations", None, {"name": "x", "score": 1, "target": "planet", "span_id": "ab" * 8},
     400, "target must be one of"),
    ("POST", "/api/annotations", None, {"name": "x", "score": 1, "target": "trace", "span_id": "ab" * 8},
     400, "targets a trace but has no trace_id"),
    ("POST", "/api/annotations", None, {"name": "x", "score": 1, "session_id": {"a": 1}}, 400, "give text"),
    ("POST", "/api/annotations", None, {"name": "x", "label": "\ud800", "span_id": "ab" * 8}, 400,
     "not valid Unicode"),
    ("POST", "/api/annotations", None,
     b'{"name": "x", "score": 1, "span_id": "abababababababab", "document_position": 1e400}', 400,
     "document_position=inf"),
    ("POST", "/api/annotations", None, b'{"name": "x", "score": NaN, "span_id": "abababababababab"}', 400,
     "a score is a finite number"),
]


@pytest.mark.parametrize(("method", "path", "params", "body", "status", "message"), CASES,
                         ids=[f"{c[0]} {c[1]} {c[2] or ''} {str(c[3])[:40]}" for c in CASES])
def test_bad_input_gets_a_json_4xx_with_a_message(server, store, rag_spans, method, path, params, body, status,
                                                   message):
    store.write(rag_spans)
    kwargs = {"params": params, "timeout": 30}
    if isinstance(body, bytes):
        kwargs["data"] = body
        kwargs["headers"] = {"Content-Type": "application/json"}
    elif body is not None:
        kwargs["json"] = body
    response = requests.request(method, server.url + path, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    error = response.json()["error"]
    assert message in error, error
    assert "Traceback" not in error and len(error) < 800
    assert requests.get(server.url + "/api/health", timeout=30).json()["status"] == "ok"  # still serving
    assert store.counts()["annotations"] == 0  # nothing half-written


def test_a_body_that_is_not_json_is_a_json_400(server):
    response = requests.post(server.url + "/api/annotations", data=b"{not json", timeout=30,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "is not valid JSON" in response.json()["error"]
    deep = requests.post(server.url + "/api/annotations", data=b"[" * 100_000 + b"]" * 100_000, timeout=30,
                         headers={"Content-Type": "application/json"})
    assert 400 <= deep.status_code < 500 and deep.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("path", "body"),
    [("/api/annotations", {"span_id": "ab" * 8, "name": "zipped", "label": "ok"}),
     ("/api/sql", {"sql": "SELECT 41 + 1 AS answer"})],
)
def test_a_gzipped_json_body_is_read_and_a_bad_encoding_is_refused_in_words(server, store, path, body):
    import gzip
    import json

    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    zipped = requests.post(server.url + path, params={"format": "json"}, timeout=30, headers=headers,
                           data=gzip.compress(json.dumps(body).encode()))
    assert zipped.status_code in (200, 201), zipped.text
    assert zipped.json() == {"added": 1} if path == "/api/annotations" else zipped.json()["rows"] == [{"answer": 42}]
    cases = [
        ({"Content-Encoding": "gzip"}, json.dumps(body).encode(), 400, "is marked Content-Encoding: gzip but is not"),
        ({"Content-Encoding": "br"}, json.dumps(body).encode(), 415, "Content-Encoding 'br' is not supported"),
        ({"Content-Encoding": "gzip"}, gzip.compress(b" " * (65 << 20)), 413, "inflates to more than 64 MiB"),
        ({}, json.dumps(body).encode("utf-16"), 201 if path == "/api/annotations" else 200, ""),
        ({}, b'{"name": "\x80"}', 400, "is not JSON text in UTF-8"),
    ]
    for extra, data, status, words in cases:
        answer = requests.post(server.url + path, data=data, timeout=60,
                               headers={"Content-Type": "application/json", **extra})
        assert answer.status_code == status, (extra, answer.text)
        if words:
            assert answer.headers["Content-Type"].startswith("application/json")
            assert words in answer.json()["error"] and "codec" not in answer.json()["error"]
    assert requests.get(server.url + "/api/health", timeout=30).json()["status"] == "ok"


def test_every_list_honours_limit_and_offset(server, store, rag_spans):
    store.write(rag_spans)
    trace_id = rag_spans[0].trace_id
    store.add_annotations([{"trace_id": trace_id, "name": f"n{i}", "score": i, "created_at": 1_700_000_000 + i}
                           for i in range(5)])
    url = server.url + "/api/"

    def rows(path, **params):
        return requests.get(url + path, params={"format": "json", **params}, timeout=30).json()

    assert len(rows("annotations")) == 5
    assert [r["name"] for r in rows("annotations", limit=2)] == ["n0", "n1"]
    assert [r["name"] for r in rows("annotations", limit=2, offset=3)] == ["n3", "n4"]
    assert len(rows("spans", limit=3)) == 3 and len(rows("documents", limit=1)) == 1
    assert len(rows("embeddings", limit=0)) == 0 and len(rows("traces", limit=1)) == 1
    assert len(rows("tables/spans", limit=2)) == 2 and len(rows("tables/spans", limit=2, offset=3)) == 1
    assert rows("projects", limit=0) == [] and rows("projects", limit=1) == ["test"]
    assert len(rows("spans", limit=str(2**63 - 1))) == len(rag_spans)  # the largest limit is a limit


def test_the_same_mistakes_in_python_are_workbench_errors(store, rag_spans):
    from workbench.query import Reader

    store.write(rag_spans)
    reader = Reader(store)
    for call in (lambda: reader.spans(limit=-1), lambda: reader.traces(offset=-1),
                 lambda: reader.spans(limit=10**30), lambda: reader.annotations(limit="x"),
                 lambda: reader.documents(limit=True), lambda: reader.spans(start="9999999999w"),
                 lambda: reader.spans(DEEP_NOTS)):
        with pytest.raises(FilterError) as caught:
            call()
        error = caught.value  # one exception, not a chain of internal ones
        assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    for rows in ([1], [{"name": "x", "score": float("nan"), "span_id": "ab" * 8}],
                 {"name": "x", "score": 1, "trace_id": "xyz"}, "not rows", 42):
        with pytest.raises(ConfigError):
            store.add_annotations(rows)
    assert store.counts()["annotations"] == 0


def test_the_spans_of_one_trace_honour_limit_and_offset(server, store, rag_spans):
    store.write(rag_spans)
    url = f"{server.url}/api/traces/{rag_spans[0].trace_id}"
    names = [r["name"] for r in requests.get(url, params={"format": "json", "limit": 2}, timeout=30).json()]
    assert names == ["rag", "embed"]
    rest = requests.get(url, params={"format": "json", "limit": 2, "offset": 3}, timeout=30).json()
    assert [r["name"] for r in rest] == ["llm"]
    assert requests.get(url, params={"limit": "-2"}, timeout=30).status_code == 400


def test_random_annotation_rows_are_stored_or_refused_with_a_config_error(store):
    """A seeded fuzzer over annotation rows: each is stored, or refused as a whole with a ConfigError."""
    import random

    values = [None, "", "x", "ab" * 8, "ab" * 16, "AB" * 8, 1, -1, 0, 1.5, float("nan"), float("inf"), 10**30, True,
              [], [1], {}, {"a": 1}, "span", "trace", "document", "session", "HUMAN", "robot", "2026-01-01", 1e300,
              "\ud800", {"k": "\ud800"}]
    keys = ["name", "score", "label", "span_id", "trace_id", "session_id", "document_position", "target",
            "annotator_kind", "annotator", "explanation", "created_at", "metadata", "annotation_id"]
    rng = random.Random(7)
    stored = 0
    for _ in range(600):
        record = {k: rng.choice(values) for k in rng.sample(keys, rng.randint(1, len(keys)))}
        try:
            stored += store.add_annotations([record])
        except ConfigError:
            pass
    assert store.counts()["annotations"] == stored
