"""Rows/s of `generator files` beside the naive loop, on the same `person` columns, in one run.

    python scripts/bench_generator.py [--rows-per-file N] [--files N] [--naive-rows N]

Prints: the naive loop (one Faker call per field per row, csv.writer into a file), this
generator's value engine alone (rows drawn and rendered to CSV bytes in memory, one core), this
generator landing files (temp file, fsync, rename: what `generator files --interval 0` does) on
one core and on all cores, the disk's own fsynced write rate for the same files (pre-made bytes
landed the same way: the ceiling), the ratios, and the peak memory of whole `generator files`
runs as the total row count grows.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator import PERSON  # noqa: E402
from generator.engine import Engine  # noqa: E402
from generator.files import FilesConfig, run  # noqa: E402
from generator.formats import csv_body  # noqa: E402
from generator.landing import land  # noqa: E402


def naive(rows: int, path: Path, seed: int) -> float:
    """The baseline: one Faker call per field per row, csv.writer. Returns rows/s."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    start = time.perf_counter()
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        for _ in range(rows):
            writer.writerow(
                [fake.first_name(), fake.first_name(), fake.last_name(),
                 fake.random_int(0, 100), fake.ssn()]
            )  # fmt: skip
        out.flush()
        os.fsync(out.fileno())
    return rows / (time.perf_counter() - start)


def engine_only(rows_per_file: int, files: int, seed: int) -> tuple[float, float]:
    """Tables drawn and rendered to CSV bytes, nothing written. Returns rows/s, bytes/row."""
    engine = Engine(PERSON, seed)
    engine.table(0, 10)  # pools and first-call costs out of the timing, as in a long run
    start = time.perf_counter()
    size = 0
    for i in range(files):
        pieces = engine.pieces(i * rows_per_file, (i + 1) * rows_per_file)
        size += sum(csv_body(p).size for p in pieces)
    seconds = time.perf_counter() - start
    return rows_per_file * files / seconds, size / (rows_per_file * files)


def landed(
    rows_per_file: int, files: int, folder: Path, seed: int, workers: int | None
) -> tuple[float, float, int]:
    """Files landed as `generator files --interval 0` lands them, drawn by `workers` threads
    (None: one per core). Returns rows/s, MB/s, bytes landed."""
    summary = run(
        FilesConfig(
            folder,
            PERSON,
            seed=seed,
            rows_per_file=rows_per_file,
            interval=0,
            files=files,
            quiet=True,
            workers=workers,
        )
    )
    return summary.rows / summary.seconds, summary.bytes / summary.seconds / 1e6, summary.bytes


def disk(bytes_per_file: int, files: int, folder: Path) -> float:
    """The disk's fsynced write rate: the same number of files of the same size, pre-made,
    landed the same way (temp file, fsync, rename). Returns MB/s."""
    folder.mkdir()
    data = os.urandom(1 << 20) * (bytes_per_file >> 20) + os.urandom(bytes_per_file % (1 << 20))
    start = time.perf_counter()
    mtime = 0
    for i in range(files):
        mtime = land(folder, f"part-{i:06d}.csv", [data], after_ns=mtime)
    return bytes_per_file * files / (time.perf_counter() - start) / 1e6


def peak_rss_mb(rows_per_file: int, files: int, folder: Path) -> float:
    """Peak resident memory of a whole `python -m generator files` process, in MB."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "files", str(folder), "--rows-per-file",
         str(rows_per_file), "--files", str(files), "--interval", "0", "--seed", "1", "--quiet"],
        cwd=REPO,
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"generator exited {proc.returncode}")
    return usage.ru_maxrss / 1024  # KB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows-per-file", type=int, default=500_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--naive-rows", type=int, default=20_000)
    args = parser.parse_args()
    seed = 42
    with tempfile.TemporaryDirectory(prefix="bench-generator-") as tmp:
        root = Path(tmp)
        total = args.rows_per_file * args.files
        print(f"person rows: naive {args.naive_rows:,}; generator {args.files} files x "
              f"{args.rows_per_file:,} = {total:,}")  # fmt: skip
        base = naive(args.naive_rows, root / "naive.csv", seed)
        mem_rate, row_bytes = engine_only(args.rows_per_file, args.files, seed)
        one, one_mb, _ = landed(args.rows_per_file, args.files, root / "one", seed, 1)
        cores = os.cpu_count() or 1
        every, every_mb, size = landed(args.rows_per_file, args.files, root / "all", seed, None)
        ceiling = disk(size // args.files, args.files, root / "disk")
        print(f"{'naive loop (Faker per field, csv.writer)':<50} {base:>12,.0f} rows/s")
        print(f"{'value engine, CSV rendered in memory, 1 core':<50} {mem_rate:>12,.0f} rows/s"
              f"   {mem_rate / base:>6,.0f}x naive   {row_bytes:.1f} B/row")  # fmt: skip
        for label, rows_s, mb_s in (
            ("generator files, landed, 1 core", one, one_mb),
            (f"generator files, landed, {cores} cores", every, every_mb),
        ):
            print(f"{label:<50} {rows_s:>12,.0f} rows/s   {rows_s / base:>6,.0f}x naive   "
                  f"{mb_s:,.0f} MB/s = {mb_s / ceiling:.0%} of the disk")  # fmt: skip
        print(f"{'the disk: same files pre-made, landed (fsynced)':<50} {'':>12}"
              f"{'':>30}{ceiling:,.0f} MB/s")  # fmt: skip
        print("peak memory of `generator files` as the total grows (same rows per file):")
        for files in (args.files // 2 or 1, args.files * 2):
            rss = peak_rss_mb(args.rows_per_file, files, root / f"rss-{files}")
            print(f"  {files:>4} files, {args.rows_per_file * files:>12,} rows: {rss:8.0f} MB")


if __name__ == "__main__":
    main()
