"""`workbench serve` applies the config file's retention in the background: a real server
process, a real file that shrinks while served, and ingest that goes on afterwards."""

from __future__ import annotations

import os
import signal
import urllib.request

from tests.helpers import otlp_body, wait_for
from tests.server.processes import Served
from tests.store.test_retention import _checkpoint, _fill
from workbench.store import Store


def test_serve_removes_and_compacts_in_the_background_and_keeps_serving(tmp_path):
    db = tmp_path / "served.duckdb"
    with Store(db) as store:
        _fill(store, project="a", traces=2000, first_day=30, days=30)
        _checkpoint(store)
    full = os.path.getsize(db)
    config = tmp_path / "config.toml"
    config.write_text("[retention]\nmax_spans = 300\n")

    served = Served(db, tmp_path / "logs", env={"WORKBENCH_CONFIG": str(config)})
    try:
        wait_for(lambda: "retention compacted" in served.output(), timeout=180, interval=0.2)
        assert "retention:   every project: beyond the newest 300 spans" in served.output()
        assert os.path.getsize(db) < full * 0.5

        def emit(tracer):
            with tracer.start_as_current_span("after"):
                pass

        request = urllib.request.Request(served.url + "/v1/traces", data=otlp_body(emit, {"service.name": "b"}),
                                         headers={"Content-Type": "application/x-protobuf"}, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    finally:
        served.signal_group(signal.SIGINT)
        served.wait(60)
    with Store(db, read_only=True) as store:
        counts = dict(store.fetchall("SELECT project, count(*) FROM spans GROUP BY project"))
    assert counts == {"a": 300, "b": 1}
