"""Rows/s of `generator files` beside the naive loop, on the same `person` columns, in one run.

    python scripts/bench_generator.py [--rows-per-file N] [--files N] [--naive-rows N]

Prints: the naive loop (one Faker call per field per row, csv.writer into a file), this
generator's value engine alone (tables rendered to CSV bytes in memory), this generator landing
files (temp file, fsync, rename: what `generator files --interval 0` does), the ratio, and the
peak memory of whole `generator files` runs as the total row count grows.
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
    engine = Engine(PERSON, seed, rows_per_file=rows_per_file)
    engine.table(1)  # pools and first-call costs out of the timing, as in a long run
    start = time.perf_counter()
    size = 0
    for i in range(2, files + 2):
        size += csv_body(engine.table(i)).size
    seconds = time.perf_counter() - start
    return rows_per_file * files / seconds, size / (rows_per_file * files)


def landed(rows_per_file: int, files: int, folder: Path, seed: int) -> tuple[float, float]:
    """Files landed as `generator files --interval 0` lands them. Returns rows/s, MB/s."""
    summary = run(
        FilesConfig(
            folder,
            PERSON,
            seed=seed,
            rows_per_file=rows_per_file,
            interval=0,
            files=files,
            quiet=True,
        )
    )
    return summary.rows / summary.seconds, summary.bytes / summary.seconds / 1e6


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
        disk_rate, mb_s = landed(args.rows_per_file, args.files, root / "landed", seed)
        print(f"{'naive loop (Faker per field, csv.writer)':<46} {base:>12,.0f} rows/s")
        print(f"{'value engine, CSV rendered in memory':<46} {mem_rate:>12,.0f} rows/s"
              f"   {mem_rate / base:>6,.0f}x naive")  # fmt: skip
        print(
            f"{'generator files (landed, fsynced)':<46} {disk_rate:>12,.0f} rows/s"
            f"   {disk_rate / base:>6,.0f}x naive   {mb_s:,.0f} MB/s, {row_bytes:.1f} B/row"
        )
        print("peak memory of `generator files` as the total grows (same rows per file):")
        for files in (args.files // 2 or 1, args.files * 2):
            rss = peak_rss_mb(args.rows_per_file, files, root / f"rss-{files}")
            print(f"  {files:>4} files, {args.rows_per_file * files:>12,} rows: {rss:8.0f} MB")


if __name__ == "__main__":
    main()
