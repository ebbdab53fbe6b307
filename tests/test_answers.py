"""The answer keys as a package: one watermark rule, and keys saved as they grow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generator.answers import (
    DedupKey,
    JoinKey,
    Lateness,
    SessionsKey,
    Watermark,
    WindowsKey,
    load_key,
    load_truth,
)

T0 = 1_700_000_000


def test_one_lateness_rule_for_events_windows_and_sessions() -> None:
    times = np.array([100, 119, 120, 130])
    assert Lateness("event").late(times, 119).tolist() == [True, True, False, False]
    # a window is late when its end is at or before the watermark: [60, 120) ends at 120
    assert Lateness("window", 60).late(times, 120).tolist() == [True, True, False, False]
    assert Lateness("session", 10).late(times, 129).tolist() == [True, True, False, False]


def test_the_watermark_waits_for_every_input_and_takes_the_smallest() -> None:
    wm = Watermark((10, 60))
    wm.saw(0, np.array([1000]))
    wm.advance()
    assert (wm.previous, wm.now) == (0, 0)  # the other input has seen nothing yet
    wm.saw(1, np.array([1000]))
    wm.advance()
    assert (wm.previous, wm.now) == (0, 940)
    wm.saw(0, np.array([500]))  # older rows never move it back
    wm.advance()
    assert (wm.previous, wm.now) == (940, 940)


def feed(key: object, k: int) -> None:
    rng = np.random.default_rng(k)
    times = T0 + k * 10 - rng.integers(0, 30, 10)
    ids = [f"e{k * 10 + i}" for i in range(10)]
    if isinstance(key, WindowsKey):
        key.add_batch(times)
    elif isinstance(key, JoinKey):
        clicked = [f"e{max(0, k - 2) * 10 + i}" for i in range(10)]
        key.add_batch(ids, T0 + k * 600 - rng.integers(0, 60, 10), clicked,
                      T0 + k * 600 - rng.integers(0, 60, 10))  # fmt: skip
    elif isinstance(key, SessionsKey):
        key.add_batch([f"u{u}" for u in rng.integers(0, 20, 10)], times)
    else:
        assert isinstance(key, DedupKey)
        key.add_batch(ids, times)


@pytest.mark.parametrize("make", [lambda: WindowsKey(60, 10), JoinKey, SessionsKey, DedupKey],
                         ids=["windows", "join", "sessions", "dedup"])  # fmt: skip
def test_a_save_writes_what_changed_not_the_whole_key(make: object, tmp_path: Path) -> None:
    """The cost of a tick does not grow with the run: what a save writes at tick 1,000 is what
    it writes at tick 10 (the time itself: scripts/bench_keys.py)."""
    key = make()  # type: ignore[operator]
    path = tmp_path / key.file_name if hasattr(key, "file_name") else tmp_path / "_truth.jsonl"
    written = {}
    for k in range(1, 1001):
        before = path.stat().st_size if path.exists() else 0
        feed(key, k)
        key.save(tmp_path)
        written[k] = path.stat().st_size - before
    early = sum(written[k] for k in range(10, 20))
    late = sum(written[k] for k in range(990, 1000))
    assert late < 1.5 * early, (early, late)
    # and the file read back is the key whole
    lines = load_truth(path) if isinstance(key, WindowsKey) else load_key(path)
    assert lines == key.lines()


def test_a_torn_last_line_is_left_out(tmp_path: Path) -> None:
    key = DedupKey()
    for k in range(1, 4):
        feed(key, k)
        key.save(tmp_path)
    path = tmp_path / DedupKey.file_name
    whole = load_key(path)
    with path.open("a") as f:
        f.write('{"id": "e99", "ti')  # a run killed in the middle of a save
    assert load_key(path) == whole


# A run that goes on takes up the keys' saved state (`_keys_state.json`) and reads only the
# files landed after it; whatever it finds, its keys are an unbroken run's.

ACTIVITY = ["--dataset", "activity", "--rows-per-file", "50", "--interval", "0", "--seed", "4",
            "--start", "2024-01-01T00:00:00", "--duplicates", "0.2", "--late-fraction", "0.1",
            "--max-lateness", "120", "--quiet"]  # fmt: skip
KEYS = ("_truth.jsonl", "_truth_sessions.jsonl", "_truth_dedup.jsonl")


def land(folder: Path, files: int) -> None:
    from generator.cli import main

    assert main(["files", str(folder), "--files", str(files), *ACTIVITY]) == 0


def same_keys(once: Path, other: Path) -> None:
    assert load_truth(once / KEYS[0]) == load_truth(other / KEYS[0])
    for name in KEYS[1:]:
        assert load_key(once / name) == load_key(other / name), name


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("unbroken")
    land(folder, 15)
    return folder


def test_a_restart_takes_up_the_saved_state_and_needs_no_earlier_file(
    unbroken: Path, tmp_path: Path
) -> None:
    """The first five files archived away (as Spark's cleanSource does) before the run goes on:
    a run that had to read them again would have nothing to read."""
    land(tmp_path, 5)
    archive = tmp_path.parent / f"{tmp_path.name}-archive"
    archive.mkdir()
    for path in tmp_path.glob("part-*.csv"):
        path.rename(archive / path.name)
    land(tmp_path, 10)
    same_keys(unbroken, tmp_path)


def test_a_state_older_than_the_key_files_is_caught_up_from_the_files_after_it(
    unbroken: Path, tmp_path: Path
) -> None:
    """A run killed after it appended to the keys and before it saved their state again: the
    next start cuts what the keys' files hold after the state and reads the files since."""
    land(tmp_path, 5)
    old = (tmp_path / "_keys_state.json").read_bytes()
    land(tmp_path, 5)
    (tmp_path / "_keys_state.json").write_bytes(old)
    land(tmp_path, 5)
    same_keys(unbroken, tmp_path)


@pytest.mark.parametrize("spoil", ["garbage", "key file shortened", "key file rewritten",
                                   "manifest other", "no state"])  # fmt: skip
def test_a_state_that_does_not_fit_the_folder_is_set_aside_and_every_file_read(
    unbroken: Path, tmp_path: Path, spoil: str
) -> None:
    import json

    land(tmp_path, 5)
    state = tmp_path / "_keys_state.json"
    if spoil == "garbage":
        state.write_bytes(b'{"version": 1, "seed": 4, "members"')
    elif spoil == "key file shortened":
        truth = tmp_path / KEYS[1]
        truth.write_bytes(truth.read_bytes()[:-10])
    elif spoil == "key file rewritten":  # same length, other bytes
        truth = tmp_path / KEYS[2]
        data = bytearray(truth.read_bytes())
        data[-5] ^= 1
        truth.write_bytes(bytes(data))
    elif spoil == "manifest other":
        saved = json.loads(state.read_text())
        saved["taken"][0][1] += 1  # the manifest does not hold that
        state.write_text(json.dumps(saved))
    else:
        state.unlink()
    land(tmp_path, 10)
    same_keys(unbroken, tmp_path)


def test_files_the_keys_need_that_are_gone_are_skipped_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run killed before it saved the keys' state again, and the files after that state moved
    away (Spark's cleanSource) before the next start: the keys cannot take them, and say so."""
    land(tmp_path, 3)
    old = (tmp_path / "_keys_state.json").read_bytes()
    land(tmp_path, 2)
    (tmp_path / "_keys_state.json").write_bytes(old)
    (tmp_path / "part-000004.csv").unlink()
    capsys.readouterr()
    land(tmp_path, 1)
    err = capsys.readouterr().err
    assert err == ("generator: part-000004.csv is no longer in the folder (moved by Spark's "
                   "cleanSource?): the answer keys go on without it and the 1 landed after it, "
                   "and say less than the folder held\n")  # fmt: skip


def test_an_interrupt_waits_for_the_block_that_must_not_stop_half_way() -> None:
    import os
    import signal

    from generator.signals import interrupts_deferred

    done = []
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        done.append("the rest of the block ran")
    assert done == ["the rest of the block ran"]
    # a signal the process ignores stays ignored
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
