"""Faults injected for real: SIGKILL at random moments, a file-size limit, vanishing clients.
Nothing may be lost, duplicated or half-written."""

from __future__ import annotations

import contextlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from consumer.cli import main as consumer_main
from generator import UsageError
from generator.files import FilesConfig
from generator.files import run as run_files
from generator.manifest import MANIFEST, read_manifests
from tests.conftest import REPO


def gen_cmd(folder: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "generator", "files", str(folder), *args]


def visible(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if not n.startswith((".", "_")))


def writing(folder: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until `proc` is writing a file: a temp file it made (not one a killed run left behind,
    which it removes first) is there."""
    stale = {(e.name, e.inode()) for e in os.scandir(folder) if e.name.endswith(".tmp")}
    deadline = time.monotonic() + timeout
    while not {(e.name, e.inode()) for e in os.scandir(folder) if e.name.endswith(".tmp")} - stale:
        assert proc.poll() is None and time.monotonic() < deadline, "it never wrote a file"
        time.sleep(0.005)


def manifest(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / MANIFEST).read_text().splitlines()]


@pytest.mark.slow
def test_sigkill_at_random_moments_never_shows_a_partial_file(tmp_path: Path) -> None:
    rows = 150_000  # about 5 MB a file: a kill often lands mid-write
    rng = random.Random(1)
    seen: dict[str, tuple[int, int]] = {}  # name -> (size, crc) when first seen
    problems: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for name in visible(tmp_path):
                data = (tmp_path / name).read_bytes()
                lines = data.count(b"\n")
                if lines != rows or not data.endswith(b"\n"):
                    problems.append(f"{name}: partial ({lines} lines)")
                first = seen.setdefault(name, (len(data), zlib.crc32(data)))
                if first != (len(data), zlib.crc32(data)):
                    problems.append(f"{name}: changed after it appeared")

    watcher = threading.Thread(target=watch)
    watcher.start()
    kills = 0
    try:
        for _ in range(8):
            proc = subprocess.Popen(
                gen_cmd(tmp_path, "--rows-per-file", str(rows), "--interval", "0",
                        "--seed", "3", "--quiet"),
                cwd=REPO,
            )  # fmt: skip
            writing(tmp_path, proc)  # past start-up, however loaded the machine is
            time.sleep(rng.uniform(0.0, 1.2))  # then at a random point of a file (or two)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
    finally:
        stop.set()
        watcher.join()
    assert problems == []
    names = visible(tmp_path)
    assert names == [f"part-{i:06d}.csv" for i in range(1, len(names) + 1)]  # no gap, no reuse
    assert len(names) >= 3
    # a clean run afterwards: leftovers gone, numbering continues, every file in the manifest
    assert subprocess.run(gen_cmd(tmp_path, "--files", "1", "--rows-per-file", "10",
                                  "--interval", "0", "--seed", "3", "--quiet"),
                          cwd=REPO).returncode == 0  # fmt: skip
    after = os.listdir(tmp_path)
    assert not [n for n in after if n.startswith(".")], after
    assert visible(tmp_path)[-1] == f"part-{len(names) + 1:06d}.csv"
    entries = {e["file"]: e for e in manifest(tmp_path)}
    assert set(entries) == set(visible(tmp_path))
    for name, entry in entries.items():
        data = (tmp_path / name).read_bytes()
        assert (len(data), zlib.crc32(data)) == (entry["bytes"], entry["crc32"]), name


SOAK = ["--dataset", "sensor", "--interval", "0", "--rows-per-file", "20", "--seed", "11",
        "--start", "2026-01-01T00:00:00", "--speed", "17.28", "--late-fraction", "0.05",
        "--max-lateness", "600", "--disorder", "20", "--quiet"]  # fmt: skip
SOAK_FILES = 5_000  # 100,000 events, 0.864 s of event time apart: a simulated day


@pytest.mark.slow(seconds=60)
def test_a_simulated_day_killed_at_random_moments_is_the_day_landed_at_once(
    tmp_path: Path,
) -> None:
    """The soak test: a day of `sensor` (5,000 files, with disorder and late events) landed as
    fast as it goes, by a generator SIGKILLed at random moments — while it starts, takes up its
    keys' state, lands, saves — and started again each time, until the day is there. Every file
    is the unbroken run's, byte for byte, each once in the manifest, and the answer key says
    what the unbroken run's says. (Every other key's saved state is taken up and checked the
    same way, at a smaller scale, in test_answers.py and test_linked.py: sessions, duplicates,
    a join, an enrichment.)"""

    # in memory where the machine has it (/dev/shm): fsync, 40 % of a small file's landing on
    # a disk, is not what this test is about
    shm = Path("/dev/shm")
    where = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path
    try:
        soak(where)
    finally:
        if where != tmp_path:
            shutil.rmtree(where)


def soak(folder: Path) -> None:
    from generator.answers import load_truth

    once, killed = folder / "once", folder / "killed"
    assert subprocess.run(gen_cmd(once, "--files", str(SOAK_FILES), *SOAK), cwd=REPO,
                          timeout=600).returncode == 0  # fmt: skip
    rng = random.Random(7)
    kills = 0
    deadline = time.monotonic() + 600
    while True:
        left = SOAK_FILES - (len(visible(killed)) if killed.exists() else 0)
        assert left >= 0 and time.monotonic() < deadline
        if left == 0:
            break
        proc = subprocess.Popen(gen_cmd(killed, "--files", str(left), *SOAK), cwd=REPO)
        try:
            proc.wait(timeout=rng.uniform(0.2, 2.0))  # start-up takes about half a second
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        else:
            assert proc.returncode == 0
    assert kills >= 4
    names = visible(once)
    assert len(names) == SOAK_FILES and visible(killed) == names
    for name in names:
        assert (once / name).read_bytes() == (killed / name).read_bytes(), name
    lines = manifest(killed)
    assert sorted(e["file"] for e in lines) == names  # each once
    assert load_truth(once / "_truth.jsonl") == load_truth(killed / "_truth.jsonl")
    assert load_truth(killed / "_truth.jsonl")[-1]["window_start"].startswith("2026-01-01 23:")


def test_file_size_limit_mid_run_one_line_and_landed_files_untouched(tmp_path: Path) -> None:
    """Out of space mid-run, made real with a file-size limit set on the running process."""
    proc = subprocess.Popen(
        gen_cmd(tmp_path, "--rows-per-file", "20000", "--interval", "0.5", "--seed", "2",
                "--quiet"),
        cwd=REPO, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(visible(tmp_path)) < 2:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    # from now on no file of this process may grow past 100 kB: the next file cannot land
    resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (100_000, 100_000))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"generator: error: cannot write {tmp_path}/part-00000")
    assert "File too large" in err
    landed = visible(tmp_path)
    assert len(landed) >= 2
    assert f"{len(landed)} files landed before it are complete" in err
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # temp file removed
    entries = manifest(tmp_path)
    assert [e["file"] for e in entries] == landed
    for entry in entries:
        data = (tmp_path / entry["file"]).read_bytes()
        assert (len(data), zlib.crc32(data)) == (entry["bytes"], entry["crc32"])
        assert data.count(b"\n") == entry["rows"] == 20000


def test_a_full_disk_with_answer_keys_is_one_line_too(tmp_path: Path) -> None:
    """An event-time data set keeps an answer key, saved as it goes and at the end: a disk
    that cannot take it (a 1 kB file-size limit) is one line, exit 1, never a traceback."""
    proc = subprocess.Popen(
        gen_cmd(tmp_path, "--dataset", "sensor", "--rows-per-file", "2000", "--interval",
                "0.3", "--seed", "2", "--quiet"),
        cwd=REPO, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (tmp_path / "_truth.jsonl").exists() or len(visible(tmp_path)) < 2:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (1_000, 1_000))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(
        (
            f"generator: error: cannot write {tmp_path}/part-00000",
            "generator: error: cannot save the answer keys: File too large",
        )
    )
    entries = manifest(tmp_path)  # every line whole, each naming a file that is there
    assert [e["file"] for e in entries] == visible(tmp_path)


def test_manifest_lists_every_file_and_reconciles_after_a_crash(tmp_path: Path) -> None:
    assert subprocess.run(gen_cmd(tmp_path, "--files", "2", "--interval", "0", "--seed", "4",
                                  "--quiet"), cwd=REPO).returncode == 0  # fmt: skip
    entries = manifest(tmp_path)
    assert [e["file"] for e in entries] == ["part-000001.csv", "part-000002.csv"]
    assert {e["seed"] for e in entries} == {4} and {e["dataset"] for e in entries} == {"person"}
    # a file that landed just before a crash, without its manifest line
    (tmp_path / "part-000003.csv").write_bytes(b"A,B,C,1,111-11-1111\n")
    assert subprocess.run(gen_cmd(tmp_path, "--files", "1", "--interval", "0", "--seed", "4",
                                  "--quiet"), cwd=REPO).returncode == 0  # fmt: skip
    entries = manifest(tmp_path)
    assert [e["file"] for e in entries] == [f"part-00000{i}.csv" for i in range(1, 5)]
    assert entries[2]["seed"] is None and entries[2]["rows"] == 1


@pytest.mark.spark
@pytest.mark.slow
def test_consumer_killed_mid_stream_still_writes_every_row_exactly_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spark: Any
) -> None:
    data, out, ckpt = tmp_path / "data", tmp_path / "out", tmp_path / "ckpt"
    rng = random.Random(7)
    generator = subprocess.Popen(
        gen_cmd(data, "--rows-per-file", "500", "--interval", "0.3", "--seed", "5", "--quiet"),
        cwd=REPO,
    )  # fmt: skip
    consumer = [sys.executable, "-m", "consumer", "files", str(data), "--sink", "parquet",
                "--output", str(out), "--checkpoint", str(ckpt), "--quiet",
                "--conf", "spark.ui.enabled=false", "--log-level", "ERROR"]  # fmt: skip
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    try:
        kill_mid_stream(consumer, out, env, rng, kills=1)
    finally:
        generator.send_signal(signal.SIGTERM)
        generator.wait(30)
    # the last run works through what is left, from the same checkpoint (in this process: the
    # kill is what is tested, and a warm Spark saves a cold start), in batches of 20 files
    assert consumer_main([*consumer[3:], "--available-now", "--max-files-per-trigger", "20"]) == 0
    capsys.readouterr()
    assert consumer_main(["verify", "--manifest", str(data), "--sink", str(out)]) == 0
    report = capsys.readouterr().out
    assert "missing 0, duplicated 0, unexpected 0" in report
    assert "OK: every row exactly once" in report
    assert len(manifest(data)) >= 5


def kill_mid_stream(
    consumer: list[str], out: Path, env: dict[str, str], rng: random.Random, kills: int
) -> None:
    """Start the consumer, let it commit a batch, SIGKILL it at a random moment (often
    mid-batch); `kills` times, on the same checkpoint."""
    log = out / "_spark_metadata"

    def committed() -> int:
        return len([p for p in log.iterdir() if not p.name.startswith(".")]) if log.exists() else 0

    for _ in range(kills):
        before = committed()
        proc = subprocess.Popen(consumer, cwd=REPO, env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while committed() <= before:  # it is streaming: at least one batch since its start
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        time.sleep(rng.uniform(0.0, 1.5))  # then a random point, often mid-batch
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.spark
@pytest.mark.slow
def test_synthetic_consumer_killed_mid_stream_holds_every_row_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spark: Any
) -> None:
    """The synthetic source's offsets are row indexes: a replayed batch draws the same rows."""
    out = tmp_path / "out"
    consumer = [sys.executable, "-m", "consumer", "files", "--synthetic", "--dataset", "counter",
                "--seed", "3", "--rate", "3000", "--max-records-per-batch", "2000", "--sink",
                "parquet", "--output", str(out), "--checkpoint", str(tmp_path / "ckpt"),
                "--quiet", "--conf", "spark.ui.enabled=false", "--log-level", "ERROR"]  # fmt: skip
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    kill_mid_stream(consumer, out, env, random.Random(11), kills=1)
    # the rest in larger batches: a read limit does not decide the rows, so it may change
    rest = [*consumer[3:], "--rows", "40000", "--available-now", "--max-records-per-batch", "20000"]
    assert consumer_main(rest) == 0
    capsys.readouterr()
    verify = ["verify", "--seed", "3", "--rows", "40000", "--dataset", "counter", "--sink",
              str(out)]  # fmt: skip
    assert consumer_main(verify) == 0
    assert "OK: every row exactly once" in capsys.readouterr().out


