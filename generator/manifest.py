"""`_manifest.jsonl`: what was landed in a folder — file, first row, rows, bytes, CRC-32, seed —
one JSON line per file, in landing order (Spark's listing skips names starting with `_`); and the
reader of landed files.

Lines are appended, never rewritten, so landing costs the same however many files the folder
holds. A crash can tear only the last line: it is cut off when the folder is next opened, and a
file that landed without its line (a crash between the two) gets one then (its seed unknown), so
every landed file can be verified.
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import UsageError
from generator.naming import index_of
from generator.spec import Dataset, Naming
from generator.types import arrow_schema

if TYPE_CHECKING:
    import pyarrow as pa

MANIFEST = "_manifest.jsonl"
DECLARATION = "_dataset.toml"  # the declaration the folder's files were drawn from


@dataclass(slots=True)  # not frozen: a start makes tens of thousands, and frozen doubles that
class Entry:
    file: str
    rows: int
    bytes: int
    crc32: int
    seed: int | None
    dataset: str
    header: bool
    start: int | None = None  # the file's first row in the seed's sequence (None: unknown)
    copies: int = 0  # rows among `rows` that repeat earlier rows (--duplicates)
    format: str | None = None  # a format its name does not say (debezium); None: by its name

    def __post_init__(self) -> None:
        # a line read back must be what this class writes: a wrong type is a damaged line
        # (written out, not looped: a start reads tens of thousands of these)
        rows, size, crc, copies, seed, start = (self.rows, self.bytes, self.crc32, self.copies,
                                                self.seed, self.start)  # fmt: skip
        if not (
            type(rows) is int and rows >= 0 and type(size) is int and size >= 0
            and type(crc) is int and crc >= 0 and type(copies) is int and copies >= 0
            and type(self.file) is str and type(self.dataset) is str
            and type(self.header) is bool
            and (seed is None or (type(seed) is int and seed >= 0))
            and (start is None or (type(start) is int and start >= 0))
            and (self.format is None or type(self.format) is str)
        ):  # fmt: skip
            raise TypeError(f"not a manifest entry: {self}")

    def line(self) -> str:
        fields = asdict(self)
        if not self.copies:
            del fields["copies"]
        if self.format is None:
            del fields["format"]
        return json.dumps(fields, separators=(",", ":")) + "\n"


def crc32_of(chunks: list[bytes | memoryview]) -> int:
    crc = 0
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
    return crc


class Manifest:
    """The manifest of one folder, appended to after each landed file. Opening it reads only its
    end (a start into a folder of 100,000 files costs what one into an empty folder costs);
    `entries` reads the whole of it, once, for a reader that needs every line."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / MANIFEST
        self._entries: list[Entry] | None = None
        if self.path.is_symlink():
            raise UsageError(f"{self.path} is a symbolic link: a folder's manifest must be its "
                             "own file (remove the link)")  # fmt: skip
        self.size = self.path.stat().st_size if self.path.exists() else 0
        self.last: Entry | None = None  # the newest line
        if self.size:
            self._cut_torn_end()

    def _cut_torn_end(self) -> None:
        """Only the last line can be torn by a crash, or left unreadable: cut it off (its file
        gets a line again from `reconcile`). Lines before it are read by whoever needs them."""
        with self.path.open("rb") as f:
            f.seek(max(0, self.size - _LAST_LINE))
            tail = f.read()
        lines = tail.split(b"\n")
        torn = lines.pop()  # b"" when the file ends with a line end
        if self.size > _LAST_LINE:
            lines = lines[1:]  # the first piece may be the end of a line
        if not torn and lines:
            with contextlib.suppress(ValueError, TypeError):
                self.last = Entry(**json.loads(lines[-1]))
                return
            torn = lines.pop() + b"\n"  # a whole line, unreadable: the one line that may go
        self.size -= len(torn)
        if not lines and self.size:  # no line end in the last 64 KiB
            raise UsageError(f"manifest {self.path} is damaged at its end: move it away to "
                             "start a new one")  # fmt: skip
        if lines:
            try:
                self.last = Entry(**json.loads(lines[-1]))
            except (ValueError, TypeError):
                raise UsageError(f"manifest {self.path} is damaged near its end: move it away "
                                 "to start a new one") from None  # fmt: skip
        os.truncate(self.path, self.size)

    @property
    def entries(self) -> list[Entry]:
        """Every line, read once (a damaged line before the last is one line of error)."""
        if self._entries is None:
            self._entries = self.read_from(0)
        return self._entries

    def read_from(self, offset: int) -> list[Entry]:
        """The lines from byte `offset` (the end of a line) on."""
        if offset >= self.size:
            return []
        with self.path.open("rb") as f:
            f.seek(offset)
            data = f.read(self.size - offset)
        if not data:
            return []
        try:  # the usual case, in one parse
            rows = json.loads(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]")
            return [Entry(**row) for row in rows]
        except (ValueError, TypeError):
            pass
        entries = []
        for number, raw in enumerate(data.split(b"\n")[:-1], 1):
            try:
                entries.append(Entry(**json.loads(raw)))
            except (ValueError, TypeError):
                where = f"at line {number}" if not offset else f"{number} lines after byte {offset}"
                raise UsageError(f"manifest {self.path} is damaged {where}: move it away to "
                                 "start a new one") from None  # fmt: skip
        return entries

    @property
    def files(self) -> set[str]:
        return {e.file for e in self.entries}

    def newest(self, having: str) -> tuple[Entry | None, list[Entry]]:
        """The newest line whose field `having` is set (not None), and the lines after it,
        read back from the end (a file that landed without its line gets one with neither
        seed nor first row: these come last)."""
        after: list[Entry] = []
        if self.last is None:
            return None, after
        if getattr(self.last, having) is not None:
            return self.last, after
        for entry in reversed(self.entries):
            if getattr(entry, having) is not None:
                return entry, after[::-1]
            after.append(entry)
        return None, after[::-1]

    @property
    def next_row(self) -> int | None:
        """The row after the last one landed, when the manifest knows where rows started."""
        entry, _ = self.newest("start")
        if entry is None:
            return None
        assert entry.start is not None
        return entry.start + entry.rows - entry.copies

    def mark(self, size: int) -> list[int]:
        """Where the manifest was read up to (`size`), and a checksum of the bytes before it:
        what `read_after` checks the manifest still holds."""
        return [size, _tail_crc(self.path, size)]

    def read_after(self, mark: list[int]) -> list[Entry] | None:
        """The lines added since `mark`, or None when the manifest no longer holds the bytes
        of the mark (shortened, or written anew since)."""
        size, crc = int(mark[0]), int(mark[1])
        if not 0 <= size <= self.size or _tail_crc(self.path, size) != crc:
            return None
        return self.read_from(size)

    def add(self, entry: Entry) -> None:
        # no fsync: the file it describes is fsynced, and a line lost or torn in a crash is
        # cut off or written again (from the file) when the folder is next opened
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
        try:
            before = os.fstat(fd).st_size
            view = memoryview(entry.line().encode())
            size = len(view)
            try:
                while view:  # os.write may write less than asked (a disk filling up)
                    view = view[os.write(fd, view) :]
            except OSError:
                os.ftruncate(fd, before)  # no torn line: the file is re-added at next start
                raise
        finally:
            os.close(fd)
        self.size = before + size
        self.last = entry
        if self._entries is not None:
            self._entries.append(entry)

    def reconcile(self, naming: Naming, dataset: str, header: bool,
                  names: list[str] | None = None) -> list[str]:  # fmt: skip
        """Add lines for landed files the manifest lacks (a crash between the two landings):
        files land in number order, so these are the ones after its last line (among `names`,
        the folder's listing, when the caller has it)."""
        last = self.last.file if self.last is not None else ""
        after, size = index_of(naming, last) or 0, len(last)
        # names sort as their numbers do (zero-padded, or dates): a name is compared first, its
        # number worked out only for the few after the last (no stat: this runs on 10,000s)
        later = [n for n in (os.listdir(self.folder) if names is None else names)
                 if (len(n) > size or (len(n) == size and n > last))
                 and n[:1] not in "._"]  # fmt: skip
        missing = sorted(n for n in later if (index_of(naming, n) or 0) > after
                         and (self.folder / n).is_file())  # fmt: skip
        for name in missing:
            data = (self.folder / name).read_bytes()
            rows = data.count(b"\n") - (1 if header else 0)
            self.add(Entry(name, rows, len(data), zlib.crc32(data), None, dataset, header))
        return missing


