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