@pytest.mark.spark
def test_verify_finds_missing_duplicated_and_damaged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spark: Any
) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    assert subprocess.run(gen_cmd(data, "--files", "3", "--interval", "0", "--seed", "6",
                                  "--quiet"), cwd=REPO).returncode == 0  # fmt: skip
    consume = ["files", str(data), "--available-now", "--sink", "parquet", "--output", str(out),
               "--checkpoint", str(tmp_path / "ckpt"), "--quiet"]  # fmt: skip
    assert consumer_main(consume) == 0
    capsys.readouterr()
    verify = ["verify", "--manifest", str(data), "--sink", str(out)]
    assert consumer_main(verify) == 0
    assert "expected 30 rows in 3 landed files" in capsys.readouterr().out

    # a committed file listed twice in the sink's log: its rows count twice
    log = out / "_spark_metadata"
    first = sorted(p for p in log.iterdir() if p.name.isdigit())[0]
    entry = first.read_text().splitlines()[1]
    copy = log / "99"
    copy.write_text("v1\n" + entry.replace(".parquet", ".copy.parquet") + "\n")
    original = Path(json.loads(entry)["path"].removeprefix("file://"))
    original.with_name(original.name.replace(".parquet", ".copy.parquet")).write_bytes(
        original.read_bytes()
    )
    assert consumer_main(verify) == 1
    report = capsys.readouterr().out
    assert "duplicated 10" in report and "MISMATCH" in report
    copy.unlink()

    # a landed file changed after the fact, and the rows it had are missing from the count
    (data / "part-000002.csv").write_text("X,Y,Z,1,000-00-0000\n")
    assert consumer_main(verify) == 1
    report = capsys.readouterr().out
    assert "damaged: " in report and "part-000002.csv" in report
    assert "unexpected 10" in report  # the sink holds rows no intact file accounts for


