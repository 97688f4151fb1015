"""The test suite itself: it never touches the user's files or settings, and its browser
tests are all marked."""

from __future__ import annotations

import os
import re
from pathlib import Path

from workbench import config

TESTS = Path(__file__).parent


def test_no_workbench_variable_reaches_a_test() -> None:
    assert [name for name in os.environ if name.startswith("WORKBENCH_")] == []


def test_the_default_database_is_under_the_tests_own_home(_isolated_home: Path) -> None:
    assert Path.home() == _isolated_home
    assert str(config.get("db")).startswith(str(_isolated_home))


def test_only_the_browser_fixtures_start_chromium() -> None:
    """Chromium starts in one place, behind fixtures the browser marker is keyed on."""
    starters = re.compile(r"sync_playwright|async_playwright|chromium\.launch|CHROMIUM\b")
    allowed = {TESTS / "conftest.py", TESTS / "app" / "browser.py", TESTS / "jupyter" / "conftest.py",
               Path(__file__)}
    offenders = [str(path.relative_to(TESTS)) for path in TESTS.rglob("*.py")
                 if path not in allowed and starters.search(path.read_text(encoding="utf-8"))]
    assert offenders == [], f"start chromium through the browser fixtures (tests/conftest.py): {offenders}"


def test_browser_tests_carry_the_marker(request) -> None:
    from tests.conftest import BROWSER_FIXTURES

    items = request.session.items
    unmarked = [item.nodeid for item in items
                if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ()))
                and item.get_closest_marker("browser") is None]
    assert unmarked == []


def test_a_shell_setting_does_not_reach_the_tests(tmp_path) -> None:
    import subprocess
    import sys

    env = dict(os.environ, WORKBENCH_DB=str(tmp_path / "users-own.duckdb"), WORKBENCH_PORT="1")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"{Path(__file__)}::test_no_workbench_variable_reaches_a_test",
         f"{Path(__file__)}::test_the_default_database_is_under_the_tests_own_home"],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "2 passed" in done.stdout
    assert not (tmp_path / "users-own.duckdb").exists()
