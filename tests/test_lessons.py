"""Every command in docs/lessons is run, in order, so a lesson cannot go stale: `sh` blocks one
after another (a command must succeed), `sh-background` blocks started as a second terminal
would start them and stopped when the lesson ends. Paths under /tmp/lessons move to a folder of
the test's; port 9999 (and the cluster's ports) to free ones."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.socket_helpers import free_port

LESSONS = sorted((REPO / "docs" / "lessons").glob("[0-9][0-9]-*.md"))
BLOCK = re.compile(r"^```(sh|sh-background)\n(.*?)^```", re.S | re.M)

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def blocks(lesson: Path) -> list[tuple[str, list[str]]]:
    """(kind, commands) per block; a line ending in a backslash goes on on the next."""
    out = []
    for kind, body in BLOCK.findall(lesson.read_text()):
        commands = re.sub(r"\\\n\s*", "", body).strip().splitlines()
        out.append((kind, [c for c in commands if c.strip()]))
    return out


def test_every_lesson_has_commands_and_the_index_links_them() -> None:
    index = (REPO / "docs" / "lessons" / "README.md").read_text()
    assert len(LESSONS) == 9
    for lesson in LESSONS:
        assert f"]({lesson.name})" in index
        assert blocks(lesson), f"{lesson.name} has no commands"
        for image in re.findall(r"!\[[^]]*\]\(([^)]+)\)", lesson.read_text()):
            assert (lesson.parent / image).is_file(), f"{lesson.name}: no {image}"


def in_process(command: str) -> int | None:
    """`python -m consumer|generator ...` run here, on the tests' Spark (a JVM start saved);
    None for a command that needs a process of its own."""
    from consumer.cli import main as consumer_main
    from generator.cli import main as generator_main

    argv = shlex.split(command)
    if argv[:2] != ["python", "-m"] or "--master" in argv:
        return None
    mains = {"consumer": consumer_main, "generator": generator_main}
    if argv[2] not in mains:
        return None
    return mains[argv[2]](argv[3:])


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_commands_run(lesson: Path, tmp_path: Path, spark: object) -> None:
    ports = {"9999": str(free_port()), "7177": str(free_port()), "8180": str(free_port())}
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    background: list[subprocess.Popen[bytes]] = []

    def prepare(command: str) -> str:
        command = command.replace("/tmp/lessons", str(tmp_path))
        for old, new in ports.items():
            command = command.replace(old, new)
        return command

    try:
        for kind, commands in blocks(lesson):
            for command in map(prepare, commands):
                if kind == "sh-background":
                    background.append(subprocess.Popen(command, shell=True, cwd=REPO, env=env,
                                                       start_new_session=True))  # fmt: skip
                    time.sleep(3)  # the server is listening before the next terminal starts
                    continue
                command, _, fallback = command.partition(" || echo ")
                code = in_process(command)
                if code is None:
                    done = subprocess.run(command, shell=True, cwd=REPO, env=env, timeout=600,
                                          capture_output=True, text=True)  # fmt: skip
                    code = done.returncode
                    assert code == 0 or fallback, (
                        f"`{command}` exited {code}: {done.stderr[-3000:]}"
                    )
                if fallback:  # a change that makes the check fail, on purpose
                    assert code == 1, f"{lesson.name}: `{command}` was to fail its check"
                else:
                    assert code == 0, f"{lesson.name}: `{command}` exited {code}"
    finally:
        for proc in background:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        if "cluster.sh" in lesson.read_text():  # never leave a cluster running
            subprocess.run(shlex.split(f"scripts/cluster.sh stop --dir {tmp_path}/09/cluster"),
                           cwd=REPO, env=env, capture_output=True)  # fmt: skip
