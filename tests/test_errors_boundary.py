"""workbench's own errors reach Python as one WorkbenchError that says what to do.

Each call below used to surface an internal exception (DuckDB, pyarrow, json, TypeError,
AttributeError ...) or a chain of them. Now it raises a WorkbenchError subclass with no
cause and no context shown, so a notebook prints one message, not a stack of frames.
"""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import workbench
from workbench.errors import ConfigError, FilterError, NotFoundError, ServerError, WorkbenchError
from workbench.query import Reader
from workbench.store import Store


def _one(error: BaseException) -> None:
    assert isinstance(error, WorkbenchError), repr(error)
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__), repr(error)
    assert "Traceback" not in str(error) and "\nLINE" not in str(error)


@pytest.fixture
def reader(store, rag_spans):
    store.write(rag_spans)
    return Reader(store)


LOCAL = {
    "open(42)": (lambda r: workbench.open(42), ConfigError),
    "trace(123)": (lambda r: r.trace(123), FilterError),
    "span(None)": (lambda r: r.span(None), FilterError),
    "project=5": (lambda r: r.spans(project=5), FilterError),
    "trace_ids=[1]": (lambda r: r.spans(trace_ids=[1]), FilterError),
    "text compared with a number": (lambda r: r.spans("latency_ms > 'slow'"), FilterError),
    "attribute compared both ways": (lambda r: r.spans("attributes['custom.key'] > 1 and latency_ms > 'x'"),
                                     FilterError),
    "a regex DuckDB refuses": (lambda r: r.spans("matches(name, '(?<=a)b')"), FilterError),
    "limit=-1": (lambda r: r.spans(limit=-1), FilterError),
    "annotations(limit=1.5)": (lambda r: r.annotations(limit=1.5), FilterError),
    "start=9999999999w": (lambda r: r.traces(start="9999999999w"), FilterError),
    "3,000 nots": (lambda r: r.count("not " * 3000 + "latency_ms > 1"), FilterError),
    "annotations from a missing path": (lambda r: r.store.add_annotations("no/such/file.parquet"), ConfigError),
    "annotations that are not rows": (lambda r: r.store.add_annotations([1, 2]), ConfigError),
    "annotation with a NaN score": (
        lambda r: r.store.add_annotations({"name": "x", "score": float("nan"), "span_id": "ab" * 8}), ConfigError),
    "annotation on a made-up trace id": (lambda r: workbench.annotate(r, trace_id="t-1", name="x", score=1),
                                         ConfigError),
    "corpus vector of text": (lambda r: r.store.load_corpus([{"id": "d", "text": "t", "vector": ["a"]}]),
                              ConfigError),
    "a price pattern": (lambda r: workbench.prices.set("gpt-4o(", input=1, output=1), ConfigError),
    "a price test on no day": (lambda r: workbench.prices.test("gpt-4o", at="tomorrow"), ConfigError),
    "a store setting out of range": (lambda r: Store(":memory:", max_queued_spans=-5), ConfigError),
}


def test_a_price_file_that_is_not_utf8_is_one_error(tmp_path):
    from workbench.pricing.prices import Prices

    bad = tmp_path / "rows.csv"
    bad.write_bytes(b"\xff\xfepattern,input,output\n")
    with pytest.raises(ConfigError, match="cannot be read as UTF-8 CSV") as caught:
        Prices(tmp_path / "prices.json").import_from(bad)
    _one(caught.value)


@pytest.mark.parametrize("name", list(LOCAL))
def test_a_local_mistake_is_one_workbench_error(reader, name):
    call, kind = LOCAL[name]
    with pytest.raises(kind) as caught:
        call(reader)
    _one(caught.value)


def test_a_damaged_parquet_import_is_one_error(tmp_path):
    bad = tmp_path / "spans.parquet"
    bad.write_bytes(b"PAR1 not really")
    with Store(tmp_path / "x.duckdb") as store, pytest.raises(WorkbenchError) as caught:
        store.import_parquet(bad)
    _one(caught.value)
    assert "\n" not in str(caught.value)


REMOTE = {
    "bad filter": (lambda r: r.spans("latncy_ms > 1"), FilterError),
    "text compared with a number": (lambda r: r.spans("latency_ms > 'slow'"), FilterError),
    "malformed trace id": (lambda r: r.trace("zz"), FilterError),
    "unknown span": (lambda r: r.span("ab" * 8), NotFoundError),
    "unknown table": (lambda r: r.table("nope"), NotFoundError),
    "limit=-1": (lambda r: r.annotations(limit=-1), FilterError),
    "annotation without a score": (lambda r: r.add_annotations({"name": "x", "span_id": "ab" * 8}), ConfigError),
    "annotation that is not JSON": (
        lambda r: r.add_annotations({"name": "x", "score": 1, "span_id": "ab" * 8, "metadata": {1, 2}}), ConfigError),
    "id that is not text": (lambda r: r.trace(7), FilterError),
}


@pytest.mark.parametrize("name", list(REMOTE))
def test_a_mistake_through_a_server_is_the_same_one_error(server, store, rag_spans, name):
    store.write(rag_spans)
    call, kind = REMOTE[name]
    with pytest.raises(kind) as caught:
        call(workbench.open(server.url))
    _one(caught.value)


def test_annotations_with_times_and_numpy_values_go_through_a_server(server, store, rag_spans):
    import numpy as np

    store.write(rag_spans)
    remote = workbench.open(server.url.removeprefix("http://"))
    added = remote.add_annotations({"name": "x", "score": np.float32(0.5), "span_id": rag_spans[0].span_id,
                                    "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)})
    assert added == 1


class _NotWorkbench(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # the http.server name
        status = 200 if self.path.startswith("/ok") else 404
        body = b"<html>hello</html>"
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def other_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NotWorkbench)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_url_that_is_not_a_workbench_server_says_so(other_server):
    with pytest.raises(ServerError, match="not as a workbench server does") as caught:
        workbench.open(other_server).spans()
    _one(caught.value)
    with pytest.raises(ServerError, match=r"is .* a workbench server") as caught:
        workbench.open(other_server + "/ok").projects()
    _one(caught.value)
    with pytest.raises(ServerError, match=r"is .* a workbench server") as caught:
        workbench.open(other_server + "/ok").spans()
    _one(caught.value)
