"""Does landing cost the same whatever the folder holds? Lands 1,000 files into an empty folder
and 1,000 more into a folder that already holds 10,000 (landed by the generator, manifest and
all), in one run, and prints both times (the median of --repeat tries, taken in turn) and their
ratio. fsync times vary from one moment to the next: the median steadies them.

    python scripts/bench_landing.py [--files N] [--before N] [--rows-per-file N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator.files import FilesConfig, run  # noqa: E402


def land(folder: Path, files: int, rows: int) -> tuple[float, float]:
    """Seconds for one `generator files --interval 0` run of `files` files: the whole run
    (start-up, which reads the folder and its manifest once, included) and its landing loop."""
    start = time.perf_counter()
    summary = run(FilesConfig(folder, "person", seed=1, rows_per_file=rows, interval=0,
                              files=files, quiet=True))  # fmt: skip
    return time.perf_counter() - start, summary.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--before", type=int, default=10_000)
    parser.add_argument("--rows-per-file", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    empties, fulls = [], []
    with tempfile.TemporaryDirectory(prefix="bench-landing-") as tmp:
        root = Path(tmp)
        land(root / "warm-up", 20, args.rows_per_file)
        for k in range(args.repeat):
            full_folder = root / f"full-{k}"
            land(full_folder, args.before, args.rows_per_file)
            empties.append(land(root / f"empty-{k}", args.files, args.rows_per_file))
            fulls.append(land(full_folder, args.files, args.rows_per_file))
    print(f"{args.files:,} files of {args.rows_per_file} person rows, landed and fsynced "
          f"(median of {args.repeat}):")  # fmt: skip
    print(f"  {'':<36} {'whole run':>10} {'landing':>10}")
    rows = []
    for label, times in (("into an empty folder", empties),
                         (f"into a folder holding {args.before:,} files", fulls)):  # fmt: skip
        whole = statistics.median(t[0] for t in times)
        loop = statistics.median(t[1] for t in times)
        rows.append((whole, loop))
        print(f"  {label:<36} {whole:>9.2f}s {loop:>9.2f}s")
    print(f"  {'ratio':<36} {rows[1][0] / rows[0][0]:>9.2f}x {rows[1][1] / rows[0][1]:>9.2f}x")


if __name__ == "__main__":
    main()