_LAST_LINE = 65_536  # bytes read back from a manifest's end: far more than a line takes
_MARK = 4096  # bytes before a mark whose checksum the manifest must still have


def _tail_crc(path: Path, size: int) -> int:
    """CRC-32 of the up to 4 KiB that end at byte `size` of the file."""
    if size == 0:
        return 0
    with path.open("rb") as f:
        f.seek(max(0, size - _MARK))
        return zlib.crc32(f.read(min(size, _MARK)))


def last_seed(folder: Path) -> int | None:
    """The seed of the newest manifest line that has one, read from the file's end (a start
    reads the whole manifest once, later; this is the config's look before it)."""
    seed = _newest(folder, lambda line: line.get("seed") if type(line.get("seed")) is int else None)
    return seed if isinstance(seed, int) else None


def landed_format(folder: Path) -> str | None:
    """The format of the newest file a folder's manifest lists (None: no manifest, no files)."""
    found = _newest(folder, lambda line: format_of(line["file"], line.get("format"))
                    if type(line.get("file")) is str else None)  # fmt: skip
    return found if isinstance(found, str) else None


def _newest(folder: Path, pick: Callable[[dict[str, Any]], object]) -> object:
    """What `pick` finds in the newest manifest line it finds anything in, read from the end."""
    path = folder / MANIFEST
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            tail = 65_536
            while True:
                f.seek(max(0, size - tail))
                lines = f.read().split(b"\n")[1 if size > tail else 0 :]
                for raw in reversed(lines):
                    with contextlib.suppress(ValueError, AttributeError, TypeError):
                        found = pick(json.loads(raw))
                        if found is not None:
                            return found
                if tail >= size:
                    return None
                tail *= 4
    except (FileNotFoundError, NotADirectoryError):
        return None


