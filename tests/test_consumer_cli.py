"""The consumer command line itself: bad input before Spark starts, and whole runs as a user
starts them (`python -m consumer`, `spark-submit`)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from consumer.cli import main
from generator import PERSON, get_dataset
from generator.files import FilesConfig, run
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["files", "d", "--max-files-per-trigger", "0"],
         "argument --max-files-per-trigger: must be 1 or more, not 0"),
        (["files", "d", "--max-files-per-trigger", "-2"],
         "argument --max-files-per-trigger: must be 1 or more, not -2"),
        (["files", "d", "--timeout", "-1"], "argument --timeout: must be 0 or more, not -1"),
        (["files", "d", "--timeout", "soon"], "argument --timeout: not a number: 'soon'"),
        (["files", "d", "--dataset", "people"],
         "unknown data set 'people' (one of: person, retail, counter, sensor, impressions, clicks, "
            "customers, orders, activity, words, customer_changes, ads, shop; "
         "or a spec file, *.toml)"),
        (["files", "d", "--sink", "parquet", "--output", "o"],
         "the parquet sink needs --checkpoint DIR"),
        (["files", "d", "--sink", "json", "--checkpoint", "c"], "the json sink needs --output DIR"),
        (["files", "d", "--sink", "kafka"], "argument --sink: invalid choice: 'kafka'"),
        (["files", "d", "--output-mode", "complete"],
         "--output-mode complete does not fit this query (it allows append)"),
        (["files", "d", "--conf", "spark.x"], "argument --conf: expected key=value, not 'spark.x'"),
        (["files", "d", "--log-level", "LOUD"], "argument --log-level: invalid choice: 'LOUD'"),
        (["files", "d", "--trigger", "0"], "argument --trigger: must be more than 0, not 0"),
        (["files", "d", "--trigger", "1", "--available-now"],
         "argument --available-now: not allowed with argument --trigger"),
        (["files", "d", "--num-rows", "0"], "argument --num-rows: must be 1 or more, not 0"),
        (["socket", "--port", "70000"], "argument --port: must be 0..65535, not 70000"),
        (["socket", "--port", "0"], "argument --port: must be 1..65535, not 0"),
        (["socket", "--port", "http"], "argument --port: not a port number: 'http'"),
        (["socket", "--connect-timeout", "0"], "argument --connect-timeout: must be more than 0"),
        (["socket", "--available-now"], "--available-now does not work with the socket source"),
        (["multi", "one"], "multi reads exactly two folders, got 1: consumer multi DIR1 DIR2"),
        (["multi", "a", "b", "c"], "multi reads exactly two folders, got 3"),
        (["retail", "d", "--sink", "parquet", "--checkpoint", "c", "--output", "o"],
         "the parquet sink takes append mode only"),
        (["retail", "d", "--output-mode", "append"],
         "--output-mode append does not fit this query"),
    ],
)  # fmt: skip
def test_bad_input_one_line_exit_2_before_spark(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"consumer: error: {message}")
    assert captured.err.count("\n") == 1
    assert "Spark UI" not in captured.err  # Spark never started


def _person_files(folder: Path, files: int = 3) -> None:
    run(FilesConfig(folder, PERSON, seed=11, rows_per_file=10, interval=0, files=files,
                    quiet=True))  # fmt: skip


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYSPARK_PYTHON"] = sys.executable
    env.pop("PYSPARK_DRIVER_PYTHON", None)
    return env


@pytest.mark.spark
@pytest.mark.slow
def test_python_m_consumer_console_run_stopped_with_ctrl_c(tmp_path: Path) -> None:
    """The README's files recipe, side by side as a user runs it: the generator in terminal 1
    (its status line drawn on a terminal), the consumer with its own Spark, console sink, the
    notes' options; each prints what the README says it prints. While the consumer runs,
    everything its Spark listens on is on loopback (the UI included). Ctrl-C, as a
    terminal sends it (to the process group), stops it cleanly: one line, no traceback, the
    report and the progress log written. Beside it, a second run gets Ctrl-C twice: the second
    ends it at once; its output, read as a terminal shows it (stdout and stderr in one stream),
    has each batch's line after that batch's table and before the next one's."""
    # terminal 1 of the README's recipe: a person file every second, its status line drawn on
    # a terminal (a pseudo-terminal here)
    generator, shown = _on_a_tty([sys.executable, "-m", "generator", "files", str(tmp_path / "in")])
    args = ["--master", "local[1]", "--conf", "spark.ui.port=0"]
    proc = _terminal(
        [sys.executable, "-m", "consumer", "files", str(tmp_path / "in"), *args,
         "--num-rows", "2", "--no-truncate", "--conf", "spark.sql.shuffle.partitions=3",
         "--app-name", "console-run", "--report", str(tmp_path / "report.html"),
         "--progress-log", str(tmp_path / "progress.jsonl")],
    )  # fmt: skip
    twice = _terminal(
        [
            sys.executable,
            "-m",
            "consumer",
            "files",
            "--synthetic",
            "--rate",
            "500",
            "--num-rows",
            "1",
            *args,
        ],
        one_stream=True,
    )  # batches back to back
    heard: set[tuple[str, int]] = set()
    err = ""
    for p in (proc, twice):  # each runs its batches
        deadline = time.monotonic() + 120
        while ((p.err or p.out).count("batch ") < (3 if p is proc else 6) and p.poll() is None
               and time.monotonic() < deadline):  # fmt: skip
            heard |= listening(proc.pid)
            time.sleep(0.05)
    assert proc.poll() is None and twice.poll() is None, proc.err + twice.err
    os.killpg(proc.pid, signal.SIGINT)
    os.killpg(twice.pid, signal.SIGINT)
    time.sleep(0.1)  # ... and again, while it stops
    os.killpg(twice.pid, signal.SIGINT)
    os.killpg(generator.pid, signal.SIGINT)
    out, err = proc.finish()
    assert proc.returncode == 0, err
    assert "consumer: console-run on local[1] (Spark UI at http://127.0.0.1:" in err
    assert len(heard) >= 2, heard  # the driver and the UI, at least
    assert {host for host, _ in heard} <= {"127.0.0.1", "::1"}, heard
    batches = err.count("consumer: files batch ")
    # one file per batch; files still landing, Ctrl-C may cut the last table short, or come
    # before its line
    assert batches >= 3 and out.count("Batch: ") in (batches, batches + 1), (batches, out)
    assert out.count("only showing top 2 rows") in (batches, batches + 1)
    # what the README's recipe says each side prints
    readme = (REPO / "README.md").read_text()
    recipe = readme[readme.index("## Side by side: files") : readme.index("## Side by side: a")]
    status, line, stop = re.findall(r"`((?:files \d|consumer: files batch|consumer: int)[^`]*)`",
                                    recipe.replace("\n", " "))  # fmt: skip
    assert generator.wait(10) == 0
    terminal_1 = shown()
    number = r"\d+(?:\.\d+)?"  # the README's figures are an example: any figures
    shape = number.join(map(re.escape, re.split(number, status)))
    assert re.search(shape, terminal_1), (status, terminal_1)
    assert "\ngenerator: stopped: " in terminal_1.replace("\r", "\n")
    assert line.removesuffix("...").rstrip() in err and stop in err
    assert "|result" in out and re.search(r"\|[A-Z][a-z]+-\d+ *\|", out)  # fname-age
    # one Ctrl-C: one line, no traceback, and what the run keeps is written
    after = err[err.index("consumer: interrupted: stopping") :]
    # (a batch under way when Ctrl-C came, files still landing, ends and says so)
    assert [line for line in after.splitlines()[1:] if " files batch " not in line] == [
        f"consumer: report written to {tmp_path / 'report.html'}"
    ]
    assert "Traceback" not in err and "Error" not in err, err
    # at Spark's default log level: nothing but the consumer's own lines (no JVM notice, no
    # warning at every start that is no one's fault)
    assert [line for line in err.splitlines() if not line.startswith("consumer: ")] == [], err
    assert "Outcome: interrupted (Ctrl-C)" in (tmp_path / "report.html").read_text()
    assert (tmp_path / "progress.jsonl").read_text().count("\n") >= 3
    # twice: the second ends it at once, with one line
    err, _ = twice.finish()
    assert twice.returncode == 130, err
    said = [line for line in err.splitlines()
            if line.startswith(("Batch: ", "consumer: files batch "))]  # fmt: skip
    order = [("table", int(line.split()[1])) if line.startswith("Batch: ")
             else ("line", int(line.split(" batch ")[1].split(":")[0]))
             for line in said]  # fmt: skip
    done = len(order) // 2 * 2  # the last table's line may be cut off by the interrupt
    assert done >= 12, err
    assert order[:done] == [(k, n) for n in range(done // 2) for k in ("table", "line")], said
    assert " WARN " not in err, err  # the synthetic source's registration is no one's fault
    assert err.rstrip().endswith("consumer: interrupted again: exiting now"), err
    assert "Traceback" not in err, err


@pytest.mark.spark
def test_ctrl_c_while_spark_starts_is_one_line_and_leaves_no_jvm(tmp_path: Path) -> None:
    """Ctrl-C while PySpark launches the JVM: one line, exit 130, and the JVM ended too (it
    ends with its parent only once its gateway is up: left alone, it ran on)."""
    proc = _terminal([sys.executable, "-m", "consumer", "files", str(tmp_path)])
    children: set[int] = set()
    deadline = time.monotonic() + 30
    while not children and time.monotonic() < deadline:  # the JVM is being launched
        children = _children(proc.pid)
        time.sleep(0.02)
    assert children, "no JVM was launched"
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.finish()
    assert proc.returncode == 130, err
    assert err == "consumer: interrupted\n"
    time.sleep(0.5)
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid), f"left running: {pid}"


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def _state(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return ""


_STARTED: list[subprocess.Popen[Any]] = []


@pytest.fixture(autouse=True)
def _no_process_left() -> Iterator[None]:
    """A test that fails half-way leaves no consumer (nor its JVM) running."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


class _Terminal(subprocess.Popen[str]):
    """A process started as a terminal starts it (its own process group), its output read as
    it comes (a child left running with the pipes open cannot hang the test)."""

    out = ""
    err = ""
    readers: tuple[object, ...] = ()

    def finish(self) -> tuple[str, str]:
        self.wait(60)
        for reader in self.readers:
            reader.join(10)  # type: ignore[attr-defined]
        return self.out, self.err


def _terminal(argv: list[str], one_stream: bool = False) -> _Terminal:
    """`one_stream`: stderr into stdout, in the order written, as a terminal shows them (all of
    it read into `out`)."""
    import threading

    proc = _Terminal(argv, cwd=REPO, stdout=subprocess.PIPE, text=True, env=_env(),
                     stderr=subprocess.STDOUT if one_stream else subprocess.PIPE,
                     start_new_session=True)  # fmt: skip
    _STARTED.append(proc)

    def read(which: str) -> None:
        stream = proc.stdout if which == "out" else proc.stderr
        assert stream is not None
        for line in stream:
            setattr(proc, which, getattr(proc, which) + line)

    proc.readers = tuple(threading.Thread(target=read, args=(w,), daemon=True)
                         for w in ("out",) + (() if one_stream else ("err",)))  # fmt: skip
    for reader in proc.readers:
        reader.start()  # type: ignore[attr-defined]
    return proc


def _on_a_tty(argv: list[str]) -> tuple[subprocess.Popen[bytes], Callable[[], str]]:
    """A process started as a terminal starts it, its stderr a pseudo-terminal (what it draws
    only on a terminal, drawn); with what it has shown so far."""
    import pty
    import threading

    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=child_fd,
                            env=_env(), start_new_session=True)  # fmt: skip
    os.close(child_fd)
    _STARTED.append(proc)
    seen: list[bytes] = []

    def read() -> None:
        with contextlib.suppress(OSError):  # EIO once the process has gone
            while chunk := os.read(main_fd, 4096):
                seen.append(chunk)
        os.close(main_fd)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def shown() -> str:
        if proc.poll() is not None:
            reader.join(10)
        return b"".join(seen).decode()

    return proc, shown


def listening(pid: int) -> set[tuple[str, int]]:
    """The TCP sockets a process and its children listen on, as (address, port)."""
    import ipaddress

    pids, inodes = {pid}, set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:  # a child (the JVM)
                pids.add(int(stat.parent.name))
    for p in pids:
        for fd in Path(f"/proc/{p}/fd").glob("*"):
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            cols = line.split()
            if cols[3] != "0A" or cols[9] not in inodes:  # 0A: LISTEN
                continue
            hex_ip, hex_port = cols[1].split(":")
            raw = bytes.fromhex(hex_ip)
            # /proc writes each 32-bit word in host (little-endian) order
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            ip = ipaddress.ip_address(words)
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            found.add((str(ip), int(hex_port, 16)))
    return found


@pytest.mark.spark
@pytest.mark.slow
def test_the_stdin_recipe_typed_lines_that_do_not_fit_give_nulls_not_a_failed_query() -> None:
    """The hand-typed recipe of docs/generator.md, two terminals: `generator socket 0 --stdin`;
    `consumer socket --port P`; once its query runs, three lines typed (one with a single field,
    one with a word where the age goes, one whole row). The consumer shows each, the columns it
    cannot fill empty (NULL), and counts the lines that do not fit, with no failed query (Spark
    4's ANSI mode fails a plain getItem or cast); Ctrl-C ends it, Ctrl-D the server."""
    server = subprocess.Popen([sys.executable, "-m", "generator", "socket", "0", "--stdin"],
                              cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env=_env())  # fmt: skip
    _STARTED.append(server)
    assert server.stdout is not None and server.stdin is not None
    port = server.stdout.readline().rsplit(":", 1)[1].strip()
    consumer = _terminal([sys.executable, "-m", "consumer", "socket", "--port", port,
                          "--num-rows", "10", "--no-truncate"])  # fmt: skip

    def until(said: str) -> None:
        deadline = time.monotonic() + 120
        while said not in consumer.err:
            assert consumer.poll() is None and time.monotonic() < deadline, consumer.err
            time.sleep(0.1)

    until("socket batch 0:")  # the query is connected and running: type
    server.stdin.write("Jean-George Perrin\nAnn,,Lee,forty,123\nLeor,,Finkelberg,41,456\n")
    server.stdin.flush()
    until(": 3 rows")
    os.killpg(consumer.pid, signal.SIGINT)  # seen them: Ctrl-C
    out, err = consumer.finish()
    server.stdin.close()  # Ctrl-D
    assert server.wait(30) == 0
    assert consumer.returncode == 0, err
    assert "Traceback" not in err and "INVALID" not in err and "CAST" not in err, err
    rows = sorted(
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in out.splitlines()
        if line.startswith("|") and "fname" not in line
    )
    assert rows == [["Ann", "", "Lee", "NULL", "123"],
                    ["Jean-George Perrin", "NULL", "NULL", "NULL", "NULL"],
                    ["Leor", "", "Finkelberg", "41", "456"]], out  # fmt: skip
    # and the batch line counts the two that do not fit (one field; a word for the age)
    unfit = [int(line.split("; ")[1].split()[0]) for line in err.splitlines()
             if "not fit the columns" in line]  # fmt: skip
    assert sum(unfit) == 2, err


@pytest.mark.spark
@pytest.mark.slow
def test_spark_submit_runs_the_consumer_unchanged(tmp_path: Path) -> None:
    _person_files(tmp_path / "in", files=2)
    spark_submit = Path(sys.executable).parent / "spark-submit"
    proc = subprocess.run(
        [str(spark_submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
         "consumer/__main__.py", "files", str(tmp_path / "in"), "--available-now"],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=_env(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    # spark-submit passes the Python program's stderr on through its own stdout
    assert "on local[2]" in proc.stdout  # spark-submit's --master, not a default of ours
    assert proc.stdout.count("Batch: ") == 2


PLAIN_JOB = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()  # no register(spark): PySpark finds the source
df = spark.read.format("synthetic").option("dataset", "person").option("seed", 3).option(
    "rows", 50).load()
print("batch", df.count(), df.columns)
spark.sql("CREATE TEMPORARY VIEW n USING synthetic OPTIONS (dataset 'counter', rows '7')")
print("sql", spark.sql("SELECT count(*) FROM n").first()[0])
query = (spark.readStream.format("synthetic").option("dataset", "counter").option("rows", 100)
         .load().writeStream.format("memory").queryName("c").trigger(availableNow=True).start())
query.awaitTermination()
print("stream", spark.sql("SELECT count(*) FROM c").first()[0])
"""


@pytest.mark.spark
@pytest.mark.slow
def test_a_plain_spark_submit_job_reads_the_synthetic_source_without_register(
    tmp_path: Path,
) -> None:
    """`format("synthetic")` in a job that never imports this project: PySpark's look-up of
    top-level `pyspark_*` modules finds pyspark_stream_lab.DefaultSource. The job runs from a
    folder of its own, so what is found is what is installed, not the working folder."""
    job = tmp_path / "job.py"
    job.write_text(PLAIN_JOB)
    spark_submit = Path(sys.executable).parent / "spark-submit"
    proc = subprocess.run(
        [str(spark_submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false", str(job)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=_env(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "batch 50 ['fname', 'mname', 'lname', 'age', 'ssn']" in proc.stdout
    assert "sql 7" in proc.stdout
    assert "stream 100" in proc.stdout


@pytest.mark.spark
@pytest.mark.slow
def test_the_guide_s_static_query_prints_its_table_and_nothing_else(tmp_path: Path) -> None:
    """`consumer retail DIR --static` as a user runs it: the consumer's line on stderr (no
    Spark warning, no Java stack trace before the answer), the top five on stdout."""
    run(FilesConfig(tmp_path, get_dataset("retail"), seed=3, files=2, interval=0, quiet=True))
    done = subprocess.run([sys.executable, "-m", "consumer", "retail", str(tmp_path), "--static",
                           "--master", "local[1]"],
                          capture_output=True, text=True, env=_env(), timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = done.stderr.splitlines()
    assert len(said) == 1, done.stderr
    assert said[0].startswith("consumer: Retail purchases by customer on local[1] (Spark UI at ")
    assert "|CustomerId|" in done.stdout and "only showing top 5 rows" in done.stdout


@pytest.mark.spark
def test_timeout_bounds_the_wait_for_a_missing_folder(
    spark: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main(["files", str(tmp_path / "no-such"), "--timeout", "2", "--quiet"]) == 1
    assert time.monotonic() - started < 20
    err = capsys.readouterr().err
    assert f"folder {tmp_path / 'no-such'} did not appear within 2s" in err
    assert "Traceback" not in err


def test_a_synthetic_check_refuses_a_checkpoint_that_holds_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The drawn truth follows the stream from its first batch: a checkpoint an earlier run
    wrote batches to would go on from its last one, so it is refused before Spark starts."""
    checkpoint = tmp_path / "cp"
    (checkpoint / "offsets").mkdir(parents=True)
    args = ["watermark", "--synthetic", "--rows", "100", "--max-records-per-batch", "10",
            "--available-now", "--check", "--checkpoint", str(checkpoint)]  # fmt: skip
    (checkpoint / "offsets" / "0").write_text("v1\n{}\n")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == (f"consumer: error: --check on --synthetic follows the stream from its first "
                   f"batch: {checkpoint} holds batches of an earlier run (give a new "
                   "--checkpoint)\n")  # fmt: skip


def test_static_refuses_a_missing_local_folder_only(tmp_path: Path) -> None:
    """`--static` reads what is there once: a local folder must exist (file:// too); another
    file system's (s3a://, hdfs://) is Spark's to find."""
    from consumer.inputs import FolderInput
    from consumer.retail_app import RetailConsumerConfig
    from generator.errors import UsageError

    retail = get_dataset("retail")
    for there in (str(tmp_path), f"file://{tmp_path}", "s3a://bucket/days", "hdfs://nn/days"):
        RetailConsumerConfig(FolderInput(there, retail), static=True)
    for missing in (str(tmp_path / "no"), f"file://{tmp_path}/no"):
        with pytest.raises(UsageError, match=f"not a folder: {missing}$"):
            RetailConsumerConfig(FolderInput(missing, retail), static=True)
