"""Spark's own socket examples, as the installed pyspark ships them, run unchanged under
spark-submit against `generator socket PORT --dataset words` in place of `nc -lk 9999`: the
word count ends with exactly the counts of the server's answer key (`--truth`)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from generator.answers import load_words
from tests.conftest import REPO

pytestmark = [pytest.mark.spark, pytest.mark.slow]

LINES = 3  # few enough words that the console's 20 rows show them all


def _examples() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "examples/src/main/python/sql/streaming"


def _tables(out: str) -> list[list[list[str]]]:
    """Every console table printed, as rows of cells."""
    tables = []
    for block in re.split(r"-{20,}\nBatch: \d+\n-{20,}\n", out)[1:]:
        rows = [line for line in block.splitlines() if line.startswith("|")]
        tables.append([[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]])
    return tables


class _Job:
    """A spark-submit of one example, its output read as it comes."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.out, self.err = "", ""
        self.readers = [threading.Thread(target=self._read, args=(s,), daemon=True)
                        for s in ("out", "err")]  # fmt: skip
        for reader in self.readers:
            reader.start()

    def _read(self, which: str) -> None:
        stream = self.proc.stdout if which == "out" else self.proc.stderr
        assert stream is not None
        for line in stream:
            setattr(self, which, getattr(self, which) + line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:  # the next jobs are stopped all the same
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        for reader in self.readers:
            reader.join(10)


def test_spark_s_socket_examples_run_unchanged_against_the_words_data_set(tmp_path: Path) -> None:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    key = tmp_path / "words.jsonl"
    examples = {
        "structured_network_wordcount.py": [],
        "structured_network_wordcount_windowed.py": ["10", "5"],
        "structured_network_wordcount_session_window.py": [],
        "structured_sessionization.py": [],
    }
    servers: dict[str, subprocess.Popen[str]] = {}
    jobs: dict[str, _Job] = {}
    try:
        for n, (example, extra) in enumerate(examples.items()):
            truth = ["--truth", str(key)] if n == 0 else []
            server = subprocess.Popen(
                [sys.executable, "-m", "generator", "socket", "0", "--dataset", "words", "--seed",
                 "5", "--count", str(LINES), "--rate", "0", "--quiet", *truth],
                cwd=REPO, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            servers[example] = server
            assert server.stdout is not None
            port = server.stdout.readline().rsplit(":", 1)[1].strip()
            spark_submit = Path(sys.executable).parent / "spark-submit"
            jobs[example] = _Job(
                # the script as Spark ships it; 4 shuffle partitions, not 200 (docs: "Spark's
                # own examples" says what 200 cost on a laptop)
                [str(spark_submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                 "--conf", "spark.sql.shuffle.partitions=4", str(_examples() / example),
                 "127.0.0.1", port, *extra],
                tmp_path, env,
            )  # fmt: skip
        # Spark 4.2.0's own structured_sessionization.py is refused by Spark before it reads a
        # line (update mode with session_window), whatever the server: it ends, exit 1
        refused = jobs["structured_sessionization.py"]
        assert refused.proc.wait(120) == 1
        refused.stop()
        # (spark-submit passes the Python program's stderr on through its own stdout)
        assert "Invalid streaming output mode: update" in refused.out + refused.err
        for example, server in servers.items():  # each sent its lines to its example and ended
            if example != "structured_sessionization.py":
                assert server.wait(120) == 0
        expected = load_words(key)
        assert sum(expected.values()) >= LINES * 3 and len(expected) <= 20

        def counted() -> dict[str, int]:
            tables = _tables(jobs["structured_network_wordcount.py"].out)
            return {word: int(n) for word, n in tables[-1]} if tables else {}

        def windowed() -> list[list[str]]:
            tables = _tables(jobs["structured_network_wordcount_windowed.py"].out)
            return tables[-1] if tables else []

        def sessions() -> dict[str, int]:
            out = jobs["structured_network_wordcount_session_window.py"].out
            return {row[0]: int(row[1]) for table in _tables(out) for row in table}

        # they run until stopped: until each has shown what it will (a session ends after 10 s
        # without its word)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
            counted() == expected and windowed() and sessions() == expected
        ):
            time.sleep(0.5)
    finally:
        for job in jobs.values():
            job.stop()
        for server in servers.values():
            if server.poll() is None:
                server.kill()
    # the word count, in complete mode: its last table is the key, word for word
    assert counted() == expected, jobs["structured_network_wordcount.py"].err[-3000:]
    # the windowed count (10 s windows every 5 s): each word in the windows of its line
    rows = windowed()
    assert rows, jobs["structured_network_wordcount_windowed.py"].err[-3000:]
    assert {word for _, word, _ in rows} <= set(expected)
    assert all(int(n) <= expected[word] for _, word, n in rows)
    # sessions of each word (10 s without it ends one): every line came at once, so one
    # session per word, counting each time it was sent
    assert sessions() == expected