@pytest.mark.slow
def test_hundreds_of_clients_come_and_go_the_steady_one_sees_every_number() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "socket", "0", "--dataset", "counter", "--rate", "0",
         "--max-queue", "100000", "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    port = int(proc.stdout.readline().rsplit(":", 1)[1])
    steady = socket.create_connection(("127.0.0.1", port))
    steady.settimeout(30)
    received = bytearray()
    stop = threading.Event()

    def read() -> None:
        with contextlib.suppress(OSError):
            while not stop.is_set():
                chunk = steady.recv(1 << 20)
                if not chunk:
                    return
                received.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    idle: list[socket.socket] = []
    rss: list[int] = []
    try:
        for i in range(300):
            c = socket.create_connection(("127.0.0.1", port))
            kind = i % 3
            if kind == 0:
                c.close()  # gone at once
            elif kind == 1:
                c.recv(7)  # a few bytes, mid-line, then a reset
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                c.close()
            else:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                idle.append(c)  # connected, never reading
            if i % 50 == 49:
                rss.append(_rss_mb(proc.pid))
        # the storm is over: the steady client goes on receiving (a few MB more), while every
        # idle client's queue fills to its limit; then the memory is measured again
        after, deadline = len(received) + (4 << 20), time.monotonic() + 30
        while len(received) < after and time.monotonic() < deadline:
            time.sleep(0.05)
        rss.append(_rss_mb(proc.pid))
    finally:
        stop.set()
        steady.shutdown(socket.SHUT_RDWR)
        reader.join()
        steady.close()
        for c in idle:
            c.close()
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    lines = bytes(received).split(b"\n")[:-1]
    numbers = [int(line.split(b",", 1)[0]) for line in lines]
    assert len(numbers) > 100_000
    assert numbers == list(range(1, len(numbers) + 1))  # every number, in order, no gap
    # bounded: the queue limit, not the number of clients or rows, sets the memory
    assert max(rss) < 600, rss


