"""launch() in this process, and the quickstart notebook executed in a real kernel."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

import workbench
from workbench.errors import ConfigError, ServerError
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


def test_view_takes_a_height_and_refuses_what_it_cannot_use(tmp_path):
    from workbench.app.inline import DEFAULT_HEIGHT, InlineApp

    session = workbench.launch("nb-test", db=tmp_path / "nb.duckdb", port=0)
    try:
        app = session.view()
        assert isinstance(app, InlineApp) and app.__panel__().height == DEFAULT_HEIGHT
        assert app.server_url == session.url and app.resources == "server"
        tall = session.view(page="latency", height=1200)
        assert tall.page == "latency" and tall.__panel__().height == 1200
        assert tall.__panel__().sizing_mode == "stretch_width"
        assert session.view(resources="inline").resources == "inline"
        for bad in ({"height": 100}, {"height": "tall"}, {"resources": "cdn"}):
            with pytest.raises(ConfigError, match=r"height|resources"):
                session.view(**bad)
    finally:
        session.stop()
    with pytest.raises(ServerError, match=r"stopped.*workbench\.launch"):
        session.view()


VIEW_NOTEBOOK = [
    "import workbench\n"
    "session = workbench.launch('nb-out', db='out.duckdb', port=0)\n"
    "with workbench.span('pipeline'):\n    pass\n"
    "print(session.url)",
    "session.view(height=500)",
    "session.view(resources='inline')",
    "session.stop()",
]


def _fetched(output: str) -> list[str]:
    """The URLs a browser fetches for an output: the loader's script and stylesheet lists and
    the stylesheets of the app's models (other URLs in Panel's loader are only compared with)."""
    import re

    lists = re.findall(r"const (?:js_urls|js_modules|css_urls|js_exports) = (.*?);\n", output)
    urls = [u for found in lists for u in re.findall(r'"((?:https?:)?//[^"]+)"', found)]
    return urls + re.findall(r'\\?"url\\?":\\?"((?:https?:)?//[^"\\]+)', output)


def test_the_view_outputs_load_nothing_from_a_cdn(tmp_path):
    """What a kernel sends for launch() and view(): no public CDN, scripts from the session's server."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in VIEW_NOTEBOOK]
    nbclient.NotebookClient(notebook, kernel_name="python3", timeout=180,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    launch, served, inline, _ = ([o for o in cell.outputs if o.output_type != "stream"] for cell in notebook.cells)
    url = next(o.text for o in notebook.cells[0].outputs if o.output_type == "stream").strip()

    def text(outputs):
        return "\n".join(str(value) for o in outputs for value in o.get("data", {}).values())

    # launch() loads Panel's notebook support, so views shown later work, from its own server.
    assert any(u.startswith(f"{url}/static/js/bokeh.min.js") for u in _fetched(text(launch)))
    for outputs in (launch, served, inline):
        assert [u for u in _fetched(text(outputs)) if not u.startswith(url)] == []
    assert any(u.startswith(f"{url}/static/js/bokeh.min.js") for u in _fetched(text(served)))
    assert len(text(served)) < 1_000_000  # the scripts are fetched, not written into the notebook
    assert len(text(inline)) > 2_500_000  # the scripts themselves
    shown = served[-1]
    assert "application/vnd.holoviews_exec.v0+json" in shown.data
    assert "wb-inline-notice" in shown.data["text/html"] and "Loading the workbench app" in shown.data["text/html"]
