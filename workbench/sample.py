"""The sample data: synthetic traces of a fictional support assistant, with real text and
real embeddings, shipped with the package (``workbench.sample_data``).

:func:`load_sample` imports it into a store, moving every time so that the latest trace is
a few minutes old; "last 24 hours" then shows data. Loading twice adds nothing the second
time.

The loader lives here, not in ``sample_data/``: that folder (installed as
``workbench.sample_data``) is data and the scripts that generate it, mapped from the
repository root, and ``workbench.sample.load_sample`` is the name its README documents.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from importlib import resources
from pathlib import Path

from workbench import config
from workbench.errors import StoreError
from workbench.store import Store
from workbench.store.parquet import latest_time

__all__ = ["load_sample", "sample_db_path", "sample_path"]


def sample_path() -> Path:
    """The folder of the shipped sample export.

    Raises:
        StoreError: The sample files are not installed.
    """
    try:
        path = Path(str(resources.files("workbench.sample_data") / "traces"))
    except ModuleNotFoundError:
        path = Path(__file__).resolve().parents[1] / "sample_data" / "traces"
    if not (path / "spans").is_dir():
        raise StoreError(
            f"The sample data is not installed (looked in {path}); reinstall workbench from a "
            "source checkout with `pip install -e .`."
        )
    return path


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha1()
    for file in sorted(path.rglob("*.parquet")):
        digest.update(f"{file.relative_to(path)}:{file.stat().st_size}".encode())
    return digest.hexdigest()


def sample_db_path() -> Path:
    """The file the sample goes into when no file is named: ``sample.duckdb`` beside the
    default database, so the sample never mixes with the user's own traces."""
    return Path(config.get("db")).with_name("sample.duckdb")


def has_sample(store: Store) -> bool:
    """Whether ``store`` already holds this version of the sample (loading it would add nothing)."""
    return store.get_meta("sample") == _fingerprint(sample_path())


def load_sample(store: Store, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Import the sample into ``store``, shifted so its latest span ends at ``now``.

    A store that already holds this sample is left as it is (its times are not moved again).

    Returns:
        Rows added per table (empty when the sample was already there).
    """
    path = sample_path()
    fingerprint = _fingerprint(path)
    if store.get_meta("sample") == fingerprint:
        return {}
    latest = latest_time(path)
    shift = None
    if latest is not None:
        target = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(minutes=2)
        # Whole minutes keep the shifted times readable.
        shift = dt.timedelta(minutes=(target - latest) // dt.timedelta(minutes=1))
    added = store.import_parquet(path, shift=shift)
    store.set_meta("sample", fingerprint)
    return added
