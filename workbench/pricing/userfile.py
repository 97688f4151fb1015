"""The user's own prices: a JSON file of rows that beat the shipped ones.

The file is ``{"rows": [...]}`` with the columns of :data:`~workbench.pricing.COLUMNS`;
only ``pattern``, ``input`` and ``output`` are required. Its path is always the caller's
to give (the configuration layer decides it; :data:`DEFAULT_USER_PRICES_PATH` is the
conventional one). Rows can also be imported from and exported to CSV or JSON, for
spreadsheets and for sharing a team's negotiated prices.

Every function checks rows with the same rules as the shipped table and raises
:class:`~workbench.errors.ConfigError` with the value, the rule and the fix.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from workbench import config
from workbench.errors import ConfigError
from workbench.pricing.price_row import COLUMNS, PriceRow, parse_document, parse_row, row_to_dict

__all__ = [
    "DEFAULT_USER_PRICES_PATH",
    "import_prices",
    "load_user_prices",
    "parse_user_prices",
    "read_rows",
    "read_user_file",
    "remove_price",
    "save_user_prices",
    "set_price",
    "write_rows",
]

#: Where the user's prices live by convention (``~`` is expanded when used).
DEFAULT_USER_PRICES_PATH = Path("~/.workbench/prices.json")

PathArg = str | os.PathLike[str]


def load_user_prices(path: PathArg = DEFAULT_USER_PRICES_PATH) -> list[PriceRow]:
    """Read the user's price rows; a missing file has none.

    Args:
        path: The user price file.

    Returns:
        The rows, in file order.

    Raises:
        ConfigError: When the file cannot be read, is not valid JSON or a row breaks a rule.
    """
    return parse_user_prices(read_user_file(path), path)


def read_user_file(path: PathArg) -> bytes | None:
    """The user price file's contents, or ``None`` when there is no such file.

    Raises:
        ConfigError: When the file exists but cannot be read.
    """
    file = _expand(path)
    try:
        return file.read_bytes()  # a few kB
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(
            f"The price file {file} cannot be read ({exc.strerror}); fix its permissions or "
            f"point {config.SETTINGS['prices'].env} at another file."
        ) from None


def parse_user_prices(content: bytes | None, path: PathArg) -> list[PriceRow]:
    """The rows of a user price file's contents (:func:`read_user_file`); ``None`` has none.

    Raises:
        ConfigError: When the contents are not valid JSON or a row breaks a rule.
    """
    if content is None:
        return []
    return _parse_json(content, where=f"user price file {_expand(path)}")


def save_user_prices(path: PathArg, rows: Iterable[PriceRow | Mapping[str, object]]) -> list[PriceRow]:
    """Write the user's price rows, replacing the file atomically.

    Args:
        path: The user price file; its folder is created if needed.
        rows: The rows to keep: price rows, or mappings of column name to value (missing
            values, empty text and NaN mean "not given"), as an edited table gives them.

    Returns:
        The rows as stored.

    Raises:
        ConfigError: When a row breaks a rule, or two rows share a pattern, provider and
            ``valid_from``; nothing is written then.
    """
    file = _expand(path)
    parsed = [
        row if isinstance(row, PriceRow)
        else parse_row({k: v for k, v in row.items() if k in COLUMNS and not _missing(v)},
                       where=f"price row {n}", origin="user")
        for n, row in enumerate(rows, 1)
    ]
    records = [row_to_dict(row) for row in parsed]
    parse_document(records, where=f"rows for {file}", origin="user")  # refuse to write junk
    _write_text(file, json.dumps({"rows": records}, indent=2) + "\n")
    return parsed


def set_price(
    path: PathArg,
    *,
    pattern: str,
    input: float,
    output: float,
    cache_read: float | None = None,
    cache_write: float | None = None,
    reasoning: float | None = None,
    provider: str | None = None,
    model: str | None = None,
    valid_from: date | str | None = None,
    source: str | None = None,
) -> PriceRow:
    """Add a price to the user's file, or replace the one with the same key.

    A row's key is its pattern, provider and ``valid_from``: setting a price with a new
    ``valid_from`` keeps the old one for history; setting it with the same one replaces it.
    Prices are USD per million tokens.

    Args:
        path: The user price file.
        pattern: The model names it prices (see :mod:`workbench.pricing.patterns`).
        input: Uncached input price.
        output: Output price.
        cache_read: Cache-read price, if billed apart.
        cache_write: Cache-write price, if billed apart.
        reasoning: Reasoning price, if billed apart.
        provider: The provider it applies to; ``None`` for any.
        model: A display name; defaults to the pattern.
        valid_from: The first day it applies (``YYYY-MM-DD``); ``None`` for always.
        source: Where the figure comes from (a contract, a URL).

    Returns:
        The row as stored.

    Raises:
        ConfigError: When a value breaks a rule (a bad regex, a negative price ...).
    """
    given = {
        "pattern": pattern,
        "input": input,
        "output": output,
        "cache_read": cache_read,
        "cache_write": cache_write,
        "reasoning": reasoning,
        "provider": provider,
        "model": model,
        "valid_from": valid_from,
        "source": source,
    }
    row = parse_row({k: v for k, v in given.items() if v is not None}, where="set_price", origin="user")
    _upsert(path, [row])
    return row


def remove_price(
    path: PathArg, *, pattern: str, provider: str | None = None, valid_from: date | str | None = None
) -> int:
    """Remove the user rows with this pattern and provider (and ``valid_from``, if given).

    Returns:
        How many rows were removed.
    """
    day = valid_from
    if isinstance(valid_from, str):
        try:
            day = date.fromisoformat(valid_from.strip())
        except ValueError:
            raise ConfigError(
                f"remove_price: valid_from {valid_from!r} is not a date; write it as YYYY-MM-DD."
            ) from None
    wanted = provider.lower() if provider else None
    rows = load_user_prices(path)
    kept = [
        r for r in rows if not (r.pattern == pattern and r.provider == wanted and (day is None or r.valid_from == day))
    ]
    if len(kept) != len(rows):
        save_user_prices(path, kept)
    return len(rows) - len(kept)


def read_rows(path: PathArg) -> list[PriceRow]:
    """Read user price rows from a ``.json`` or ``.csv`` file (for import).

    CSV files have a header of column names (any subset of the columns, in any order);
    empty cells mean "not given".

    Raises:
        ConfigError: When the file is missing, of another kind, or breaks a rule.
    """
    file = _expand(path)
    kind = _kind(file)
    if not file.exists():
        raise ConfigError(f"price file {file} does not exist; check the path.")
    if kind == "json":
        return _read_json(file, where=f"price file {file}")
    try:
        with file.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            records: list[dict[str, object]] = []
            for n, record in enumerate(reader, 1):
                if None in record:
                    raise ConfigError(
                        f"price file {file}, row {n}: it has more cells than the header has "
                        "columns; quote cells that contain commas or add the missing header."
                    )
                records.append(dict(record))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"price file {file} cannot be read as UTF-8 CSV ({exc}); save it as UTF-8 CSV.") from None
    _, rows = parse_document(records, where=f"price file {file}", origin="user")
    return rows


def write_rows(path: PathArg, rows: Iterable[PriceRow]) -> None:
    """Write price rows to a ``.json`` or ``.csv`` file (for export), with every column.

    Raises:
        ConfigError: When the path's suffix is neither ``.json`` nor ``.csv``.
    """
    file = _expand(path)
    records = [row_to_dict(row) for row in rows]
    if _kind(file) == "json":
        _write_text(file, json.dumps({"rows": records}, indent=2) + "\n")
        return
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for record in records:
            writer.writerow({k: "" if v is None else v for k, v in record.items()})


def import_prices(path: PathArg, source: PathArg) -> int:
    """Add the rows of a ``.json`` or ``.csv`` file to the user's price file.

    Rows with the key of an existing row (pattern, provider, ``valid_from``) replace it.

    Returns:
        How many rows were imported.
    """
    rows = read_rows(source)
    _upsert(path, rows)
    return len(rows)


def _upsert(path: PathArg, new: list[PriceRow]) -> None:
    keys = {(r.pattern, r.provider, r.valid_from) for r in new}
    kept = [r for r in load_user_prices(path) if (r.pattern, r.provider, r.valid_from) not in keys]
    save_user_prices(path, kept + new)


def _expand(path: PathArg) -> Path:
    return Path(path).expanduser()


def _kind(file: Path) -> str:
    suffix = file.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise ConfigError(
            f"price file {file} ends in {suffix or 'no suffix'!r}; price rows are read and "
            "written as .json or .csv, so use one of those names."
        )
    return suffix[1:]


def _read_json(file: Path, *, where: str) -> list[PriceRow]:
    return _parse_json(file.read_bytes(), where=where)


def _parse_json(content: bytes, *, where: str) -> list[PriceRow]:
    try:
        data = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not UTF-8 text; save it as UTF-8 JSON.") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "fix the syntax or move the file away."
        ) from None
    _, rows = parse_document(data, where=where, origin="user")
    return rows


def _missing(value: object) -> bool:
    # None, NaN and NaT (a pandas table's empty cells) are not given.
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "NaT"


def _write_text(file: Path, text: str) -> None:
    # Write beside the target and rename, so a crash never leaves half a price file.
    file.parent.mkdir(parents=True, exist_ok=True)
    temporary = file.with_name(file.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, file)
