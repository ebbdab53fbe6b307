"""What does starting `generator files` cost when the folder already holds a long run? For each
data set named, lands --before files once (the generator itself, manifest and answer keys and
all), then times whole processes — `python -m generator files DIR --files 1 --interval 0` —
into an empty folder and into that full one, in turn, and prints the medians and their ratio.

    python scripts/bench_restart.py [--before 20000] [--repeat 5] [--dataset person sensor]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def generator(folder: Path, dataset: str, files: int) -> float:
    """Seconds for one whole `python -m generator files` process landing `files` files."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "generator", "files", str(folder), "--dataset", dataset,
                    "--files", str(files), "--interval", "0", "--quiet"],
                   cwd=REPO, check=True)  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=int, default=20_000, help="files already landed")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dataset", nargs="+", default=["person", "sensor"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.dataset:
            full = Path(tmp) / f"{dataset}-full"
            made = generator(full, dataset, args.before)
            count = sum(1 for p in full.rglob("*")  # a bundle's files are in its subfolders
                        if p.is_file() and not p.name.startswith((".", "_")))  # fmt: skip
            empty_times, full_times = [], []
            for k in range(args.repeat):
                empty = Path(tmp) / f"{dataset}-empty-{k}"
                empty_times.append(generator(empty, dataset, 1))
                full_times.append(generator(full, dataset, 1))  # goes on: one more file
                shutil.rmtree(empty)
            a, b = statistics.median(empty_times), statistics.median(full_times)
            print(f"{dataset}: start and land one file, median of {args.repeat}: empty folder "
                  f"{a:.2f} s; folder of {count:,} files (landed in {made:.0f} s) {b:.2f} s; "
                  f"ratio {b / a:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
