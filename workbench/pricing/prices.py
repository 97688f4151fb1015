"""The prices cost is computed with, and how to change them: ``workbench.prices``.

:class:`Prices` is the shipped price table plus the user's price file (the ``prices``
setting, ``WORKBENCH_PRICES``, default ``~/.workbench/prices.json``), with the operations the
``workbench prices`` command and the app's price table offer: list, set, remove, import,
export, and test which row prices a model name and why. Every change is read by the next
query, so history is re-costed at once; nothing stored needs rewriting.

The row rules (user rows win, the most specific pattern wins, a dated row applies from its
day) are :mod:`workbench.pricing.table`'s; reading, checking and writing the file are
:mod:`workbench.pricing.userfile`'s. This module binds them to the configured file and keeps
the table built from it until the file changes.
"""

from __future__ import annotations

import builtins
import datetime as dt
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import ConfigError
from workbench.pricing.effective import effective, effective_table, price_file
from workbench.pricing.patterns import compile_pattern
from workbench.pricing.price_row import COLUMNS, PriceRow
from workbench.pricing.table import PriceMatch, PriceTable
from workbench.pricing.userfile import (
    import_prices,
    load_user_prices,
    remove_price,
    save_user_prices,
    set_price,
    write_rows,
)

__all__ = ["Prices", "effective", "prices"]


class Prices:
    """The prices cost is computed with: the shipped table plus the user's price file.

    The user's file is ``WORKBENCH_PRICES`` (default ``~/.workbench/prices.json``) unless a
    path is given. Its rows beat the shipped ones. Every change is read by the next query,
    so history is re-costed at once. ``workbench.prices`` is an instance for the configured
    file; ``workbench prices ...`` on the command line does the same things.

    Args:
        path: The user's price file; ``None`` uses the setting.

    Example:
        >>> workbench.prices.set("gpt-4o", input=2.5, output=10, valid_from="2024-10-01")
        >>> print(workbench.prices.test("openai/gpt-4o-2024-08-06"))
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = path

    def __repr__(self) -> str:
        return f"Prices({str(self.path)!r})"

    @property
    def path(self) -> Path:
        """The user's price file (it need not exist yet)."""
        return price_file(self._path)

    def table(self) -> PriceTable:
        """The effective :class:`~workbench.pricing.PriceTable`, rebuilt whenever the file changes.

        Raises:
            ConfigError: The user's file is malformed (the message says where and how to fix it).
        """
        return effective_table(self._path)

    def list(self, model: str | None = None, *, user_only: bool = False) -> pd.DataFrame:
        """The price rows (shipped rows first, then the user's), with an ``origin`` column.

        Args:
            model: Only rows whose pattern matches this model name, in any spelling the
                patterns tolerate, or whose model or pattern contains it.
            user_only: Only the user's rows.
        """
        rows = [r for r in self.table().rows if r.origin == "user" or not user_only]
        if model and model.strip():
            name = model.strip()
            rows = [
                r for r in rows
                if compile_pattern(r.pattern).fullmatch(name)
                or name.lower() in r.model.lower() or name.lower() in r.pattern.lower()
            ]
        return pd.DataFrame(
            [{**{c: getattr(r, c) for c in COLUMNS}, "origin": r.origin} for r in rows],
            columns=[*COLUMNS, "origin"],
        )

    def set(
        self,
        pattern: str,
        *,
        input: float,
        output: float,
        cache_read: float | None = None,
        cache_write: float | None = None,
        reasoning: float | None = None,
        provider: str | None = None,
        model: str | None = None,
        valid_from: dt.date | str | None = None,
        source: str | None = None,
    ) -> PriceRow:
        """Add a price (USD per million tokens), or replace the one with the same key.

        A row's key is its pattern, provider and ``valid_from``. Give a new ``valid_from`` to
        keep the old price for the days before it. See :func:`workbench.pricing.set_price`.

        Raises:
            ConfigError: A value breaks a rule (a bad pattern, a negative price ...).
        """
        return set_price(
            self.path, pattern=pattern, input=input, output=output, cache_read=cache_read,
            cache_write=cache_write, reasoning=reasoning, provider=provider, model=model,
            valid_from=valid_from, source=source,
        )

    def save(self, rows: Iterable[PriceRow | Mapping[str, Any]]) -> builtins.list[PriceRow]:
        """Replace all of the user's rows (what the app's editable price table does).

        Args:
            rows: Price rows, or mappings of column name to value (missing values, empty text
                and NaN mean "not given").

        Returns:
            The rows as stored.

        Raises:
            ConfigError: A row breaks a rule, or two rows share a pattern, provider and
                ``valid_from``; nothing is written then.
        """
        return save_user_prices(self.path, rows)

    def remove(self, pattern: str, *, provider: str | None = None, valid_from: dt.date | str | None = None) -> int:
        """Remove the user's rows with this pattern and provider (and ``valid_from``); return how many."""
        return remove_price(self.path, pattern=pattern, provider=provider, valid_from=valid_from)

    def import_from(self, source: str | os.PathLike[str]) -> int:
        """Add the rows of a ``.json`` or ``.csv`` file to the user's prices; return how many."""
        return import_prices(self.path, source)

    def export_to(self, target: str | os.PathLike[str], *, user_only: bool = True) -> int:
        """Write the user's rows (or every row, with ``user_only=False``) to ``.json`` or ``.csv``.

        Returns:
            How many rows were written.
        """
        rows = load_user_prices(self.path) if user_only else list(self.table().rows)
        write_rows(target, rows)
        return len(rows)

    def match(self, model_name: str, provider: str | None = None, at: object = None) -> PriceMatch | None:
        """The row that prices a model name on a day (today by default), or ``None``."""
        return self.table().match(model_name, provider, at)

    def test(self, model_name: str, provider: str | None = None, at: object = None) -> str:
        """Which row prices a model name and why, in words (:meth:`PriceTable.explain`).

        Raises:
            ConfigError: ``at`` is not a day.
        """
        from workbench.pricing.keys import to_day

        try:
            day = to_day(at)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"at={at!r} is not a day; give one as YYYY-MM-DD, a date or a datetime.") from None
        return self.table().explain(model_name, provider, day)


#: The prices of the configured user file; ``workbench.prices``.
prices = Prices()

