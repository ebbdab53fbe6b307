"""The built-in data sets and bundles, declared once, as TOML spec files shipped in
generator/specs: the same mechanism as a user's `--dataset path/to/spec.toml`. Their comments say
where the figures come from.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import TypeVar

from generator import spec_file
from generator.errors import UsageError
from generator.spec import Bundle, Dataset

T = TypeVar("T")


DATASET_NAMES = ("person", "retail", "counter", "sensor", "impressions", "clicks", "customers",
                 "orders", "activity", "words", "customer_changes")  # fmt: skip
BUNDLE_NAMES = ("ads", "shop")
_CONSTANTS = {name.upper(): name for name in DATASET_NAMES}  # PERSON, RETAIL, ...


def _text(name: str) -> str:
    return resources.files("generator").joinpath("specs", f"{name}.toml").read_text()


class _Builtins(Mapping[str, T]):
    """The built-ins by name, each parsed the first time it is asked for: importing a module
    of the generator (in every Spark Python worker, too) parses no spec file."""

    def __init__(self, names: tuple[str, ...], build: Callable[[str], T]) -> None:
        self._names, self._build = names, build
        self._built: dict[str, T] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> T:
        if name not in self._names:
            raise KeyError(name)
        with self._lock:
            if name not in self._built:
                self._built[name] = self._build(name)
            return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


DATASETS: Mapping[str, Dataset] = _Builtins(
    DATASET_NAMES, lambda name: spec_file.from_data(tomllib.loads(_text(name)))
)
BUNDLES: Mapping[str, Bundle] = _Builtins(
    BUNDLE_NAMES,
    lambda name: spec_file.bundle_from_data(tomllib.loads(_text(name)), DATASETS.__getitem__),
)


def __getattr__(name: str) -> Dataset:
    """`datasets.PERSON` and the like: the built-in of that name, parsed when first used."""
    if name in _CONSTANTS:
        return DATASETS[_CONSTANTS[name]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_spec_path(name: str) -> bool:
    return name.endswith(".toml") or "/" in name


def check_draws(dataset: Dataset) -> Dataset:
    """Draw a spec's first rows once, when it is read — which draws their whole segment and
    fills every value pool — so that an unknown Faker provider or values that do not fit a
    column's type are one line now, not a failure later (inside a Spark task). The declarations
    stay plain data: this is the one place a spec is checked by drawing it."""
    from generator.engine import Engine

    Engine(dataset, 0).table(0, 3)
    return dataset


_LOADING: list[Path] = []  # the spec files being read, outermost first (a bundle's members)


def _load_spec(path: Path) -> Dataset | Bundle:
    here = path.resolve()
    if here in _LOADING:
        chain = " -> ".join(str(p) for p in [*_LOADING[_LOADING.index(here) :], here])
        raise UsageError(f"bundles name each other in a circle: {chain}")
    _LOADING.append(here)
    try:
        return _read_spec(path)
    finally:
        _LOADING.pop()


def _read_spec(path: Path) -> Dataset | Bundle:
    data = spec_file.read(path)
    if not spec_file.is_bundle(data):
        dataset = spec_file.load(path, data)
        try:
            check_draws(dataset)
        except UsageError as exc:
            raise UsageError(f"{path}: {exc}") from None
        return dataset

    def member(name: str) -> Dataset:
        if is_spec_path(name):
            found = _load_spec(path.parent / name)
            if isinstance(found, Bundle):
                raise UsageError(f"{path}: member {name} is a bundle, not a data set")
            return found
        return get_dataset(name)

    try:
        return spec_file.bundle_from_data(data, member)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None


def get(name: str) -> Dataset | Bundle:
    """A built-in data set or bundle by name, or the one a spec file (`*.toml`) declares."""
    if is_spec_path(name):
        return _load_spec(Path(name))
    if name in BUNDLE_NAMES:
        return BUNDLES[name]
    try:
        return DATASETS[name]
    except KeyError:
        raise UsageError(
            f"unknown data set {name!r} (one of: {', '.join([*DATASETS, *BUNDLES])}; or a spec "
            "file, *.toml)"
        ) from None


def get_dataset(name: str) -> Dataset:
    """A data set (not a bundle) by name or spec file, checked."""
    found = get(name)
    if isinstance(found, Bundle):
        raise UsageError(
            f"{name!r} is a bundle of {', '.join(m.name for m in found.members)}: name one of "
            "them here"
        )
    return found


def bundle_of(dataset: Dataset) -> Bundle | None:
    """The built-in bundle a built-in data set lands in, if any."""
    return next((b for b in BUNDLES.values() if dataset in b.members), None)


def standalone(dataset: Dataset | Bundle | str, where: str) -> Dataset:
    """A data set that can be drawn on its own: not a bundle, not one that takes keys from
    another data set, not a static table (`where` says what refuses them)."""
    found = resolve(dataset)
    if isinstance(found, Bundle):
        names = ", ".join(m.name for m in found.members)
        raise UsageError(f"{found.name} is a bundle of {names}: {where} serves one data set; "
                         "land a bundle with `generator files`")  # fmt: skip
    if found.references or found.static:
        bundle = bundle_of(found)
        named = f" ({bundle.name})" if bundle else ""
        raise UsageError(f"{found.name} is drawn with its bundle{named}: {where} serves data sets "
                         "of their own; land the bundle with `generator files`")  # fmt: skip
    return found


def resolve(dataset: Dataset | Bundle | str) -> Dataset | Bundle:
    """A declaration as it is, or the one a name or spec file stands for (configs take both)."""
    return dataset if isinstance(dataset, Dataset | Bundle) else get(dataset)
