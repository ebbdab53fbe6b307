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


def steps(lesson: Path, tmp_path: Path) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The lesson's commands in order, as (kind, command) with its paths and ports moved to the
    test's, and the environment a terminal would give them."""
    ports = {"9999": str(free_port()), "7177": str(free_port()), "8180": str(free_port())}
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"

    def prepare(command: str) -> str:
        command = command.replace("/tmp/lessons", str(tmp_path))
        # in one pass: a free port for one may hold another's digits (38180 holds 8180)
        return re.sub(r"\b(9999|7177|8180)\b", lambda m: ports[m.group(1)], command)

    return [(kind, prepare(c)) for kind, commands in blocks(lesson) for c in commands], env


# lesson 9 starts a cluster: tests/test_cluster.py runs its commands, and checks more on the
# cluster it starts (one cluster for the suite)
HERE = [p for p in LESSONS if p.stem != "09-cluster"]


@pytest.mark.parametrize("lesson", HERE, ids=[p.stem for p in HERE])
def test_lesson_commands_run(lesson: Path, tmp_path: Path, spark: object) -> None:
    commands, env = steps(lesson, tmp_path)
    background: list[subprocess.Popen[str]] = []
    try:
        for kind, command in commands:
            if kind == "sh-background":
                proc = subprocess.Popen(command, shell=True, cwd=REPO, env=env,
                                        start_new_session=True, stdout=subprocess.PIPE,
                                        text=True)  # fmt: skip
                background.append(proc)
                if "generator socket" in command:  # listening before the next terminal starts
                    assert proc.stdout is not None
                    first = proc.stdout.readline()
                    assert first.startswith("listening on "), f"`{command}` said {first!r}"
                continue
            command, _, fallback = command.partition(" || echo ")
            code = in_process(command)
            if code is None:
                done = subprocess.run(command, shell=True, cwd=REPO, env=env, timeout=600,
                                      capture_output=True, text=True)  # fmt: skip
                code = done.returncode
                assert code == 0 or fallback, f"`{command}` exited {code}: {done.stderr[-3000:]}"
            if fallback:  # a change that makes the check fail, on purpose
                assert code == 1, f"{lesson.name}: `{command}` was to fail its check"
            else:
                assert code == 0, f"{lesson.name}: `{command}` exited {code}"
    finally:
        for proc in background:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
