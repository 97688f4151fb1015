"""launch() in this process, and the quickstart notebook executed in a real kernel."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

import workbench
from workbench.notebook import active_session

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


def test_launch_serves_collects_and_reads(tmp_path):
    session = workbench.launch("nb-test", db=tmp_path / "nb.duckdb", port=0)
    try:
        assert workbench.launch() is session and active_session() is session

        @workbench.traced(kind="TOOL")
        def double(x: int) -> int:
            return 2 * x

        with workbench.span("pipeline"):
            double(21)
        traces = session.traces()
        assert list(traces["name"]) == ["pipeline"] and traces["span_count"].iloc[0] == 2
        assert session.spans("span_kind == 'TOOL'")["output_value"].iloc[0] == "42"
        assert requests.get(session.url + "/api/health", timeout=10).json()["status"] == "ok"
        page = requests.get(session.url + "/", timeout=30)
        assert page.status_code == 200 and "bokeh" in page.text.lower()
        app = session.view(page="trace", trace_id=traces["trace_id"].iloc[0])
        assert app.page == "trace" and app.view("trace").trace is not None
    finally:
        session.stop()
    assert not session.running and active_session() is None
    session.stop()  # twice is fine


def test_the_quickstart_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=180,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "Your order A-" in text and "critical path" in text
