"""`_manifest.jsonl`: what was landed in a folder — file, rows, bytes, CRC-32, seed — one JSON
line per file, in landing order. Spark's listing skips names starting with `_`.

The manifest is rewritten whole through `land()` after each file, so it is never half-written.
A file that landed just before a crash, without its line, gets one when the folder is next
opened (its seed then unknown), so every landed file can be verified.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from generator.errors import UsageError
from generator.landing import land
from generator.naming import index_of
from generator.spec import Naming

MANIFEST = "_manifest.jsonl"


@dataclass(frozen=True)
class Entry:
    file: str
    rows: int
    bytes: int
    crc32: int
    seed: int | None
    dataset: str
    header: bool

    def line(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":")) + "\n"


def crc32_of(chunks: list[bytes | memoryview]) -> int:
    crc = 0
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
    return crc


class Manifest:
    """The manifest of one folder: loaded once, extended and landed after each file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / MANIFEST
        self._data = bytearray()
        self.entries: list[Entry] = []
        if self.path.exists():
            self._data += self.path.read_bytes()
            for number, raw in enumerate(self._data.decode().splitlines(), 1):
                try:
                    self.entries.append(Entry(**json.loads(raw)))
                except (ValueError, TypeError):
                    raise UsageError(
                        f"manifest {self.path} is damaged at line {number}: move it away to start "
                        "a new one"
                    ) from None

    @property
    def files(self) -> set[str]:
        return {e.file for e in self.entries}

    def add(self, entry: Entry) -> None:
        self._data += entry.line().encode()
        self.entries.append(entry)
        land(self.folder, MANIFEST, [bytes(self._data)], replace=True)

    def reconcile(self, naming: Naming, dataset: str, header: bool) -> list[str]:
        """Add lines for landed files the manifest lacks (a crash between the two landings)."""
        known = self.files
        missing = sorted(
            p.name
            for p in self.folder.iterdir()
            if p.is_file() and not p.name.startswith((".", "_"))
            and index_of(naming, p.name) is not None and p.name not in known
        )  # fmt: skip
        for name in missing:
            data = (self.folder / name).read_bytes()
            rows = data.count(b"\n") - (1 if header else 0)
            self.add(Entry(name, rows, len(data), zlib.crc32(data), None, dataset, header))
        return missing


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