def _rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


@pytest.mark.slow
def test_landing_appends_to_the_manifest_of_a_full_folder(tmp_path: Path) -> None:
    """The manifest is appended to, never rewritten: landing 300 files into a folder that holds
    3,000 (a manifest far longer than the end a start reads) leaves the first 3,000 lines as
    they were, in the same file. (How long each takes is scripts/bench_landing.py's and
    scripts/bench_restart.py's to say.)"""
    cfg = dict(rows_per_file=3, interval=0, quiet=True, seed=8)
    folder = tmp_path / "full"
    run_files(FilesConfig(folder, "person", files=3000, **cfg))  # type: ignore[arg-type]
    before = (folder / MANIFEST).read_bytes()
    inode = (folder / MANIFEST).stat().st_ino
    run_files(FilesConfig(folder, "person", files=300, **cfg))  # type: ignore[arg-type]
    after = (folder / MANIFEST).read_bytes()
    assert (folder / MANIFEST).stat().st_ino == inode
    assert after.startswith(before)
    lines = [json.loads(line) for line in after.splitlines()]
    assert len(lines) == 3300 == len(list(folder.glob("part-*.csv")))
    assert [e["start"] for e in lines[-2:]] == [9894, 9897]  # the sequence continues


def test_a_start_reads_only_the_manifest_s_end_and_cuts_what_a_crash_left_there(
    tmp_path: Path,
) -> None:
    """A manifest longer than the end a start reads (64 KiB): a torn line, then a whole line
    that is not a manifest line, are cut; the files they stood for get their lines again from
    the files themselves, and the sequence goes on after them."""
    from generator.manifest import Manifest

    run_files(FilesConfig(tmp_path, "person", seed=4, files=600, interval=0, quiet=True))
    path = tmp_path / MANIFEST
    whole = path.read_bytes()
    assert len(whole) > 65_536
    body = whole[: whole.rindex(b"\n", 0, len(whole) - 1) + 1]  # without file 600's line
    for end in (b'{"file":"part-000600.c', b'{"file": 600}\n'):
        path.write_bytes(body + end)
        opened = Manifest(tmp_path)
        assert path.read_bytes() == body and opened.size == len(body)
        assert opened.last is not None and opened.last.file == "part-000599.csv"
    run_files(FilesConfig(tmp_path, "person", seed=4, files=1, interval=0, quiet=True))
    entries = manifest(tmp_path)
    assert [e["file"] for e in entries[-2:]] == ["part-000600.csv", "part-000601.csv"]
    assert entries[-2]["seed"] is None and entries[-1]["start"] == 6000
    assert Manifest(tmp_path).read_after([len(body), 0]) is None  # not the bytes it held