def declared(folder: Path) -> Dataset | None:
    """The data set a folder's files were landed from (its `_dataset.toml`, written by the
    generator when it lands there), or None for a folder without one."""
    from generator import spec_file

    path = folder / DECLARATION
    if not path.is_file():
        return None
    return spec_file.loads(path.read_text(), str(path))


def declare(folder: Path, dataset: Dataset) -> None:
    """Write the declaration of `dataset` beside its files, so every reader of the folder
    knows what it holds (a spec file's data set as much as a built-in)."""
    from generator import spec_file
    from generator.landing import land

    text = spec_file.dumps(dataset)
    path = folder / DECLARATION
    if path.is_file() and not path.is_symlink() and path.read_text() == text:
        return
    land(folder, DECLARATION, [text.encode()], replace=True)


def held_to(folder: Path, named: Dataset | None, then: str) -> Dataset | None:
    """The data set for `folder`: the folder's own when none is named; a named one that
    disagrees with the folder's is one line, ending with what to do (`then`)."""
    own = declared(folder) if folder.is_dir() else None
    if own is None or named is None or named == own:
        return own if named is None else named
    if own.name == named.name:  # a spec file named like a built-in, told apart
        raise UsageError(f"{folder} holds a data set named {own.name!r} declared in its "
                         f"{DECLARATION}, not the one given of that name: {then}")  # fmt: skip
    raise UsageError(
        f"{folder} holds data set {own.name!r} (its {DECLARATION}), not {named.name!r}: {then}"
    )


def read_manifests(folders: list[Path]) -> list[tuple[Path, Entry]]:
    """Every entry of the manifests in `folders` (or of their subdir* folders)."""
    found: list[tuple[Path, Entry]] = []
    for folder in folders:
        candidates = [folder] if (folder / MANIFEST).exists() else sorted(folder.glob("subdir*"))
        for candidate in candidates:
            if not (candidate / MANIFEST).exists():
                continue
            found.extend((candidate, e) for e in Manifest(candidate).entries)
    if not found:
        names = ", ".join(str(f) for f in folders)
        raise UsageError(f"no {MANIFEST} in {names} (nor in subdir* folders)")
    return found


def format_of(name: str, recorded: str | None = None) -> str:
    """A landed file's format: as its manifest line records it, else as its name says."""
    if recorded is not None:
        return recorded
    return "json" if name.endswith((".json", ".jsonl")) else "csv"


def read_landed(source: Path | pa.Buffer, dataset: Dataset, header: bool,
                fmt: str | None = None) -> pa.Table:  # fmt: skip
    """A landed file (a path, or its bytes) read back with the data set's types."""
    import pyarrow.csv as pacsv

    if fmt is None:
        fmt = format_of(str(source)) if isinstance(source, Path) else "csv"
    schema = arrow_schema(dataset)
    empty = source.stat().st_size == 0 if isinstance(source, Path) else source.size == 0
    if empty:  # a tick with no rows for this file (a bundle's clicks, say): Arrow refuses it
        return schema.empty_table()
    if fmt in ("json", "debezium"):
        import pyarrow.json as pajson

        from generator.formats import debezium_schema, from_debezium

        if fmt == "debezium":
            options = pajson.ParseOptions(explicit_schema=debezium_schema(schema))
            return from_debezium(pajson.read_json(source, parse_options=options), schema)
        return pajson.read_json(source, parse_options=pajson.ParseOptions(explicit_schema=schema))
    return pacsv.read_csv(
        source,
        read_options=pacsv.ReadOptions(column_names=None if header else dataset.column_names),
        convert_options=pacsv.ConvertOptions(column_types=schema),
    )
