"""One process, one store: register(), open(), launch() and stop() as a notebook uses them."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from opentelemetry import trace

import workbench
from workbench.collector.current import CURRENT
from workbench.store.shared import process_store


@pytest.fixture(autouse=True)
def _no_current_provider():
    """Each test starts and ends with no workbench provider current and no session."""
    yield
    from workbench.notebook import active_session

    session = active_session()
    if session is not None:
        session.stop()
    CURRENT.provider = None


def _names(reader) -> list[str]:
    return sorted(reader.spans()["name"])


def test_register_then_open_reads_what_was_just_recorded_with_no_flush(db_path):
    provider = workbench.register("nb", db=db_path)
    with workbench.span("first", kind="CHAIN"):
        pass
    wb = workbench.open(db_path)  # read-only, in the same process as the writer
    assert _names(wb) == ["first"]
    with workbench.span("second"):
        pass
    assert _names(wb) == ["first", "second"]  # the read hands over what was recorded since
    wb.close()
    provider.shutdown()


def test_open_first_then_register_then_read_again(db_path):
    workbench.register("seed", db=db_path).shutdown()  # make the file
    wb = workbench.open(db_path)  # read-only
    assert _names(wb) == []
    provider = workbench.register("nb", db=db_path)  # the same file, now for writing
    with workbench.span("late"):
        pass
    assert _names(wb) == ["late"]
    assert _names(workbench.open(db_path, read_only=False)) == ["late"]
    provider.shutdown()


def test_open_and_register_default_to_the_running_session(tmp_path):
    session = workbench.launch("nb", db=tmp_path / "session.duckdb", port=0)
    provider = workbench.register("other-project")
    with workbench.span("from-register"):
        pass
    spans = workbench.open().spans()
    assert list(spans["name"]) == ["from-register"]
    assert list(spans["project"]) == ["other-project"]
    assert Path(session.store.path) == tmp_path / "session.duckdb"
    provider.shutdown()


def test_register_after_launch_switches_the_provider_quietly(tmp_path, caplog):
    session = workbench.launch("launched", db=tmp_path / "s.duckdb", port=0)
    tracer = trace.get_tracer("instrumentor")  # taken before, as instrumentors do
    with caplog.at_level(logging.WARNING):
        workbench.register("registered")
    assert "Overriding" not in caplog.text
    with tracer.start_as_current_span("after-register"):
        pass
    assert list(session.spans()["project"]) == ["registered"]


def test_stop_and_launch_again_records_into_the_new_session(tmp_path):
    tracer = trace.get_tracer("instrumentor")
    first = workbench.launch("one", db=tmp_path / "one.duckdb", port=0)
    with tracer.start_as_current_span("in-first"):
        pass
    assert list(first.spans()["name"]) == ["in-first"]
    first.stop()
    assert process_store() is None
    second = workbench.launch("two", db=tmp_path / "two.duckdb", port=0)
    assert second is not first
    with tracer.start_as_current_span("in-second"):
        pass
    with workbench.span("by-hand"):
        pass
    assert sorted(second.spans()["name"]) == ["by-hand", "in-second"]
    assert set(second.spans()["project"]) == {"two"}


def test_traced_works_bare_and_with_arguments(db_path):
    provider = workbench.register("nb", db=db_path)

    @workbench.traced
    def plain(x: int) -> int:
        return x + 1

    @workbench.traced()
    def empty_parens(x: int) -> int:
        return x + 2

    @workbench.traced("TOOL")
    def positional_kind(x: int) -> int:
        return x + 3

    assert (plain(1), empty_parens(1), positional_kind(1)) == (2, 3, 4)
    spans = workbench.open(db_path).spans()
    spans = spans.set_index(spans["name"].str.rsplit(".", n=1).str[-1])  # names are qualified
    assert spans.loc["plain", "span_kind"] == "CHAIN" and spans.loc["plain", "output_value"] == "2"
    assert spans.loc["empty_parens", "span_kind"] == "CHAIN"
    assert spans.loc["positional_kind", "span_kind"] == "TOOL"
    provider.shutdown()


@pytest.mark.parametrize("kind", ["TOOLS", "retriver", 3, None])
def test_a_kind_that_names_no_span_kind_is_refused_where_the_decorator_is_written(kind):
    with pytest.raises(workbench.ConfigError, match=r"is not a span kind; use one of LLM, CHAIN.*TOOL"):
        @workbench.traced(kind)
        def step() -> None:
            pass


def test_a_wrong_kind_in_a_span_block_is_warned_about_once_never_raised(db_path, caplog):
    provider = workbench.register("nb", db=db_path)
    with caplog.at_level(logging.WARNING, logger="workbench.instrument"):
        for _ in range(3):
            with workbench.span("block", kind="TOOLS"):
                pass
    assert caplog.text.count("kind='TOOLS' is not a span kind") == 1
    assert list(workbench.open(db_path).spans()["span_kind"]) == ["UNKNOWN"] * 3
    provider.shutdown()


def test_launch_with_the_sample_keeps_it_out_of_the_default_database(_isolated_home):
    session = workbench.launch(sample=True, port=0)
    try:
        assert Path(session.store.path).name == "sample.duckdb"
        assert session.count() > 1000
    finally:
        session.stop()
    default = _isolated_home / ".workbench" / "workbench.duckdb"
    assert not default.exists() or len(workbench.open(default).spans()) == 0


SCRIPT = """
import workbench
workbench.register("script", db={db!r})

@workbench.traced
def work(x):
    return x * 2

work(21)
with workbench.span("last", kind="TOOL"):
    pass
"""


def test_a_short_script_loses_nothing_at_exit(db_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(db=str(db_path))],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert _names(workbench.open(db_path)) == ["last", "work"]


def test_a_short_script_with_sampling_keeps_its_failures_at_exit(db_path):
    script = textwrap.dedent(f"""
        import workbench
        workbench.register("script", db={str(db_path)!r}, sampling=0.0)
        try:
            with workbench.span("failed"):
                raise ValueError("boom")
        except ValueError:
            pass
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _names(workbench.open(db_path)) == ["failed"]


def test_spans_that_cannot_be_written_at_exit_are_reported_on_stderr(tmp_path):
    db = tmp_path / "gone" / "w.duckdb"
    script = textwrap.dedent(f"""
        import shutil, workbench
        workbench.register("script", db={str(db)!r})
        with workbench.span("doomed"):
            pass
        # The folder disappears and a file takes its place: nothing can be written any more.
        from workbench.store.shared import _files
        for shared in list(_files.values()):
            shared.db.close()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "workbench" in done.stderr and "could not" in done.stderr
    assert "Traceback" not in done.stderr
