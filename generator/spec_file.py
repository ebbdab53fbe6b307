"""Data sets written as TOML files: the built-in ones (shipped in generator/specs) and yours.

A spec file is the declaration of `spec.py` written down: top-level `name`, `description`,
`header`, `rows_per_file`; `[naming]`; `[[columns]]` each with `name`, `type` and a
`[columns.source]` whose `kind` names a kind of `sources.py`; optional `group_size`, `[[flags]]`,
`[[catalogs]]`. `load()` checks it all before anything runs and says in one line which file,
which column and what is wrong.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from generator.errors import UsageError
from generator.sources import KINDS
from generator.spec import (
    CHANGE_COLUMNS,
    Bundle,
    Catalog,
    Changes,
    Choice,
    Column,
    Dataset,
    Effect,
    Flag,
    Follows,
    Naming,
    Source,
    change_columns,
)

NUMBER_MOST = 1e15  # the largest number a spec's number fields take (finite, and room to add)
_TUPLES = {"weights", "edges", "hour_weights", "patterns", "skip_weekdays"}


class _Problem(Exception):
    pass


# --- reading ------------------------------------------------------------------------------------


def read(path: Path) -> dict[str, Any]:
    """A spec file's TOML, or one line saying why not."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"no spec file {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a spec file (*.toml)") from None
    except OSError as exc:
        raise UsageError(f"cannot read spec file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None


def load(path: Path, data: dict[str, Any] | None = None) -> Dataset:
    """The data set a spec file declares, checked: a UsageError names the file and the problem."""
    data = read(path) if data is None else data
    try:
        dataset = from_data(data)
    except _Problem as exc:
        raise UsageError(f"{path}: {exc}") from None
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    return dataset


def loads(text: str, where: str = "spec") -> Dataset:
    """The data set a spec file's text declares, checked."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{where}: not valid TOML: {exc}") from None
    try:
        return from_data(data)
    except _Problem as exc:
        raise UsageError(f"{where}: {exc}") from None


def from_data(data: dict[str, Any]) -> Dataset:
    if isinstance(data, dict) and "changes" in data and isinstance(data.get("columns"), list):
        # a change feed's rows start with op, seq and ts: put in unless written (a landed
        # folder's own declaration has them)
        written = [c.get("name") for c in data["columns"][:3] if isinstance(c, dict)]
        if written != list(CHANGE_COLUMNS):
            data = {**data, "columns": [to_data(c) for c in change_columns()] + data["columns"]}
    dataset: Dataset = _build(Dataset, data, "")
    return dataset


def is_bundle(data: dict[str, Any]) -> bool:
    return "members" in data


def bundle_from_data(data: dict[str, Any], member: Callable[[str], Dataset]) -> Bundle:
    """A bundle: `name`, `description`, `members` (data sets, each found by `member`), `speed`."""
    known = {"name", "description", "members", "speed"}
    extra = sorted(set(data) - known)
    if extra:
        raise UsageError(f"unknown key {extra[0]!r} (known: {', '.join(sorted(known))})")
    if not isinstance(data.get("members"), list) or not data["members"]:
        raise UsageError("members: expected a list of data set names or spec files")
    speed = data.get("speed")
    if speed is not None and not _fits(speed, float):
        raise UsageError(f"speed must be a number, not {speed!r}")
    return Bundle(
        name=str(data.get("name", "")),
        description=str(data.get("description", "")),
        members=tuple(member(str(m)) for m in data["members"]),
        speed=data.get("speed"),
    )


def _build(cls: type, data: Any, where: str) -> Any:
    label = where or "the file"
    if not isinstance(data, dict):
        raise _Problem(f"{label}: expected a table, not {data!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    tag = {"kind"} if issubclass(cls, Source) else set()  # a source's kind names its class
    extra = sorted(set(data) - known - tag)
    if extra:
        raise _Problem(f"{label}: unknown key {extra[0]!r} (known: {', '.join(sorted(known))})")
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in data]
    if missing:
        raise _Problem(f"{label}: missing {missing[0]!r}")
    kwargs = {k: _value(cls, k, v, where) for k, v in data.items() if k not in tag}
    hints = typing.get_type_hints(cls)
    for key, value in kwargs.items():
        if not _fits(value, hints[key]):
            raise _Problem(f"{label}: {key} must be {_said(hints[key])}, not {value!r}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise _Problem(f"{label}: {exc}") from None


def _fits(value: Any, hint: Any) -> bool:
    """Whether a value read from TOML is of a declared field's type (`int | None`,
    `tuple[float, ...]`, `Literal["row", "group"]`, ...): a string where a number belongs, a
    boolean where a count belongs, are refused when the file is read, not when it is drawn."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is object:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arm) for arm in args)
    if origin is typing.Literal:
        return value in args
    if origin is tuple:
        return isinstance(value, tuple) and all(_fits(v, args[0]) for v in value)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        return isinstance(value, Mapping)
    if hint is float:
        return (isinstance(value, int | float) and not isinstance(value, bool)
                and abs(value) <= NUMBER_MOST)  # fmt: skip
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63
    return isinstance(value, hint)


