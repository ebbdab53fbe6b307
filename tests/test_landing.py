from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from generator.errors import UsageError
from generator.landing import land, prepare_folder, remove_stale_temps


def test_land_writes_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    mtime = land(tmp_path, "a.csv", [b"x,1\n", memoryview(b"y,2\n")])
    assert (tmp_path / "a.csv").read_bytes() == b"x,1\ny,2\n"
    assert os.listdir(tmp_path) == ["a.csv"]
    assert (tmp_path / "a.csv").stat().st_mtime_ns == mtime


def test_modification_times_strictly_increase_by_at_least_a_millisecond(tmp_path: Path) -> None:
    mtime = 0
    times = []
    for i in range(50):
        mtime = land(tmp_path, f"f{i:03d}.csv", [b"x\n"], after_ns=mtime)
        times.append(mtime // 1_000_000)  # Spark sees milliseconds
    assert times == sorted(set(times))


def test_a_failure_mid_write_removes_the_temp_file(tmp_path: Path) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b"half a file"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        land(tmp_path, "a.csv", chunks())
    assert os.listdir(tmp_path) == []


def test_land_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b"keep me\n")
    with pytest.raises(FileExistsError):
        land(tmp_path, "a.csv", [b"new\n"])
    assert (tmp_path / "a.csv").read_bytes() == b"keep me\n"
    assert os.listdir(tmp_path) == ["a.csv"]


def test_stale_temps_are_removed_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / ".part-000003.csv.tmp").write_bytes(b"partial")
    (tmp_path / "part-000002.csv").write_bytes(b"whole\n")
    (tmp_path / ".keep").write_bytes(b"not ours")
    assert remove_stale_temps(tmp_path) == [".part-000003.csv.tmp"]
    assert sorted(os.listdir(tmp_path)) == [".keep", "part-000002.csv"]


def test_prepare_folder(tmp_path: Path) -> None:
    prepare_folder(tmp_path / "new" / "deeper")
    assert (tmp_path / "new" / "deeper").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        prepare_folder(tmp_path / "file")


def test_a_watcher_never_sees_a_partial_file(tmp_path: Path) -> None:
    """List and read the folder while large files land: every visible file is complete."""
    line = b"0123456789," * 9 + b"\n"
    lines_per_file, files = 40_000, 12  # 4 MB each: many listings land mid-write
    stop = threading.Event()
    seen: dict[str, int] = {}
    problems: list[str] = []

    def watch() -> None:
        while not stop.is_set():
            for name in os.listdir(tmp_path):
                if name.startswith("."):
                    continue
                data = (tmp_path / name).read_bytes()
                if len(data) != len(line) * lines_per_file or not data.endswith(b"\n"):
                    problems.append(f"{name}: {len(data)} bytes")
                if seen.setdefault(name, len(data)) != len(data):
                    problems.append(f"{name} changed after it appeared")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        mtime = 0
        for i in range(files):
            mtime = land(tmp_path, f"part-{i:06d}.csv", [line * lines_per_file], after_ns=mtime)
    finally:
        stop.set()
        watcher.join()
    assert problems == []
    assert len(seen) >= files // 2  # the watcher really was looking while files landed
