"""The built-in data sets, declared once, as TOML spec files shipped in generator/specs: the same
mechanism as a user's `--dataset path/to/spec.toml`. Their comments say where the figures come from.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from generator import spec_file
from generator.errors import UsageError
from generator.spec import Dataset


def _builtin(name: str) -> Dataset:
    text = resources.files("generator").joinpath("specs", f"{name}.toml").read_text()
    return spec_file.from_data(tomllib.loads(text))


PERSON = _builtin("person")
RETAIL = _builtin("retail")
COUNTER = _builtin("counter")
SENSOR = _builtin("sensor")

DATASETS: Mapping[str, Dataset] = {ds.name: ds for ds in (PERSON, RETAIL, COUNTER, SENSOR)}


def is_spec_path(name: str) -> bool:
    return name.endswith(".toml") or "/" in name


def get_dataset(name: str) -> Dataset:
    """A built-in data set by name, or the one a spec file (`*.toml`) declares, checked."""
    if is_spec_path(name):
        path = Path(name)
        dataset = spec_file.load(path)
        spec_file.check_runs(dataset, path)
        return dataset
    try:
        return DATASETS[name]
    except KeyError:
        raise UsageError(
            f"unknown data set {name!r} (one of: {', '.join(DATASETS)}; or a spec file, *.toml)"
        ) from None


def resolve(dataset: Dataset | str) -> Dataset:
    """A declaration as it is, or the one a name or spec file stands for (configs take both)."""
    return dataset if isinstance(dataset, Dataset) else get_dataset(dataset)