def _said(hint: Any) -> str:
    """A field's type in a reader's words."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_said(arm) for arm in args if arm is not type(None))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is tuple:
        return "a list of " + {int: "whole numbers", float: "numbers", str: "texts"}.get(
            args[0], "values"
        )
    words = {int: "a whole number (64 bits)", float: f"a number (at most {NUMBER_MOST:g})",
             bool: "true or false", str: "text", dt.date: "a date (1990-01-01, unquoted)",
             Source: "a source table"}  # fmt: skip
    return words.get(hint, "a table" if origin else getattr(hint, "__name__", str(hint)))


def _source(data: Any, where: str) -> Source:
    if not isinstance(data, dict) or "kind" not in data:
        raise _Problem(f"{where}: a source needs a kind (one of: {', '.join(KINDS)})")
    cls = KINDS.get(data["kind"])
    if cls is None:
        raise _Problem(f"{where}: unknown kind {data['kind']!r} (one of: {', '.join(KINDS)})")
    result: Source = _build(cls, data, where)
    return result


def _value(cls: type, key: str, value: Any, where: str) -> Any:
    here = f"{where}.{key}" if where else key
    if cls is Dataset and key == "columns":
        return tuple(
            _build(Column, c, f"column {c.get('name', i + 1)!r}" if isinstance(c, dict) else here)
            for i, c in enumerate(_list(value, here))
        )
    if cls is Dataset and key == "flags":
        return tuple(_build(Flag, f, f"flag {i + 1}") for i, f in enumerate(_list(value, here)))
    if cls is Dataset and key == "catalogs":
        return tuple(
            _build(Catalog, c, f"catalog {c.get('name', i + 1)!r}" if isinstance(c, dict) else here)
            for i, c in enumerate(_list(value, here))
        )
    if cls is Dataset and key == "naming":
        return _build(Naming, value, "naming")
    if cls is Dataset and key == "follows":
        return _build(Follows, value, "follows")
    if cls is Dataset and key == "changes":
        return _build(Changes, value, "changes")
    if cls is Dataset and key == "rows_per_file":
        return value if isinstance(value, int) else _source(value, here)
    if key in ("source", "group_size", "delay"):
        return _source(value, here)
    if cls is Column and key == "effects":
        return tuple(_build(Effect, e, f"{where} effect") for e in _list(value, here))
    if key in ("parts", "fields"):
        if not isinstance(value, dict):
            raise _Problem(f"{here}: expected a table of sources")
        return {k: _source(v, f"{where} {key[:-1]} {k!r}") for k, v in value.items()}
    if cls is Choice and key == "values":
        return tuple(_source(v, here) if isinstance(v, dict) else v for v in _list(value, here))
    if key in _TUPLES:
        return tuple(_list(value, here))
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Problem(f"{where}: expected a list, not {value!r}")
    return value


# --- writing ------------------------------------------------------------------------------------


def to_data(obj: Any) -> Any:
    """A declaration as plain TOML-ready data; fields left at their defaults are left out."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        if isinstance(obj, Source):
            out["kind"] = obj.kind
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            default = (
                f.default
                if f.default is not dataclasses.MISSING
                else f.default_factory()
                if f.default_factory is not dataclasses.MISSING
                else dataclasses.MISSING
            )
            if value == default and f.name not in ("header",):
                continue
            out[f.name] = to_data(value)
        return out
    if isinstance(obj, tuple | list):
        return [to_data(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: to_data(v) for k, v in obj.items()}
    return obj


def dumps(dataset: Dataset) -> str:
    lines: list[str] = []
    _write_table(lines, [], to_data(dataset), array=False)
    return "\n".join(lines).strip() + "\n"


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _write_table(lines: list[str], path: list[str], table: dict[str, Any], array: bool) -> None:
    if path:
        name = ".".join(_key(p) for p in path)
        lines += ["", f"[[{name}]]" if array else f"[{name}]"]
    nested = {k: v for k, v in table.items() if isinstance(v, dict) or _is_table_array(v)}
    for key, value in table.items():
        if key not in nested:
            lines.append(f"{_key(key)} = {_literal(value)}")
    for key, value in nested.items():
        if isinstance(value, dict):
            _write_table(lines, [*path, key], value, array=False)
        else:
            for item in value:
                _write_table(lines, [*path, key], item, array=True)


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        items = [_literal(v) for v in value]
        one_line = "[" + ", ".join(items) + "]"
        if len(one_line) <= 80:
            return one_line
        rows, row = [], ""
        for item in items:  # packed lines of at most about 90 characters
            if row and len(row) + len(item) > 88:
                rows.append(row)
                row = ""
            row += item + ", "
        return "[\n" + "".join(f"    {r.rstrip()}\n" for r in [*rows, row]) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_literal(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")
