"""Does an answer key's tick cost the same at hour one and hour twenty? Feeds each key the same
kind of micro-batch (rows_per_file rows of one file, event times moving on as the clock does),
saving after every tick, and prints the time of a tick and its save near tick 10 and near tick
N (the median over a few ticks around each), and their ratio; beside it the old way of saving a
key, the whole file written again, at the same ticks.

    python scripts/bench_keys.py [--ticks N] [--rows-per-file N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator.answers import DedupKey, JoinKey, SessionsKey, WindowsKey  # noqa: E402
from generator.landing import land  # noqa: E402

T0 = 1_700_000_000


Feeder = tuple[Callable[[], object], Callable[[object, int], None]]


def feeders(rows: int, rng: np.random.Generator) -> dict[str, Feeder]:
    """Per key: how to make one and how to feed it tick k."""

    def times(k: int, spread: int) -> np.ndarray:
        return T0 + k * rows - rng.integers(0, spread, rows)

    def ids(k: int, prefix: str) -> list[str]:
        return [f"{prefix}{k * rows + i}" for i in range(rows)]

    def windows(key: object, k: int) -> None:
        assert isinstance(key, WindowsKey)
        key.add_batch(times(k, 30))

    def join(key: object, k: int) -> None:
        assert isinstance(key, JoinKey)
        left = ids(k, "ad")
        right = [f"ad{max(0, k - 3) * rows + i}" for i in range(rows)]
        key.add_batch(left, T0 + k * 600 - rng.integers(0, 60, rows), right,
                      T0 + k * 600 - rng.integers(0, 60, rows))  # fmt: skip

    def sessions(key: object, k: int) -> None:
        assert isinstance(key, SessionsKey)
        key.add_batch([f"u{u}" for u in rng.integers(0, 20, rows)], times(k, 5))

    def dedup(key: object, k: int) -> None:
        assert isinstance(key, DedupKey)
        key.add_batch(ids(k, "e"), times(k, 5))

    return {
        "windows (_truth.jsonl)": (lambda: WindowsKey(60, 10), windows),
        "join (_truth_join.jsonl)": (JoinKey, join),
        "sessions (_truth_sessions.jsonl)": (SessionsKey, sessions),
        "dedup (_truth_dedup.jsonl)": (DedupKey, dedup),
    }


def whole(key: object, folder: Path) -> None:
    """The old way: the key's every line, written again in one file."""
    text = "".join(json.dumps(line) + "\n" for line in key.lines())  # type: ignore[attr-defined]
    land(folder, "whole.jsonl", [text.encode()], replace=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1000)
    parser.add_argument("--rows-per-file", type=int, default=10)
    args = parser.parse_args()
    early, late = range(8, 13), range(args.ticks - 4, args.ticks + 1)
    print(f"ms per tick and save, {args.rows_per_file} rows a tick: near tick 10, near tick "
          f"{args.ticks}, ratio")  # fmt: skip
    for name, (make, feed) in feeders(args.rows_per_file, np.random.default_rng(1)).items():
        for how in ("appended", "written whole"):
            key = make()
            spent: dict[int, float] = {}
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                for k in range(1, args.ticks + 1):
                    start = time.perf_counter()
                    feed(key, k)
                    if how == "appended":
                        key.save(folder)  # type: ignore[attr-defined]
                    else:
                        whole(key, folder)
                    spent[k] = (time.perf_counter() - start) * 1000
            first = statistics.median(spent[k] for k in early)
            last = statistics.median(spent[k] for k in late)
            print(f"  {name:<34} {how:<14} {first:8.3f} {last:8.3f}  {last / first:6.2f}x")


if __name__ == "__main__":
    main()
