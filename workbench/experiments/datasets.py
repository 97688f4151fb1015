"""Named, versioned datasets of examples, kept in the store next to the spans they came from.

::

    from workbench.experiments import create_dataset, dataset, from_spans

    wb = workbench.open("app.duckdb", read_only=False)
    qa = create_dataset(wb, "refunds", [{"input": "How do refunds work?", "expected": "Prorated."}])
    bad = from_spans(wb, "bad-answers", "feedback == 'thumbs_down'")   # examples from traces
    qa = qa.add([{"input": "Can I pause my plan?"}])                     # version 2
    dataset(wb, "refunds", version=1).examples                           # version 1, as it was

A version never changes: :meth:`Dataset.add`, :meth:`Dataset.edit` and :meth:`Dataset.remove`
write the next version and return it. Datasets travel as Parquet, JSONL or CSV
(:meth:`Dataset.export`, :func:`import_dataset`) and are part of ``workbench export``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import ConfigError, NotFoundError
from workbench.experiments.examples import from_stored, normalise, read_file, to_stored, write_file
from workbench.experiments.where import opened, store_of
from workbench.read import experiments as q
from workbench.store import experiments as units

__all__ = [
    "Dataset", "add_examples", "create_dataset", "dataset", "delete_dataset", "import_dataset", "list_datasets",
]


@dataclass
class Dataset:
    """One version of a dataset. Its examples never change; the methods that change it write
    and return the next version.

    Attributes:
        name: The dataset's name.
        version: This version, from 1.
        examples: ``example_id``, ``input``, ``expected``, ``metadata``, ``source_trace_id``,
            ``source_span_id``, one row per example.
        description: What the dataset is for.
        where: Where it is stored (what it was read from).
    """

    name: str
    version: int
    examples: pd.DataFrame
    description: str | None = None
    where: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, version={self.version}, examples={len(self)})"

    def __len__(self) -> int:
        return len(self.examples)

    def _repr_html_(self) -> str:
        return f"<p><b>{self.name}</b> version {self.version}, {len(self)} examples</p>" + self.examples.to_html(
            max_rows=20)

    def versions(self) -> pd.DataFrame:
        """Every version of this dataset: ``version``, ``created_at``, ``change``, ``example_count``."""
        with opened(self.where) as reader:
            return q.dataset_versions(reader, self.name).to_pandas()

    def add(self, examples: Any) -> Dataset:
        """Write a version with these examples added (an example whose id is already there
        replaces it); return it."""
        new = normalise(examples)
        ids = {e["example_id"] for e in new}
        records = self._records()
        kept = [e for e in records if e["example_id"] not in ids]
        replaced = len(records) - len(kept)
        change = ", ".join(p for p in (f"added {len(new) - replaced}" if len(new) > replaced else "",
                                       f"replaced {replaced}" if replaced else "") if p)
        return _write(self.where, self.name, kept + new, description=self.description,
                      change=change or "added 0", based_on=self.version)

    def edit(self, example_id: str, **changes: Any) -> Dataset:
        """Write a version where one example's ``input``, ``expected`` or ``metadata`` changed.

        Raises:
            NotFoundError: No example has this id.
            ConfigError: A change names another field.
        """
        allowed = {"input", "expected", "metadata"}
        wrong = sorted(set(changes) - allowed)
        if wrong:
            raise ConfigError(f"Cannot edit {', '.join(wrong)}; an edit changes input, expected or metadata.")
        records = self._records()
        for record in records:
            if record["example_id"] == example_id:
                record.update(normalise([{**record, **changes}])[0])
                break
        else:
            raise NotFoundError(f"Dataset {self.name!r} version {self.version} has no example {example_id!r}.")
        return _write(self.where, self.name, records, description=self.description,
                      change=f"edited {example_id}", based_on=self.version)

    def remove(self, example_ids: str | Sequence[str]) -> Dataset:
        """Write a version without these examples; return it.

        Raises:
            NotFoundError: An id is not in this version.
        """
        ids = [example_ids] if isinstance(example_ids, str) else list(example_ids)
        records = self._records()
        missing = sorted(set(ids) - {r["example_id"] for r in records})
        if missing:
            raise NotFoundError(f"Dataset {self.name!r} version {self.version} has no example {missing[0]!r}.")
        kept = [r for r in records if r["example_id"] not in set(ids)]
        return _write(self.where, self.name, kept, description=self.description,
                      change=f"removed {len(ids)}", based_on=self.version)

    def export(self, path: str | Path, format: str | None = None) -> Path:
        """Write the examples to ``path`` as Parquet, JSONL or CSV (by suffix, or ``format``)."""
        return write_file(self.examples, path, format)

    def _records(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.examples.to_dict(orient="records")]


def _write(where: Any, name: str, examples: list[dict[str, Any]], *, description: str | None, change: str,
           based_on: int | None) -> Dataset:
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"A dataset needs a name (text), not {name!r}.")
    stored = [to_stored(e) for e in examples]
    with opened(where, write=True) as reader:
        version = store_of(reader).execute_write(units.add_dataset_version(
            name, stored, description=description, change=change,
            created_at=dt.datetime.now(dt.timezone.utc), based_on=based_on,
        ))
    return Dataset(name, version, from_stored(stored), description, where)


def create_dataset(where: Any, name: str, examples: Any, *, description: str | None = None) -> Dataset:
    """Make dataset ``name`` (version 1) of ``examples``: a DataFrame, an Arrow table, a list of
    dicts (``input``, optional ``expected``, ``metadata``, ``example_id``, ``source_span_id`` ...)
    or a list of inputs. Other columns go into each example's metadata.

    Raises:
        ConfigError: A dataset of this name exists, or an example has no input.
    """
    return _write(where, name, normalise(examples), description=description, change="created", based_on=None)


def dataset(where: Any, name: str, version: int | None = None) -> Dataset:
    """Dataset ``name`` at ``version`` (default: the latest).

    Raises:
        NotFoundError: There is no such dataset or version (the message lists what there is).
    """
    with opened(where) as reader:
        versions = q.dataset_versions(reader, name).to_pylist()
        if not versions:
            known = q.dataset_list(reader).column("name").to_pylist()
            raise NotFoundError(
                f"There is no dataset {name!r}; "
                + (f"the datasets are {', '.join(known)}." if known else "this store has none yet (create_dataset).")
            )
        row = versions[-1] if version is None else next((v for v in versions if v["version"] == version), None)
        if row is None:
            raise NotFoundError(
                f"Dataset {name!r} has no version {version}; its versions are 1 to {versions[-1]['version']}."
            )
        examples = from_stored(q.dataset_examples(reader, name, row["version"]).to_pylist())
    return Dataset(name, int(row["version"]), examples, row["description"], where)


def list_datasets(where: Any) -> pd.DataFrame:
    """One row per dataset: ``name``, latest ``version``, its ``example_count``, ``created_at``,
    ``description`` and how many ``versions`` there are."""
    with opened(where) as reader:
        return q.dataset_list(reader).to_pandas()


def add_examples(where: Any, name: str, examples: Any) -> Dataset:
    """Write the next version of dataset ``name`` with ``examples`` added (see :meth:`Dataset.add`)."""
    return dataset(where, name).add(examples)


def delete_dataset(where: Any, name: str) -> int:
    """Delete every version of dataset ``name`` (experiments run on it stay); return how many
    versions there were."""
    with opened(where, write=True) as reader:
        return int(store_of(reader).execute_write(units.delete_dataset(name)))


def import_dataset(where: Any, path: str | Path, name: str | None = None, *, format: str | None = None,
                   description: str | None = None) -> Dataset:
    """Read examples from a Parquet, JSONL or CSV file into dataset ``name`` (default: the file's
    stem): a new dataset, or the next version of an existing one holding the file's examples.

    Raises:
        ImportFormatError: The file cannot be read as examples.
    """
    examples = read_file(path, format)
    name = name or Path(path).stem
    change = f"imported {Path(path).name}"
    with opened(where, write=True) as reader:
        versions = q.dataset_versions(reader, name).to_pylist()
        if not versions:
            made = _write(reader, name, examples, description=description, change=change, based_on=None)
        else:
            made = _write(reader, name, examples, description=description or versions[-1]["description"],
                          change=change, based_on=int(versions[-1]["version"]))
    made.where = where
    return made


def as_dataset(where: Any, data: Dataset | str | Mapping[str, Any]) -> Dataset:
    """A :class:`Dataset` of a dataset, a name (latest version) or ``name@version`` text."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, str):
        name, _, version = data.partition("@")
        if version and not version.isdigit():
            raise ConfigError(f"{data!r} is no dataset name; write NAME or NAME@VERSION (a whole number).")
        return dataset(where, name, int(version) if version else None)
    raise ConfigError(f"Give a Dataset or a dataset's name, not {type(data).__name__}.")
