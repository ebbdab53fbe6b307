"""`--report`, `--progress-log` and `consumer report`: a real run's report, drawn again from its
log, and opened in a real headless browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from consumer.cli import main as consumer_main
from generator.answers import TRUTH, load_truth
from generator.cli import main as generator_main

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A watermark run with late rows, checked, with a report and a progress log."""
    base = tmp_path_factory.mktemp("report")
    assert generator_main(["files", str(base / "in"), "--dataset", "sensor", "--start",
                           "2026-01-01T00:00:00", "--speed", "30", "--disorder", "5",
                           "--late-fraction", "0.15", "--max-lateness", "240",
                           "--truth-watermark", "20", "--files", "8", "--interval", "0",
                           "--rows-per-file", "100", "--seed", "1", "--quiet"]) == 0  # fmt: skip
    return base


@pytest.fixture(scope="module")
def reported(spark: Any, run: Path) -> Path:
    """The checked run's report and progress log (run.html, run.jsonl beside the input)."""
    assert consumer_main(["watermark", str(run / "in"), "--watermark", "20", "--available-now",
                          "--check", str(run / "in"), "--report", str(run / "run.html"),
                          "--progress-log", str(run / "run.jsonl"), "--quiet"]) == 0  # fmt: skip
    return run


def test_a_run_writes_its_report_and_log(reported: Path) -> None:
    run = reported
    page = (run / "run.html").read_text()
    assert len(page.encode()) < 3_000_000
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.findall(r'(?:src|href)="(?!#)[^"]*"', page)  # nothing fetched from elsewhere
    assert "Outcome: finished" in page and "Spark</td><td>4.2.0" in page
    # the check's verdict heads the page; the settings say what the query was
    assert page.index("class='verdict agree'>The check: agree.") < page.index("Outcome:")
    for setting in ("window</td><td>", "watermark delay</td><td>20 s",
                    "seed</td><td>1, from _manifest.jsonl"):  # fmt: skip
        assert setting in page, setting
    # rows read, durations, watermark, state, picture, check: each says what to look for
    assert page.count("<svg") == 7 and page.count('<p class="caption">') == 7
    assert "<td>none yet</td>" in page  # batch 0's watermark, not 1970-01-01
    assert "1970-01-01" not in page
    lines = [json.loads(line) for line in (run / "run.jsonl").read_text().splitlines()]
    progress = [line["progress"] for line in lines if "progress" in line]
    (picture,) = [line["picture"] for line in lines if "picture" in line]
    # the rows marked late in the picture — by Spark's own watermarks and the files each batch
    # read (from the checkpoint) — are the rows the truth says are dropped; Spark's own metric
    # counts rows after partial aggregation (a window's rows of one partition count once)
    truth = load_truth(run / "in" / TRUTH)
    assert sum(picture["dropped"]) == sum(t["late"] for t in truth) > 0
    spark_dropped = sum(o["numRowsDroppedByWatermark"] for p in progress
                        for o in p["stateOperators"])  # fmt: skip
    assert 0 < spark_dropped < sum(picture["dropped"])
    assert len(picture["times"]) == 800
    assert consumer_main(["report", str(run / "run.jsonl"), "--output",
                          str(run / "again.html")]) == 0  # fmt: skip
    assert (run / "again.html").read_text() == page


def test_a_timed_out_run_says_so(spark: Any, run: Path) -> None:
    assert consumer_main(["files", str(run / "in"), "--dataset", "sensor", "--timeout", "6",
                          "--report", str(run / "timeout.html"), "--quiet"]) == 0  # fmt: skip
    assert "Outcome: timed out after 6 s (--timeout)" in (run / "timeout.html").read_text()


def test_a_bad_log_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.jsonl").write_text("not json\nnor this\n")
    assert consumer_main(["report", str(tmp_path / "x.jsonl")]) == 2
    assert capsys.readouterr().err == f"consumer: error: {tmp_path}/x.jsonl is not a progress " \
        "log (JSON lines)\n"  # fmt: skip


CHROMIUM = next((shutil.which(c) for c in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(c)), None)  # fmt: skip


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: `make test` installs it as root "
                    "(apt-get install chromium)")  # fmt: skip
def test_the_report_renders_in_a_browser(reported: Path, tmp_path: Path) -> None:
    from PIL import Image

    page = reported / "run.html"
    shot = tmp_path / "shot.png"
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--window-size=1100,2400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert console == []  # no errors (nor anything else) in the page's console
    image = Image.open(shot).convert("RGB")
    colors = image.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 20  # charts drawn, not a blank page
