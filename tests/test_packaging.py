"""The package a newcomer installs: built from this checkout, with the data-set specs inside and
no warnings from setuptools on the first screen."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_the_wheel_holds_the_specs_and_setuptools_warns_of_nothing(tmp_path: Path) -> None:
    build = subprocess.run(
        # the build backend installed in .venv: nothing fetched from an index
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    output = build.stdout + build.stderr
    assert "would be ignored" not in output and "Warning" not in output, output
    (wheel,) = tmp_path.glob("spark_stream_lab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for spec in ("person", "retail", "counter", "sensor"):
        assert f"generator/specs/{spec}.toml" in names
    # every module of both packages, subpackages included: an installed copy runs as this one
    modules = {str(p.relative_to(REPO)) for top in ("generator", "consumer")
               for p in (REPO / top).rglob("*.py")}  # fmt: skip
    assert modules - names == set()
    # the pyspark_* module PySpark finds the `synthetic` source in, and both console commands
    assert "pyspark_stream_lab.py" in names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "spark-stream-generator = generator.cli:entry" in scripts
    assert "spark-stream-consumer = consumer.cli:main" in scripts


def test_the_console_commands_run_and_say_their_own_names(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    landed = subprocess.run(
        [str(bin_dir / "spark-stream-generator"), "files", str(tmp_path / "d"), "--files", "2",
         "--interval", "0", "--quiet"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert landed.returncode == 0, landed.stderr
    assert sorted(p.name for p in (tmp_path / "d").glob("*.csv")) == [
        "part-000001.csv", "part-000002.csv"]  # fmt: skip
    for name in ("spark-stream-generator", "spark-stream-consumer"):
        usage = subprocess.run([str(bin_dir / name), "--help"], capture_output=True, text=True,
                               timeout=60)  # fmt: skip
        assert usage.returncode == 0 and usage.stdout.startswith(f"usage: {name} "), usage
    usage = subprocess.run([sys.executable, "-m", "consumer", "--help"], capture_output=True,
                           text=True, timeout=60, cwd=REPO)  # fmt: skip
    assert usage.stdout.startswith("usage: python -m consumer "), usage.stdout
