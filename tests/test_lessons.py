"""Every command in docs/lessons is run as a person runs it, in order, each a process of its own
(a cold JVM for each consumer; see COLD for the lessons whose consumers run on the suite's warm
Spark), its output read as a terminal shows it (stdout and stderr in one stream): `sh` blocks
one after another (a command must succeed, or fail where the lesson says it does),
`sh-background` blocks started as a second terminal would start them and stopped when the lesson
ends. What the lesson says you will see is a comment after the block, `<!-- you will see:
"text", "text" -->`: each text must be in what the block's last command printed, and nothing
else may be printed that a person was not told of (no Spark log line, no traceback). Paths under
/tmp/lessons move to a folder of the test's; port 9999 (and the cluster's ports) to free ones."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.socket_helpers import free_port

LESSONS = sorted((REPO / "docs" / "lessons").glob("[0-9][0-9]-*.md"))
BLOCK = re.compile(r"^```(sh|sh-background)\n(.*?)^```\n(?:<!-- you will see: (.*?) -->\n)?",
                   re.S | re.M)  # fmt: skip
LOG_LINE = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d [A-Z]+ |Traceback|^WARNING: ")

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def blocks(lesson: Path) -> list[tuple[str, list[str], list[str]]]:
    """(kind, commands, what you will see) per block; a line ending in a backslash goes on on
    the next."""
    out = []
    for kind, body, seen in BLOCK.findall(lesson.read_text()):
        commands = re.sub(r"\\\n\s*", "", body).strip().splitlines()
        out.append((kind, [c for c in commands if c.strip()], re.findall(r'"([^"]+)"', seen)))
    return out


def test_every_lesson_has_commands_and_the_index_links_them() -> None:
    index = (REPO / "docs" / "lessons" / "README.md").read_text()
    assert len(LESSONS) == 11
    for lesson in LESSONS:
        assert f"]({lesson.name})" in index
        assert blocks(lesson), f"{lesson.name} has no commands"
        for image in re.findall(r"!\[[^]]*\]\(([^)]+)\)", lesson.read_text()):
            assert (lesson.parent / image).is_file(), f"{lesson.name}: no {image}"


def steps(lesson: Path, tmp_path: Path) -> tuple[list[tuple[str, str, list[str]]], dict[str, str]]:
    """The lesson's commands in order, as (kind, command, what you will see) with its paths and
    ports moved to the test's, and the environment a terminal would give them."""
    ports = {"9999": str(free_port()), "7177": str(free_port()), "8180": str(free_port())}
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"

    def prepare(command: str) -> str:
        command = command.replace("/tmp/lessons", str(tmp_path))
        # in one pass: a free port for one may hold another's digits (38180 holds 8180)
        return re.sub(r"\b(9999|7177|8180)\b", lambda m: ports[m.group(1)], command)

    out = []
    for kind, commands, seen in blocks(lesson):
        last = commands[-1]
        assert seen or kind == "sh-background" or not last.startswith("python -m consumer"), (
            f"{lesson.name}: `{last}` has no <!-- you will see: ... --> after its block"
        )
        for k, c in enumerate(commands):
            out.append((kind, prepare(c), seen if k == len(commands) - 1 else []))
    return out, env


# lesson 9 starts a cluster: tests/test_cluster.py runs its commands, and checks more on the
# cluster it starts (one cluster for the suite)
HERE = [p for p in LESSONS if p.stem != "09-cluster"]
# Every lesson as a person runs it, a cold JVM for each consumer, costs about 690 s of the
# suite's workers (measured 2026-12-04): more than the suite has. The socket lesson, whose
# server must outlast each consumer's JVM start, runs so in `make test`; the others run their
# consumers on the suite's warm Spark, what they print read the same way (Spark's own log lines
# aside). `STREAM_LAB_LESSONS=cold make test` runs every lesson cold.
COLD = {"02-socket"}
ALL_COLD = os.environ.get("STREAM_LAB_LESSONS") == "cold"


