"""Rows/s the `files` consumer processes on local[2] and on a standalone cluster of 1 and 2
workers (scripts/cluster.sh), on the same generated files, in one run.

    python scripts/bench_cluster.py [--files 8] [--rows-per-file 250000] [--per-trigger 2]

"processed" is rows over the summed micro-batch durations the consumer reports (the work of
the batches); "wall" includes starting the driver and, for a cluster, its executors.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator import PERSON  # noqa: E402
from generator.files import FilesConfig, run  # noqa: E402

BATCH = re.compile(r"batch \d+: (\d+) rows, .* ([\d.]+)s$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def consume(master: str, data: Path, work: Path, per_trigger: int) -> tuple[int, float, float]:
    """Run the files consumer to the end of the backlog; rows, batch seconds, wall seconds."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "consumer", "files", str(data), "--master", master,
         "--available-now", "--max-files-per-trigger", str(per_trigger), "--sink", "parquet",
         "--output", str(work / "out"), "--checkpoint", str(work / "ckpt"),
         "--log-level", "ERROR", "--conf", "spark.ui.enabled=false"],
        cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )  # fmt: skip
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"consumer on {master} failed:\n{proc.stderr[-2000:]}")
    rows = seconds = 0.0
    for line in proc.stderr.splitlines():
        match = BATCH.search(line)
        if match:
            rows += int(match.group(1))
            seconds += float(match.group(2))
    return int(rows), seconds, wall


def cluster(command: str, state: Path, *args: str) -> str:
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "cluster.sh"), command, "--dir", str(state), *args],
        capture_output=True, text=True, env={**os.environ, "PYTHON": sys.executable},
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"cluster.sh {command} failed:\n{proc.stderr}")
    return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--rows-per-file", type=int, default=250_000)
    parser.add_argument("--per-trigger", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        root = Path(tmp)
        data = root / "data"
        total = run(
            FilesConfig(
                data,
                PERSON,
                seed=1,
                rows_per_file=args.rows_per_file,
                interval=0,
                files=args.files,
                quiet=True,
            )
        ).rows
        print(f"person files: {args.files} x {args.rows_per_file:,} = {total:,} rows, "
              f"{args.per_trigger} files per trigger, parquet sink")  # fmt: skip
        results = []
        rows, secs, wall = consume("local[2]", data, root / "local", args.per_trigger)
        results.append(("local[2]", rows, secs, wall))
        for workers in (1, 2):
            state = root / f"cluster-{workers}"
            url = cluster("start", state, "--workers", str(workers), "--cores", "1",
                          "--memory", "1g", "--port", str(free_port()),
                          "--webui-port", str(free_port()))  # fmt: skip
            try:
                rows, secs, wall = consume(url, data, root / f"w{workers}", args.per_trigger)
            finally:
                cluster("stop", state)
            label = f"standalone, {workers} worker{'s' if workers > 1 else ''} x 1 core"
            results.append((label, rows, secs, wall))
        print(f"{'where':<34} {'rows':>10} {'processed rows/s':>17} {'wall s':>8}")
        for label, rows, secs, wall in results:
            assert rows == total, f"{label}: {rows} rows of {total}"
            print(f"{label:<34} {rows:>10,} {rows / secs:>17,.0f} {wall:>8.1f}")


if __name__ == "__main__":
    main()