def test_a_torn_last_manifest_line_is_cut_and_its_file_listed_again(tmp_path: Path) -> None:
    run_files(FilesConfig(tmp_path, "person", seed=4, files=3, interval=0, quiet=True))
    whole = (tmp_path / MANIFEST).read_bytes()
    torn = whole[: whole.rindex(b"\n", 0, len(whole) - 1) + 1] + b'{"file":"part-000003.c'
    (tmp_path / MANIFEST).write_bytes(torn)  # a crash in the middle of the third line
    run_files(FilesConfig(tmp_path, "person", seed=4, files=1, interval=0, quiet=True))
    entries = manifest(tmp_path)
    assert [e["file"] for e in entries] == [f"part-00000{i}.csv" for i in range(1, 5)]
    assert entries[2]["seed"] is None  # listed again from the file itself
    assert entries[3]["start"] == 30  # and the sequence went on after it
    # a damaged line that is not the last is not a crash's doing: a start reads only the end
    # and goes on, changing nothing before it; whoever reads every line gets one line, exit 2
    lines = (tmp_path / MANIFEST).read_bytes().split(b"\n")
    lines[1] = b"{not json"
    (tmp_path / MANIFEST).write_bytes(b"\n".join(lines))
    run_files(FilesConfig(tmp_path, "person", seed=4, files=1, interval=0, quiet=True))
    assert (tmp_path / MANIFEST).read_bytes().split(b"\n")[:4] == lines[:4]
    with pytest.raises(UsageError, match="damaged at line 2"):
        read_manifests([tmp_path])
