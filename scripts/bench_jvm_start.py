"""What the JVM options of the test suite (tests/conftest.py: TEST_JVM_OPTIONS, the client
compiler only and a one-thread collector) save on a cold consumer run: `python -m consumer files
DIR --available-now` over three small files, run --runs times each way, alternating, in one
process. Prints the median wall time and the median CPU time of the whole machine during the run
(/proc/stat: the JVM is not a child this script can wait for), so run it on an idle machine.

    python scripts/bench_jvm_start.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import TEST_JVM_OPTIONS  # noqa: E402


def busy_seconds() -> float:
    """CPU time the whole machine has spent not idle, in seconds."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def one_run(folder: Path, options: str | None) -> tuple[float, float]:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    env.pop("SPARK_SUBMIT_OPTS", None)
    if options is not None:
        env["SPARK_SUBMIT_OPTS"] = options
    cpu, wall = busy_seconds(), time.monotonic()
    subprocess.run([sys.executable, "-m", "consumer", "files", str(folder), "--available-now",
                    "--rows", "1000000", "--quiet"],
                   cwd=REPO, env=env, stdout=subprocess.DEVNULL, check=True)  # fmt: skip
    time.sleep(1)  # the JVM ends a moment after its parent
    return time.monotonic() - wall - 1, busy_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        subprocess.run([sys.executable, "-m", "generator", "files", str(folder), "--files", "3",
                        "--interval", "0", "--quiet"], cwd=REPO, check=True)  # fmt: skip
        runs: dict[str, list[tuple[float, float]]] = {"JVM defaults": [], TEST_JVM_OPTIONS: []}
        for _ in range(args.runs):
            runs["JVM defaults"].append(one_run(folder, None))
            runs[TEST_JVM_OPTIONS].append(one_run(folder, TEST_JVM_OPTIONS))
    for name, got in runs.items():
        wall = statistics.median(w for w, _ in got)
        cpu = statistics.median(c for _, c in got)
        print(f"{name:45s} wall {wall:5.1f} s   CPU {cpu:5.1f} s   ({args.runs} cold runs)")


if __name__ == "__main__":
    main()
