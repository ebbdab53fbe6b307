"""Every row of docs/bad-input.md's table, run: one line, exit 2, nothing written."""

from __future__ import annotations

import os
import re
import shlex
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from consumer.cli import main as consumer_main
from generator.cli import main as generator_main
from tests.conftest import REPO


def table() -> list[tuple[str, str]]:
    page = (REPO / "docs" / "bad-input.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|$", page, flags=re.MULTILINE)
    assert len(rows) >= 25, "the bad input table of docs/bad-input.md"
    return rows


@pytest.fixture
def busy_port() -> Iterator[int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


@pytest.mark.parametrize(("command", "line"), table())
def test_readme_bad_input_row(
    command: str,
    line: str,
    tmp_path: Path,
    busy_port: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a_file = tmp_path / "a-file.csv"
    a_file.write_text("precious\n")
    if os.geteuid() == 0:
        read_only = Path("/proc/self")  # even root cannot create files there
    else:
        read_only = tmp_path / "read-only"
        read_only.mkdir()
        read_only.chmod(0o500)
    missing = tmp_path / "not-yet"
    landed, parent = tmp_path / "landed", tmp_path / "parent"
    names = {"FILE": str(a_file), "RO": str(read_only), "DIR": str(missing),
             "BUSY": str(busy_port), "LANDED": str(landed), "PARENT": str(parent)}  # fmt: skip
    if "$LANDED" in command:  # a folder the generator landed person files in
        assert generator_main(["files", str(landed), "--files", "1", "--interval", "0",
                               "--quiet"]) == 0  # fmt: skip
    if "$PARENT" in command:  # ... and the parent of two landed folders
        assert generator_main(["files", str(parent), "--streams", "2", "--files", "2",
                               "--interval", "0", "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()

    def fill(text: str) -> str:
        return re.sub(r"\$(FILE|RO|DIR|BUSY|LANDED|PARENT)\b", lambda m: names[m.group(1)], text)

    program, *args = shlex.split(fill(command))
    main = {"generator": generator_main, "consumer": consumer_main}[program]
    assert main(args) == 2
    err = capsys.readouterr().err
    expected = fill(line)
    if expected.endswith(" …"):
        assert err.startswith(expected[:-2]), err
        assert err.count("\n") == 1, err
    else:
        assert err == expected + "\n"
    assert "Traceback" not in err
    assert not missing.exists()  # nothing written, not even the folder
    assert a_file.read_text() == "precious\n"
