from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from generator import PERSON
from generator.cli import main
from generator.files import FilesConfig, run
from tests.conftest import REPO


def landed(folder: Path) -> list[str]:
    """What Spark's listing sees: not the temp files (.), not the manifest (_)."""
    return sorted(n for n in os.listdir(folder) if not n.startswith((".", "_")))


def gen(*args: object) -> int:
    return main(["files", *(str(a) for a in args)])


def test_files_rows_and_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen(tmp_path, "--files", 3, "--rows-per-file", 7, "--interval", 0, "--seed", 1) == 0
    assert landed(tmp_path) == ["part-000001.csv", "part-000002.csv", "part-000003.csv"]
    for name in landed(tmp_path):
        lines = (tmp_path / name).read_text().splitlines()
        assert len(lines) == 7
        assert all(len(line.split(",")) == 5 for line in lines)
    err = capsys.readouterr().err
    assert "seed 1" in err
    assert "done: 3 files, 21 rows" in err
    mtimes = [(tmp_path / n).stat().st_mtime_ns for n in landed(tmp_path)]
    assert mtimes == sorted(set(mtimes))


def test_same_seed_same_bytes_across_runs(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        seed = 5 if name != "c" else 6
        assert gen(tmp_path / name, "--files", 2, "--interval", 0, "--seed", seed, "--quiet") == 0
    read = {n: [(tmp_path / n / f).read_bytes() for f in landed(tmp_path / n)] for n in "abc"}
    assert read["a"] == read["b"]
    assert read["a"] != read["c"]


def test_random_seed_is_printed_and_reproduces_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gen(tmp_path / "a", "--files", 1, "--interval", 0) == 0
    err = capsys.readouterr().err
    seed = err.split("(seed ", 1)[1].split(",", 1)[0]
    assert gen(tmp_path / "b", "--files", 1, "--interval", 0, "--seed", seed) == 0
    a = (tmp_path / "a" / "part-000001.csv").read_bytes()
    assert a == (tmp_path / "b" / "part-000001.csv").read_bytes()


def test_header_follows_the_data_set_unless_told(tmp_path: Path) -> None:
    gen(tmp_path / "p", "--files", 1, "--interval", 0, "--quiet")
    assert not (tmp_path / "p" / "part-000001.csv").read_text().startswith("fname")
    gen(tmp_path / "ph", "--files", 1, "--interval", 0, "--quiet", "--header")
    assert (
        (tmp_path / "ph" / "part-000001.csv").read_text().startswith("fname,mname,lname,age,ssn\n")
    )
    gen(tmp_path / "r", "--dataset", "retail", "--files", 1, "--interval", 0, "--quiet")
    assert (tmp_path / "r" / "2010-12-01.csv").read_text().startswith("InvoiceNo,StockCode,")
    gen(tmp_path / "rn", "--dataset", "retail", "--files", 1, "--interval", 0, "--quiet",
        "--no-header")  # fmt: skip
    assert not (tmp_path / "rn" / "2010-12-01.csv").read_text().startswith("InvoiceNo")


def test_retail_files_are_trading_days(tmp_path: Path) -> None:
    assert gen(tmp_path, "--dataset", "retail", "--files", 5, "--interval", 0, "--quiet") == 0
    assert landed(tmp_path) == [
        "2010-12-01.csv", "2010-12-02.csv", "2010-12-03.csv", "2010-12-05.csv", "2010-12-06.csv",
    ]  # fmt: skip


def test_restart_continues_numbering_and_cleans_temp_files(tmp_path: Path) -> None:
    assert gen(tmp_path, "--files", 2, "--interval", 0, "--quiet", "--seed", 3) == 0
    before = {n: (tmp_path / n).read_bytes() for n in landed(tmp_path)}
    (tmp_path / ".part-000003.csv.tmp").write_bytes(b"left by a killed run")
    assert gen(tmp_path, "--files", 2, "--interval", 0, "--quiet", "--seed", 3) == 0
    assert sorted(os.listdir(tmp_path)) == [
        "_dataset.toml",
        "_manifest.jsonl",
        *(f"part-00000{i}.csv" for i in range(1, 5)),
    ]
    assert {n: (tmp_path / n).read_bytes() for n in before} == before  # nothing overwritten
    # the restart wrote what an unbroken run writes
    gen(tmp_path / "straight", "--files", 4, "--interval", 0, "--quiet", "--seed", 3)
    for i in (3, 4):
        name = f"part-00000{i}.csv"
        assert (tmp_path / name).read_bytes() == (tmp_path / "straight" / name).read_bytes()
    assert (tmp_path / "part-000003.csv").stat().st_mtime_ns > (
        tmp_path / "part-000002.csv"
    ).stat().st_mtime_ns


def test_a_restart_goes_on_with_what_made_the_folder_or_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --seed, a run into a folder goes on with its seed (the sequence continues);
    another seed, data set, format or header is refused: one line, exit 2, nothing written."""
    assert gen(tmp_path, "--files", 2, "--interval", 0, "--quiet", "--seed", 3) == 0
    state = {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)}
    for more, words in [(["--seed", 4], "files landed with --seed 3, not 4"),
                        (["--dataset", "sensor"],
                         "data set 'person' (its _dataset.toml), not 'sensor'"),
                        (["--format", "json"], "files landed with --format csv, not json"),
                        (["--header"], "files landed with --header off, not on")]:  # fmt: skip
        assert gen(tmp_path, "--files", 1, "--interval", 0, *more) == 2
        err = capsys.readouterr().err
        said = f"{tmp_path} holds {words}: a run goes on with what made "
        assert err == f"generator: error: {said}the folder (or lands into a new folder)\n"
    assert {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)} == state
    assert gen(tmp_path, "--files", 2, "--interval", 0) == 0
    assert "(seed 3, first file part-000003.csv)" in capsys.readouterr().err
    gen(tmp_path / "straight", "--files", 4, "--interval", 0, "--quiet", "--seed", 3)
    assert (tmp_path / "part-000004.csv").read_bytes() == (
        tmp_path / "straight" / "part-000004.csv"
    ).read_bytes()


def test_links_planted_in_the_folder_never_make_it_write_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A symbolic link at a temp file's name, at a truth file's name or in place of the
    manifest: nothing outside the folder is written, changed or removed."""
    folder, outside = tmp_path / "in", tmp_path / "outside"
    folder.mkdir()
    outside.write_text("precious\n")
    (folder / ".part-000001.csv.tmp").symlink_to(outside)
    (folder / "_truth.jsonl").symlink_to(outside)
    assert gen(folder, "--dataset", "sensor", "--files", 2, "--interval", 0, "--quiet",
               "--seed", 1) == 0  # fmt: skip
    assert outside.read_text() == "precious\n"
    assert len(landed(folder)) == 2 and not (folder / "_truth.jsonl").is_symlink()
    (folder / "_manifest.jsonl").unlink()
    (folder / "_manifest.jsonl").symlink_to(outside)
    assert gen(folder, "--dataset", "sensor", "--files", 1, "--interval", 0) == 2
    assert "_manifest.jsonl is a symbolic link" in capsys.readouterr().err
    assert outside.read_text() == "precious\n"


def test_retail_restart_continues_with_the_next_trading_day(tmp_path: Path) -> None:
    gen(tmp_path, "--dataset", "retail", "--files", 3, "--interval", 0, "--quiet")
    gen(tmp_path, "--dataset", "retail", "--files", 1, "--interval", 0, "--quiet")
    assert landed(tmp_path)[-1] == "2010-12-05.csv"


def test_streams_write_to_subfolders_in_turn(tmp_path: Path) -> None:
    assert gen(tmp_path, "--streams", 2, "--files", 5, "--interval", 0, "--quiet") == 0
    assert sorted(os.listdir(tmp_path)) == ["subdir1", "subdir2"]
    assert landed(tmp_path / "subdir1") == ["part-000001.csv", "part-000003.csv", "part-000005.csv"]
    assert landed(tmp_path / "subdir2") == ["part-000002.csv", "part-000004.csv"]
    assert gen(tmp_path, "--streams", 2, "--files", 1, "--interval", 0, "--quiet") == 0
    assert landed(tmp_path / "subdir2")[-1] == "part-000006.csv"


def test_interval_paces_files(tmp_path: Path) -> None:
    summary = run(FilesConfig(tmp_path, PERSON, seed=1, interval=0.25, files=3, quiet=True))
    assert summary.files == 3
    # two pauses between three files; timing figures are for benchmarks, this checks the pause
    assert summary.seconds >= 0.5


def test_rate_paces_rows(tmp_path: Path) -> None:
    summary = run(
        FilesConfig(tmp_path, PERSON, seed=1, rows_per_file=10, rate=40.0, files=3, quiet=True)
    )
    assert summary.rows == 30
    assert summary.seconds >= 0.5  # 10 rows at 40 rows/s: 0.25 s between files


def test_duration_bounds_the_run(tmp_path: Path) -> None:
    summary = run(FilesConfig(tmp_path, PERSON, seed=1, interval=0.1, duration=0.5, quiet=True))
    # a file every 0.1 s for 0.5 s: never more files than the schedule allows (a slow machine
    # lands fewer), and the run ended by itself
    assert 1 <= summary.files <= 6
    assert len(landed(tmp_path)) == summary.files


def test_quiet_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen(tmp_path, "--files", 1, "--interval", 0, "--quiet") == 0
    assert capsys.readouterr() == ("", "")


def test_a_watcher_never_sees_a_partial_generated_file(tmp_path: Path) -> None:
    rows = 200_000
    problems: list[str] = []
    seen: set[str] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for name in landed(tmp_path):
                data = (tmp_path / name).read_bytes()
                lines = data.count(b"\n")
                if lines != rows or not data.endswith(b"\n"):
                    problems.append(f"{name}: {lines} lines")
                seen.add(name)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run(FilesConfig(tmp_path, PERSON, seed=2, rows_per_file=rows, interval=0, files=8,
                        quiet=True))  # fmt: skip
    finally:
        done.set()
        watcher.join()
    assert problems == []
    assert len(seen) >= 4  # it was looking while files landed


def test_sigterm_discards_the_file_being_written_and_exits_0(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "files", str(tmp_path), "--rows-per-file", "1000000",
         "--interval", "0", "--seed", "1"],
        cwd=REPO, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    # a data file being written (not the start-up's write check, made before the handler)
    while not any(n.startswith(".part-") and n.endswith(".tmp") for n in os.listdir(tmp_path)):
        assert time.monotonic() < deadline, "no file was ever being written"
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]
    for name in landed(tmp_path):
        assert (tmp_path / name).read_bytes().count(b"\n") == 1_000_000
    assert "stopped:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rows-per-file", "0"], "argument --rows-per-file: must be 1 or more, not 0"),
        (["--rows-per-file", "-3"], "argument --rows-per-file: must be 1 or more, not -3"),
        (["--rows-per-file", "ten"], "argument --rows-per-file: not a whole number: 'ten'"),
        (["--files", "0"], "argument --files: must be 1 or more, not 0"),
        (["--duration", "0"], "argument --duration: must be more than 0, not 0"),
        (["--interval", "-1"], "argument --interval: must be 0 or more, not -1"),
        (["--rate", "abc"], "argument --rate: not a number: 'abc'"),
        (["--rate", "0"], "argument --rate: must be more than 0, not 0"),
        (["--rate", "nan"], "argument --rate: not a finite number: 'nan'"),
        (["--streams", "0"], "argument --streams: must be 1 or more, not 0"),
        (["--seed", "-1"], "argument --seed: must be 0 or more, not -1"),
        (
            ["--dataset", "people"],
            "unknown data set 'people' (one of: person, retail, counter, sensor, impressions, "
            "clicks, customers, orders, activity, words, customer_changes, ads, shop; or a spec "
            "file, *.toml)",
        ),
        (
            ["--interval", "1", "--rate", "5"],
            "argument --rate: not allowed with argument --interval",
        ),
        (
            ["--files", "1", "--duration", "5"],
            "argument --duration: not allowed with argument --files",
        ),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    target = tmp_path / "out"
    assert gen(target, *args) == 2
    captured = capsys.readouterr()
    assert captured.err == f"generator: error: {message}\n"
    assert captured.out == ""
    assert not target.exists()


def test_dir_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a-file"
    target.write_text("precious\n")
    assert gen(target, "--files", 1) == 2
    assert capsys.readouterr().err == f"generator: error: not a folder: {target}\n"
    assert target.read_text() == "precious\n"


def test_folder_it_cannot_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:
        target = Path("/proc/self")  # a folder even root cannot create files in
    else:
        target = tmp_path / "locked"
        target.mkdir()
        target.chmod(0o500)
    assert gen(target, "--files", 1) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"generator: error: cannot write into folder {target}: ")
    assert err.count("\n") == 1
