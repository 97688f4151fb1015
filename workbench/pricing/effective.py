"""The effective price table: the shipped rows plus the user's price file, reread on change.

Every query that needs a cost asks :func:`effective_table` (through
:func:`workbench.read.costs.effective`); the table is rebuilt whenever the file's bytes
change, so a new price re-costs history at the next query.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from workbench import config
from workbench.pricing.table import PriceLookup, PriceTable, shipped_rows, shipped_version
from workbench.pricing.userfile import parse_user_prices, read_user_file

__all__ = ["effective", "effective_table", "price_file"]

_lock = threading.Lock()
_cache: dict[str, tuple[bytes | None, PriceTable]] = {}  # per file: its bytes, its table


def price_file(path: str | os.PathLike[str] | None = None) -> Path:
    """The user's price file: ``path``, else the ``prices`` setting (it need not exist yet)."""
    return Path(config.get("prices", path)).expanduser()


def effective_table(path: str | os.PathLike[str] | None = None) -> PriceTable:
    """The shipped table plus the user's price file, rebuilt whenever the file changes.

    Raises:
        ConfigError: The user's file cannot be read or is malformed (the message says how to fix it).
    """
    file = price_file(path)
    content = read_user_file(file)  # a few kB: comparing contents beats trusting mtimes
    with _lock:
        cached = _cache.get(str(file))
    if cached is not None and cached[0] == content:
        return cached[1]
    table = PriceTable(shipped_rows(), parse_user_prices(content, file), version=shipped_version())
    with _lock:
        _cache[str(file)] = (content, table)
    return table


def effective(given: PriceLookup | None = None) -> PriceLookup:
    """``given``, or else the effective table of the configured price file."""
    return effective_table() if given is None else given