def in_process(command: str) -> tuple[int, str] | None:
    """`python -m consumer|generator ...` run here, on the tests' Spark (a JVM start saved):
    its exit code and what it printed; None for a command that needs a process of its own."""
    import contextlib
    import io
    import shlex

    from consumer.cli import main as consumer_main
    from generator.cli import main as generator_main

    argv = shlex.split(command)
    mains = {"consumer": consumer_main, "generator": generator_main}
    if argv[:2] != ["python", "-m"] or "--master" in argv or argv[2] not in mains:
        return None
    said = io.StringIO()
    with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
        code = mains[argv[2]](argv[3:])
    return code, said.getvalue()


@pytest.mark.parametrize("lesson", HERE, ids=[p.stem for p in HERE])
def test_a_lesson_run_as_a_person_runs_it(
    lesson: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    commands, env = steps(lesson, tmp_path)
    cold = ALL_COLD or lesson.stem in COLD
    if not cold:
        request.getfixturevalue("spark")  # the suite's Spark, for the commands run here
    lesson_text = lesson.read_text()  # a log line the lesson tells of is one a person expects
    prose = BLOCK.sub("", lesson_text)  # a fence's backticks would pair with the prose's
    told = [" ".join(t.split()) for t in re.findall(r"`([^`]+)`", prose) if len(t) >= 20]
    background: list[subprocess.Popen[str]] = []
    try:
        for kind, command, seen in commands:
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
            here = None if cold else in_process(command)
            if here is None:
                done = subprocess.run(command, shell=True, cwd=REPO, env=env, timeout=600,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True)  # fmt: skip
                here = done.returncode, done.stdout
            code, said = here
            # a change that makes the check fail, on purpose, fails with exit 1
            assert code == (1 if fallback else 0), f"`{command}` exited {code}: {said[-3000:]}"
            for text in seen:
                assert text in said, f"{lesson.name}: `{command}` did not show {text!r}: {said}"
            noise = [line for line in said.splitlines()
                     if LOG_LINE.search(line) and not any(t in line for t in told)]  # fmt: skip
            assert noise == [], f"{lesson.name}: `{command}` printed {noise}"
    finally:
        for proc in background:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)


NOTEBOOK = REPO / "docs" / "lessons" / "05-event-time.ipynb"


def test_the_notebook_lesson_runs_in_a_jupyter_kernel(tmp_path: Path) -> None:
    """Lesson 5 as a notebook, run as Jupyter runs it (a kernel of this virtualenv, its cells
    in order): the generator lands files in the background, the learner's own query counts the
    windows, the watermark consumer's check agrees and the report shows itself inline. What a
    markdown cell says you will see (`in backquotes`) is in the next cell's output; no cell
    shows Spark's log or a traceback."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        cell.source = cell.source.replace("/tmp/lessons", str(tmp_path))
    NotebookClient(notebook, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    told: list[str] = []
    shown = {}
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            said = cell.source.partition("**What you will see**")[2]
            told = [" ".join(q.split()) for q in re.findall(r"`([^`]+)`", said)]
            continue
        text = "".join(o.get("text", "") + "".join(map(str, o.get("data", {}).values()))
                       for o in cell.outputs)  # fmt: skip
        shown[number] = text
        for quote in told:
            assert quote in text, f"cell {number}: {quote!r} not in {text}"
        told = []
        for o in cell.outputs:
            assert o.output_type != "error", o
            if o.output_type == "stream" and o.name == "stderr":
                for line in o.text.splitlines():
                    assert line.startswith(("consumer: ", "generator: ")), line
    outputs = "".join(shown.values())
    assert outputs.count("|{20") == 7  # the learner's query: seven final windows
    assert "7 windows emitted, 7 final in the truth: agree" in outputs
    report = next(text for text in shown.values() if "The check: agree" in text)
    assert report.count("<svg") >= 6 and "Red crosses (" in report  # the picture, last
    assert "Outcome: finished; the check: agree" in report
    assert (tmp_path / "05-notebook" / "report.html").is_file()
